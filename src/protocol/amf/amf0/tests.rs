//! AMF0 tests. Vectors named `RocketAMF` are the RocketAMF project's AMF0 spec
//! fixtures (as shipped in the `amf` crate's `testdata/`), transcribed as hex.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::test_support::{
    amf0_canonical, arb_value, cat, from_oracle0, hex, never_panics, oracle_safe,
};
use super::*;
use crate::protocol::amf::{AmfDate, AmfObject, AmfValue};

fn decode1(bytes: Bytes) -> Result<AmfValue, AmfError> {
    let mut buf = bytes;
    let v = Amf0Decoder::new(AmfLimits::default()).decode(&mut buf)?;
    assert!(buf.is_empty(), "trailing bytes: {buf:?}");
    Ok(v)
}

fn encode1(v: &AmfValue) -> Bytes {
    let mut dst = BytesMut::new();
    Amf0Encoder::new().encode(v, &mut dst).expect("encodable");
    dst.freeze()
}

fn typed(class: &str, members: Vec<(&str, AmfValue)>) -> AmfValue {
    let members: Vec<_> = members.into_iter().map(|(k, v)| (k.into(), v)).collect();
    AmfValue::Object(Arc::new(AmfObject {
        class_name: Some(class.into()),
        sealed_count: members.len(),
        dynamic: false,
        members,
        external: None,
    }))
}

/// (name, bytes, value) for every AMF0 type; each roundtrips byte for byte.
fn vectors() -> Vec<(&'static str, Bytes, AmfValue)> {
    vec![
        // RocketAMF amf0-number.bin: 3.5.
        ("number", hex("00 400c000000000000"), AmfValue::Number(3.5)),
        (
            "number -inf",
            hex("00 fff0000000000000"),
            AmfValue::Number(f64::NEG_INFINITY),
        ),
        // RocketAMF amf0-boolean-true.bin / -false.bin.
        ("true", hex("01 01"), AmfValue::Boolean(true)),
        ("false", hex("01 00"), AmfValue::Boolean(false)),
        // RocketAMF amf0-string.bin: "this is a テスト".
        (
            "string",
            hex("02 0013 74686973206973206120 e38386e382b9e38388"),
            AmfValue::from("this is a テスト"),
        ),
        // RocketAMF amf0-untyped-object.bin: {foo: "bar", baz: null}.
        (
            "object",
            hex("03 0003 666f6f 02 0003 626172 0003 62617a 05 000009"),
            AmfValue::object([("foo", AmfValue::from("bar")), ("baz", AmfValue::Null)]),
        ),
        // RocketAMF amf0-null.bin, amf0-undefined.bin, amf0-unsupported.bin.
        ("null", hex("05"), AmfValue::Null),
        ("undefined", hex("06"), AmfValue::Undefined),
        ("unsupported", hex("0d"), AmfValue::Unsupported),
        // RocketAMF amf0-hash.bin: ECMA array {c: "d", a: "b"}; its count hint
        // is 0, which we read but ignore; we write the true count, 2.
        (
            "ecma array",
            hex("08 00000002 0001 63 02 0001 64 0001 61 02 0001 62 000009"),
            AmfValue::ecma_array([("c", AmfValue::from("d")), ("a", AmfValue::from("b"))]),
        ),
        // RocketAMF amf0-strict-array.bin: [1, "2", 3].
        (
            "strict array",
            hex("0a 00000003 00 3ff0000000000000 02 0001 32 00 4008000000000000"),
            AmfValue::strict_array([
                AmfValue::Number(1.0),
                AmfValue::from("2"),
                AmfValue::Number(3.0),
            ]),
        ),
        // RocketAMF amf0-date.bin: 2020-05-30T... (1590796800000 ms), zone 0.
        (
            "date",
            hex("0b 4277262e0d000000 0000"),
            AmfValue::Date(AmfDate {
                millis: f64::from_bits(0x4277_262e_0d00_0000),
                timezone_minutes: 0,
            }),
        ),
        // Spec §2.13 time-zone field (reserved, kept as read): -60 minutes.
        (
            "date with zone",
            hex("0b 0000000000000000 ffc4"),
            AmfValue::Date(AmfDate {
                millis: 0.0,
                timezone_minutes: -60,
            }),
        ),
        // RocketAMF amf0-xml-doc.bin.
        (
            "xml document",
            hex("0f 00000026 3c706172656e743e3c6368696c642070726f703d227465737422202f3e3c2f706172656e743e"),
            AmfValue::XmlDocument("<parent><child prop=\"test\" /></parent>".into()),
        ),
        // RocketAMF amf0-typed-object.bin: org.amf.ASClass {foo: "bar", baz: null}.
        (
            "typed object",
            hex("10 000f 6f72672e616d662e4153436c617373 0003 666f6f 02 0003 626172 0003 62617a 05 000009"),
            typed(
                "org.amf.ASClass",
                vec![("foo", AmfValue::from("bar")), ("baz", AmfValue::Null)],
            ),
        ),
    ]
}

#[test]
fn decodes_and_reencodes_every_type_byte_for_byte() {
    for (name, bytes, value) in vectors() {
        assert_eq!(decode1(bytes.clone()).as_ref(), Ok(&value), "{name}");
        assert_eq!(encode1(&value), bytes, "{name}");
    }
}

#[test]
fn decodes_long_string() {
    // RocketAMF amf0-long-string.bin: 0x10013 'a's behind marker 0x0C.
    let body = vec![b'a'; 0x1_0013];
    let bytes = cat(&[&[0x0c, 0x00, 0x01, 0x00, 0x13], &body]);
    let s = String::from_utf8(body).expect("ascii");
    assert_eq!(decode1(bytes.clone()), Ok(AmfValue::from(s.clone())));
    assert_eq!(encode1(&AmfValue::from(s)), bytes);
}

#[test]
fn strings_of_65535_bytes_stay_short_and_longer_ones_become_long_strings() {
    let at_limit = encode1(&AmfValue::from("x".repeat(65_535)));
    assert_eq!(&at_limit[..3], &[0x02, 0xff, 0xff]);
    let over = encode1(&AmfValue::from("x".repeat(65_536)));
    assert_eq!(&over[..5], &[0x0c, 0x00, 0x01, 0x00, 0x00]);
}

#[test]
fn decodes_empty_member_name_as_a_member() {
    // RocketAMF amf0-object.bin: {"": "", foo: "baz", bar: 3.14}. ActionScript
    // allows `o[""]`; the empty name is not followed by 0x09, so it is a member.
    let bytes =
        hex("03 0000 02 0000 0003 666f6f 02 0003 62617a 0003 626172 00 40091eb851eb851f 000009");
    let v = decode1(bytes).expect("decodes");
    assert_eq!(v.get(""), Some(&AmfValue::from("")));
    let bar = f64::from_bits(0x4009_1eb8_51eb_851f); // 3.14 on the wire
    assert_eq!(v.get("bar"), Some(&AmfValue::Number(bar)));
}

#[test]
fn decodes_ffmpeg_connect_command() {
    // ffmpeg libavformat/rtmpproto.c gen_connect() when publishing
    // (`ffmpeg -f flv rtmp://127.0.0.1:1935/live/s`): "connect", transaction 1,
    // and the command object {app, type, flashVer, tcUrl}.
    let bytes = cat(&[
        b"\x02\x00\x07connect",
        b"\x00\x3f\xf0\x00\x00\x00\x00\x00\x00",
        b"\x03",
        b"\x00\x03app\x02\x00\x04live",
        b"\x00\x04type\x02\x00\x0anonprivate",
        b"\x00\x08flashVer\x02\x00\x24FMLE/3.0 (compatible; Lavf60.16.100)",
        b"\x00\x05tcUrl\x02\x00\x1artmp://127.0.0.1:1935/live",
        b"\x00\x00\x09",
    ]);
    let values = decode_all(bytes.clone(), AmfLimits::default()).expect("decodes");
    assert_eq!(values.len(), 3);
    assert_eq!(values[0].as_str(), Some("connect"));
    assert_eq!(values[1].as_f64(), Some(1.0));
    assert_eq!(
        values[2].get("app").and_then(AmfValue::as_str),
        Some("live")
    );
    assert_eq!(
        values[2].get("tcUrl").and_then(AmfValue::as_str),
        Some("rtmp://127.0.0.1:1935/live")
    );
    let mut out = BytesMut::new();
    encode_all(&values, &mut out).expect("encodes");
    assert_eq!(out.freeze(), bytes);
}

#[test]
fn ignores_wrong_ecma_array_count_in_ffmpeg_set_data_frame() {
    // ffmpeg libavformat/flvenc.c writes onMetaData's ECMA count before it knows
    // the fields and cannot seek back on a live RTMP output: here the hint says
    // 13 but 4 entries follow. ("@setDataFrame" is added by rtmpproto.c.)
    let bytes = cat(&[
        b"\x02\x00\x0d@setDataFrame",
        b"\x02\x00\x0aonMetaData",
        b"\x08\x00\x00\x00\x0d",
        b"\x00\x08duration\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        b"\x00\x05width\x00\x40\x94\x00\x00\x00\x00\x00\x00",
        b"\x00\x06height\x00\x40\x86\x80\x00\x00\x00\x00\x00",
        b"\x00\x07encoder\x02\x00\x0dLavf60.16.100",
        b"\x00\x00\x09",
    ]);
    let values = decode_all(bytes, AmfLimits::default()).expect("decodes");
    let meta = &values[2];
    assert_eq!(meta.get("width").and_then(AmfValue::as_f64), Some(1280.0));
    assert_eq!(meta.get("height").and_then(AmfValue::as_f64), Some(720.0));
    assert_eq!(
        meta.get("encoder").and_then(AmfValue::as_str),
        Some("Lavf60.16.100")
    );
}

#[test]
fn accepts_ecma_array_missing_its_end_marker_at_end_of_message() {
    // Some onMetaData writers stop after the last entry (no 00 00 09).
    let full = hex("08 00000001 0001 61 01 01");
    assert_eq!(
        decode1(full),
        Ok(AmfValue::ecma_array([("a", AmfValue::Boolean(true))]))
    );
    // ... or after the empty name but before the 0x09.
    let no_marker = hex("08 00000001 0001 61 01 01 0000");
    assert!(decode1(no_marker).is_ok());
    // A value cut in its middle is still an error, and objects are strict.
    assert!(decode1(hex("08 00000001 0001 61 01")).is_err());
    assert_eq!(
        decode1(hex("03 0001 61 01 01")),
        Err(AmfError::Truncated {
            what: "AMF0 string length"
        })
    );
}

#[test]
fn reference_decodes_to_the_shared_node() {
    // RocketAMF amf0-ref-test.bin: {"0": {foo: "baz", bar: 3.14}, "1": ref 1}.
    let bytes = hex(
        "03 0001 30 03 0003 666f6f 02 0003 62617a 0003 626172 00 40091eb851eb851f 000009 \
         0001 31 07 0001 000009",
    );
    let v = decode1(bytes.clone()).expect("decodes");
    let (Some(AmfValue::Object(a)), Some(AmfValue::Object(b))) = (v.get("0"), v.get("1")) else {
        panic!("expected two objects: {v:?}");
    };
    assert!(Arc::ptr_eq(a, b));
    // And the encoder writes the reference back, byte for byte.
    assert_eq!(encode1(&v), bytes);
}

#[test]
fn writes_a_reference_when_the_same_arc_is_encoded_twice() {
    let shared = AmfValue::strict_array([AmfValue::Number(1.0)]);
    let mut dst = BytesMut::new();
    encode_all(&[shared.clone(), shared.clone()], &mut dst).expect("encodes");
    assert_eq!(dst.freeze(), hex("0a 00000001 00 3ff0000000000000 07 0000"));

    // Equal but distinct nodes are written twice.
    let other = AmfValue::strict_array([AmfValue::Number(1.0)]);
    let mut dst = BytesMut::new();
    encode_all(&[shared, other], &mut dst).expect("encodes");
    assert_eq!(dst.len(), 2 * 14);

    // Mapped containers take table slots too: the object after a ByteArray
    // (a strict array on the wire) is slot 1.
    let obj = AmfValue::object([("a", AmfValue::Null)]);
    let mut dst = BytesMut::new();
    encode_all(
        &[
            AmfValue::ByteArray(Bytes::from_static(b"")),
            obj.clone(),
            obj,
        ],
        &mut dst,
    )
    .expect("encodes");
    assert!(dst.ends_with(&[0x07, 0x00, 0x01]));
    let back = decode_all(dst.freeze(), AmfLimits::default()).expect("decodes");
    assert_eq!(back[1], back[2]);
}

#[test]
fn self_reference_is_a_cycle() {
    // RocketAMF amf0-circular-reference.bin: a strict array holding itself.
    assert_eq!(
        decode1(hex("0a 00000001 07 0000")),
        Err(AmfError::CyclicReference { index: 0 })
    );
}

#[test]
fn rejects_bad_references() {
    // RocketAMF amf0-bad-reference.bin.
    assert_eq!(
        decode1(hex("07 0000")),
        Err(AmfError::BadReference {
            table: "object",
            index: 0,
            len: 0
        })
    );
}

#[test]
fn rejects_reserved_and_unknown_markers_and_stray_object_end() {
    // RocketAMF amf0-movieclip.bin, amf0-recordset.bin, amf0-unknown-marker.bin.
    for (m, _) in [
        (0x04u8, "movieclip"),
        (0x0e, "recordset"),
        (0x61, "unknown"),
    ] {
        assert_eq!(
            decode1(Bytes::from(vec![m])),
            Err(AmfError::UnknownAmf0Marker { marker: m })
        );
    }
    // RocketAMF amf0-bad-object-end.bin.
    assert!(matches!(decode1(hex("09")), Err(AmfError::Invalid { .. })));
}

#[test]
fn enforces_the_depth_limit() {
    let limits = AmfLimits {
        max_depth: 8,
        ..AmfLimits::default()
    };
    let nested = |n: usize| {
        let mut b = Vec::new();
        for _ in 0..n {
            b.extend_from_slice(&[0x0a, 0, 0, 0, 1]);
        }
        b.push(0x05);
        Bytes::from(b)
    };
    assert!(decode_all(nested(8), limits).is_ok());
    assert_eq!(
        decode_all(nested(9), limits),
        Err(AmfError::TooDeep { limit: 8 })
    );
}

#[test]
fn enforces_the_reference_table_limit() {
    let limits = AmfLimits {
        max_references: 2,
        ..AmfLimits::default()
    };
    let three = hex("0a00000000 0a00000000 0a00000000");
    assert_eq!(
        decode_all(three, limits),
        Err(AmfError::TooManyReferences {
            table: "object",
            limit: 2
        })
    );
}

#[test]
fn rejects_counts_and_lengths_larger_than_the_input_before_allocating() {
    assert!(matches!(
        decode1(hex("0a ffffffff 05")),
        Err(AmfError::LengthExceedsInput { .. })
    ));
    assert!(matches!(
        decode1(hex("0c ffffffff 61")),
        Err(AmfError::LengthExceedsInput { .. })
    ));
}

#[test]
fn preserves_nan_bits() {
    // RocketAMF amf0-number-quiet-nan.bin and -signaling-nan.bin.
    for bits in [0x7ff8_0000_0000_0000u64, 0x7ff0_0000_0000_0001] {
        let bytes = cat(&[&[0x00], &bits.to_be_bytes()]);
        let Ok(AmfValue::Number(n)) = decode1(bytes.clone()) else {
            panic!("number");
        };
        assert_eq!(n.to_bits(), bits);
        assert_eq!(encode1(&AmfValue::Number(n)), bytes);
    }
}

#[test]
fn maps_amf3_only_values_as_documented() {
    assert_eq!(encode1(&AmfValue::Integer(3)), hex("00 4008000000000000"));
    assert_eq!(
        encode1(&AmfValue::Xml("<a/>".into())),
        hex("0f 00000004 3c612f3e")
    );
    assert_eq!(
        encode1(&AmfValue::ByteArray(Bytes::from_static(&[7]))),
        hex("0a 00000001 00 401c000000000000")
    );
}

#[test]
fn a_failed_encode_leaves_the_buffer_and_table_untouched() {
    let mut enc = Amf0Encoder::new();
    let mut dst = BytesMut::new();
    let shared = AmfValue::object([("a", AmfValue::Null)]);
    let bad = AmfValue::strict_array([shared.clone(), typed(&"x".repeat(70_000), vec![])]);
    assert!(matches!(
        enc.encode(&bad, &mut dst),
        Err(AmfError::Unencodable { .. })
    ));
    assert!(dst.is_empty());
    // `shared` was not really written, so it must not be referenced now.
    enc.encode(&shared, &mut dst).expect("encodes");
    assert_eq!(dst[0], 0x03);
}

#[test]
fn every_prefix_and_corruption_of_every_vector_is_an_error_or_a_value() {
    let mut all: Vec<Bytes> = vectors().into_iter().map(|(_, b, _)| b).collect();
    all.push(hex(
        "03 0001 30 03 0003 666f6f 02 0003 62617a 0003 626172 00 40091eb851eb851f 000009 \
         0001 31 07 0001 000009",
    ));
    all.push(hex("11 09 07 01 04 01 04 02 04 03"));
    for bytes in all {
        never_panics(&bytes, 200, |b| {
            let _ = decode_all(b, AmfLimits::default());
        });
    }
}

proptest! {
    #[test]
    fn roundtrips_random_value_trees_modulo_documented_mappings(v in arb_value()) {
        let mut dst = BytesMut::new();
        Amf0Encoder::new().encode(&v, &mut dst).expect("encodable");
        let back = decode1(dst.freeze()).expect("decodes");
        prop_assert_eq!(back, amf0_canonical(&v));
    }

    #[test]
    fn the_amf_crate_reads_what_we_write(v in arb_value()) {
        let v = oracle_safe(&v);
        let mut dst = BytesMut::new();
        Amf0Encoder::new().encode(&v, &mut dst).expect("encodable");
        let oracle = amf::Amf0Value::read_from(&dst[..]).expect("oracle decodes");
        prop_assert_eq!(from_oracle0(oracle), amf0_canonical(&v));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_all(Bytes::from(bytes), AmfLimits::default());
    }
}

#[test]
fn encoders_refuse_values_nested_deeper_than_256_without_overflowing_the_stack() {
    let nest = |n: usize| (0..n).fold(AmfValue::Null, |v, _| AmfValue::strict_array([v]));
    let ok = nest(256);
    let deep = nest(257);
    let mut dst = BytesMut::new();
    assert!(Amf0Encoder::new().encode(&ok, &mut dst).is_ok());
    assert!(crate::protocol::amf::amf3::encode_all(&[ok], &mut dst).is_ok());
    dst.clear();
    assert!(matches!(
        Amf0Encoder::new().encode(&deep, &mut dst),
        Err(AmfError::Unencodable { .. })
    ));
    assert!(matches!(
        crate::protocol::amf::amf3::encode_all(&[deep], &mut dst),
        Err(AmfError::Unencodable { .. })
    ));
    assert!(dst.is_empty());
}

#[test]
fn nested_object_references_that_expand_exponentially_are_refused() {
    // `[a0, a1, …]` with `a0 = []` and `a_k = [ref a_(k-1), ref a_(k-1)]`
    // (spec §2.9 references): 11 bytes per level, 2^levels nodes expanded.
    let build = |levels: u16| {
        let mut b = vec![0x0A];
        b.extend_from_slice(&(u32::from(levels) + 1).to_be_bytes());
        b.extend_from_slice(&[0x0A, 0, 0, 0, 0]); // a0: slot 1
        for k in 1..=levels {
            b.extend_from_slice(&[0x0A, 0, 0, 0, 2, 0x07]);
            b.extend_from_slice(&k.to_be_bytes());
            b.push(0x07);
            b.extend_from_slice(&k.to_be_bytes());
        }
        Bytes::from(b)
    };
    assert!(decode1(build(10)).is_ok());
    assert_eq!(
        decode1(build(60)),
        Err(AmfError::ReferencesExpandTooMuch {
            limit: crate::protocol::limits::MAX_AMF_REFERENCED_LEN
        })
    );
}
