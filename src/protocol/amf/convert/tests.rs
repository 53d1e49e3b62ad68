//! Tests of the serde bridge: Rust ↔ AmfValue, JSON ↔ AmfValue, errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use bytestring::ByteString;
use proptest::prelude::*;
use serde::de::DeserializeSeed;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::tags::is_tag_shape;
use super::*;
use crate::protocol::amf::{
    AmfDate, AmfObject, AmfValue, AmfVector, Dictionary, EcmaArray, ObjectVector,
};

/// Serializes through `serialize_bytes` (what `serde_bytes` does), so it maps to
/// a ByteArray.
#[derive(Debug, Clone, PartialEq)]
struct Blob(Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Blob;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Blob, E> {
                Ok(Blob(v.to_vec()))
            }
        }
        d.deserialize_bytes(V)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Empty,
    Circle(f64),
    Point(i32, i32),
    Rect { w: u16, h: u16 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    label: String,
    tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Outer {
    id: u32,
    name: String,
    ratio: f64,
    flag: bool,
    nothing: Option<i8>,
    something: Option<i8>,
    inner: Inner,
    inners: Vec<Inner>,
    shapes: Vec<Shape>,
    scores: BTreeMap<String, i64>,
    by_id: HashMap<u32, String>,
    blob: Blob,
    raw: Vec<u8>,
    pair: (u8, String),
    unit: (),
}

fn sample_outer() -> Outer {
    Outer {
        id: 7,
        name: "stage".into(),
        ratio: 0.25,
        flag: true,
        nothing: None,
        something: Some(-3),
        inner: Inner {
            label: "a".into(),
            tags: vec!["x".into(), "y".into()],
        },
        inners: vec![Inner {
            label: "b".into(),
            tags: vec![],
        }],
        shapes: vec![
            Shape::Empty,
            Shape::Circle(1.5),
            Shape::Point(-1, 2),
            Shape::Rect { w: 3, h: 4 },
        ],
        scores: [("alice".to_owned(), -9_007_199_254_740_992)].into(),
        by_id: [(1, "one".to_owned()), (42, "forty-two".to_owned())].into(),
        blob: Blob(vec![0, 1, 255]),
        raw: vec![9, 8],
        pair: (200, "p".into()),
        unit: (),
    }
}

fn num(n: f64) -> AmfValue {
    AmfValue::Number(n)
}

// ------------------------------------------------------- Rust ↔ AmfValue --

#[test]
fn nested_struct_roundtrips_through_amf_value() {
    let outer = sample_outer();
    let value = to_value(&outer).unwrap();
    assert_eq!(from_value::<Outer>(value.clone()).unwrap(), outer);
    assert_eq!(from_value_ref::<Outer>(&value).unwrap(), outer);
}

#[test]
fn struct_becomes_anonymous_object_with_members_in_field_order() {
    let value = to_value(&Inner {
        label: "a".into(),
        tags: vec!["t".into()],
    })
    .unwrap();
    assert_eq!(
        value,
        AmfValue::object([
            ("label", AmfValue::from("a")),
            ("tags", AmfValue::strict_array([AmfValue::from("t")])),
        ])
    );
    assert!(value.as_object().unwrap().dynamic);
}

#[test]
fn scalars_map_to_numbers_null_strings_and_byte_arrays() {
    assert_eq!(to_value(&5u8).unwrap(), num(5.0));
    assert_eq!(to_value(&-5i64).unwrap(), num(-5.0));
    assert_eq!(to_value(&1.5f32).unwrap(), num(1.5));
    assert_eq!(to_value(&'x').unwrap(), AmfValue::from("x"));
    assert_eq!(to_value(&None::<u8>).unwrap(), AmfValue::Null);
    assert_eq!(to_value(&()).unwrap(), AmfValue::Null);
    assert_eq!(
        to_value(&Blob(vec![1, 2])).unwrap(),
        AmfValue::ByteArray(Bytes::from_static(&[1, 2]))
    );
    assert_eq!(
        to_value(&vec![1u8, 2]).unwrap(),
        AmfValue::strict_array([num(1.0), num(2.0)])
    );
}

#[test]
fn enums_are_externally_tagged_like_serde_json() {
    let cases = [
        (Shape::Empty, AmfValue::from("Empty")),
        (Shape::Circle(2.0), AmfValue::object([("Circle", num(2.0))])),
        (
            Shape::Point(1, -2),
            AmfValue::object([("Point", AmfValue::strict_array([num(1.0), num(-2.0)]))]),
        ),
        (
            Shape::Rect { w: 1, h: 2 },
            AmfValue::object([("Rect", AmfValue::object([("w", num(1.0)), ("h", num(2.0))]))]),
        ),
    ];
    for (shape, expected) in cases {
        let value = to_value(&shape).unwrap();
        assert_eq!(value, expected);
        assert_eq!(from_value::<Shape>(value).unwrap(), shape);
    }
}

#[test]
fn unit_variant_reads_from_single_member_object_too() {
    let value = AmfValue::object([("Empty", AmfValue::Null)]);
    assert_eq!(from_value::<Shape>(value).unwrap(), Shape::Empty);
}

#[test]
fn integers_at_their_edges_roundtrip() {
    macro_rules! edges {
        ($($ty:ty),*) => {$(
            for v in [<$ty>::MIN, <$ty>::MAX, 0 as $ty] {
                let value = to_value(&v).unwrap();
                assert_eq!(from_value::<$ty>(value).unwrap(), v, stringify!($ty));
            }
        )*};
    }
    edges!(i8, i16, i32, u8, u16, u32);
    let safe = 1i64 << 53;
    for v in [safe, -safe, safe - 1] {
        assert_eq!(from_value::<i64>(to_value(&v).unwrap()).unwrap(), v);
    }
    assert_eq!(
        from_value::<u64>(to_value(&(1u64 << 53)).unwrap()).unwrap(),
        1 << 53
    );
    assert_eq!(
        from_value::<i128>(num(-1e20)).unwrap(),
        -100_000_000_000_000_000_000
    );
}

#[test]
fn integers_beyond_two_to_the_53_are_refused_rather_than_rounded() {
    for err in [
        to_value(&((1u64 << 53) + 1)).unwrap_err(),
        to_value(&i64::MIN).unwrap_err(),
        to_value(&u128::MAX).unwrap_err(),
    ] {
        assert!(
            matches!(err, ConvertError::IntegerPrecision { .. }),
            "{err}"
        );
    }
    let err = to_value(&((1u64 << 53) + 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "integer 9007199254740993 is outside ±2^53 and would lose precision as an AMF number"
    );
}

#[test]
fn map_keys_may_be_strings_numbers_or_unit_variants() {
    let value = to_value(&HashMap::from([(3u16, true)])).unwrap();
    assert_eq!(value, AmfValue::object([("3", AmfValue::Boolean(true))]));
    assert_eq!(
        from_value::<HashMap<u16, bool>>(value).unwrap(),
        HashMap::from([(3, true)])
    );
    let by_shape = BTreeMap::from([("k", 1u8)]);
    assert!(to_value(&by_shape).is_ok());
    let err = to_value(&HashMap::from([(true, 1u8)])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "map key must be a string or a number, found a boolean"
    );
    let err = to_value(&BTreeMap::from([((1u8, 2u8), 1u8)])).unwrap_err();
    assert!(matches!(
        err,
        ConvertError::UnsupportedKey { found: "a tuple" }
    ));
}

#[test]
fn serializer_errors_name_the_path() {
    #[derive(Serialize)]
    struct Holder {
        list: Vec<u64>,
    }
    let err = to_value(&Holder {
        list: vec![1, u64::MAX],
    })
    .unwrap_err();
    assert_eq!(err.path(), ".list[1]");
    assert!(matches!(err.root(), ConvertError::IntegerPrecision { .. }));
}

#[test]
fn amf_integer_and_number_read_as_any_fitting_integer_type() {
    assert_eq!(from_value::<u8>(AmfValue::Integer(255)).unwrap(), 255);
    assert_eq!(from_value::<i64>(AmfValue::Integer(-7)).unwrap(), -7);
    assert_eq!(
        from_value::<u64>(num(4_294_967_296.0)).unwrap(),
        4_294_967_296
    );
    assert_eq!(from_value::<f32>(AmfValue::Integer(3)).unwrap(), 3.0);
}

#[test]
fn out_of_range_and_fractional_numbers_are_errors_with_messages() {
    let err = from_value::<u8>(num(300.0)).unwrap_err();
    assert_eq!(err.to_string(), "number 300 is out of range for u8");
    let err = from_value::<u32>(AmfValue::Integer(-1)).unwrap_err();
    assert_eq!(err.to_string(), "number -1 is out of range for u32");
    let err = from_value::<i32>(num(1.5)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "number 1.5 is not an integer, so it cannot become i32"
    );
    let err = from_value::<i64>(num(f64::NAN)).unwrap_err();
    assert!(matches!(err, ConvertError::NotAnInteger { .. }));
    let err = from_value::<i64>(num(1e300)).unwrap_err();
    assert!(matches!(err, ConvertError::IntegerOutOfRange { .. }));
}

#[test]
fn wrong_types_are_errors_that_name_the_member_path() {
    let value = AmfValue::object([("label", num(1.0)), ("tags", AmfValue::strict_array([]))]);
    let err = from_value::<Inner>(value).unwrap_err();
    assert_eq!(
        err.to_string(),
        "at .label: expected a string, found AMF number"
    );
    assert_eq!(
        err.root(),
        &ConvertError::WrongType {
            expected: "a string",
            found: "number"
        }
    );

    let value = AmfValue::object([
        ("label", AmfValue::from("x")),
        (
            "tags",
            AmfValue::strict_array([AmfValue::from("a"), AmfValue::Null]),
        ),
    ]);
    let err = from_value::<Inner>(value).unwrap_err();
    assert_eq!(
        err.to_string(),
        "at .tags[1]: expected a string, found AMF null"
    );

    let err = from_value::<Inner>(AmfValue::object([("label", AmfValue::from("x"))])).unwrap_err();
    assert_eq!(err.to_string(), "missing field `tags`");

    let err = from_value::<Vec<u8>>(AmfValue::from("x")).unwrap_err();
    assert_eq!(err.to_string(), "expected an array, found AMF string");
    let err = from_value::<Shape>(num(1.0)).unwrap_err();
    assert!(err.to_string().contains("expected an enum"), "{err}");
    let err = from_value::<Shape>(AmfValue::from("Hexagon")).unwrap_err();
    assert!(
        err.to_string().contains("unknown variant `Hexagon`"),
        "{err}"
    );
    let err = from_value::<Shape>(AmfValue::object([(
        "Rect",
        AmfValue::object([("w", num(1.0))]),
    )]))
    .unwrap_err();
    assert_eq!(err.to_string(), "at .Rect: missing field `h`");
}

#[test]
fn null_and_undefined_read_as_none_and_unit() {
    assert_eq!(from_value::<Option<u8>>(AmfValue::Undefined).unwrap(), None);
    assert_eq!(from_value::<Option<u8>>(AmfValue::Null).unwrap(), None);
    assert_eq!(from_value::<Option<u8>>(num(1.0)).unwrap(), Some(1));
    from_value::<()>(AmfValue::Undefined).unwrap();
    assert!(from_value::<()>(num(0.0)).is_err());
}

#[test]
fn amf_only_containers_read_as_sequences_and_maps() {
    let bytes = AmfValue::ByteArray(Bytes::from_static(&[1, 2, 3]));
    assert_eq!(from_value::<Vec<u8>>(bytes.clone()).unwrap(), vec![1, 2, 3]);
    assert_eq!(from_value::<Blob>(bytes).unwrap(), Blob(vec![1, 2, 3]));

    let ints = AmfValue::VectorInt(Arc::new(AmfVector {
        fixed: false,
        items: vec![-1, 2],
    }));
    assert_eq!(from_value::<Vec<i64>>(ints).unwrap(), vec![-1, 2]);
    let uints = AmfValue::VectorUint(Arc::new(AmfVector {
        fixed: true,
        items: vec![u32::MAX],
    }));
    assert_eq!(from_value::<Vec<u32>>(uints).unwrap(), vec![u32::MAX]);
    let doubles = AmfValue::VectorDouble(Arc::new(AmfVector {
        fixed: false,
        items: vec![0.5],
    }));
    assert_eq!(from_value::<Vec<f64>>(doubles).unwrap(), vec![0.5]);

    // AMF0 onMetaData-style ECMA array into a struct and into a map.
    #[derive(Debug, PartialEq, Deserialize)]
    struct Meta {
        width: u32,
        height: u32,
    }
    let meta = AmfValue::ecma_array([("width", num(640.0)), ("height", num(360.0))]);
    assert_eq!(
        from_value::<Meta>(meta.clone()).unwrap(),
        Meta {
            width: 640,
            height: 360
        }
    );
    assert_eq!(from_value::<BTreeMap<String, u32>>(meta).unwrap().len(), 2);

    // A dense-only ECMA array reads as a sequence; its indices as integer keys.
    let dense = AmfValue::EcmaArray(Arc::new(EcmaArray {
        dense: vec![num(1.0), num(2.0)],
        assoc: vec![],
    }));
    assert_eq!(from_value::<Vec<u8>>(dense.clone()).unwrap(), vec![1, 2]);
    assert_eq!(
        from_value::<BTreeMap<u32, u8>>(dense).unwrap(),
        BTreeMap::from([(0, 1), (1, 2)])
    );

    // AMF0 clients send a sparse ActionScript Array as an ECMA array keyed by
    // index strings (amf0 spec §2.10); it still reads as a sequence.
    let amf0_array = AmfValue::ecma_array([("0", num(5.0)), ("1", num(6.0))]);
    assert_eq!(from_value::<Vec<u8>>(amf0_array).unwrap(), vec![5, 6]);
    let mixed = AmfValue::EcmaArray(Arc::new(EcmaArray {
        dense: vec![num(1.0)],
        assoc: vec![("1".into(), num(2.0))],
    }));
    assert_eq!(from_value::<Vec<u8>>(mixed).unwrap(), vec![1, 2]);
    for not_a_list in [
        AmfValue::ecma_array([("1", num(5.0))]),
        AmfValue::ecma_array([("0", num(5.0)), ("01", num(6.0))]),
        AmfValue::ecma_array([("0", num(5.0)), ("length", num(1.0))]),
    ] {
        let err = from_value::<Vec<u8>>(not_a_list).unwrap_err();
        assert_eq!(err.to_string(), "expected an array, found AMF ecma-array");
    }

    let dict = AmfValue::Dictionary(Arc::new(Dictionary {
        weak_keys: false,
        entries: vec![(AmfValue::from("k"), num(1.0))],
    }));
    assert_eq!(from_value::<HashMap<String, u8>>(dict).unwrap()["k"], 1);

    let date = AmfValue::Date(AmfDate {
        millis: 1.7e12,
        timezone_minutes: 0,
    });
    assert_eq!(from_value::<f64>(date).unwrap(), 1.7e12);
    assert_eq!(
        from_value::<String>(AmfValue::Xml("<a/>".into())).unwrap(),
        "<a/>"
    );
}

#[test]
fn externalizable_object_reads_as_its_payload() {
    // flex.messaging.io.ArrayCollection: externalizable, payload = source array.
    let collection = AmfValue::Object(Arc::new(AmfObject {
        class_name: Some("flex.messaging.io.ArrayCollection".into()),
        members: vec![],
        sealed_count: 0,
        dynamic: false,
        external: Some(AmfValue::strict_array([num(1.0), num(2.0)])),
    }));
    assert_eq!(
        from_value::<Vec<u8>>(collection.clone()).unwrap(),
        vec![1, 2]
    );
    let json = from_value::<serde_json::Value>(collection).unwrap();
    assert_eq!(json, json!([1, 2]));
}

#[test]
fn from_value_ref_borrows_strings() {
    #[derive(Deserialize)]
    struct Borrowed<'a> {
        name: &'a str,
    }
    let value = AmfValue::object([("name", AmfValue::from("zero-copy"))]);
    assert_eq!(
        from_value_ref::<Borrowed<'_>>(&value).unwrap().name,
        "zero-copy"
    );
}

#[test]
fn deserialize_any_maps_every_variant_to_plain_data() {
    let cases = [
        (AmfValue::Undefined, json!(null)),
        (AmfValue::Unsupported, json!(null)),
        (AmfValue::Integer(3), json!(3)),
        (num(3.0), json!(3)),
        (num(0.5), json!(0.5)),
        (AmfValue::ByteArray(Bytes::from_static(&[7])), json!([7])),
        (
            AmfValue::Date(AmfDate {
                millis: 0.5,
                timezone_minutes: 0,
            }),
            json!(0.5),
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(from_value::<serde_json::Value>(value).unwrap(), expected);
    }
}

#[test]
fn to_value_of_json_data_treats_dollar_keys_as_plain_members() {
    // `to_value` sees any Serialize type as data; only `AmfValue`'s own
    // Deserialize (serde_json::from_str/from_value) reads tagged forms.
    let json = json!({"$date": 5});
    assert_eq!(
        to_value(&json).unwrap(),
        AmfValue::object([("$date", num(5.0))])
    );
    let tagged: AmfValue = serde_json::from_value(json).unwrap();
    assert!(matches!(tagged, AmfValue::Date(_)));
    // And the reverse: from_value into serde_json::Value gives plain data.
    assert_eq!(from_value::<serde_json::Value>(tagged).unwrap(), json!(5));
}

// ------------------------------------------- AmfValue passes through itself --

/// One of every variant, with non-default traits where they exist.
fn every_variant() -> AmfValue {
    AmfValue::strict_array([
        AmfValue::Undefined,
        AmfValue::Null,
        AmfValue::Boolean(true),
        AmfValue::Integer(-42),
        num(2.5),
        num(1e300),
        AmfValue::from("text"),
        AmfValue::Date(AmfDate {
            millis: 1_700_000_000_123.0,
            timezone_minutes: -60,
        }),
        AmfValue::XmlDocument("<doc/>".into()),
        AmfValue::Xml("<x/>".into()),
        AmfValue::ByteArray(Bytes::from_static(b"\x00\xffbin")),
        AmfValue::EcmaArray(Arc::new(EcmaArray {
            dense: vec![num(1.0)],
            assoc: vec![("k".into(), AmfValue::from("v"))],
        })),
        AmfValue::object([("plain", AmfValue::Boolean(false))]),
        AmfValue::object([("$date", num(5.0))]),
        AmfValue::Object(Arc::new(AmfObject {
            class_name: Some("com.example.User".into()),
            members: vec![
                ("name".into(), AmfValue::from("bob")),
                ("x".into(), num(1.0)),
            ],
            sealed_count: 1,
            dynamic: true,
            external: None,
        })),
        AmfValue::VectorInt(Arc::new(AmfVector {
            fixed: true,
            items: vec![i32::MIN, i32::MAX],
        })),
        AmfValue::VectorUint(Arc::new(AmfVector {
            fixed: false,
            items: vec![u32::MAX],
        })),
        AmfValue::VectorDouble(Arc::new(AmfVector {
            fixed: false,
            items: vec![0.5, f64::INFINITY],
        })),
        AmfValue::VectorObject(Arc::new(ObjectVector {
            fixed: false,
            type_name: "com.example.Item".into(),
            items: vec![AmfValue::Null],
        })),
        AmfValue::Dictionary(Arc::new(Dictionary {
            weak_keys: true,
            entries: vec![(num(1.0), AmfValue::from("one"))],
        })),
        AmfValue::Unsupported,
    ])
}

#[test]
fn amf_value_passes_through_to_value_and_from_value_unchanged() {
    let value = every_variant();
    assert_eq!(to_value(&value).unwrap(), value);
    assert_eq!(from_value::<AmfValue>(value.clone()).unwrap(), value);
}

#[test]
fn struct_with_amf_value_fields_keeps_them_exact() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Call {
        method: String,
        args: Vec<AmfValue>,
    }
    let call = Call {
        method: "echo".into(),
        args: vec![every_variant(), AmfValue::Integer(1)],
    };
    let value = to_value(&call).unwrap();
    assert_eq!(value.get("args").unwrap().as_f64(), None);
    assert_eq!(from_value::<Call>(value).unwrap(), call);
}

// --------------------------------------------------------- AmfValue → JSON --

#[test]
fn every_variant_has_a_documented_json_form() {
    let json = serde_json::to_value(every_variant()).unwrap();
    let expected = json!([
        {"$undefined": null},
        null,
        true,
        -42,
        2.5,
        1e300,
        "text",
        {"$date": 1_700_000_000_123_i64, "$tz": -60},
        {"$xmldocument": "<doc/>"},
        {"$xml": "<x/>"},
        {"$bytes": "AP9iaW4="},
        {"$ecma": {"k": "v"}, "$dense": [1]},
        {"plain": false},
        {"$object": {"$date": 5}},
        {"$object": {"name": "bob", "x": 1}, "$class": "com.example.User", "$sealed": 1, "$dynamic": true},
        {"$vector_int": [i32::MIN, i32::MAX], "$fixed": true},
        {"$vector_uint": [u32::MAX]},
        {"$vector_double": [0.5, "Infinity"]},
        {"$vector_object": [null], "$type": "com.example.Item"},
        {"$dictionary": [[1, "one"]], "$weak": true},
        {"$unsupported": null},
    ]);
    assert_eq!(json, expected);
}

#[test]
fn integral_numbers_are_written_as_json_integers_like_javascript() {
    assert_eq!(serde_json::to_string(&num(5.0)).unwrap(), "5");
    assert_eq!(serde_json::to_string(&num(-0.0)).unwrap(), "-0.0");
    assert_eq!(
        serde_json::to_string(&num(2f64.powi(60))).unwrap(),
        "1.152921504606847e+18"
    );
    assert_eq!(
        serde_json::to_string(&num(f64::NAN)).unwrap(),
        r#"{"$number":"NaN"}"#
    );
    assert_eq!(
        serde_json::to_string(&num(f64::NEG_INFINITY)).unwrap(),
        r#"{"$number":"-Infinity"}"#
    );
}

#[test]
fn typed_and_externalizable_objects_write_class_and_payload() {
    let user = AmfValue::Object(Arc::new(AmfObject {
        class_name: Some("User".into()),
        members: vec![("name".into(), AmfValue::from("bob"))],
        sealed_count: 1,
        dynamic: false,
        external: None,
    }));
    assert_eq!(
        serde_json::to_value(&user).unwrap(),
        json!({"$object": {"name": "bob"}, "$class": "User"})
    );
    let collection = AmfValue::Object(Arc::new(AmfObject {
        class_name: Some("flex.messaging.io.ArrayCollection".into()),
        members: vec![],
        sealed_count: 0,
        dynamic: false,
        external: Some(AmfValue::strict_array([num(1.0)])),
    }));
    assert_eq!(
        serde_json::to_value(&collection).unwrap(),
        json!({"$object": {}, "$class": "flex.messaging.io.ArrayCollection", "$external": [1]})
    );
}

// --------------------------------------------------------- JSON → AmfValue --

fn parse(text: &str) -> Result<AmfValue, serde_json::Error> {
    serde_json::from_str(text)
}

#[test]
fn every_variant_survives_json_text_except_integer_becoming_number() {
    let value = every_variant();
    let text = serde_json::to_string(&value).unwrap();
    let back = parse(&text).unwrap();
    let AmfValue::StrictArray(items) = &back else {
        panic!("not an array: {back:?}")
    };
    assert_eq!(items[3], num(-42.0), "AMF integer comes back as a Number");
    let mut expected = (*match &value {
        AmfValue::StrictArray(items) => items.clone(),
        _ => unreachable!(),
    })
    .clone();
    expected[3] = num(-42.0);
    assert_eq!(back, AmfValue::strict_array(expected));
    // And through serde_json::Value as well.
    let via_value: AmfValue = serde_json::from_value(serde_json::to_value(&back).unwrap()).unwrap();
    assert_eq!(via_value, back);
}

#[test]
fn json_types_map_directly() {
    assert_eq!(parse("null").unwrap(), AmfValue::Null);
    assert_eq!(parse("7").unwrap(), num(7.0));
    assert_eq!(parse("-7").unwrap(), num(-7.0));
    assert_eq!(parse("0.25").unwrap(), num(0.25));
    assert_eq!(parse(r#""s""#).unwrap(), AmfValue::from("s"));
    assert_eq!(
        parse("[true]").unwrap(),
        AmfValue::strict_array([AmfValue::Boolean(true)])
    );
    assert_eq!(
        parse(r#"{"b": 1, "a": 2}"#).unwrap(),
        AmfValue::object([("b", num(1.0)), ("a", num(2.0))]),
        "member order is kept"
    );
    assert_eq!(
        parse("{}").unwrap(),
        AmfValue::object(Vec::<(String, AmfValue)>::new())
    );
    assert_eq!(
        parse("18446744073709551615").unwrap(),
        num(18_446_744_073_709_551_615.0),
        "beyond 2^53 a JSON integer rounds to the nearest double"
    );
}

#[test]
fn tagged_forms_parse_into_amf_only_types() {
    assert_eq!(parse(r#"{"$int": 5}"#).unwrap(), AmfValue::Integer(5));
    assert_eq!(
        parse(r#"{"$undefined": null}"#).unwrap(),
        AmfValue::Undefined
    );
    assert!(parse(r#"{"$number": "NaN"}"#)
        .unwrap()
        .as_f64()
        .unwrap()
        .is_nan());
    assert_eq!(
        parse(r#"{"$date": 1000}"#).unwrap(),
        AmfValue::Date(AmfDate {
            millis: 1000.0,
            timezone_minutes: 0
        })
    );
    assert_eq!(
        parse(r#"{"$bytes": "AQI="}"#).unwrap(),
        AmfValue::ByteArray(Bytes::from_static(&[1, 2]))
    );
    assert_eq!(
        parse(r#"{"$object": {"a": 1}, "$class": "C"}"#).unwrap(),
        AmfValue::Object(Arc::new(AmfObject {
            class_name: Some("C".into()),
            members: vec![("a".into(), num(1.0))],
            sealed_count: 1,
            dynamic: false,
            external: None,
        }))
    );
    assert_eq!(
        parse(r#"{"$ecma": {"$date": 1}}"#).unwrap(),
        AmfValue::ecma_array([("$date", num(1.0))]),
        "the member map of $ecma/$object is never itself a tag"
    );
}

#[test]
fn dollar_keys_that_are_not_reserved_stay_plain_members() {
    let value = parse(r#"{"$foo": 1, "$bar": {"$baz": 2}}"#).unwrap();
    assert_eq!(value.get("$foo"), Some(&num(1.0)));
    assert_eq!(
        serde_json::to_string(&value).unwrap(),
        r#"{"$foo":1,"$bar":{"$baz":2}}"#
    );
    // A reserved name beside a key without `$` is plain too.
    let value = parse(r#"{"$date": "x", "a": 1}"#).unwrap();
    assert_eq!(value.get("$date"), Some(&AmfValue::from("x")));
}

#[test]
fn malformed_tagged_forms_are_errors_with_reasons() {
    let cases = [
        (
            r#"{"$date": "x"}"#,
            "invalid tagged value $date: string must be NaN, Infinity or -Infinity",
        ),
        (
            r#"{"$date": 1, "$foo": 2}"#,
            "invalid tagged value $foo: unknown key beside reserved tag names",
        ),
        (
            r#"{"$tz": 1}"#,
            "invalid tagged value $tz: a modifier needs a tag beside it",
        ),
        (
            r#"{"$date": 1, "$xml": "a"}"#,
            "invalid tagged value $xml: a value carries exactly one tag",
        ),
        (
            r#"{"$date": 1, "$fixed": true}"#,
            "invalid tagged value $fixed with $date: modifier not allowed",
        ),
        (
            r#"{"$bytes": "AQI"}"#,
            "invalid tagged value $bytes: payload is not canonical padded base64",
        ),
        (
            r#"{"$int": 2147483648}"#,
            "invalid tagged value $int: integer out of range",
        ),
        (
            r#"{"$object": 1}"#,
            "invalid tagged value $object: payload must be an object of members",
        ),
        (
            r#"{"$object": {"a": 1}, "$sealed": 2}"#,
            "invalid tagged value $sealed: integer out of range",
        ),
        (
            r#"{"$dictionary": [[1]]}"#,
            "invalid tagged value $dictionary: entries must be [key, value] pairs",
        ),
        (
            r#"{"$vector_uint": [-1]}"#,
            "invalid tagged value $vector_uint: integer out of range",
        ),
        (
            r#"{"$undefined": 0}"#,
            "invalid tagged value $undefined: payload must be null",
        ),
    ];
    for (text, message) in cases {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.starts_with(message), "{text}: {err}");
    }
}

#[test]
fn nesting_is_bounded_by_the_seed_and_by_serde_json() {
    let deep = |n: usize| "[".repeat(n) + &"]".repeat(n);
    let seed = AmfValueSeed::new(4);
    let ok = seed.deserialize(&mut serde_json::Deserializer::from_str(&deep(4)));
    assert!(ok.is_ok());
    let err = seed
        .deserialize(&mut serde_json::Deserializer::from_str(&deep(5)))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("nested deeper than the limit of 4"),
        "{err}"
    );
    // The default limit (128) and serde_json's own recursion limit (128) both stop
    // hostile input long before the stack runs out.
    assert!(parse(&deep(100)).is_ok());
    let err = parse(&deep(10_000)).unwrap_err();
    assert!(err.to_string().contains("recursion limit"), "{err}");
    let objects = |n: usize| r#"{"a":"#.repeat(n) + "1" + &"}".repeat(n);
    let err = AmfValueSeed::new(3)
        .deserialize(&mut serde_json::Deserializer::from_str(&objects(4)))
        .unwrap_err();
    assert!(err.to_string().contains("limit of 3"), "{err}");
}

#[test]
fn values_nested_to_the_default_limit_convert_on_a_test_thread_stack() {
    // 127 levels of objects and arrays (the deepest serde_json accepts), through
    // every path; test threads have a 2 MiB stack, like most worker threads.
    let mut value = num(1.0);
    for level in 0..127 {
        value = if level % 2 == 0 {
            AmfValue::object([("a", value)])
        } else {
            AmfValue::strict_array([value])
        };
    }
    let text = serde_json::to_string(&value).unwrap();
    assert_eq!(parse(&text).unwrap(), value);
    assert_eq!(to_value(&value).unwrap(), value);
    assert_eq!(from_value::<AmfValue>(value.clone()).unwrap(), value);
    assert!(from_value::<serde_json::Value>(value).is_ok());
}

#[test]
fn every_prefix_and_corruption_of_json_vectors_parses_or_fails_without_panic() {
    let vectors = [
        serde_json::to_string(&every_variant()).unwrap(),
        r#"{"$object": {"$date": 5}, "$class": "C", "$sealed": 1, "$external": [1]}"#.to_owned(),
        r#"{"$dictionary": [[{"$int": 1}, {"$bytes": "AQI="}]], "$weak": true}"#.to_owned(),
    ];
    let mut state = 0x2545_f491_u32;
    for text in &vectors {
        for end in 0..=text.len() {
            if let Some(prefix) = text.get(..end) {
                let _ = parse(prefix);
            }
        }
        for _ in 0..200 {
            // xorshift32: a fixed-seed corruption of one byte.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let mut bytes = text.clone().into_bytes();
            let at = state as usize % bytes.len();
            bytes[at] = b"{}[]\",:$01a-"[(state >> 8) as usize % 12];
            if let Ok(corrupt) = std::str::from_utf8(&bytes) {
                let _ = parse(corrupt);
            }
        }
    }
}

// -------------------------------------------------------------- proptests --

/// Floats that serde_json (without its `float_roundtrip` feature) parses back
/// exactly: few significant digits. Its default parser may be one ULP off for
/// long ones, e.g. `7364302112092881.0` reads back as `...882.0`.
fn json_number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<i32>().prop_map(f64::from),
        (-1_000_000_000i64..1_000_000_000).prop_map(|n| n as f64 / 1000.0),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{0,4}",
        "\\$[a-z]{0,4}",
        Just("$date".to_owned()),
        Just("$object".to_owned()),
    ]
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number().prop_map(|n| json!(n)),
        (-(1i64 << 53)..=(1i64 << 53)).prop_map(|n| json!(n)),
        ".{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            // Plain objects only: a key set that happens to be a *valid* tagged
            // form is no longer plain JSON but AMF, see the doc page.
            prop::collection::btree_map(key(), inner, 0..6).prop_map(|m| {
                let tag_shaped = is_tag_shape(m.keys().map(String::as_str));
                let mut m: serde_json::Map<String, Value> = m.into_iter().collect();
                if tag_shaped {
                    m.insert("plain".to_owned(), Value::Null);
                }
                Value::Object(m)
            }),
        ]
    })
}

/// Numbers compared by value, as JavaScript does (`5.0` and `5` are the same).
fn normalize(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, normalize(v))).collect()),
        other => other,
    }
}

fn arb_amf() -> impl Strategy<Value = AmfValue> {
    let text = || ".{0,5}".prop_map(ByteString::from);
    let leaf = prop_oneof![
        Just(AmfValue::Undefined),
        Just(AmfValue::Null),
        Just(AmfValue::Unsupported),
        any::<i32>().prop_map(AmfValue::Integer),
        any::<bool>().prop_map(AmfValue::Boolean),
        json_number().prop_map(AmfValue::Number),
        // Written as JSON integers, so exact up to 2^53.
        (-(1i64 << 53)..=(1i64 << 53)).prop_map(|n| AmfValue::Number(n as f64)),
        prop_oneof![Just(f64::INFINITY), Just(f64::NEG_INFINITY)].prop_map(AmfValue::Number),
        text().prop_map(AmfValue::String),
        text().prop_map(AmfValue::Xml),
        text().prop_map(AmfValue::XmlDocument),
        (json_number(), any::<i16>()).prop_map(|(millis, timezone_minutes)| {
            AmfValue::Date(AmfDate {
                millis,
                timezone_minutes,
            })
        }),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| AmfValue::ByteArray(Bytes::from(b))),
        (any::<bool>(), prop::collection::vec(any::<i32>(), 0..4))
            .prop_map(|(fixed, items)| AmfValue::VectorInt(Arc::new(AmfVector { fixed, items }))),
        (any::<bool>(), prop::collection::vec(any::<u32>(), 0..4))
            .prop_map(|(fixed, items)| AmfValue::VectorUint(Arc::new(AmfVector { fixed, items }))),
        (any::<bool>(), prop::collection::vec(json_number(), 0..4)).prop_map(|(fixed, items)| {
            AmfValue::VectorDouble(Arc::new(AmfVector { fixed, items }))
        }),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        let member = inner.clone();
        let members =
            move || prop::collection::vec((key().prop_map(ByteString::from), member.clone()), 0..5);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(AmfValue::strict_array),
            (prop::collection::vec(inner.clone(), 0..3), members()).prop_map(|(dense, assoc)| {
                AmfValue::EcmaArray(Arc::new(EcmaArray { dense, assoc }))
            }),
            members().prop_map(AmfValue::object),
            (
                members(),
                proptest::option::of("[A-Za-z.]{1,8}"),
                any::<prop::sample::Index>(),
                any::<bool>(),
                proptest::option::of(inner.clone()),
            )
                .prop_map(|(members, class, sealed, dynamic, external)| {
                    let sealed_count = sealed.index(members.len() + 1);
                    AmfValue::Object(Arc::new(AmfObject {
                        class_name: class.map(ByteString::from),
                        members,
                        sealed_count,
                        dynamic,
                        external,
                    }))
                }),
            (
                any::<bool>(),
                "[A-Za-z.*]{0,6}",
                prop::collection::vec(inner.clone(), 0..3)
            )
                .prop_map(|(fixed, type_name, items)| {
                    AmfValue::VectorObject(Arc::new(ObjectVector {
                        fixed,
                        type_name: type_name.into(),
                        items,
                    }))
                }),
            (
                any::<bool>(),
                prop::collection::vec((inner.clone(), inner), 0..3)
            )
                .prop_map(|(weak_keys, entries)| AmfValue::Dictionary(Arc::new(
                    Dictionary { weak_keys, entries }
                ))),
        ]
    })
}

/// What JSON keeps of a value: AMF integers become Numbers.
fn integers_as_numbers(value: &AmfValue) -> AmfValue {
    let all = |items: &[AmfValue]| items.iter().map(integers_as_numbers).collect::<Vec<_>>();
    let members = |members: &[(ByteString, AmfValue)]| {
        members
            .iter()
            .map(|(k, v)| (k.clone(), integers_as_numbers(v)))
            .collect::<Vec<_>>()
    };
    match value {
        AmfValue::Integer(i) => num(f64::from(*i)),
        AmfValue::StrictArray(items) => AmfValue::strict_array(all(items)),
        AmfValue::EcmaArray(a) => AmfValue::EcmaArray(Arc::new(EcmaArray {
            dense: all(&a.dense),
            assoc: members(&a.assoc),
        })),
        AmfValue::Object(o) => AmfValue::Object(Arc::new(AmfObject {
            members: members(&o.members),
            external: o.external.as_ref().map(integers_as_numbers),
            ..(**o).clone()
        })),
        AmfValue::VectorObject(v) => AmfValue::VectorObject(Arc::new(ObjectVector {
            items: all(&v.items),
            ..(**v).clone()
        })),
        AmfValue::Dictionary(d) => AmfValue::Dictionary(Arc::new(Dictionary {
            weak_keys: d.weak_keys,
            entries: d
                .entries
                .iter()
                .map(|(k, v)| (integers_as_numbers(k), integers_as_numbers(v)))
                .collect(),
        })),
        other => other.clone(),
    }
}

proptest! {
    #[test]
    fn random_json_roundtrips_through_amf_value_unchanged(json in arb_json()) {
        let value: AmfValue = serde_json::from_value(json.clone()).unwrap();
        let back = serde_json::to_value(&value).unwrap();
        prop_assert_eq!(normalize(back), normalize(json.clone()));
        // Through text too, keeping member order.
        let text = serde_json::to_string(&json).unwrap();
        let value: AmfValue = serde_json::from_str(&text).unwrap();
        let again: serde_json::Value = serde_json::from_str(&serde_json::to_string(&value).unwrap()).unwrap();
        prop_assert_eq!(normalize(again), normalize(json));
    }

    #[test]
    fn random_amf_values_roundtrip_through_json_text(value in arb_amf()) {
        let text = serde_json::to_string(&value).unwrap();
        let back: AmfValue = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, integers_as_numbers(&value));
    }

    #[test]
    fn random_amf_values_pass_through_to_value_and_from_value(value in arb_amf()) {
        prop_assert_eq!(&to_value(&value).unwrap(), &value);
        prop_assert_eq!(&from_value::<AmfValue>(value.clone()).unwrap(), &value);
    }

    #[test]
    fn random_text_never_panics_the_json_reader(text in "[\\[\\]{}\",:$a-z0-9 ]{0,40}") {
        let _ = parse(&text);
    }
}
