//! AMF3 tests. Vectors named `RocketAMF` are the RocketAMF project's AMF3 spec
//! fixtures (as shipped in the `amf` crate's `testdata/`), transcribed as hex.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::protocol::amf::amf0::test_support::{
    amf0_canonical, amf3_canonical, arb_value, cat, from_oracle0, from_oracle3, hex, infer_dynamic,
    never_panics, oracle_safe,
};
use crate::protocol::amf::{amf0, AmfDate, AmfObject, AmfValue, AmfVector, ObjectVector};

fn decode1(bytes: Bytes) -> Result<AmfValue, AmfError> {
    let mut buf = bytes;
    let v = Amf3Decoder::new(AmfLimits::default()).decode(&mut buf)?;
    assert!(buf.is_empty(), "trailing bytes: {buf:?}");
    Ok(v)
}

fn encode1(v: &AmfValue) -> Bytes {
    let mut dst = BytesMut::new();
    Amf3Encoder::new().encode(v, &mut dst).expect("encodable");
    dst.freeze()
}

fn s(x: &str) -> AmfValue {
    AmfValue::from(x)
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

fn array_collection(items: Vec<AmfValue>) -> AmfValue {
    AmfValue::Object(Arc::new(AmfObject {
        class_name: Some("flex.messaging.io.ArrayCollection".into()),
        external: Some(AmfValue::strict_array(items)),
        ..AmfObject::default()
    }))
}

/// (name, bytes, value): each decodes to the value and re-encodes byte for
/// byte (our reference emission matches the fixtures').
fn vectors() -> Vec<(&'static str, Bytes, AmfValue)> {
    vec![
        // RocketAMF amf3-undefined/null/false/true.bin.
        ("undefined", hex("00"), AmfValue::Undefined),
        ("null", hex("01"), AmfValue::Null),
        ("false", hex("02"), AmfValue::Boolean(false)),
        ("true", hex("03"), AmfValue::Boolean(true)),
        // RocketAMF amf3-0.bin, -integer-2byte, -integer-3byte, -max, -min.
        ("integer 0", hex("04 00"), AmfValue::Integer(0)),
        ("integer 128", hex("04 8100"), AmfValue::Integer(128)),
        ("integer 16384", hex("04 818000"), AmfValue::Integer(16384)),
        ("integer max", hex("04 bfffffff"), AmfValue::Integer((1 << 28) - 1)),
        ("integer min", hex("04 c0808000"), AmfValue::Integer(-(1 << 28))),
        // Spec §3.6: -1 is 0x1FFFFFFF in 29 bits.
        ("integer -1", hex("04 ffffffff"), AmfValue::Integer(-1)),
        // RocketAMF amf3-float.bin: 3.5.
        ("double", hex("05 400c000000000000"), AmfValue::Number(3.5)),
        // RocketAMF amf3-string.bin.
        ("string", hex("06 1f 537472696e67202e20537472696e67"), s("String . String")),
        // RocketAMF amf3-xml-doc.bin.
        (
            "xml document",
            hex("07 4d 3c706172656e743e3c6368696c642070726f703d227465737422202f3e3c2f706172656e743e"),
            AmfValue::XmlDocument("<parent><child prop=\"test\" /></parent>".into()),
        ),
        // RocketAMF amf3-xml.bin.
        (
            "xml",
            hex("0b 4b 3c706172656e743e3c6368696c642070726f703d2274657374222f3e3c2f706172656e743e"),
            AmfValue::Xml("<parent><child prop=\"test\"/></parent>".into()),
        ),
        // RocketAMF amf3-date.bin: the epoch.
        (
            "date",
            hex("08 01 0000000000000000"),
            AmfValue::Date(AmfDate {
                millis: 0.0,
                timezone_minutes: 0,
            }),
        ),
        // RocketAMF amf3-byte-array.bin.
        (
            "byte array",
            hex("0c 1b 0003e38193e3828c7465737440"),
            AmfValue::ByteArray(hex("0003e38193e3828c7465737440")),
        ),
        // RocketAMF amf3-primitive-array.bin: [1, 2, 3, 4, 5].
        (
            "dense array",
            hex("09 0b 01 0401 0402 0403 0404 0405"),
            AmfValue::strict_array((1..=5).map(AmfValue::Integer)),
        ),
        // RocketAMF amf3-empty-array.bin.
        ("empty array", hex("09 01 01"), AmfValue::strict_array([])),
        // RocketAMF amf3-empty-string-ref.bin: ["", ""]: empty strings are never
        // references.
        ("empty strings", hex("09 05 01 0601 0601"), AmfValue::strict_array([s(""), s("")])),
        // RocketAMF amf3-string-ref.bin: strings and a member name by reference.
        (
            "string references",
            hex("09 0d 01 06 07666f6f 06 07737472 0600 0602 0600 0a 0b 01 02 0600 01"),
            AmfValue::strict_array([
                s("foo"),
                s("str"),
                s("foo"),
                s("str"),
                s("foo"),
                AmfValue::object([("str", s("foo"))]),
            ]),
        ),
        // RocketAMF amf3-hash.bin: {foo: "bar", answer: 42}, dynamic.
        (
            "dynamic object",
            hex("0a 0b 01 07666f6f 06 07626172 0d 616e73776572 04 2a 01"),
            AmfValue::object([("foo", s("bar")), ("answer", AmfValue::Integer(42))]),
        ),
        // RocketAMF amf3-typed-object.bin: sealed org.amf.ASClass {foo, baz}.
        (
            "typed object",
            hex("0a 23 1f 6f72672e616d662e4153436c617373 07 666f6f 07 62617a 06 07626172 01"),
            typed("org.amf.ASClass", vec![("foo", s("bar")), ("baz", AmfValue::Null)]),
        ),
        // RocketAMF amf3-trait-ref.bin: the second object reuses the traits.
        (
            "trait reference",
            hex("09 05 01 0a 23 1f 6f72672e616d662e4153436c617373 07 666f6f 07 62617a 0602 01 \
                 0a 01 06 07626172 01"),
            AmfValue::strict_array([
                typed("org.amf.ASClass", vec![("foo", s("foo")), ("baz", AmfValue::Null)]),
                typed("org.amf.ASClass", vec![("foo", s("bar")), ("baz", AmfValue::Null)]),
            ]),
        ),
        // RocketAMF amf3-associative-array.bin: {"2": "bar3", foo: "bar",
        // asdf: "fdsa"} + ["bar", "bar1", "bar2"].
        (
            "associative array",
            hex("09 07 03 32 06 09 62617233 07 666f6f 06 07 626172 09 61736466 06 09 66647361 \
                 01 06 06 06 09 62617231 06 09 62617232"),
            AmfValue::EcmaArray(Arc::new(crate::protocol::amf::EcmaArray {
                dense: vec![s("bar"), s("bar1"), s("bar2")],
                assoc: vec![
                    ("2".into(), s("bar3")),
                    ("foo".into(), s("bar")),
                    ("asdf".into(), s("fdsa")),
                ],
            })),
        ),
        // RocketAMF amf3-vector-int.bin / -uint.bin / -double.bin.
        (
            "vector int",
            hex("0d 07 00 00000004 ffffffec 0000000c"),
            AmfValue::VectorInt(Arc::new(AmfVector {
                fixed: false,
                items: vec![4, -20, 12],
            })),
        ),
        (
            "vector uint",
            hex("0e 07 00 00000004 00000014 0000000c"),
            AmfValue::VectorUint(Arc::new(AmfVector {
                fixed: false,
                items: vec![4, 20, 12],
            })),
        ),
        (
            "vector double",
            hex("0f 05 00 4011333333333333 c03499999999999a"),
            AmfValue::VectorDouble(Arc::new(AmfVector {
                fixed: false,
                items: vec![4.3, -20.6],
            })),
        ),
        // RocketAMF amf3-vector-object.bin: Vector.<org.amf.ASClass>.
        (
            "vector object",
            hex("10 07 00 1f 6f72672e616d662e4153436c617373 0a 23 00 07 666f6f 07 62617a 0602 01 \
                 0a 01 06 07626172 01 0a 01 06 0401"),
            AmfValue::VectorObject(Arc::new(ObjectVector {
                fixed: false,
                type_name: "org.amf.ASClass".into(),
                items: vec![
                    typed("org.amf.ASClass", vec![("foo", s("foo")), ("baz", AmfValue::Null)]),
                    typed("org.amf.ASClass", vec![("foo", s("bar")), ("baz", AmfValue::Null)]),
                    typed("org.amf.ASClass", vec![("foo", s("baz")), ("baz", AmfValue::Null)]),
                ],
            })),
        ),
        // RocketAMF amf3-empty-dictionary.bin.
        (
            "empty dictionary",
            hex("11 01 00"),
            AmfValue::Dictionary(Arc::default()),
        ),
        // RocketAMF amf3-array-collection.bin: ArrayCollection(["foo", "bar"]).
        (
            "array collection",
            hex("0a 07 43 666c65782e6d6573736167696e672e696f2e4172726179436f6c6c656374696f6e \
                 09 05 01 06 07666f6f 06 07626172"),
            array_collection(vec![s("foo"), s("bar")]),
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
fn decodes_dictionary_with_mixed_keys() {
    // RocketAMF amf3-dictionary.bin: {"bar": "asdf1", <ASClass>: "asdf2"}.
    let v = decode1(hex(
        "11 05 00 06 07626172 06 0b 6173646631 0a 23 1f 6f72672e616d662e4153436c617373 \
         07 666f6f 07 62617a 06 08 01 06 0b 6173646632",
    ))
    .expect("decodes");
    let AmfValue::Dictionary(d) = &v else {
        panic!("dictionary: {v:?}")
    };
    assert_eq!(d.entries.len(), 2);
    assert_eq!(d.entries[0], (s("bar"), s("asdf1")));
    assert!(matches!(d.entries[1].0, AmfValue::Object(_)));
    assert_eq!(decode1(encode1(&v)), Ok(v));
}

#[test]
fn integers_outside_29_bits_are_written_as_doubles() {
    // RocketAMF amf3-large-max.bin (2^28) and amf3-large-min.bin (-2^28 - 1).
    assert_eq!(
        encode1(&AmfValue::Integer(1 << 28)),
        hex("05 41b0000000000000")
    );
    assert_eq!(
        encode1(&AmfValue::Integer(-(1 << 28) - 1)),
        hex("05 c1b0000001000000")
    );
}

#[test]
fn object_reference_decodes_to_the_shared_node() {
    // RocketAMF amf3-object-ref.bin: [[o1, o2], "bar", [ref o1, ref o2]] where
    // o2 reuses o1's traits by reference.
    let bytes = hex(
        "09 07 01 09 05 01 0a 0b 01 07666f6f 06 07626172 01 0a 01 00 06 02 01 06 02 \
         09 05 01 0a 04 0a 06",
    );
    let v = decode1(bytes).expect("decodes");
    let AmfValue::StrictArray(outer) = &v else {
        panic!("array")
    };
    let (AmfValue::StrictArray(a), AmfValue::StrictArray(b)) = (&outer[0], &outer[2]) else {
        panic!("arrays")
    };
    assert_eq!(outer[1], s("bar"));
    for (x, y) in a.iter().zip(b.iter()) {
        let (AmfValue::Object(x), AmfValue::Object(y)) = (x, y) else {
            panic!("objects")
        };
        assert!(Arc::ptr_eq(x, y));
    }
    assert_eq!(a[1], AmfValue::object([("foo", s("bar"))]));
}

#[test]
fn encodes_the_same_arc_twice_as_an_object_reference() {
    let o = AmfValue::object([("a", AmfValue::Integer(1))]);
    let v = AmfValue::strict_array([o.clone(), o]);
    let bytes = encode1(&v);
    // The array is object 0, the object is object 1: the second is `0a 02`.
    assert_eq!(bytes, hex("09 05 01 0a 0b 01 03 61 04 01 01 0a 02"));
    let back = decode1(bytes).expect("decodes");
    let AmfValue::StrictArray(items) = &back else {
        panic!("array")
    };
    let (AmfValue::Object(x), AmfValue::Object(y)) = (&items[0], &items[1]) else {
        panic!("objects")
    };
    assert!(Arc::ptr_eq(x, y));
}

#[test]
fn dates_xml_and_byte_arrays_take_object_slots_when_encoding() {
    // Slot 0: the outer array, 1: the date, 2: the ByteArray, 3: the object.
    let o = AmfValue::object([("a", AmfValue::Null)]);
    let v = AmfValue::strict_array([
        AmfValue::Date(AmfDate {
            millis: 1.0,
            timezone_minutes: 0,
        }),
        AmfValue::ByteArray(Bytes::from_static(b"x")),
        o.clone(),
        o,
    ]);
    let bytes = encode1(&v);
    assert!(bytes.ends_with(&[0x0a, 0x06]));
    assert_eq!(decode1(bytes), Ok(v));
}

#[test]
fn a_member_referencing_its_parent_is_a_cycle() {
    // RocketAMF amf3-graph-member.bin: {children: [{parent: <ref 0>}], ...}.
    assert_eq!(
        decode1(hex(
            "0a 0b 01 11 6368696c6472656e 09 05 01 0a 01 00 09 01 01 0d 706172656e74 0a 00 01 \
             0a 01 00 09 01 01 02 0a 00 01 02 01 01"
        )),
        Err(AmfError::CyclicReference { index: 0 })
    );
}

#[test]
fn rejects_bad_object_trait_and_string_references() {
    // RocketAMF amf3-bad-object-ref.bin, -bad-trait-ref.bin, -bad-string-ref.bin.
    assert!(matches!(
        decode1(hex("09 07 01 09 05 01 0a 0b 01 07666f6f 06 07626172 01 0a 01 00 06 02 01 06 02 09 05 01 0a 14 0a 06")),
        Err(AmfError::BadReference { table: "object", index: 10, .. })
    ));
    assert!(matches!(
        decode1(hex("09 07 01 09 05 01 0a 0b 01 07666f6f 06 07626172 01 0a 11 00 06 02 01 06 02 09 05 01 0a 04 0a 06")),
        Err(AmfError::BadReference { table: "trait", index: 4, .. })
    ));
    assert!(matches!(
        decode1(hex(
            "09 0d 01 06 07666f6f 06 07737472 06 10 06 02 06 00 0a 0b 01 02 06 00 01"
        )),
        Err(AmfError::BadReference {
            table: "string",
            index: 8,
            ..
        })
    ));
}

#[test]
fn unknown_externalizable_class_is_named_in_the_error() {
    // RocketAMF amf3-externalizable.bin.
    assert_eq!(
        decode1(hex(
            "09 05 01 0a 07 25 45787465726e616c697a61626c6554657374 4014000000000000 \
             401c000000000000 0a 01 402a000000000000 4014000000000000"
        )),
        Err(AmfError::UnknownExternalizable {
            class: "ExternalizableTest".into()
        })
    );
    // RocketAMF amf3-unknown-marker.bin.
    assert_eq!(
        decode1(hex("7b")),
        Err(AmfError::UnknownAmf3Marker { marker: 0x7b })
    );
}

#[test]
fn known_externalizable_classes_decode_their_single_value_payload() {
    for class in externalizable::SINGLE_VALUE_CLASSES {
        let v = AmfValue::Object(Arc::new(AmfObject {
            class_name: Some((*class).into()),
            external: Some(AmfValue::object([("x", AmfValue::Integer(1))])),
            ..AmfObject::default()
        }));
        assert_eq!(decode1(encode1(&v)), Ok(v), "{class}");
    }
}

#[test]
fn enforces_depth_table_and_length_limits() {
    let limits = AmfLimits {
        max_depth: 4,
        ..AmfLimits::default()
    };
    let nested = |n: usize| {
        let mut b = Vec::new();
        for _ in 0..n {
            b.extend_from_slice(&[0x09, 0x03, 0x01]);
        }
        b.push(0x01);
        Bytes::from(b)
    };
    assert!(decode_all(nested(3), limits).is_ok());
    assert_eq!(
        decode_all(nested(5), limits),
        Err(AmfError::TooDeep { limit: 4 })
    );
    let limits = AmfLimits {
        max_references: 3,
        ..AmfLimits::default()
    };
    assert_eq!(
        decode_all(hex("06 0361 06 0362 06 0363 06 0364"), limits),
        Err(AmfError::TooManyReferences {
            table: "string",
            limit: 3
        })
    );
    // A vector claiming 2^28-1 ints in 4 bytes: refused before allocating.
    assert!(matches!(
        decode1(hex("0d ffffffff 00 00000001")),
        Err(AmfError::LengthExceedsInput { .. })
    ));
    assert!(matches!(
        decode1(hex("06 ffffffff 61")),
        Err(AmfError::LengthExceedsInput { .. })
    ));
}

#[test]
fn avmplus_switch_in_amf0_decodes_amf3() {
    // RocketAMF amf0-avmplus-object.bin: 0x11 then the AMF3 array [1, 2, 3].
    let v = amf0::decode_all(hex("11 09 07 01 04 01 04 02 04 03"), AmfLimits::default());
    assert_eq!(
        v,
        Ok(vec![AmfValue::strict_array((1..=3).map(AmfValue::Integer))])
    );
}

#[test]
fn flash_player_amf3_call_decodes_after_the_format_byte() {
    // A type-17 NetConnection.call("echo", "hello", 42) from Flash Player with
    // objectEncoding 3: a leading 0x00 format byte (stripped by the message
    // layer), the AMF0 name, transaction id and null command object, then each
    // argument behind its own AVM+ switch.
    let body = cat(&[
        b"\x02\x00\x04echo",
        b"\x00\x40\x00\x00\x00\x00\x00\x00\x00",
        b"\x05",
        b"\x11\x06\x0bhello",
        b"\x11\x04\x2a",
    ]);
    let values = amf0::decode_all(body, AmfLimits::default()).expect("decodes");
    assert_eq!(values[3], s("hello"));
    assert_eq!(values[4], AmfValue::Integer(42));
}

#[test]
fn amf3_tables_persist_across_avmplus_switches_in_one_message() {
    // The second switched value references the string "foo" sent in the first
    // (as BlazeDS, PyAMF and Red5 read and write it).
    let values =
        amf0::decode_all(hex("11 06 07666f6f 11 06 00"), AmfLimits::default()).expect("decodes");
    assert_eq!(values, vec![s("foo"), s("foo")]);

    let mut enc = amf0::Amf0Encoder::new();
    let mut dst = BytesMut::new();
    enc.encode_avmplus(&s("foo"), &mut dst).expect("encodes");
    enc.encode_avmplus(&s("foo"), &mut dst).expect("encodes");
    assert_eq!(dst.freeze(), hex("11 06 07666f6f 11 06 00"));
}

#[test]
fn a_failed_encode_leaves_the_buffer_and_tables_untouched() {
    let mut enc = Amf3Encoder::new();
    let mut dst = BytesMut::new();
    let no_class = AmfValue::Object(Arc::new(AmfObject {
        external: Some(AmfValue::Null),
        ..AmfObject::default()
    }));
    let bad = AmfValue::strict_array([s("kept?"), no_class]);
    assert!(matches!(
        enc.encode(&bad, &mut dst),
        Err(AmfError::Unencodable { .. })
    ));
    assert!(dst.is_empty());
    enc.encode(&s("kept?"), &mut dst).expect("encodes");
    assert_eq!(dst[1], 0x0b, "written inline, not as a reference");
}

#[test]
fn every_prefix_and_corruption_of_every_vector_is_an_error_or_a_value() {
    let mut all: Vec<Bytes> = vectors().into_iter().map(|(_, b, _)| b).collect();
    all.push(hex(
        "11 05 00 06 07626172 06 0b 6173646631 0a 23 1f 6f72672e616d662e4153436c617373 \
         07 666f6f 07 62617a 06 08 01 06 0b 6173646632",
    ));
    all.push(hex(
        "09 07 01 09 05 01 0a 0b 01 07666f6f 06 07626172 01 0a 02 06 02 09 02",
    ));
    for bytes in all {
        never_panics(&bytes, 200, |b| {
            let _ = decode_all(b, AmfLimits::default());
        });
    }
}

proptest! {
    #[test]
    fn roundtrips_random_value_trees_modulo_documented_mappings(v in arb_value()) {
        let back = decode1(encode1(&v)).expect("decodes");
        prop_assert_eq!(back, amf3_canonical(&v));
    }

    #[test]
    fn the_amf_crate_reads_what_we_write(v in arb_value()) {
        let v = oracle_safe(&v);
        let bytes = encode1(&v);
        let oracle = amf::Amf3Value::read_from(&bytes[..]).expect("oracle decodes");
        prop_assert_eq!(from_oracle3(oracle), infer_dynamic(&amf3_canonical(&v)));
        // And inside AMF0, behind an AVM+ switch.
        let mut dst = BytesMut::new();
        amf0::Amf0Encoder::new().encode_avmplus(&v, &mut dst).expect("encodes");
        let oracle = amf::Amf0Value::read_from(&dst[..]).expect("oracle decodes");
        prop_assert_eq!(from_oracle0(oracle), infer_dynamic(&amf3_canonical(&v)));
    }

    #[test]
    fn crosses_formats_amf3_to_amf0_and_back(v in arb_value()) {
        let from_amf3 = decode1(encode1(&v)).expect("decodes");
        let mut dst = BytesMut::new();
        amf0::encode_all(std::slice::from_ref(&from_amf3), &mut dst).expect("encodes");
        let as_amf0 = amf0::decode_all(dst.freeze(), AmfLimits::default()).expect("decodes");
        prop_assert_eq!(&as_amf0[0], &amf0_canonical(&amf3_canonical(&v)));
        // And that AMF0 value survives a trip through AMF3.
        let again = decode1(encode1(&as_amf0[0])).expect("decodes");
        prop_assert_eq!(again, amf3_canonical(&as_amf0[0]));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_all(Bytes::from(bytes), AmfLimits::default());
    }
}

#[test]
fn references_to_every_object_table_type_decode() {
    // RocketAMF amf3-date-ref.bin, -xml-ref.bin, -byte-array-ref.bin: the
    // second element references the first (object slot 1).
    for bytes in [
        hex("09 05 01 08 01 0000000000000000 08 02"),
        hex("09 05 01 0b 4b 3c706172656e743e3c6368696c642070726f703d2274657374222f3e3c2f706172656e743e 0b 02"),
        hex("09 05 01 0c 09 41534446 0c 02"),
    ] {
        let v = decode1(bytes).expect("decodes");
        let AmfValue::StrictArray(items) = &v else {
            panic!("array")
        };
        assert_eq!(items[0], items[1]);
    }
    // RocketAMF amf3-array-ref.bin and -empty-array-ref.bin: arrays referenced
    // by later elements decode shared and re-encode to the same references.
    for bytes in [
        hex("09 09 01 09 07 01 0401 0402 0403 09 07 01 06 0361 06 0362 06 0363 09 02 09 04"),
        hex("09 09 01 09 01 01 09 01 01 09 02 09 04"),
    ] {
        let v = decode1(bytes.clone()).expect("decodes");
        let AmfValue::StrictArray(items) = &v else {
            panic!("array")
        };
        let (AmfValue::StrictArray(a), AmfValue::StrictArray(b)) = (&items[0], &items[2]) else {
            panic!("arrays")
        };
        assert!(Arc::ptr_eq(a, b));
        assert_eq!(encode1(&v), bytes);
    }
}

#[test]
fn decodes_mixed_array_of_objects_and_references() {
    // RocketAMF amf3-mixed-array.bin: objects, trait and object references,
    // empty strings and arrays.
    let v = decode1(hex(
        "09 1b 01 0a 0b 01 0f 666f6f5f6f6e65 06 0f 6261725f6f6e65 01 0a 01 0f 666f6f5f74776f 06 01 01 \
         0a 01 13 666f6f5f7468726565 04 2a 01 0a 01 01 09 07 01 0a 02 0a 04 0a 06 09 01 01 04 2a \
         06 01 09 01 01 06 01 0a 01 01 06 02 0a 06",
    ))
    .expect("decodes");
    let AmfValue::StrictArray(items) = &v else {
        panic!("array")
    };
    assert_eq!(items.len(), 13);
    assert_eq!(items[0], AmfValue::object([("foo_one", s("bar_one"))]));
    assert_eq!(items[6], AmfValue::Integer(42));
    assert_eq!(items[7], s(""));
    assert_eq!(decode1(encode1(&v)), Ok(v));
}

/// `[a0, a1, …, a_levels]` where `a0 = []` and each `a_k` is an array holding
/// two object references to `a_(k-1)`: a few bytes per level, 2^levels
/// nodes once expanded.
fn doubling_references(levels: u8) -> Bytes {
    let mut b = vec![0x09, ((levels as u32 + 1) * 2 + 1) as u8, 0x01];
    b.extend_from_slice(&[0x09, 0x01, 0x01]); // a0 = [], object slot 1
    for k in 1..=levels {
        // a_k = [ref(slot k), ref(slot k)]: slot k holds a_(k-1).
        b.extend_from_slice(&[0x09, 0x05, 0x01, 0x09, k << 1, 0x09, k << 1]);
    }
    Bytes::from(b)
}

#[test]
fn nested_references_that_expand_exponentially_are_refused() {
    // Found by review: every decoded reference is an O(1) Arc clone, but the
    // AMF0 encoder (past its 65535 reference slots), the serde bridge, `Debug`
    // and `==` walk the expanded tree: 60 levels are 2^60 nodes.
    assert!(decode1(doubling_references(10)).is_ok());
    assert_eq!(
        decode1(doubling_references(60)),
        Err(AmfError::ReferencesExpandTooMuch {
            limit: crate::protocol::limits::MAX_AMF_REFERENCED_LEN
        })
    );
}

#[test]
fn byte_array_and_string_references_count_their_length() {
    // A 1000-byte ByteArray (AMF0 writes it as 1000 numbers, 9 bytes each,
    // so each reference costs 9000) and a 1000-byte string (1000 each),
    // referenced from a dense array.
    let build = |marker: u8, refs: usize| {
        let mut b = vec![0x09];
        let count = ((refs + 1) << 1) | 1;
        b.extend_from_slice(&[
            0x80 | (count >> 14) as u8,
            0x80 | (count >> 7) as u8 & 0x7F,
            (count & 0x7F) as u8,
        ]);
        b.push(0x01);
        b.push(marker);
        let len = (1000 << 1) | 1;
        b.extend_from_slice(&[0x80 | (len >> 7) as u8, (len & 0x7F) as u8]);
        b.extend(std::iter::repeat_n(b'x', 1000));
        for _ in 0..refs {
            // ByteArrays are object slot 1, strings string slot 0.
            b.extend_from_slice(&[marker, if marker == 0x0C { 0x02 } else { 0x00 }]);
        }
        Bytes::from(b)
    };
    for (marker, too_many) in [(0x0C, 2_000), (0x06, 20_000)] {
        assert!(decode1(build(marker, 1000)).is_ok());
        assert_eq!(
            decode1(build(marker, too_many)),
            Err(AmfError::ReferencesExpandTooMuch {
                limit: crate::protocol::limits::MAX_AMF_REFERENCED_LEN
            }),
            "marker {marker:#x}"
        );
    }
}
