//! `Serialize` and `Deserialize` for [`AmfValue`] itself: the JSON mapping.
//!
//! JSON's own types map directly (null, booleans, numbers, strings, arrays,
//! objects). Every AMF type JSON lacks is written as a *tagged form*: a JSON object
//! whose keys all start with `$`, e.g. `{"$date": 1700000000000}`. The full table
//! is in `docs/protocol/amf-serde.md`.
//!
//! Recognition rule: a JSON object is a tagged form exactly when it is non-empty,
//! every key starts with `$`, and at least one key is a reserved tag name; such an
//! object must then be well formed or parsing fails. A plain object that happens
//! to look like that is written escaped as `{"$object": {...}}`, so every
//! `AmfValue` survives a trip through JSON.
//!
//! Both impls route through a private newtype name ([`RAW_TOKEN`]): formats that
//! ignore newtype names (serde_json and nearly every other) see the plain tagged
//! form, while this module's own [`to_value`](super::to_value) and
//! [`from_value`](super::from_value) recognise the name and pass `AmfValue`s
//! through without loss.

use std::sync::Arc;

use bytes::Bytes;
use bytestring::ByteString;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::base64;
use super::error::ConvertError;
use super::ser::MAX_SAFE_INTEGER;
use super::tags::{is_plain_object, Node};
use crate::protocol::amf::AmfValue;

/// The newtype name under which an `AmfValue` (de)serializes.
pub(crate) const RAW_TOKEN: &str = "$__ferrocast_private_AmfValue";

/// Default nesting limit of [`AmfValueSeed`]: 128 levels of JSON arrays and
/// objects, the same as serde_json's own recursion limit.
pub const DEFAULT_MAX_SERDE_DEPTH: usize = 128;

/// The text JSON uses for a non-finite number inside a tag.
pub(crate) fn special_number_name(n: f64) -> &'static str {
    if n.is_nan() {
        "NaN"
    } else if n > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// Whether `n` is written as a JSON integer (integral, within ±2^53, not -0).
pub(crate) fn is_json_integer(n: f64) -> bool {
    n.is_finite()
        && n.fract() == 0.0
        && n.abs() <= MAX_SAFE_INTEGER as f64
        && !(n == 0.0 && n.is_sign_negative())
}

// ---------------------------------------------------------------- Serialize --

impl Serialize for AmfValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(RAW_TOKEN, &Tagged(self))
    }
}

/// A number as JSON holds it: integral values as integers (as JavaScript's
/// `JSON.stringify` does), non-finite ones as `"NaN"`/`"Infinity"`/`"-Infinity"`.
struct Num(f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let n = self.0;
        if is_json_integer(n) {
            serializer.serialize_i64(n as i64)
        } else if n.is_finite() {
            serializer.serialize_f64(n)
        } else {
            serializer.serialize_str(special_number_name(n))
        }
    }
}

struct Nums<'a>(&'a [f64]);

impl Serialize for Nums<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|&n| Num(n)))
    }
}

/// Object members as a map, in order (duplicates written as they are).
struct Members<'a>(&'a [(ByteString, AmfValue)]);

impl Serialize for Members<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(&**key, value)?;
        }
        map.end()
    }
}

/// The JSON-shaped form of one value; children go back through `AmfValue`.
struct Tagged<'a>(&'a AmfValue);

fn single<S: Serializer, T: Serialize + ?Sized>(
    serializer: S,
    tag: &str,
    payload: &T,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(1))?;
    map.serialize_entry(tag, payload)?;
    map.end()
}

impl Serialize for Tagged<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            AmfValue::Undefined => single(serializer, "$undefined", &()),
            AmfValue::Unsupported => single(serializer, "$unsupported", &()),
            AmfValue::Null => serializer.serialize_unit(),
            AmfValue::Boolean(b) => serializer.serialize_bool(*b),
            AmfValue::Integer(i) => serializer.serialize_i32(*i),
            AmfValue::Number(n) if n.is_finite() => Num(*n).serialize(serializer),
            AmfValue::Number(n) => single(serializer, "$number", &Num(*n)),
            AmfValue::String(s) => serializer.serialize_str(s),
            AmfValue::Date(d) => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("$date", &Num(d.millis))?;
                if d.timezone_minutes != 0 {
                    map.serialize_entry("$tz", &d.timezone_minutes)?;
                }
                map.end()
            }
            AmfValue::XmlDocument(x) => single(serializer, "$xmldocument", &**x),
            AmfValue::Xml(x) => single(serializer, "$xml", &**x),
            AmfValue::ByteArray(b) => single(serializer, "$bytes", &base64::encode(b)),
            AmfValue::StrictArray(items) => serializer.collect_seq(items.iter()),
            AmfValue::EcmaArray(array) => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("$ecma", &Members(&array.assoc))?;
                if !array.dense.is_empty() {
                    map.serialize_entry("$dense", &array.dense)?;
                }
                map.end()
            }
            AmfValue::Object(object) if is_plain_object(object) => {
                Members(&object.members).serialize(serializer)
            }
            AmfValue::Object(object) => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("$object", &Members(&object.members))?;
                let default_sealed = match &object.class_name {
                    Some(class) => {
                        map.serialize_entry("$class", &**class)?;
                        object.members.len()
                    }
                    None => 0,
                };
                if object.sealed_count != default_sealed {
                    map.serialize_entry("$sealed", &object.sealed_count)?;
                }
                if object.dynamic != object.class_name.is_none() {
                    map.serialize_entry("$dynamic", &object.dynamic)?;
                }
                if let Some(external) = &object.external {
                    map.serialize_entry("$external", external)?;
                }
                map.end()
            }
            AmfValue::VectorInt(v) => vector(serializer, "$vector_int", &v.items, v.fixed, ""),
            AmfValue::VectorUint(v) => vector(serializer, "$vector_uint", &v.items, v.fixed, ""),
            AmfValue::VectorDouble(v) => {
                vector(serializer, "$vector_double", &Nums(&v.items), v.fixed, "")
            }
            AmfValue::VectorObject(v) => vector(
                serializer,
                "$vector_object",
                &v.items,
                v.fixed,
                &v.type_name,
            ),
            AmfValue::Dictionary(d) => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("$dictionary", &d.entries)?;
                if d.weak_keys {
                    map.serialize_entry("$weak", &true)?;
                }
                map.end()
            }
        }
    }
}

fn vector<S: Serializer, T: Serialize + ?Sized>(
    serializer: S,
    tag: &str,
    items: &T,
    fixed: bool,
    type_name: &str,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry(tag, items)?;
    if !type_name.is_empty() {
        map.serialize_entry("$type", type_name)?;
    }
    if fixed {
        map.serialize_entry("$fixed", &true)?;
    }
    map.end()
}

// -------------------------------------------------------------- Deserialize --

/// A [`DeserializeSeed`] for [`AmfValue`] with a nesting limit.
///
/// `AmfValue::deserialize` uses [`DEFAULT_MAX_SERDE_DEPTH`]; use this seed to
/// apply a tighter limit to untrusted input, e.g.
/// `AmfValueSeed::new(64).deserialize(&mut serde_json::Deserializer::from_str(text))`.
/// Every JSON array and object counts one level, so a tagged form costs two
/// (`{"$object": {...}}`). serde_json additionally stops at 128 levels by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmfValueSeed {
    max_depth: usize,
}

impl AmfValueSeed {
    /// A seed that rejects input nested deeper than `max_depth` arrays/objects.
    pub fn new(max_depth: usize) -> Self {
        Self { max_depth }
    }
}

impl Default for AmfValueSeed {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_SERDE_DEPTH)
    }
}

impl<'de> DeserializeSeed<'de> for AmfValueSeed {
    type Value = AmfValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<AmfValue, D::Error> {
        let visitor = NodeVisitor {
            depth_left: self.max_depth,
            limit: self.max_depth,
        };
        let node = deserializer.deserialize_newtype_struct(RAW_TOKEN, visitor)?;
        node.into_value().map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for AmfValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        AmfValueSeed::default().deserialize(deserializer)
    }
}

#[derive(Debug, Clone, Copy)]
struct NodeVisitor {
    depth_left: usize,
    limit: usize,
}

impl NodeVisitor {
    fn child<E: de::Error>(self) -> Result<Self, E> {
        match self.depth_left.checked_sub(1) {
            Some(depth_left) => Ok(Self { depth_left, ..self }),
            None => Err(E::custom(ConvertError::TooDeep { limit: self.limit })),
        }
    }
}

impl<'de> DeserializeSeed<'de> for NodeVisitor {
    type Value = Node;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Deserializes one element fully (arrays hold values, not nodes).
struct ValueSeed(NodeVisitor);

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = AmfValue;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<AmfValue, D::Error> {
        let node = deserializer.deserialize_any(self.0)?;
        node.into_value().map_err(de::Error::custom)
    }
}

fn leaf<E>(value: AmfValue) -> Result<Node, E> {
    Ok(Node::Value(value))
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON or ActionScript value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        leaf(AmfValue::Boolean(v))
    }
    /// Only `AmfValue`'s own form (and few formats) produce an `i32`: keep it an
    /// AMF integer. JSON integers arrive as `i64`/`u64` and become Numbers.
    fn visit_i32<E>(self, v: i32) -> Result<Node, E> {
        leaf(AmfValue::Integer(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        leaf(AmfValue::Number(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        leaf(AmfValue::Number(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        leaf(AmfValue::Number(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        leaf(AmfValue::from(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        leaf(AmfValue::from(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Node, E> {
        leaf(AmfValue::ByteArray(Bytes::copy_from_slice(v)))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Node, E> {
        leaf(AmfValue::ByteArray(Bytes::from(v)))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        leaf(AmfValue::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        leaf(AmfValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(self)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let child = self.child()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed(child))? {
            items.push(item);
        }
        leaf(AmfValue::StrictArray(Arc::new(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let child = self.child()?;
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let node = map.next_value_seed(child)?;
            entries.push((key, node));
        }
        Ok(Node::Map(entries))
    }
}

/// A member name: a string (or, from non-JSON formats, a number or boolean,
/// taken as its text).
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = ByteString;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ByteString, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = ByteString;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, v: &str) -> Result<ByteString, E> {
        Ok(ByteString::from(v))
    }
    fn visit_string<E>(self, v: String) -> Result<ByteString, E> {
        Ok(ByteString::from(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<ByteString, E> {
        Ok(ByteString::from(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<ByteString, E> {
        Ok(ByteString::from(v.to_string()))
    }
    fn visit_bool<E>(self, v: bool) -> Result<ByteString, E> {
        Ok(ByteString::from(v.to_string()))
    }
}
