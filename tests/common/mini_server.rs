//! A one-connection RTMP server built only from the protocol core, for interop
//! tests against real clients. It is deliberately small and blocking (std TCP,
//! one thread): the point is to show that real clients accept what the core's
//! handshake, chunk codec, AMF and command builders produce, and that the core
//! decodes what real clients send.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrocast::protocol::chunk::{ChunkDecoder, ChunkEncoder, MessageHeader, RawMessage};
use ferrocast::protocol::command::{
    self, status, Command, CommandEncoding, CommandMessage, ConnectResultOptions, StatusInfo,
};
use ferrocast::protocol::flv::FlvTag;
use ferrocast::protocol::handshake::{HandshakeKind, HandshakeStep, ServerHandshake};
use ferrocast::protocol::limits::ProtocolLimits;
use ferrocast::protocol::message::{LimitType, RtmpMessage, UserControlEvent};

/// The message stream id handed out by `createStream`.
pub const STREAM_ID: u32 = 1;
const CSID_COMMAND: u32 = 3;
const CSID_AUDIO: u32 = 4;
const CSID_VIDEO: u32 = 6;
const CSID_DATA: u32 = 5;
/// The chunk size the server announces, as FMS and most servers do.
const SERVER_CHUNK_SIZE: u32 = 4096;

/// What the server saw, in order.
#[derive(Debug, Clone)]
pub enum Seen {
    /// A decoded command.
    Command(Command),
    /// A data message (AMF0 values as decoded).
    Data(Vec<ferrocast::protocol::amf::AmfValue>),
    /// An audio or video message.
    Media {
        /// 8 audio, 9 video.
        type_id: u8,
        /// Absolute timestamp.
        timestamp: u32,
        /// Its payload.
        payload: Bytes,
    },
    /// Any other message (control, user control), by type id.
    Other(u8),
}

/// What the server does when a client plays.
pub enum OnPlay {
    /// Send these tags as the stream, then Play.Stop + StreamEOF, then close.
    Serve(Vec<FlvTag>),
}

/// The result of one session.
pub struct Session {
    /// Which handshake the client did.
    pub handshake: HandshakeKind,
    /// Every message in arrival order.
    pub seen: Vec<Seen>,
    /// Why the session ended ("eof", "served", or an error).
    pub ended: String,
}

impl Session {
    /// The decoded commands, in order.
    pub fn commands(&self) -> Vec<&Command> {
        self.seen
            .iter()
            .filter_map(|s| match s {
                Seen::Command(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    /// The media messages of one type (8 or 9), in order.
    pub fn media(&self, type_id: u8) -> Vec<(u32, Bytes)> {
        self.seen
            .iter()
            .filter_map(|s| match s {
                Seen::Media {
                    type_id: t,
                    timestamp,
                    payload,
                } if *t == type_id => Some((*timestamp, payload.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Accepts one connection on `listener` and runs it to the end (client close,
/// stream served, or `limit`).
pub fn serve_one(listener: &TcpListener, on_play: OnPlay, limit: Duration) -> Session {
    listener.set_nonblocking(false).expect("blocking listener");
    let (mut sock, _) = listener.accept().expect("accept");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    sock.set_nodelay(true).expect("nodelay");
    let deadline = Instant::now() + limit;

    // --- handshake -------------------------------------------------------------
    let mut hs = ServerHandshake::new();
    let mut rng = rand::rng();
    let mut buf = [0u8; 64 * 1024];
    let (kind, remaining) = loop {
        assert!(
            Instant::now() < deadline,
            "handshake did not finish in time"
        );
        let n = match sock.read(&mut buf) {
            Ok(0) => panic!("client closed during the handshake"),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) => panic!("read during handshake: {e}"),
        };
        match hs
            .handle_input(&buf[..n], 0, &mut rng)
            .expect("handshake accepted")
        {
            HandshakeStep::Continue { send } => sock.write_all(&send).expect("write S0S1S2"),
            HandshakeStep::Done { send, outcome } => {
                sock.write_all(&send).expect("write");
                break (outcome.kind, outcome.remaining);
            }
        }
    };

    // --- messages ----------------------------------------------------------------
    let limits = ProtocolLimits::default();
    let mut conn = Conn {
        sock,
        decoder: ChunkDecoder::new(limits.chunk),
        encoder: ChunkEncoder::new(),
        encoding: CommandEncoding::Amf0,
    };
    let mut inbuf = BytesMut::from(&remaining[..]);
    let mut seen = Vec::new();
    let mut on_play = Some(on_play);
    let ended = 'outer: loop {
        while let Some(raw) = conn
            .decoder
            .decode(&mut inbuf)
            .expect("well-formed chunk stream")
        {
            let message = RtmpMessage::from_raw(&raw).expect("well-formed message");
            match message {
                RtmpMessage::CommandAmf0(payload) | RtmpMessage::CommandAmf3(payload) => {
                    let encoding = if raw.type_id == 17 {
                        CommandEncoding::Amf3
                    } else {
                        CommandEncoding::Amf0
                    };
                    let cmd = Command::decode(payload, encoding, limits.amf)
                        .expect("well-formed command");
                    let served = conn.answer(&cmd, &mut on_play);
                    seen.push(Seen::Command(cmd));
                    if served {
                        break 'outer "served".to_string();
                    }
                }
                RtmpMessage::DataAmf0(payload) => {
                    let values = ferrocast::protocol::amf::amf0::decode_all(payload, limits.amf)
                        .expect("well-formed data message");
                    seen.push(Seen::Data(values));
                }
                RtmpMessage::Audio(payload) | RtmpMessage::Video(payload) => {
                    seen.push(Seen::Media {
                        type_id: raw.type_id,
                        timestamp: raw.timestamp,
                        payload,
                    })
                }
                _ => seen.push(Seen::Other(raw.type_id)),
            }
            if let Some(seq) = conn.decoder.take_ack_due() {
                conn.send(
                    2,
                    0,
                    0,
                    &RtmpMessage::Acknowledgement {
                        sequence_number: seq,
                    },
                );
            }
        }
        if Instant::now() >= deadline {
            break "time limit".to_string();
        }
        match conn.sock.read(&mut buf) {
            Ok(0) => break "eof".to_string(),
            Ok(n) => inbuf.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => break format!("read error: {e}"),
        }
    };
    Session {
        handshake: kind,
        seen,
        ended,
    }
}

struct Conn {
    sock: TcpStream,
    decoder: ChunkDecoder,
    encoder: ChunkEncoder,
    encoding: CommandEncoding,
}

impl Conn {
    fn send(&mut self, csid: u32, timestamp: u32, stream_id: u32, message: &RtmpMessage) {
        let raw = message
            .to_raw(csid, timestamp, stream_id)
            .expect("encodable message");
        let mut out = BytesMut::new();
        self.encoder.encode(&raw, &mut out).expect("chunkable");
        self.sock.write_all(&out).expect("write to client");
    }

    fn send_command(&mut self, stream_id: u32, cmd: &CommandMessage) {
        let mut body = BytesMut::new();
        cmd.encode(self.encoding, &mut body)
            .expect("encodable command");
        let msg = match self.encoding {
            CommandEncoding::Amf0 => RtmpMessage::CommandAmf0(body.freeze()),
            CommandEncoding::Amf3 => RtmpMessage::CommandAmf3(body.freeze()),
        };
        self.send(CSID_COMMAND, 0, stream_id, &msg);
    }

    fn send_status(&mut self, code: &str, description: &str) {
        let info = StatusInfo::new(status::LEVEL_STATUS, code, description).with_details("cam");
        self.send_command(STREAM_ID, &command::on_status(&info));
    }

    /// Answers one command like a live server; returns true once a play request
    /// has been served completely.
    fn answer(&mut self, cmd: &Command, on_play: &mut Option<OnPlay>) -> bool {
        match cmd {
            Command::Connect(connect) => {
                if connect.wants_amf3() {
                    self.encoding = CommandEncoding::Amf3;
                }
                self.send(2, 0, 0, &RtmpMessage::WindowAckSize(2_500_000));
                self.send(
                    2,
                    0,
                    0,
                    &RtmpMessage::SetPeerBandwidth {
                        window: 2_500_000,
                        limit_type: LimitType::Dynamic,
                    },
                );
                self.send(
                    2,
                    0,
                    0,
                    &RtmpMessage::UserControl(UserControlEvent::StreamBegin { stream_id: 0 }),
                );
                self.send(2, 0, 0, &RtmpMessage::SetChunkSize(SERVER_CHUNK_SIZE));
                let options = ConnectResultOptions {
                    object_encoding: if connect.wants_amf3() { 3.0 } else { 0.0 },
                    ..ConnectResultOptions::default()
                };
                self.send_command(
                    0,
                    &command::connect_result(connect.transaction_id, &options),
                );
            }
            Command::CreateStream { transaction_id, .. } => {
                self.send_command(
                    0,
                    &command::create_stream_result(*transaction_id, STREAM_ID),
                );
            }
            Command::FcPublish { stream_name, .. } => {
                self.send_command(0, &command::on_fc_publish(stream_name));
            }
            Command::Publish(_) => self.send_status(status::NS_PUBLISH_START, "Publishing cam."),
            Command::Play(_) => {
                let Some(OnPlay::Serve(tags)) = on_play.take() else {
                    return false;
                };
                self.send(
                    2,
                    0,
                    0,
                    &RtmpMessage::UserControl(UserControlEvent::StreamBegin {
                        stream_id: STREAM_ID,
                    }),
                );
                self.send_status(status::NS_PLAY_RESET, "Playing and resetting cam.");
                self.send_status(status::NS_PLAY_START, "Started playing cam.");
                let access = command::rtmp_sample_access(true, true);
                self.send_data(0, &access);
                self.send_status(status::NS_DATA_START, "Data start.");
                for tag in &tags {
                    let (csid, type_id) = match tag.tag_type {
                        ferrocast::protocol::flv::FlvTagType::Audio => (CSID_AUDIO, 8),
                        ferrocast::protocol::flv::FlvTagType::Video => (CSID_VIDEO, 9),
                        ferrocast::protocol::flv::FlvTagType::ScriptData => (CSID_DATA, 18),
                        ferrocast::protocol::flv::FlvTagType::Other(_) => continue,
                    };
                    let header = MessageHeader {
                        csid,
                        timestamp: tag.timestamp,
                        type_id,
                        stream_id: STREAM_ID,
                    };
                    let mut segments = Vec::new();
                    self.encoder
                        .encode_segments(&header, &tag.data, &mut segments)
                        .expect("chunkable media");
                    for s in segments {
                        self.sock.write_all(&s).expect("write media");
                    }
                }
                self.send(
                    2,
                    0,
                    0,
                    &RtmpMessage::UserControl(UserControlEvent::StreamEof {
                        stream_id: STREAM_ID,
                    }),
                );
                self.send_status(status::NS_PLAY_STOP, "Stopped playing cam.");
                let _ = self.sock.flush();
                // Let the client drain what it was sent before the socket closes.
                std::thread::sleep(Duration::from_millis(300));
                return true;
            }
            _ => {}
        }
        false
    }

    fn send_data(&mut self, stream_id: u32, values: &[ferrocast::protocol::amf::AmfValue]) {
        let mut body = BytesMut::new();
        ferrocast::protocol::amf::amf0::encode_all(values, &mut body).expect("encodable data");
        let raw = RawMessage {
            csid: CSID_DATA,
            timestamp: 0,
            type_id: 18,
            stream_id: if stream_id == 0 { STREAM_ID } else { stream_id },
            payload: body.freeze(),
        };
        let mut out = BytesMut::new();
        self.encoder.encode(&raw, &mut out).expect("chunkable");
        self.sock.write_all(&out).expect("write data");
    }
}
