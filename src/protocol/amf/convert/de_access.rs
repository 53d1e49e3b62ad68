//! Sequence, map and enum access for [`ValueDeserializer`], naming the path of
//! whatever fails inside.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde::{forward_to_deserialize_any, Deserialize};

use super::de::{in_range, ValueDeserializer};
use super::error::ConvertError;
use crate::protocol::amf::AmfValue;

/// Sequence access that names the failing index.
pub(crate) struct Seq<I> {
    items: I,
    index: usize,
}

impl<I> Seq<I> {
    pub(crate) fn new(items: I) -> Self {
        Self { items, index: 0 }
    }
}

impl<'de, I> SeqAccess<'de> for Seq<I>
where
    I: Iterator,
    I::Item: IntoDeserializer<'de, ConvertError>,
{
    type Error = ConvertError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ConvertError> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(item.into_deserializer())
            .map(Some)
            .map_err(|e| e.at_index(index))
    }

    fn size_hint(&self) -> Option<usize> {
        match self.items.size_hint() {
            (low, Some(high)) if low == high => Some(low),
            _ => None,
        }
    }
}

/// A map key: a member name, a dense ECMA index, or a dictionary key value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Key<'de> {
    Str(&'de str),
    Index(usize),
    Value(&'de AmfValue),
}

impl Key<'_> {
    fn label(&self) -> String {
        match self {
            Self::Str(s) => (*s).to_owned(),
            Self::Index(i) => i.to_string(),
            Self::Value(v) => format!("<{} key>", v.type_name()),
        }
    }
}

macro_rules! parsed_key_methods {
    ($($method:ident => $visit:ident: $ty:ty),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
            match self {
                Self::Str(s) => match s.parse::<$ty>() {
                    Ok(n) => visitor.$visit(n),
                    Err(_) => Err(ConvertError::Custom {
                        message: format!("map key {s:?} is not a valid {}", stringify!($ty)),
                    }),
                },
                Self::Index(i) => in_range::<$ty>(i as i128, i as f64, stringify!($ty))
                    .and_then(|n| visitor.$visit(n)),
                Self::Value(v) => ValueDeserializer(v).$method(visitor),
            }
        })*
    };
}

impl<'de> Deserializer<'de> for Key<'de> {
    type Error = ConvertError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        match self {
            Self::Str(s) => visitor.visit_borrowed_str(s),
            Self::Index(i) => visitor.visit_string(i.to_string()),
            Self::Value(v) => ValueDeserializer(v).deserialize_any(visitor),
        }
    }

    // Numeric keys are strings in AMF objects, as in JSON: parse them on demand.
    parsed_key_methods! {
        deserialize_i8 => visit_i8: i8, deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32, deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8, deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32, deserialize_u64 => visit_u64: u64,
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        match self {
            Self::Str(s) => visitor.visit_enum(BorrowedStrDeserializer::<ConvertError>::new(s)),
            Self::Index(_) => self.deserialize_any(visitor),
            Self::Value(v) => ValueDeserializer(v).deserialize_enum(name, variants, visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i128 u128 f32 f64 char str string bytes byte_buf option unit unit_struct
        seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// Map access that names the failing member.
pub(crate) struct Map<'de, I> {
    entries: I,
    pending: Option<(Key<'de>, ValueDeserializer<'de>)>,
}

impl<I> Map<'_, I> {
    pub(crate) fn new(entries: I) -> Self {
        Self {
            entries,
            pending: None,
        }
    }
}

impl<'de, I> MapAccess<'de> for Map<'de, I>
where
    I: Iterator<Item = (Key<'de>, ValueDeserializer<'de>)>,
{
    type Error = ConvertError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ConvertError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some((key, value));
        seed.deserialize(key)
            .map(Some)
            .map_err(|e| e.at_key(&key.label()))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<T::Value, ConvertError> {
        let (key, value) = self.pending.take().ok_or_else(|| ConvertError::Custom {
            message: "map value requested before its key".to_owned(),
        })?;
        seed.deserialize(value).map_err(|e| e.at_key(&key.label()))
    }

    fn size_hint(&self) -> Option<usize> {
        match self.entries.size_hint() {
            (low, Some(high)) if low == high => Some(low),
            _ => None,
        }
    }
}

/// An externally tagged enum: `{variant: value}`.
pub(crate) struct Enum<'de> {
    pub(crate) variant: &'de str,
    pub(crate) value: &'de AmfValue,
}

impl<'de> EnumAccess<'de> for Enum<'de> {
    type Error = ConvertError;
    type Variant = VariantValue<'de>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, VariantValue<'de>), ConvertError> {
        let tag = seed.deserialize(BorrowedStrDeserializer::<ConvertError>::new(self.variant))?;
        Ok((
            tag,
            VariantValue {
                variant: self.variant,
                value: ValueDeserializer(self.value),
            },
        ))
    }
}

/// The content of an externally tagged variant.
pub(crate) struct VariantValue<'de> {
    variant: &'de str,
    value: ValueDeserializer<'de>,
}

impl<'de> VariantAccess<'de> for VariantValue<'de> {
    type Error = ConvertError;

    fn unit_variant(self) -> Result<(), ConvertError> {
        de::IgnoredAny::deserialize(self.value)
            .map(|_| ())
            .map_err(|e| e.at_key(self.variant))
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ConvertError> {
        seed.deserialize(self.value)
            .map_err(|e| e.at_key(self.variant))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        self.value
            .deserialize_seq(visitor)
            .map_err(|e| e.at_key(self.variant))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        self.value
            .deserialize_map(visitor)
            .map_err(|e| e.at_key(self.variant))
    }
}
