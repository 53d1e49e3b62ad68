//! A small in-test RTMP client: handshake, chunked commands and media, and
//! decoding of everything the session queued.

use bytes::{Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::protocol::amf::{amf0, AmfValue};
use crate::protocol::chunk::{ChunkDecoder, ChunkEncoder, RawMessage};
use crate::protocol::command::{CommandEncoding, CommandMessage};
use crate::protocol::handshake::{ClientConfig, ClientHandshake, HandshakeStep};
use crate::protocol::limits::ChunkLimits;
use crate::protocol::message::RtmpMessage;
use crate::protocol::session::{ConnectAccept, ServerSession, SessionConfig, SessionEvent};

/// Seeded randomness, so runs are reproducible.
pub(super) fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

/// The client half of an in-memory connection.
pub(super) struct TestClient {
    pub(super) encoder: ChunkEncoder,
    pub(super) decoder: ChunkDecoder,
    /// Send commands as type 17 (objectEncoding 3 clients).
    pub(super) amf3: bool,
    rng: StdRng,
}

impl TestClient {
    pub(super) fn new() -> Self {
        Self {
            encoder: ChunkEncoder::new(),
            decoder: ChunkDecoder::new(ChunkLimits::default()),
            amf3: false,
            rng: rng(),
        }
    }

    /// C0+C1 and C2 for `session`; returns every event and the handshake
    /// bytes the client sent.
    pub(super) fn handshake(
        &mut self,
        session: &mut ServerSession,
    ) -> (Vec<SessionEvent>, Vec<u8>) {
        let (mut hs, c0c1) = ClientHandshake::start(ClientConfig::default(), 0, &mut self.rng);
        let mut events = session
            .handle_input(&c0c1, 0, &mut self.rng)
            .expect("C0+C1");
        let s0s1s2 = concat(session.take_outbound());
        let step = hs.handle_input(&s0s1s2, 0, &mut self.rng).expect("S0S1S2");
        let HandshakeStep::Done { send: c2, .. } = step else {
            panic!("client handshake not done after S0+S1+S2");
        };
        events.extend(session.handle_input(&c2, 0, &mut self.rng).expect("C2"));
        let mut sent = c0c1.to_vec();
        sent.extend_from_slice(&c2);
        (events, sent)
    }

    /// One message, chunked with the client's encoder.
    pub(super) fn message(
        &mut self,
        csid: u32,
        timestamp: u32,
        type_id: u8,
        stream_id: u32,
        payload: Bytes,
    ) -> Bytes {
        let raw = RawMessage {
            csid,
            timestamp,
            type_id,
            stream_id,
            payload,
        };
        let mut out = BytesMut::new();
        self.encoder.encode(&raw, &mut out).expect("chunkable");
        out.freeze()
    }

    /// A command message on csid 3 (type 17 when `amf3`).
    pub(super) fn command(
        &mut self,
        stream_id: u32,
        name: &str,
        transaction_id: f64,
        command_object: AmfValue,
        args: Vec<AmfValue>,
    ) -> Bytes {
        let encoding = if self.amf3 {
            CommandEncoding::Amf3
        } else {
            CommandEncoding::Amf0
        };
        let mut body = BytesMut::new();
        CommandMessage::new(name, transaction_id, command_object, args)
            .encode(encoding, &mut body)
            .expect("encodable");
        let csid = if stream_id == 0 { 3 } else { 8 };
        self.message(csid, 0, encoding.message_type(), stream_id, body.freeze())
    }

    /// The `connect` command ffmpeg sends, with `objectEncoding` when given.
    pub(super) fn connect(&mut self, app: &str, object_encoding: Option<f64>) -> Bytes {
        let mut members = vec![
            ("app", AmfValue::string(app)),
            (
                "flashVer",
                AmfValue::string("FMLE/3.0 (compatible; Lavf59.27.100)"),
            ),
            ("tcUrl", AmfValue::string(format!("rtmp://localhost/{app}"))),
        ];
        if let Some(enc) = object_encoding {
            members.push(("objectEncoding", AmfValue::Number(enc)));
        }
        // Flash Player sends connect as type 20 even with objectEncoding 3.
        let amf3 = std::mem::replace(&mut self.amf3, false);
        let bytes = self.command(0, "connect", 1.0, AmfValue::object(members), Vec::new());
        self.amf3 = amf3;
        bytes
    }

    /// An AMF0 data message on `stream_id`.
    pub(super) fn data(&mut self, stream_id: u32, timestamp: u32, values: &[AmfValue]) -> Bytes {
        let mut body = BytesMut::new();
        amf0::encode_all(values, &mut body).expect("encodable");
        self.message(4, timestamp, 18, stream_id, body.freeze())
    }

    /// Drains the session's outbound queue and decodes it as the client.
    pub(super) fn receive(&mut self, session: &mut ServerSession) -> Vec<RawMessage> {
        let mut buf = BytesMut::from(&concat(session.take_outbound())[..]);
        let mut out = Vec::new();
        while let Some(raw) = self.decoder.decode(&mut buf).expect("server chunk stream") {
            out.push(raw);
        }
        assert!(buf.is_empty(), "server left a partial chunk");
        out
    }
}

pub(super) fn concat(segments: Vec<Bytes>) -> Vec<u8> {
    segments.iter().flat_map(|s| s.iter().copied()).collect()
}

/// Feeds `bytes` to the session (one call), panicking on error.
pub(super) fn feed(session: &mut ServerSession, bytes: &[u8]) -> Vec<SessionEvent> {
    session
        .handle_input(bytes, 1_000, &mut rng())
        .expect("session accepts input")
}

/// Decodes a command message the server sent.
pub(super) fn command_of(raw: &RawMessage) -> CommandMessage {
    let encoding = CommandEncoding::from_message_type(raw.type_id)
        .unwrap_or_else(|| panic!("type {} is not a command", raw.type_id));
    CommandMessage::decode(raw.payload.clone(), encoding, Default::default()).expect("command")
}

/// Decodes a data message (type 18) the server sent.
pub(super) fn data_of(raw: &RawMessage) -> Vec<AmfValue> {
    assert_eq!(raw.type_id, 18, "data messages go out as type 18");
    amf0::decode_all(raw.payload.clone(), Default::default()).expect("data")
}

/// Decodes a control or user control message the server sent.
pub(super) fn control_of(raw: &RawMessage) -> RtmpMessage {
    RtmpMessage::from_raw(raw).expect("control message")
}

/// The `code` of an `onStatus` (or `_result`/`_error` info) message.
pub(super) fn status_code(message: &CommandMessage) -> String {
    message
        .args
        .first()
        .and_then(|info| info.get("code"))
        .and_then(AmfValue::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A session with handshake and connect done and accepted, outbound drained.
pub(super) fn connected(object_encoding: Option<f64>) -> (ServerSession, TestClient) {
    let mut session = ServerSession::new(SessionConfig::default());
    let mut client = TestClient::new();
    client.handshake(&mut session);
    let connect = client.connect("live", object_encoding);
    let events = feed(&mut session, &connect);
    let Some(SessionEvent::ConnectRequested { request, .. }) = events.first() else {
        panic!("expected ConnectRequested, got {events:?}");
    };
    session
        .accept_connect(*request, &ConnectAccept::default())
        .expect("accept");
    client.amf3 = object_encoding == Some(3.0);
    client.receive(&mut session);
    (session, client)
}

/// `createStream` on a connected session; returns the new stream id.
pub(super) fn create_stream(session: &mut ServerSession, client: &mut TestClient) -> u32 {
    let bytes = client.command(0, "createStream", 4.0, AmfValue::Null, Vec::new());
    let events = feed(session, &bytes);
    let Some(SessionEvent::StreamCreated { stream_id }) = events.first() else {
        panic!("expected StreamCreated, got {events:?}");
    };
    let replies = client.receive(session);
    let result = command_of(&replies[0]);
    assert_eq!(&*result.name, "_result");
    assert_eq!(result.transaction_id, 4.0);
    assert_eq!(result.args, vec![AmfValue::Number(f64::from(*stream_id))]);
    *stream_id
}
