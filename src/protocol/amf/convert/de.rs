//! A serde [`Deserializer`] over an [`AmfValue`]: typed Rust values from AMF.
//!
//! The mapping (see `docs/protocol/amf-serde.md`): Numbers and Integers become any
//! integer type when integral and in range, strict arrays, vectors and byte
//! arrays sequences, objects, ECMA arrays and dictionaries maps and structs,
//! `null`/`undefined` `None` and `()`, dates their milliseconds as `f64`, enums
//! come from a string (unit variant) or a single-member object.

use bytestring::ByteString;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use serde::Deserialize;

use super::de_access::{Enum, Key, Map, Seq};
use super::error::ConvertError;
use super::value_serde::{is_json_integer, RAW_TOKEN};
use super::view::View;
use crate::protocol::amf::{AmfDate, AmfValue};

/// Deserializes a `T` from an owned [`AmfValue`].
///
/// # Errors
///
/// [`ConvertError::WrongType`] when a value's AMF type does not fit the target,
/// [`ConvertError::IntegerOutOfRange`] / [`ConvertError::NotAnInteger`] for
/// numbers that do not fit an integer target, or any error of `T`'s own
/// `Deserialize` impl (missing fields, unknown variants); errors inside
/// containers are wrapped in [`ConvertError::At`] with their path.
pub fn from_value<T: DeserializeOwned>(value: AmfValue) -> Result<T, ConvertError> {
    from_value_ref(&value)
}

/// Deserializes a `T` that may borrow strings and bytes from `value`.
///
/// # Errors
///
/// As [`from_value`].
pub fn from_value_ref<'a, T: Deserialize<'a>>(value: &'a AmfValue) -> Result<T, ConvertError> {
    T::deserialize(ValueDeserializer(value))
}

/// The deserializer behind [`from_value`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueDeserializer<'de>(pub(crate) &'de AmfValue);

impl<'de> IntoDeserializer<'de, ConvertError> for ValueDeserializer<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl ValueDeserializer<'_> {
    fn wrong(&self, expected: &'static str) -> ConvertError {
        ConvertError::WrongType {
            expected,
            found: self.0.type_name(),
        }
    }

    /// The value as an integer of type `T`, named `target` in errors.
    fn integer<T: TryFrom<i128>>(&self, target: &'static str) -> Result<T, ConvertError> {
        let n = match self.0 {
            AmfValue::Integer(i) => return in_range(i128::from(*i), f64::from(*i), target),
            AmfValue::Number(n) => *n,
            _ => return Err(self.wrong(target)),
        };
        if !n.is_finite() || n.fract() != 0.0 {
            return Err(ConvertError::NotAnInteger { value: n, target });
        }
        // 2^127: beyond it `as i128` would saturate; no target can hold it anyway.
        if n.abs() >= 1.7014118346046923e38 {
            return Err(ConvertError::IntegerOutOfRange { value: n, target });
        }
        in_range(n as i128, n, target)
    }
}

/// Whether `entries` are keyed `"start"`, `"start+1"`, ... in order (canonical
/// decimal, so `"01"` or `"+1"` are not indices).
fn keys_are_indices_from(entries: &[(ByteString, AmfValue)], start: usize) -> bool {
    entries.iter().enumerate().all(|(i, (key, _))| {
        start
            .checked_add(i)
            .is_some_and(|n| **key == *n.to_string())
    })
}

pub(crate) fn in_range<T: TryFrom<i128>>(
    v: i128,
    shown: f64,
    target: &'static str,
) -> Result<T, ConvertError> {
    T::try_from(v).map_err(|_| ConvertError::IntegerOutOfRange {
        value: shown,
        target,
    })
}

macro_rules! integer_methods {
    ($($method:ident => $visit:ident: $ty:ty),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
            let n: $ty = self.integer(stringify!($ty))?;
            visitor.$visit(n)
        })*
    };
}

impl<'de> Deserializer<'de> for ValueDeserializer<'de> {
    type Error = ConvertError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        match self.0 {
            AmfValue::Undefined | AmfValue::Null | AmfValue::Unsupported => visitor.visit_unit(),
            AmfValue::Boolean(b) => visitor.visit_bool(*b),
            AmfValue::Integer(i) => visitor.visit_i32(*i),
            // Integral numbers (and dates) as integers, as JSON writes them, so
            // self-describing targets such as `serde_json::Value` get `5`, not
            // `5.0`.
            AmfValue::Number(n) | AmfValue::Date(AmfDate { millis: n, .. })
                if is_json_integer(*n) =>
            {
                visitor.visit_i64(*n as i64)
            }
            AmfValue::Number(n) => visitor.visit_f64(*n),
            AmfValue::String(s) | AmfValue::Xml(s) | AmfValue::XmlDocument(s) => {
                visitor.visit_borrowed_str(s)
            }
            AmfValue::Date(d) => visitor.visit_f64(d.millis),
            // As a sequence of numbers, the way JSON and most self-describing
            // formats carry bytes; `deserialize_bytes` still yields bytes.
            AmfValue::ByteArray(_)
            | AmfValue::StrictArray(_)
            | AmfValue::VectorInt(_)
            | AmfValue::VectorUint(_)
            | AmfValue::VectorDouble(_)
            | AmfValue::VectorObject(_) => self.deserialize_seq(visitor),
            AmfValue::Object(o) => match &o.external {
                // An externalizable object is its payload (e.g. an ArrayCollection
                // is its source array).
                Some(external) if o.members.is_empty() => {
                    ValueDeserializer(external).deserialize_any(visitor)
                }
                _ => self.deserialize_map(visitor),
            },
            AmfValue::EcmaArray(_) | AmfValue::Dictionary(_) => self.deserialize_map(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        match self.0 {
            AmfValue::Boolean(b) => visitor.visit_bool(*b),
            _ => Err(self.wrong("a boolean")),
        }
    }

    integer_methods! {
        deserialize_i8 => visit_i8: i8, deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32, deserialize_i64 => visit_i64: i64,
        deserialize_i128 => visit_i128: i128, deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16, deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64, deserialize_u128 => visit_u128: u128,
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        match self.0 {
            AmfValue::Number(n) => visitor.visit_f64(*n),
            AmfValue::Integer(i) => visitor.visit_f64(f64::from(*i)),
            AmfValue::Date(d) => visitor.visit_f64(d.millis),
            _ => Err(self.wrong("a number")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        match self.0 {
            AmfValue::String(s) | AmfValue::Xml(s) | AmfValue::XmlDocument(s) => {
                visitor.visit_borrowed_str(s)
            }
            _ => Err(self.wrong("a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        match self.0 {
            AmfValue::ByteArray(b) => visitor.visit_borrowed_bytes(b),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        if self.0.is_null_or_undefined() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        if self.0.is_null_or_undefined() {
            visitor.visit_unit()
        } else {
            Err(self.wrong("null"))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        if name == RAW_TOKEN {
            // `AmfValue`'s own Deserialize: hand it the lossless tagged view.
            return visitor.visit_newtype_struct(View::Amf(self.0));
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        match self.0 {
            AmfValue::StrictArray(items) => visitor.visit_seq(Seq::new(items.iter().map(Self))),
            AmfValue::VectorObject(v) => visitor.visit_seq(Seq::new(v.items.iter().map(Self))),
            AmfValue::VectorInt(v) => visitor.visit_seq(Seq::new(v.items.iter().copied())),
            AmfValue::VectorUint(v) => visitor.visit_seq(Seq::new(v.items.iter().copied())),
            AmfValue::VectorDouble(v) => visitor.visit_seq(Seq::new(v.items.iter().copied())),
            AmfValue::ByteArray(b) => visitor.visit_seq(Seq::new(b.iter().copied())),
            // An ActionScript Array can arrive as an ECMA array (AMF0 keeps its
            // indices as string keys "0", "1", ...; AMF3 as a dense part). It
            // reads as a sequence when its string keys continue the dense part
            // as consecutive indices.
            AmfValue::EcmaArray(a) if keys_are_indices_from(&a.assoc, a.dense.len()) => {
                let assoc = a.assoc.iter().map(|(_, v)| v);
                visitor.visit_seq(Seq::new(a.dense.iter().chain(assoc).map(Self)))
            }
            AmfValue::Object(o) if o.members.is_empty() => match &o.external {
                Some(external) => ValueDeserializer(external).deserialize_seq(visitor),
                None => Err(self.wrong("an array")),
            },
            _ => Err(self.wrong("an array")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        match self.0 {
            AmfValue::Object(o) => visitor.visit_map(Map::new(
                o.members.iter().map(|(k, v)| (Key::Str(k), Self(v))),
            )),
            AmfValue::EcmaArray(a) => {
                let dense = a.dense.iter().enumerate();
                let dense = dense.map(|(i, v)| (Key::Index(i), Self(v)));
                let assoc = a.assoc.iter().map(|(k, v)| (Key::Str(k), Self(v)));
                visitor.visit_map(Map::new(dense.chain(assoc)))
            }
            AmfValue::Dictionary(d) => visitor.visit_map(Map::new(
                d.entries.iter().map(|(k, v)| (Key::Value(k), Self(v))),
            )),
            _ => Err(self.wrong("an object")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        let members = match self.0 {
            AmfValue::String(s) => {
                return visitor.visit_enum(BorrowedStrDeserializer::<ConvertError>::new(s));
            }
            AmfValue::Object(o) => &o.members[..],
            AmfValue::EcmaArray(a) if a.dense.is_empty() => &a.assoc[..],
            _ => return Err(self.wrong("an enum (a string or a single-member object)")),
        };
        match members {
            [(variant, value)] => visitor.visit_enum(Enum { variant, value }),
            _ => Err(ConvertError::Custom {
                message: format!(
                    "expected an enum as a single-member object, found one with {} members",
                    members.len()
                ),
            }),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        visitor.visit_unit()
    }
}
