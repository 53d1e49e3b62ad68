//! Meaningful starting inputs for every fuzz target, built with the core's own
//! encoders (so they follow each target's input layout, selector bytes
//! included) plus a few hand-built vectors the encoders never write (AMF
//! references, type 17 format byte, bad lengths).
//!
//! `FERROCAST_WRITE_FUZZ_SEEDS=1 cargo test --lib seeds` writes them to
//! `fuzz/corpus/<target>/seed-*`; without the variable the test only checks
//! that every seed runs through its target.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::amf::{
    amf0, amf3, AmfDate, AmfObject, AmfValue, AmfVector, Dictionary, EcmaArray, ObjectVector,
};
use crate::protocol::chunk::{ChunkEncoder, RawMessage};
use crate::protocol::command::{
    call_result, connect_result, on_status, CommandEncoding, CommandMessage, ConnectResultOptions,
    StatusInfo,
};
use crate::protocol::handshake::{
    ClientConfig, ClientHandshake, ClientMode, DigestSchema, HandshakeStep, ServerHandshake,
};
use crate::protocol::message::{Aggregate, AggregatePart};
use crate::protocol::shared_object::{
    SharedObjectEncoding, SharedObjectEvent, SharedObjectMessage,
};

/// Values covering every AMF type, nested, with shared (referenced) nodes.
fn sample_values() -> Vec<AmfValue> {
    let shared = AmfValue::object([("k", AmfValue::string("shared"))]);
    let typed = AmfValue::Object(Arc::new(AmfObject {
        class_name: Some("flex.Msg".into()),
        members: vec![
            ("a".into(), AmfValue::Number(1.5)),
            ("b".into(), AmfValue::Integer(-7)),
        ],
        sealed_count: 2,
        dynamic: false,
        external: None,
    }));
    vec![
        AmfValue::Undefined,
        AmfValue::Null,
        AmfValue::Boolean(true),
        AmfValue::Integer(0x0FFF_FFFF),
        AmfValue::Integer(-1),
        AmfValue::Number(f64::NAN),
        AmfValue::string("connect"),
        AmfValue::string("x".repeat(300)),
        AmfValue::Date(AmfDate {
            millis: 1.6e12,
            timezone_minutes: 60,
        }),
        AmfValue::XmlDocument("<a/>".into()),
        AmfValue::Xml("<b/>".into()),
        AmfValue::ByteArray(Bytes::from_static(b"\x00\x01\x02")),
        AmfValue::strict_array([shared.clone(), shared.clone(), AmfValue::Null]),
        AmfValue::EcmaArray(Arc::new(EcmaArray {
            dense: vec![AmfValue::Number(1.0)],
            assoc: vec![("duration".into(), AmfValue::Number(10.0))],
        })),
        typed.clone(),
        typed,
        AmfValue::VectorInt(Arc::new(AmfVector {
            fixed: false,
            items: vec![1, -2, 3],
        })),
        AmfValue::VectorUint(Arc::new(AmfVector {
            fixed: true,
            items: vec![1, 2],
        })),
        AmfValue::VectorDouble(Arc::new(AmfVector {
            fixed: false,
            items: vec![0.5],
        })),
        AmfValue::VectorObject(Arc::new(ObjectVector {
            fixed: false,
            type_name: "Point".into(),
            items: vec![shared.clone()],
        })),
        AmfValue::Dictionary(Arc::new(Dictionary {
            weak_keys: false,
            entries: vec![(AmfValue::string("key"), shared)],
        })),
    ]
}

fn metadata() -> AmfValue {
    AmfValue::ecma_array([
        ("duration", AmfValue::Number(0.0)),
        ("width", AmfValue::Number(320.0)),
        ("height", AmfValue::Number(240.0)),
        ("encoder", AmfValue::string("Lavf61.7.100")),
    ])
}

fn command_messages() -> Vec<CommandMessage> {
    let connect_object = AmfValue::object([
        ("app", AmfValue::string("live")),
        (
            "flashVer",
            AmfValue::string("FMLE/3.0 (compatible; FMSc/1.0)"),
        ),
        ("tcUrl", AmfValue::string("rtmp://127.0.0.1:1935/live")),
        ("objectEncoding", AmfValue::Number(3.0)),
        (
            "fourCcList",
            AmfValue::strict_array([AmfValue::string("hvc1"), AmfValue::string("av01")]),
        ),
    ]);
    let string = AmfValue::string;
    vec![
        CommandMessage::new("connect", 1.0, connect_object, vec![]),
        CommandMessage::new("createStream", 2.0, AmfValue::Null, vec![]),
        CommandMessage::new("releaseStream", 3.0, AmfValue::Null, vec![string("s")]),
        CommandMessage::new("FCPublish", 4.0, AmfValue::Null, vec![string("s")]),
        CommandMessage::new(
            "publish",
            5.0,
            AmfValue::Null,
            vec![string("s"), string("live")],
        ),
        CommandMessage::new(
            "play",
            4.0,
            AmfValue::Null,
            vec![
                string("s"),
                AmfValue::Number(-2.0),
                AmfValue::Number(-1.0),
                AmfValue::Boolean(false),
            ],
        ),
        CommandMessage::new(
            "pause",
            0.0,
            AmfValue::Null,
            vec![AmfValue::Boolean(true), AmfValue::Number(1000.0)],
        ),
        CommandMessage::new("seek", 0.0, AmfValue::Null, vec![AmfValue::Number(5.0)]),
        CommandMessage::new(
            "deleteStream",
            0.0,
            AmfValue::Null,
            vec![AmfValue::Number(1.0)],
        ),
        CommandMessage::new("echo", 7.0, AmfValue::Null, sample_values()),
        connect_result(1.0, &ConnectResultOptions::default()),
        call_result(7.0, vec![AmfValue::Number(42.0)]),
        on_status(&StatusInfo::new(
            "status",
            "NetStream.Play.Start",
            "Started playing",
        )),
    ]
}

fn shared_object_messages() -> Vec<SharedObjectMessage> {
    let mut use_msg = SharedObjectMessage::new("chat", 0, false);
    use_msg.events.push(SharedObjectEvent::Use);
    let mut changes = SharedObjectMessage::new("room/state", 7, true);
    changes.events = vec![
        SharedObjectEvent::UseSuccess,
        SharedObjectEvent::Clear,
        SharedObjectEvent::Change(vec![
            ("count".into(), AmfValue::Number(3.0)),
            ("who".into(), AmfValue::string("ann")),
        ]),
        SharedObjectEvent::RequestChange(vec![("obj".into(), sample_values()[12].clone())]),
        SharedObjectEvent::Success(vec!["count".into()]),
        SharedObjectEvent::SendMessage {
            method: "onMsg".into(),
            args: vec![AmfValue::string("hi"), AmfValue::Number(1.0)],
        },
        SharedObjectEvent::Status {
            code: "SharedObject.NoWriteAccess".into(),
            level: "error".into(),
        },
        SharedObjectEvent::Remove(vec!["who".into()]),
        SharedObjectEvent::RequestRemove(vec!["count".into()]),
        SharedObjectEvent::Release,
        SharedObjectEvent::Unknown {
            event_type: 12,
            data: Bytes::from_static(b"\x01\x02"),
        },
    ];
    vec![use_msg, changes]
}

/// Hand-built AMF0 inputs the encoder never writes.
const AMF0_HAND: &[&[u8]] = &[
    // Object, then a reference 0x07 to it, then a reference past the table.
    b"\x03\x00\x01a\x00\x3f\xf0\x00\x00\x00\x00\x00\x00\x00\x00\x09\x07\x00\x00\x07\x00\x05",
    // ECMA array whose count lies (ffmpeg onMetaData style), cut at the end.
    b"\x08\x00\x00\x00\x0d\x00\x08duration\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    // Long string claiming more bytes than present.
    b"\x0c\xff\xff\xff\xff\x41",
    // Strict array claiming 2^32-1 elements.
    b"\x0a\xff\xff\xff\xff\x05",
    // AVM+ switch to AMF3 twice (tables kept across switches).
    b"\x11\x06\x07abc\x11\x06\x00",
    // Typed object and unsupported/movieclip/recordset markers.
    b"\x10\x00\x03Foo\x00\x01x\x05\x00\x00\x09\x0d\x04\x0e",
];

/// Hand-built AMF3 inputs the encoder never writes.
const AMF3_HAND: &[&[u8]] = &[
    // Strings by reference, including a bad reference.
    b"\x06\x07abc\x06\x00\x06\x02",
    // Array of self-reference (a cycle).
    b"\x09\x03\x01\x09\x00",
    // Object with traits reference and externalizable traits.
    b"\x0a\x13\x07Foo\x03a\x04\x01\x0a\x01\x04\x02\x0a\x07\x07Ext\x04\x05",
    // Huge U29 lengths.
    b"\x06\xff\xff\xff\xff\x0c\xff\xff\xff\xfe",
    // Vector<Object> with a huge count, dictionary with a huge count.
    b"\x10\xff\xff\xff\x01\x00\x01\x11\xff\xff\xff\x01\x00",
    // Date by reference and XML.
    b"\x08\x01\x42\x77\x00\x00\x00\x00\x00\x00\x08\x02\x0b\x07<a/>\x07\x00",
];

/// A chunk stream with control messages, commands, media with extended
/// timestamps, an aggregate, on several chunk streams.
fn chunk_stream() -> Vec<u8> {
    let mut messages = Vec::new();
    let raw = |csid, timestamp, type_id, stream_id, payload: Vec<u8>| RawMessage {
        csid,
        timestamp,
        type_id,
        stream_id,
        payload: Bytes::from(payload),
    };
    messages.push(raw(2, 0, 5, 0, 2_500_000u32.to_be_bytes().to_vec()));
    messages.push(raw(2, 0, 6, 0, vec![0, 0x26, 0x25, 0xA0, 2]));
    messages.push(raw(2, 0, 4, 0, vec![0, 0, 0, 0, 0, 1]));
    for msg in command_messages().iter().take(3) {
        let mut body = BytesMut::new();
        if msg.encode(CommandEncoding::Amf0, &mut body).is_ok() {
            messages.push(raw(3, 0, 20, 0, body.to_vec()));
        }
    }
    messages.push(raw(2, 0, 1, 0, 64u32.to_be_bytes().to_vec()));
    let video = [0x17u8, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff];
    messages.push(raw(6, 0x0100_0000, 9, 1, video.repeat(20)));
    messages.push(raw(4, 0x0100_0020, 8, 1, vec![0xAF, 1, 0x21, 0x10]));
    messages.push(raw(6, 0x0100_0040, 9, 1, vec![0x27, 1, 0, 0, 0, 9]));
    let mut agg = BytesMut::new();
    let parts = Aggregate {
        parts: vec![
            AggregatePart {
                type_id: 9,
                timestamp: 1000,
                stream_id: 1,
                body: Bytes::from_static(&[0x17, 1, 0, 0, 0]),
            },
            AggregatePart {
                type_id: 8,
                timestamp: 1010,
                stream_id: 1,
                body: Bytes::from_static(&[0xAF, 1, 0]),
            },
        ],
    };
    if parts.encode(&mut agg).is_ok() {
        messages.push(raw(5, 1000, 22, 1, agg.to_vec()));
    }
    messages.push(raw(2, 0, 3, 0, 4096u32.to_be_bytes().to_vec()));
    messages.push(raw(70_000 - 1, 5, 18, 1, {
        let mut b = BytesMut::new();
        let _ = amf0::encode_all(&[AmfValue::string("onMetaData"), metadata()], &mut b);
        b.to_vec()
    }));
    let mut encoder = ChunkEncoder::new();
    let mut wire = BytesMut::new();
    for msg in &messages {
        let _ = encoder.encode(msg, &mut wire);
    }
    wire.to_vec()
}

/// A deterministic source for the handshakes.
struct Counter(u64);

impl rand::RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        self.0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for b in dst {
            *b = (self.next_u64() >> 33) as u8;
        }
    }
}

fn handshake_seeds(vectors: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let mut rng = Counter(1);
    // Server role, the captured C0+C1 as is (no version byte prepended).
    for v in vectors {
        seeds.push([&[0x80, 0][..], v].concat());
        seeds.push([&[0x80, 200][..], v].concat());
    }
    let modes = [
        (0u8, ClientMode::Simple),
        (
            2,
            ClientMode::Digest {
                schema: DigestSchema::KeyFirst,
                flash_version: [128, 0, 3, 2],
            },
        ),
        (4, ClientMode::default()),
    ];
    for (bits, mode) in modes {
        // Server role: our client's C0+C1 followed by a C2 echo.
        let config = ClientConfig {
            mode,
            verify_server: true,
        };
        let (_client, c0c1) = ClientHandshake::start(config, 0, &mut rng);
        let mut peer = c0c1.to_vec();
        peer.extend_from_slice(&c0c1[1..]);
        seeds.push([&[0x80, 0][..], &peer].concat());
        // Client role: what our server answers to that client.
        let mut server = ServerHandshake::new();
        if let Ok(HandshakeStep::Continue { send }) = server.handle_input(&c0c1, 0, &mut rng) {
            seeds.push([&[0x80 | 1 | bits | 8, 0][..], &send].concat());
            seeds.push([&[0x80 | 1 | bits, 0][..], &send].concat());
        }
    }
    seeds
}

/// The seeds of each target, by target name.
fn seeds(root: &std::path::Path) -> Vec<(&'static str, Vec<u8>)> {
    let read = |p: &str| std::fs::read(root.join(p)).unwrap_or_default();
    let handshake_vectors: Vec<Vec<u8>> = [
        "ffmpeg_c0c1.bin",
        "rtmpdump_c0c1.bin",
        "rtmpdump_fp9_c0c1.bin",
        "rtmpdump_rtmpe_c0c1.bin",
    ]
    .iter()
    .map(|f| read(&format!("tests/vectors/handshake/{f}")))
    .collect();
    let flv = read("tests/vectors/media/out.flv");

    let mut out = Vec::new();
    for s in handshake_seeds(&handshake_vectors) {
        out.push(("handshake", s));
    }

    let stream = chunk_stream();
    for split in [0u8, 1, 7, 128] {
        out.push(("chunk", [&[split][..], &stream].concat()));
    }

    let values = sample_values();
    for v in &values {
        let mut a0 = BytesMut::new();
        let mut a3 = BytesMut::new();
        if amf0::encode_all(std::slice::from_ref(v), &mut a0).is_ok() {
            out.push(("amf0", a0.to_vec()));
        }
        if amf3::encode_all(std::slice::from_ref(v), &mut a3).is_ok() {
            out.push(("amf3", a3.to_vec()));
        }
    }
    type Encode = fn(&[AmfValue], &mut BytesMut) -> Result<(), crate::protocol::amf::AmfError>;
    let encoders: [(&str, Encode); 2] = [("amf0", amf0::encode_all), ("amf3", amf3::encode_all)];
    for (target, encode) in encoders {
        let mut all = BytesMut::new();
        let _ = encode(&values, &mut all);
        out.push((target, all.to_vec()));
    }
    out.extend(AMF0_HAND.iter().map(|s| ("amf0", s.to_vec())));
    out.extend(AMF3_HAND.iter().map(|s| ("amf3", s.to_vec())));

    for msg in command_messages() {
        for (selector, encoding) in [(0u8, CommandEncoding::Amf0), (1, CommandEncoding::Amf3)] {
            let mut body = BytesMut::new();
            if msg.encode(encoding, &mut body).is_ok() {
                out.push(("command", [&[selector][..], &body].concat()));
            }
        }
    }
    // Type 17 as Flash Player sends it: format byte 0, then AMF0 with an AVM+
    // switch for the command object.
    out.push((
        "command",
        b"\x01\x00\x02\x00\x04call\x00\x40\x00\x00\x00\x00\x00\x00\x00\x11\x0a\x0b\x01\x03a\x04\x01\x01"
            .to_vec(),
    ));

    for msg in shared_object_messages() {
        for (selector, encoding) in [
            (0u8, SharedObjectEncoding::Amf0),
            (1, SharedObjectEncoding::Amf3),
        ] {
            let mut body = BytesMut::new();
            if msg.encode(encoding, &mut body).is_ok() {
                out.push(("shared_object", [&[selector][..], &body].concat()));
            }
        }
    }
    // An event whose length runs past the message end.
    let mut bad = BytesMut::new();
    bad.put_u8(0);
    bad.put_u16(1);
    bad.put_u8(b'x');
    bad.put_slice(&[0; 12]);
    bad.put_u8(4);
    bad.put_u32(0xFFFF_FFF0);
    out.push(("shared_object", bad.to_vec()));

    if !flv.is_empty() {
        out.push(("flv", [&[0u8][..], &flv].concat()));
        out.push(("flv", [&[0x80 | 13][..], &flv].concat()));
        out.push(("flv", [&[1u8][..], &flv[..flv.len().min(2048)]].concat()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str) -> fn(&[u8]) {
        match name {
            "handshake" => crate::fuzzing::handshake,
            "chunk" => crate::fuzzing::chunk,
            "amf0" => crate::fuzzing::amf0,
            "amf3" => crate::fuzzing::amf3,
            "command" => crate::fuzzing::command,
            "shared_object" => crate::fuzzing::shared_object,
            "flv" => crate::fuzzing::flv,
            other => panic!("unknown target {other}"),
        }
    }

    #[test]
    fn every_seed_runs_through_its_target_and_is_written_when_asked() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let seeds = seeds(&root);
        let write = std::env::var_os("FERROCAST_WRITE_FUZZ_SEEDS").is_some();
        for (i, (name, data)) in seeds.iter().enumerate() {
            target(name)(data);
            if write {
                let dir = root.join("fuzz/corpus").join(name);
                std::fs::create_dir_all(&dir).expect("create corpus dir");
                std::fs::write(dir.join(format!("seed-{i:03}")), data).expect("write seed");
            }
        }
        for name in [
            "handshake",
            "chunk",
            "amf0",
            "amf3",
            "command",
            "shared_object",
            "flv",
        ] {
            assert!(seeds.iter().any(|(n, _)| *n == name), "no seed for {name}");
        }
    }
}
