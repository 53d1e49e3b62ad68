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
use super::error::{tag_error, ConvertError};
use super::ser::MAX_SAFE_INTEGER;
use crate::protocol::amf::{
    AmfDate, AmfObject, AmfValue, AmfVector, Dictionary, EcmaArray, ObjectVector,
};

/// The newtype name under which an `AmfValue` (de)serializes.
pub(crate) const RAW_TOKEN: &str = "$__ferrocast_private_AmfValue";

/// Default nesting limit of [`AmfValueSeed`]: 128 levels of JSON arrays and
/// objects, the same as serde_json's own recursion limit.
pub const DEFAULT_MAX_SERDE_DEPTH: usize = 128;

const I32_MIN: i64 = i32::MIN as i64;
const I32_MAX: i64 = i32::MAX as i64;

/// Tag names that stand for a value.
const TAGS: [&str; 15] = [
    "$undefined",
    "$unsupported",
    "$int",
    "$number",
    "$date",
    "$xml",
    "$xmldocument",
    "$bytes",
    "$ecma",
    "$object",
    "$vector_int",
    "$vector_uint",
    "$vector_double",
    "$vector_object",
    "$dictionary",
];

/// Tag names that qualify a value tag.
const MODIFIERS: [&str; 9] = [
    "$tz",
    "$dense",
    "$class",
    "$sealed",
    "$dynamic",
    "$external",
    "$fixed",
    "$type",
    "$weak",
];

fn modifiers_of(tag: &str) -> &'static [&'static str] {
    match tag {
        "$date" => &["$tz"],
        "$ecma" => &["$dense"],
        "$object" => &["$class", "$sealed", "$dynamic", "$external"],
        "$vector_int" | "$vector_uint" | "$vector_double" => &["$fixed"],
        "$vector_object" => &["$fixed", "$type"],
        "$dictionary" => &["$weak"],
        _ => &[],
    }
}

fn is_reserved(key: &str) -> bool {
    TAGS.contains(&key) || MODIFIERS.contains(&key)
}

/// Whether an object with these keys is read as a tagged form.
pub(crate) fn is_tag_shape<'k>(mut keys: impl Iterator<Item = &'k str> + Clone) -> bool {
    let mut probe = keys.clone();
    probe.next().is_some() && keys.clone().all(|k| k.starts_with('$')) && keys.any(is_reserved)
}

/// Whether `object` is written as a bare JSON object (anonymous, default traits,
/// and not mistakable for a tagged form).
pub(crate) fn is_plain_object(object: &AmfObject) -> bool {
    object.class_name.is_none()
        && object.sealed_count == 0
        && object.dynamic
        && object.external.is_none()
        && !is_tag_shape(object.members.iter().map(|(k, _)| &**k))
}

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

/// A value whose JSON objects are not yet interpreted: the payload of
/// `$object`/`$ecma` is a member map even when it looks like a tagged form.
#[derive(Debug)]
pub(crate) enum Node {
    /// Anything but an object, already converted.
    Value(AmfValue),
    /// An object, members in order.
    Map(Vec<(ByteString, Node)>),
}

impl Node {
    pub(crate) fn into_value(self) -> Result<AmfValue, ConvertError> {
        match self {
            Self::Value(v) => Ok(v),
            Self::Map(entries) => interpret(entries),
        }
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

// ----------------------------------------------------------- Interpretation --

/// Reads a tagged form back from an `AmfValue` built by
/// [`ValueSerializer`](super::ser::ValueSerializer) from an `AmfValue`'s own
/// `Serialize` output.
pub(crate) fn untag_value(value: AmfValue) -> Result<AmfValue, ConvertError> {
    match value {
        AmfValue::Object(object) if object.class_name.is_none() => {
            let object = Arc::unwrap_or_clone(object);
            let entries = object.members.into_iter().map(|(k, v)| (k, Node::Value(v)));
            interpret(entries.collect())
        }
        other => Ok(other),
    }
}

/// Interprets a JSON object: a tagged form or an anonymous object.
fn interpret(entries: Vec<(ByteString, Node)>) -> Result<AmfValue, ConvertError> {
    if is_tag_shape(entries.iter().map(|(k, _)| &**k)) {
        return parse_tag(entries);
    }
    let members = entries
        .into_iter()
        .map(|(k, node)| node.into_value().map(|v| (k, v)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AmfValue::object(members))
}

fn parse_tag(entries: Vec<(ByteString, Node)>) -> Result<AmfValue, ConvertError> {
    let mut primary: Option<(&'static str, Node)> = None;
    let mut mods: Vec<(&'static str, Node)> = Vec::new();
    for (key, node) in entries {
        if let Some(tag) = TAGS.iter().find(|t| **t == &*key) {
            if primary.is_some() {
                return Err(tag_error(tag, "a value carries exactly one tag"));
            }
            primary = Some((tag, node));
        } else if let Some(name) = MODIFIERS.iter().find(|m| **m == &*key) {
            if mods.iter().any(|(m, _)| m == name) {
                return Err(tag_error(name, "given twice"));
            }
            mods.push((name, node));
        } else {
            return Err(tag_error(
                &key,
                "unknown key beside reserved tag names (write such an object as {\"$object\": {...}})",
            ));
        }
    }
    let Some((tag, payload)) = primary else {
        let name = mods.first().map_or("", |(m, _)| m);
        return Err(tag_error(name, "a modifier needs a tag beside it"));
    };
    if let Some((name, _)) = mods.iter().find(|(m, _)| !modifiers_of(tag).contains(m)) {
        return Err(tag_error(
            &format!("{name} with {tag}"),
            "modifier not allowed with this tag",
        ));
    }
    let mut mods = Modifiers(mods);
    let value = match tag {
        "$undefined" | "$unsupported" => {
            if !matches!(payload.into_value()?, AmfValue::Null) {
                return Err(tag_error(tag, "payload must be null"));
            }
            if tag == "$undefined" {
                AmfValue::Undefined
            } else {
                AmfValue::Unsupported
            }
        }
        "$int" => {
            AmfValue::Integer(integer_in(tag, &payload.into_value()?, I32_MIN, I32_MAX)? as i32)
        }
        "$number" => AmfValue::Number(extended_number(tag, &payload.into_value()?)?),
        "$date" => AmfValue::Date(AmfDate {
            millis: extended_number(tag, &payload.into_value()?)?,
            timezone_minutes: match mods.take("$tz")? {
                Some(tz) => integer_in("$tz", &tz, i16::MIN.into(), i16::MAX.into())? as i16,
                None => 0,
            },
        }),
        "$xml" => AmfValue::Xml(string(tag, payload.into_value()?)?),
        "$xmldocument" => AmfValue::XmlDocument(string(tag, payload.into_value()?)?),
        "$bytes" => AmfValue::ByteArray(match payload.into_value()? {
            AmfValue::ByteArray(bytes) => bytes,
            AmfValue::String(text) => base64::decode(&text)
                .map(Bytes::from)
                .ok_or_else(|| tag_error(tag, "payload is not canonical padded base64"))?,
            _ => return Err(tag_error(tag, "payload must be a base64 string")),
        }),
        "$ecma" => AmfValue::EcmaArray(Arc::new(EcmaArray {
            assoc: members(tag, payload)?,
            dense: match mods.take("$dense")? {
                Some(dense) => array("$dense", dense)?,
                None => Vec::new(),
            },
        })),
        "$object" => object(payload, &mut mods)?,
        "$vector_int" => AmfValue::VectorInt(Arc::new(AmfVector {
            items: array(tag, payload.into_value()?)?
                .iter()
                .map(|v| integer_in(tag, v, I32_MIN, I32_MAX).map(|n| n as i32))
                .collect::<Result<_, _>>()?,
            fixed: mods.flag("$fixed", false)?,
        })),
        "$vector_uint" => AmfValue::VectorUint(Arc::new(AmfVector {
            items: array(tag, payload.into_value()?)?
                .iter()
                .map(|v| integer_in(tag, v, 0, u32::MAX.into()).map(|n| n as u32))
                .collect::<Result<_, _>>()?,
            fixed: mods.flag("$fixed", false)?,
        })),
        "$vector_double" => AmfValue::VectorDouble(Arc::new(AmfVector {
            items: array(tag, payload.into_value()?)?
                .iter()
                .map(|v| extended_number(tag, v))
                .collect::<Result<_, _>>()?,
            fixed: mods.flag("$fixed", false)?,
        })),
        "$vector_object" => AmfValue::VectorObject(Arc::new(ObjectVector {
            items: array(tag, payload.into_value()?)?,
            type_name: match mods.take("$type")? {
                Some(name) => string("$type", name)?,
                None => ByteString::new(),
            },
            fixed: mods.flag("$fixed", false)?,
        })),
        "$dictionary" => AmfValue::Dictionary(Arc::new(Dictionary {
            entries: array(tag, payload.into_value()?)?
                .into_iter()
                .map(|pair| match pair {
                    AmfValue::StrictArray(pair) if pair.len() == 2 => {
                        let mut pair = Arc::unwrap_or_clone(pair).into_iter();
                        match (pair.next(), pair.next()) {
                            (Some(k), Some(v)) => Ok((k, v)),
                            _ => Err(tag_error(tag, "entries must be [key, value] pairs")),
                        }
                    }
                    _ => Err(tag_error(tag, "entries must be [key, value] pairs")),
                })
                .collect::<Result<_, _>>()?,
            weak_keys: mods.flag("$weak", false)?,
        })),
        _ => return Err(tag_error(tag, "unknown tag")),
    };
    Ok(value)
}

fn object(payload: Node, mods: &mut Modifiers) -> Result<AmfValue, ConvertError> {
    let members = members("$object", payload)?;
    let class_name = match mods.take("$class")? {
        Some(class) => Some(string("$class", class)?),
        None => None,
    };
    let default_sealed = if class_name.is_some() {
        members.len()
    } else {
        0
    };
    let sealed_count = match mods.take("$sealed")? {
        Some(n) => integer_in("$sealed", &n, 0, members.len() as i64)? as usize,
        None => default_sealed,
    };
    let dynamic = mods.flag("$dynamic", class_name.is_none())?;
    let external = mods.take("$external")?;
    Ok(AmfValue::Object(Arc::new(AmfObject {
        class_name,
        members,
        sealed_count,
        dynamic,
        external,
    })))
}

/// The modifiers of one tagged form, taken one by one.
struct Modifiers(Vec<(&'static str, Node)>);

impl Modifiers {
    fn take(&mut self, name: &str) -> Result<Option<AmfValue>, ConvertError> {
        match self.0.iter().position(|(m, _)| *m == name) {
            Some(index) => self.0.swap_remove(index).1.into_value().map(Some),
            None => Ok(None),
        }
    }

    fn flag(&mut self, name: &'static str, default: bool) -> Result<bool, ConvertError> {
        match self.take(name)? {
            Some(AmfValue::Boolean(b)) => Ok(b),
            Some(_) => Err(tag_error(name, "must be true or false")),
            None => Ok(default),
        }
    }
}

fn members(tag: &str, payload: Node) -> Result<Vec<(ByteString, AmfValue)>, ConvertError> {
    match payload {
        Node::Map(entries) => entries
            .into_iter()
            .map(|(k, node)| node.into_value().map(|v| (k, v)))
            .collect(),
        // From `to_value`: the member map arrives already built.
        Node::Value(AmfValue::Object(object)) if object.class_name.is_none() => {
            Ok(Arc::unwrap_or_clone(object).members)
        }
        Node::Value(_) => Err(tag_error(tag, "payload must be an object of members")),
    }
}

fn array(tag: &str, value: AmfValue) -> Result<Vec<AmfValue>, ConvertError> {
    match value {
        AmfValue::StrictArray(items) => Ok(Arc::unwrap_or_clone(items)),
        _ => Err(tag_error(tag, "payload must be an array")),
    }
}

fn string(tag: &str, value: AmfValue) -> Result<ByteString, ConvertError> {
    match value {
        AmfValue::String(s) => Ok(s),
        _ => Err(tag_error(tag, "payload must be a string")),
    }
}

fn extended_number(tag: &str, value: &AmfValue) -> Result<f64, ConvertError> {
    match value {
        AmfValue::Number(n) => Ok(*n),
        AmfValue::Integer(i) => Ok(f64::from(*i)),
        AmfValue::String(s) => match &**s {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(tag_error(tag, "string must be NaN, Infinity or -Infinity")),
        },
        _ => Err(tag_error(tag, "payload must be a number")),
    }
}

fn integer_in(tag: &str, value: &AmfValue, min: i64, max: i64) -> Result<i64, ConvertError> {
    let n = value
        .as_f64()
        .ok_or_else(|| tag_error(tag, "payload must be an integer"))?;
    if n.fract() != 0.0 || n < min as f64 || n > max as f64 {
        return Err(tag_error(tag, "integer out of range"));
    }
    Ok(n as i64)
}
