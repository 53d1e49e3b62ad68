//! The serde [`Serializer`](ser::Serializer) for map keys: AMF object member
//! names are strings, so keys must have a string form.

use bytestring::ByteString;
use serde::ser::{self, Serialize};

use super::error::ConvertError;

/// Serializes a map key: strings as they are, numbers and chars as their
/// decimal/string form, unit enum variants as their name; anything else fails.
pub(super) struct KeySerializer;

fn key_error(found: &'static str) -> ConvertError {
    ConvertError::UnsupportedKey { found }
}

macro_rules! display_key {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<ByteString, ConvertError> {
            Ok(ByteString::from(v.to_string()))
        })*
    };
}

impl ser::Serializer for KeySerializer {
    type Ok = ByteString;
    type Error = ConvertError;
    type SerializeSeq = ser::Impossible<ByteString, ConvertError>;
    type SerializeTuple = ser::Impossible<ByteString, ConvertError>;
    type SerializeTupleStruct = ser::Impossible<ByteString, ConvertError>;
    type SerializeTupleVariant = ser::Impossible<ByteString, ConvertError>;
    type SerializeMap = ser::Impossible<ByteString, ConvertError>;
    type SerializeStruct = ser::Impossible<ByteString, ConvertError>;
    type SerializeStructVariant = ser::Impossible<ByteString, ConvertError>;

    display_key!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128, serialize_char: char,
    );

    fn serialize_bool(self, _v: bool) -> Result<ByteString, ConvertError> {
        Err(key_error("a boolean"))
    }
    fn serialize_f32(self, v: f32) -> Result<ByteString, ConvertError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<ByteString, ConvertError> {
        if v.is_finite() {
            Ok(ByteString::from(v.to_string()))
        } else {
            Err(key_error("a non-finite number"))
        }
    }
    fn serialize_str(self, v: &str) -> Result<ByteString, ConvertError> {
        Ok(ByteString::from(v))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<ByteString, ConvertError> {
        Err(key_error("bytes"))
    }
    fn serialize_none(self) -> Result<ByteString, ConvertError> {
        Err(key_error("None"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _v: &T) -> Result<ByteString, ConvertError> {
        Err(key_error("an Option"))
    }
    fn serialize_unit(self) -> Result<ByteString, ConvertError> {
        Err(key_error("unit"))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<ByteString, ConvertError> {
        Err(key_error("a unit struct"))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<ByteString, ConvertError> {
        Ok(ByteString::from_static(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<ByteString, ConvertError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<ByteString, ConvertError> {
        Err(key_error("an enum variant with data"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, ConvertError> {
        Err(key_error("a sequence"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, ConvertError> {
        Err(key_error("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, ConvertError> {
        Err(key_error("a tuple struct"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, ConvertError> {
        Err(key_error("an enum variant with data"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, ConvertError> {
        Err(key_error("a map"))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, ConvertError> {
        Err(key_error("a struct"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, ConvertError> {
        Err(key_error("an enum variant with data"))
    }
}
