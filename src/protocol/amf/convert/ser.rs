//! A serde [`Serializer`] that builds an [`AmfValue`] from any `Serialize` type.
//!
//! The mapping (see `docs/protocol/amf-serde.md`): structs and maps become
//! anonymous objects, sequences and tuples strict arrays, byte slices byte
//! arrays, `None` and `()` null, every number a Number (integers beyond ±2^53
//! are an error), enums externally tagged like serde_json.

use std::sync::Arc;

use bytes::Bytes;
use bytestring::ByteString;
use serde::ser::{self, Serialize};

use super::error::ConvertError;
use super::key::KeySerializer;
use super::tags::untag_value;
use super::value_serde::RAW_TOKEN;
use crate::protocol::amf::{AmfObject, AmfValue};

/// Largest integer magnitude a double holds exactly (2^53).
pub(crate) const MAX_SAFE_INTEGER: u64 = 1 << 53;

/// Serializes `value` into an [`AmfValue`].
///
/// An [`AmfValue`] serialized with this function comes back unchanged (its
/// `Serialize` impl is recognised), so Rust types may hold `AmfValue` fields
/// that pass through losslessly.
///
/// # Errors
///
/// [`ConvertError::IntegerPrecision`] for an integer outside ±2^53,
/// [`ConvertError::UnsupportedKey`] for a map key that is not a string, number or
/// unit variant, or any error the type's own `Serialize` impl raises; errors
/// inside containers are wrapped in [`ConvertError::At`] with their path.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<AmfValue, ConvertError> {
    value.serialize(ValueSerializer::default())
}

/// The serializer behind [`to_value`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ValueSerializer {
    /// Set only while reading an `AmfValue`'s own tagged form, where an `i32`
    /// can only come from [`AmfValue::Integer`] and should stay one.
    raw: bool,
}

fn integer(value: i128) -> Result<AmfValue, ConvertError> {
    if value.unsigned_abs() <= u128::from(MAX_SAFE_INTEGER) {
        // Exact: |value| <= 2^53.
        Ok(AmfValue::Number(value as f64))
    } else {
        Err(ConvertError::IntegerPrecision {
            value: value.to_string(),
        })
    }
}

fn unsigned(value: u128) -> Result<AmfValue, ConvertError> {
    match i128::try_from(value) {
        Ok(v) => integer(v),
        Err(_) => Err(ConvertError::IntegerPrecision {
            value: value.to_string(),
        }),
    }
}

fn single_member(name: &'static str, value: AmfValue) -> AmfValue {
    AmfValue::object([(name, value)])
}

impl ser::Serializer for ValueSerializer {
    type Ok = AmfValue;
    type Error = ConvertError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = SeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = MapBuilder;

    fn serialize_bool(self, v: bool) -> Result<AmfValue, ConvertError> {
        Ok(AmfValue::Boolean(v))
    }
    fn serialize_i8(self, v: i8) -> Result<AmfValue, ConvertError> {
        integer(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<AmfValue, ConvertError> {
        integer(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<AmfValue, ConvertError> {
        if self.raw {
            return Ok(AmfValue::Integer(v));
        }
        integer(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<AmfValue, ConvertError> {
        integer(v.into())
    }
    fn serialize_i128(self, v: i128) -> Result<AmfValue, ConvertError> {
        integer(v)
    }
    fn serialize_u8(self, v: u8) -> Result<AmfValue, ConvertError> {
        unsigned(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<AmfValue, ConvertError> {
        unsigned(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<AmfValue, ConvertError> {
        unsigned(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<AmfValue, ConvertError> {
        unsigned(v.into())
    }
    fn serialize_u128(self, v: u128) -> Result<AmfValue, ConvertError> {
        unsigned(v)
    }
    fn serialize_f32(self, v: f32) -> Result<AmfValue, ConvertError> {
        Ok(AmfValue::Number(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<AmfValue, ConvertError> {
        Ok(AmfValue::Number(v))
    }
    fn serialize_char(self, v: char) -> Result<AmfValue, ConvertError> {
        Ok(AmfValue::String(ByteString::from(v.to_string())))
    }
    fn serialize_str(self, v: &str) -> Result<AmfValue, ConvertError> {
        Ok(AmfValue::from(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<AmfValue, ConvertError> {
        Ok(AmfValue::ByteArray(Bytes::copy_from_slice(v)))
    }
    fn serialize_none(self) -> Result<AmfValue, ConvertError> {
        Ok(AmfValue::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<AmfValue, ConvertError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<AmfValue, ConvertError> {
        Ok(AmfValue::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<AmfValue, ConvertError> {
        Ok(AmfValue::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<AmfValue, ConvertError> {
        Ok(AmfValue::from(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<AmfValue, ConvertError> {
        if name == RAW_TOKEN {
            // An `AmfValue` writing its tagged form: read the tags back.
            let tagged = value.serialize(ValueSerializer { raw: true })?;
            return untag_value(tagged);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<AmfValue, ConvertError> {
        let inner = value.serialize(self).map_err(|e| e.at_key(variant))?;
        Ok(single_member(variant, inner))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<SeqBuilder, ConvertError> {
        Ok(SeqBuilder::default())
    }
    fn serialize_tuple(self, _len: usize) -> Result<SeqBuilder, ConvertError> {
        Ok(SeqBuilder::default())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<SeqBuilder, ConvertError> {
        Ok(SeqBuilder::default())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<SeqBuilder, ConvertError> {
        Ok(SeqBuilder {
            items: Vec::new(),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapBuilder, ConvertError> {
        Ok(MapBuilder::default())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<MapBuilder, ConvertError> {
        Ok(MapBuilder::default())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<MapBuilder, ConvertError> {
        Ok(MapBuilder {
            variant: Some(variant),
            ..MapBuilder::default()
        })
    }
}

/// Builds a strict array (wrapped in `{variant: [...]}` for tuple variants).
#[derive(Debug, Default)]
pub(crate) struct SeqBuilder {
    items: Vec<AmfValue>,
    variant: Option<&'static str>,
}

impl SeqBuilder {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ConvertError> {
        let index = self.items.len();
        let item = value
            .serialize(ValueSerializer::default())
            .map_err(|e| match self.variant {
                Some(variant) => e.at_index(index).at_key(variant),
                None => e.at_index(index),
            })?;
        self.items.push(item);
        Ok(())
    }

    fn finish(self) -> Result<AmfValue, ConvertError> {
        let array = AmfValue::StrictArray(Arc::new(self.items));
        Ok(match self.variant {
            Some(variant) => single_member(variant, array),
            None => array,
        })
    }
}

/// The four sequence-like serde traits all push one element and finish.
macro_rules! seq_builder_impls {
    ($($trait:ident :: $method:ident),* $(,)?) => {$(
        impl ser::$trait for SeqBuilder {
            type Ok = AmfValue;
            type Error = ConvertError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ConvertError> {
                self.push(value)
            }
            fn end(self) -> Result<AmfValue, ConvertError> {
                self.finish()
            }
        }
    )*};
}

seq_builder_impls!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

/// Builds an anonymous object (wrapped in `{variant: {...}}` for struct
/// variants).
#[derive(Debug, Default)]
pub(crate) struct MapBuilder {
    members: Vec<(ByteString, AmfValue)>,
    next_key: Option<ByteString>,
    variant: Option<&'static str>,
}

impl MapBuilder {
    fn insert<T: Serialize + ?Sized>(
        &mut self,
        key: ByteString,
        value: &T,
    ) -> Result<(), ConvertError> {
        let item = value.serialize(ValueSerializer::default()).map_err(|e| {
            let e = e.at_key(&key);
            match self.variant {
                Some(variant) => e.at_key(variant),
                None => e,
            }
        })?;
        self.members.push((key, item));
        Ok(())
    }

    fn finish(self) -> Result<AmfValue, ConvertError> {
        let object = AmfValue::Object(Arc::new(AmfObject::anonymous(self.members)));
        Ok(match self.variant {
            Some(variant) => single_member(variant, object),
            None => object,
        })
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = AmfValue;
    type Error = ConvertError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ConvertError> {
        self.next_key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ConvertError> {
        let key = self.next_key.take().ok_or_else(|| ConvertError::Custom {
            message: "serialize_value called before serialize_key".to_owned(),
        })?;
        self.insert(key, value)
    }
    fn end(self) -> Result<AmfValue, ConvertError> {
        self.finish()
    }
}

/// Structs and struct variants both insert named fields and finish.
macro_rules! struct_builder_impls {
    ($($trait:ident),* $(,)?) => {$(
        impl ser::$trait for MapBuilder {
            type Ok = AmfValue;
            type Error = ConvertError;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), ConvertError> {
                self.insert(ByteString::from_static(key), value)
            }
            fn end(self) -> Result<AmfValue, ConvertError> {
                self.finish()
            }
        }
    )*};
}

struct_builder_impls!(SerializeStruct, SerializeStructVariant);
