//! A minimal RTMP client made of the protocol core's pieces, for tests that need
//! a peer real clients won't imitate: here, a player that plays and then never
//! reads another byte.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use ferrocast::protocol::amf::AmfValue;
use ferrocast::protocol::chunk::{ChunkEncoder, RawMessage};
use ferrocast::protocol::command::{CommandEncoding, CommandMessage};
use ferrocast::protocol::handshake::{ClientConfig, ClientHandshake, ClientMode, HandshakeStep};

/// Connects to `addr` and completes a simple handshake; returns the socket and
/// the C2 bytes still to send (so callers can append to the same write).
pub fn handshake(addr: &str) -> (TcpStream, BytesMut) {
    let mut sock = TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut rng = rand::rng();
    let config = ClientConfig {
        mode: ClientMode::Simple,
        ..ClientConfig::default()
    };
    let (mut hs, c0c1) = ClientHandshake::start(config, 0, &mut rng);
    sock.write_all(&c0c1).unwrap();
    let mut buf = [0u8; 4096];
    let c2 = loop {
        let n = sock.read(&mut buf).expect("S0S1S2");
        assert!(n > 0, "server closed during the handshake");
        match hs
            .handle_input(&buf[..n], 0, &mut rng)
            .expect("server handshake accepted")
        {
            HandshakeStep::Continue { send } => sock.write_all(&send).unwrap(),
            HandshakeStep::Done { send, .. } => break send,
        }
    };
    (sock, BytesMut::from(&c2[..]))
}

/// Appends an AMF0 command message on csid 3 to `wire`.
pub fn command(
    encoder: &mut ChunkEncoder,
    wire: &mut BytesMut,
    stream_id: u32,
    msg: CommandMessage,
) {
    let mut body = BytesMut::new();
    msg.encode(CommandEncoding::Amf0, &mut body).unwrap();
    let raw = RawMessage {
        csid: 3,
        timestamp: 0,
        type_id: 20,
        stream_id,
        payload: body.freeze(),
    };
    encoder.encode(&raw, wire).unwrap();
}

/// A connect command for `app` on `addr`.
pub fn connect(addr: &str, app: &str) -> CommandMessage {
    let tc_url = format!("rtmp://{addr}/{app}");
    let object = AmfValue::object([
        ("app", AmfValue::string(app)),
        ("tcUrl", AmfValue::string(tc_url)),
    ]);
    CommandMessage::new("connect", 1.0, object, vec![])
}

/// Whether the server closes `sock` within `limit` (reading and discarding
/// whatever it sends meanwhile).
pub fn closed_within(sock: &mut TcpStream, limit: Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while std::time::Instant::now() < deadline {
        match sock.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

/// Connects to `addr`, completes a simple handshake, then sends connect,
/// createStream and play(`name`) on stream 1 in one write and returns the
/// socket without reading anything else.
pub fn stalled_player(addr: &str, app: &str, name: &str) -> TcpStream {
    Watcher::play(addr, app, name).sock
}

/// What a [`Watcher`] saw, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// An `onStatus` code.
    Status(String),
    /// A User Control event type (0 StreamBegin, 1 StreamEOF, ...).
    UserControl(u16),
    /// A video message: a codec header, or a frame and whether it is a keyframe.
    Video {
        /// A keyframe (codec headers are not).
        keyframe: bool,
        /// A sequence header (codec configuration), not a frame.
        header: bool,
    },
    /// An audio message.
    Audio,
}

/// A player that decodes what the server sends (statuses, user control,
/// media) and can send commands, for checking server behaviour that ffmpeg
/// and rtmpdump do not expose.
pub struct Watcher {
    sock: TcpStream,
    decoder: ferrocast::protocol::chunk::ChunkDecoder,
    encoder: ChunkEncoder,
    buf: BytesMut,
    /// Everything seen so far.
    pub seen: Vec<Seen>,
}

impl Watcher {
    /// Connects, creates stream 1 and plays `name` in `app`.
    pub fn play(addr: &str, app: &str, name: &str) -> Self {
        let (mut sock, mut wire) = handshake(addr);
        let mut encoder = ChunkEncoder::new();
        command(&mut encoder, &mut wire, 0, connect(addr, app));
        command(
            &mut encoder,
            &mut wire,
            0,
            CommandMessage::new("createStream", 2.0, AmfValue::Null, vec![]),
        );
        command(
            &mut encoder,
            &mut wire,
            1,
            CommandMessage::new("play", 3.0, AmfValue::Null, vec![AmfValue::string(name)]),
        );
        sock.write_all(&wire).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Self {
            sock,
            decoder: ferrocast::protocol::chunk::ChunkDecoder::new(Default::default()),
            encoder,
            buf: BytesMut::new(),
            seen: Vec::new(),
        }
    }

    /// Sends a command on stream 1.
    pub fn send(&mut self, name: &str, args: Vec<AmfValue>) {
        let mut wire = BytesMut::new();
        command(
            &mut self.encoder,
            &mut wire,
            1,
            CommandMessage::new(name, 0.0, AmfValue::Null, args),
        );
        self.sock.write_all(&wire).unwrap();
    }

    /// Reads until `done(seen)` holds or `limit` passes; returns whether it held.
    pub fn until(&mut self, limit: Duration, done: impl Fn(&[Seen]) -> bool) -> bool {
        use ferrocast::protocol::command::{Command, CommandEncoding};
        use ferrocast::protocol::media::VideoTagInfo;
        let deadline = std::time::Instant::now() + limit;
        let mut chunk = [0u8; 65536];
        while !done(&self.seen) {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            match self.sock.read(&mut chunk) {
                Ok(0) => return done(&self.seen),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return done(&self.seen),
            }
            while let Some(msg) = self
                .decoder
                .decode(&mut self.buf)
                .expect("the server sends a valid chunk stream")
            {
                let seen = match msg.type_id {
                    4 if msg.payload.len() >= 2 => Some(Seen::UserControl(u16::from_be_bytes([
                        msg.payload[0],
                        msg.payload[1],
                    ]))),
                    8 => Some(Seen::Audio),
                    9 => {
                        let info = VideoTagInfo::parse(&msg.payload).ok();
                        let header = info.as_ref().is_some_and(|i| i.is_sequence_header());
                        let keyframe = !header && info.is_some_and(|i| i.is_keyframe());
                        Some(Seen::Video { keyframe, header })
                    }
                    20 => match Command::decode(
                        msg.payload,
                        CommandEncoding::Amf0,
                        Default::default(),
                    ) {
                        Ok(Command::OnStatus { info, .. }) => info
                            .get("code")
                            .and_then(|c| c.as_str())
                            .map(|c| Seen::Status(c.to_string())),
                        _ => None,
                    },
                    _ => None,
                };
                self.seen.extend(seen);
            }
        }
        true
    }

    /// Index of the first status `code` at or after `from`.
    pub fn status_at(&self, code: &str, from: usize) -> Option<usize> {
        self.seen
            .iter()
            .skip(from)
            .position(|s| *s == Seen::Status(code.to_string()))
            .map(|i| i + from)
    }
}
