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
    let (mut sock, mut wire) = handshake(addr);
    let mut encoder = ChunkEncoder::new();
    let mut command = |stream_id: u32, msg: CommandMessage| {
        let mut body = BytesMut::new();
        msg.encode(CommandEncoding::Amf0, &mut body).unwrap();
        let raw = RawMessage {
            csid: 3,
            timestamp: 0,
            type_id: 20,
            stream_id,
            payload: body.freeze(),
        };
        encoder.encode(&raw, &mut wire).unwrap();
    };
    let tc_url = format!("rtmp://{addr}/{app}");
    let object = AmfValue::object([
        ("app", AmfValue::string(app)),
        ("tcUrl", AmfValue::string(tc_url)),
    ]);
    command(0, CommandMessage::new("connect", 1.0, object, vec![]));
    command(
        0,
        CommandMessage::new("createStream", 2.0, AmfValue::Null, vec![]),
    );
    command(
        1,
        CommandMessage::new("play", 3.0, AmfValue::Null, vec![AmfValue::string(name)]),
    );
    sock.write_all(&wire).unwrap();
    sock
}
