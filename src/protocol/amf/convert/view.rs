//! The tagged form of an [`AmfValue`] as a serde [`Deserializer`], without
//! building JSON.
//!
//! [`from_value`](super::from_value) hands this view to `AmfValue`'s own
//! `Deserialize` impl (recognised by the private newtype name), which reads it
//! exactly as it reads the JSON text of the tagged form. Two shortcuts keep the
//! trip lossless and cheap: an AMF integer is presented as an `i32` (JSON
//! integers arrive as `i64`/`u64` and become Numbers) and byte arrays as bytes
//! rather than base64.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{Deserializer, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use super::error::ConvertError;
use super::tags::is_plain_object;
use crate::protocol::amf::AmfValue;
use bytestring::ByteString;

/// One node of the tagged form.
#[derive(Debug, Clone, Copy)]
pub(crate) enum View<'de> {
    /// A value, presented in its tagged form.
    Amf(&'de AmfValue),
    /// JSON `null` as a tag payload.
    Unit,
    F64(f64),
    I64(i64),
    Bool(bool),
    Str(&'de str),
    Bytes(&'de [u8]),
    /// Object members, presented as a map whatever they contain.
    Members(&'de [(ByteString, AmfValue)]),
    Values(&'de [AmfValue]),
    Ints(&'de [i32]),
    Uints(&'de [u32]),
    Doubles(&'de [f64]),
    /// Dictionary entries, each presented as a `[key, value]` array.
    Pairs(&'de [(AmfValue, AmfValue)]),
    Pair(&'de AmfValue, &'de AmfValue),
}

type Entries<'de> = Vec<(&'static str, View<'de>)>;

fn tagged<'de, V: Visitor<'de>>(
    visitor: V,
    entries: Entries<'de>,
) -> Result<V::Value, ConvertError> {
    visitor.visit_map(MapDeserializer::new(entries.into_iter()))
}

fn fixed(entries: &mut Entries<'_>, fixed: bool) {
    if fixed {
        entries.push(("$fixed", View::Bool(true)));
    }
}

fn value<'de, V: Visitor<'de>>(value: &'de AmfValue, visitor: V) -> Result<V::Value, ConvertError> {
    match value {
        AmfValue::Undefined => tagged(visitor, vec![("$undefined", View::Unit)]),
        AmfValue::Unsupported => tagged(visitor, vec![("$unsupported", View::Unit)]),
        AmfValue::Null => visitor.visit_unit(),
        AmfValue::Boolean(b) => visitor.visit_bool(*b),
        AmfValue::Integer(i) => visitor.visit_i32(*i),
        AmfValue::Number(n) => visitor.visit_f64(*n),
        AmfValue::String(s) => visitor.visit_borrowed_str(s),
        AmfValue::Date(d) => {
            let mut entries = vec![("$date", View::F64(d.millis))];
            if d.timezone_minutes != 0 {
                entries.push(("$tz", View::I64(d.timezone_minutes.into())));
            }
            tagged(visitor, entries)
        }
        AmfValue::XmlDocument(x) => tagged(visitor, vec![("$xmldocument", View::Str(x))]),
        AmfValue::Xml(x) => tagged(visitor, vec![("$xml", View::Str(x))]),
        AmfValue::ByteArray(b) => tagged(visitor, vec![("$bytes", View::Bytes(b))]),
        AmfValue::StrictArray(items) => View::Values(items).deserialize_any(visitor),
        AmfValue::EcmaArray(array) => {
            let mut entries = vec![("$ecma", View::Members(&array.assoc))];
            if !array.dense.is_empty() {
                entries.push(("$dense", View::Values(&array.dense)));
            }
            tagged(visitor, entries)
        }
        AmfValue::Object(object) if is_plain_object(object) => {
            View::Members(&object.members).deserialize_any(visitor)
        }
        AmfValue::Object(object) => {
            let mut entries = vec![("$object", View::Members(&object.members))];
            if let Some(class) = &object.class_name {
                entries.push(("$class", View::Str(class)));
            }
            let sealed = i64::try_from(object.sealed_count).unwrap_or(i64::MAX);
            entries.push(("$sealed", View::I64(sealed)));
            entries.push(("$dynamic", View::Bool(object.dynamic)));
            if let Some(external) = &object.external {
                entries.push(("$external", View::Amf(external)));
            }
            tagged(visitor, entries)
        }
        AmfValue::VectorInt(v) => {
            let mut entries = vec![("$vector_int", View::Ints(&v.items))];
            fixed(&mut entries, v.fixed);
            tagged(visitor, entries)
        }
        AmfValue::VectorUint(v) => {
            let mut entries = vec![("$vector_uint", View::Uints(&v.items))];
            fixed(&mut entries, v.fixed);
            tagged(visitor, entries)
        }
        AmfValue::VectorDouble(v) => {
            let mut entries = vec![("$vector_double", View::Doubles(&v.items))];
            fixed(&mut entries, v.fixed);
            tagged(visitor, entries)
        }
        AmfValue::VectorObject(v) => {
            let mut entries = vec![
                ("$vector_object", View::Values(&v.items)),
                ("$type", View::Str(&v.type_name)),
            ];
            fixed(&mut entries, v.fixed);
            tagged(visitor, entries)
        }
        AmfValue::Dictionary(d) => {
            let mut entries = vec![("$dictionary", View::Pairs(&d.entries))];
            if d.weak_keys {
                entries.push(("$weak", View::Bool(true)));
            }
            tagged(visitor, entries)
        }
    }
}

impl<'de> Deserializer<'de> for View<'de> {
    type Error = ConvertError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        match self {
            Self::Amf(v) => value(v, visitor),
            Self::Unit => visitor.visit_unit(),
            Self::F64(n) => visitor.visit_f64(n),
            Self::I64(n) => visitor.visit_i64(n),
            Self::Bool(b) => visitor.visit_bool(b),
            Self::Str(s) => visitor.visit_borrowed_str(s),
            Self::Bytes(b) => visitor.visit_borrowed_bytes(b),
            Self::Members(members) => visitor.visit_map(MapDeserializer::new(
                members.iter().map(|(k, v)| (&**k, Self::Amf(v))),
            )),
            Self::Values(items) => {
                visitor.visit_seq(SeqDeserializer::new(items.iter().map(Self::Amf)))
            }
            Self::Ints(items) => visitor.visit_seq(SeqDeserializer::new(items.iter().copied())),
            Self::Uints(items) => visitor.visit_seq(SeqDeserializer::new(items.iter().copied())),
            Self::Doubles(items) => visitor.visit_seq(SeqDeserializer::new(items.iter().copied())),
            Self::Pairs(pairs) => visitor.visit_seq(SeqDeserializer::new(
                pairs.iter().map(|(k, v)| Self::Pair(k, v)),
            )),
            Self::Pair(k, v) => visitor.visit_seq(SeqDeserializer::new(
                [Self::Amf(k), Self::Amf(v)].into_iter(),
            )),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, ConvertError> for View<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}
