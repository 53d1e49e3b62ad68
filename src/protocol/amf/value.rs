//! The ActionScript value model shared by AMF0 and AMF3.
//!
//! One enum covers every type either encoding can carry. Where a type exists in
//! only one encoding, the other encoder maps it to its nearest equivalent; the
//! mapping is listed on each variant and in `docs/protocol/amf.md`.

use std::sync::Arc;

use bytes::Bytes;
use bytestring::ByteString;

/// An ActionScript value, as carried by AMF0 or AMF3.
///
/// Containers are behind [`Arc`]: cloning a value is cheap, a wire reference
/// decodes to a shared node, and encoders emit a reference when the same node
/// (by pointer) is written twice in one message, as Flash Player does.
#[derive(Debug, Clone, PartialEq)]
pub enum AmfValue {
    /// `undefined` (AMF0 0x06, AMF3 0x00).
    Undefined,
    /// `null` (AMF0 0x05, AMF3 0x01).
    Null,
    /// `true`/`false` (AMF0 0x01, AMF3 0x02/0x03).
    Boolean(bool),
    /// An AMF3 `int` (29-bit signed on the wire). AMF0 writes it as a Number; AMF3
    /// writes a value outside -2^28..2^28-1 as a double.
    Integer(i32),
    /// An IEEE-754 double (AMF0 0x00, AMF3 0x05).
    Number(f64),
    /// A UTF-8 string (AMF0 short/long string, AMF3 string).
    String(ByteString),
    /// A date.
    Date(AmfDate),
    /// A legacy `flash.xml.XMLDocument` (AMF0 0x0F, AMF3 0x07).
    XmlDocument(ByteString),
    /// An E4X `XML` value (AMF3 0x0B). AMF0 writes it as an XML document.
    Xml(ByteString),
    /// A `flash.utils.ByteArray` (AMF3 0x0C). AMF0 writes it as a strict array of
    /// numbers (lossy).
    ByteArray(Bytes),
    /// A dense array (AMF0 strict array 0x0A; AMF3 array with no associative part).
    StrictArray(Arc<Vec<AmfValue>>),
    /// An associative array (AMF0 ECMA array 0x08; AMF3 array with an associative
    /// part).
    EcmaArray(Arc<EcmaArray>),
    /// An anonymous, typed, dynamic or externalizable object.
    Object(Arc<AmfObject>),
    /// `Vector.<int>` (AMF3 0x0D). AMF0 writes a strict array of numbers.
    VectorInt(Arc<AmfVector<i32>>),
    /// `Vector.<uint>` (AMF3 0x0E). AMF0 writes a strict array of numbers.
    VectorUint(Arc<AmfVector<u32>>),
    /// `Vector.<Number>` (AMF3 0x0F). AMF0 writes a strict array of numbers.
    VectorDouble(Arc<AmfVector<f64>>),
    /// `Vector.<Object>` / `Vector.<T>` (AMF3 0x10). AMF0 writes a strict array.
    VectorObject(Arc<ObjectVector>),
    /// `flash.utils.Dictionary` (AMF3 0x11). AMF0 writes an ECMA array whose keys
    /// are the string forms of the keys (lossy).
    Dictionary(Arc<Dictionary>),
    /// AMF0's "unsupported" marker (0x0D). AMF3 writes `undefined`.
    Unsupported,
}

/// A date: milliseconds since the Unix epoch (UTC), as a double.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AmfDate {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub millis: f64,
    /// AMF0's time-zone field (minutes); the spec says to write 0 and ignore it on
    /// read, but it is kept so a value roundtrips byte for byte. AMF3 has none.
    pub timezone_minutes: i16,
}

/// An associative array: a dense part and string-keyed entries.
///
/// AMF0 ECMA arrays decode with an empty dense part (their numeric keys stay
/// string keys). When written as AMF0, dense entries become keys `"0"`, `"1"`, …
/// ahead of the associative ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EcmaArray {
    /// Dense entries, index 0 up.
    pub dense: Vec<AmfValue>,
    /// String-keyed entries in wire order.
    pub assoc: Vec<(ByteString, AmfValue)>,
}

/// An object: anonymous, typed (class alias), dynamic, or externalizable.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AmfObject {
    /// The class alias; `None` for anonymous objects (AMF0 0x03, AMF3 empty
    /// class name).
    pub class_name: Option<ByteString>,
    /// Members in wire order. The first `sealed_count` are the sealed members of
    /// the AMF3 traits; the rest are dynamic members.
    pub members: Vec<(ByteString, AmfValue)>,
    /// How many of `members` are sealed (AMF3 traits). AMF0 objects decode with
    /// 0 for anonymous objects and `members.len()` for typed objects.
    pub sealed_count: usize,
    /// Whether the object is dynamic (AMF3 traits flag). AMF0 anonymous objects
    /// decode as dynamic, typed ones as not.
    pub dynamic: bool,
    /// For externalizable classes (AMF3), the payload as decoded by the class's
    /// registered codec (e.g. the source array of an `ArrayCollection`).
    pub external: Option<AmfValue>,
}

/// A typed AMF3 vector of scalars.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AmfVector<T> {
    /// Whether the vector has a fixed length.
    pub fixed: bool,
    /// The elements.
    pub items: Vec<T>,
}

/// An AMF3 `Vector.<T>` of objects.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectVector {
    /// Whether the vector has a fixed length.
    pub fixed: bool,
    /// The element type name (`"*"` or empty for `Vector.<*>`/`Vector.<Object>`).
    pub type_name: ByteString,
    /// The elements.
    pub items: Vec<AmfValue>,
}

/// An AMF3 `Dictionary`: keys of any type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dictionary {
    /// Whether the dictionary holds weak keys.
    pub weak_keys: bool,
    /// Entries in wire order.
    pub entries: Vec<(AmfValue, AmfValue)>,
}

impl AmfObject {
    /// An anonymous dynamic object with the given members.
    pub fn anonymous<K: Into<ByteString>>(
        members: impl IntoIterator<Item = (K, AmfValue)>,
    ) -> Self {
        Self {
            class_name: None,
            members: members.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            sealed_count: 0,
            dynamic: true,
            external: None,
        }
    }

    /// The value of member `key`, if present (the first one, should a peer send
    /// duplicates).
    pub fn get(&self, key: &str) -> Option<&AmfValue> {
        self.members
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| v)
    }
}

impl AmfValue {
    /// A string value.
    pub fn string(s: impl Into<ByteString>) -> Self {
        Self::String(s.into())
    }

    /// An anonymous object from `(key, value)` pairs, in order.
    pub fn object<K: Into<ByteString>>(members: impl IntoIterator<Item = (K, AmfValue)>) -> Self {
        Self::Object(Arc::new(AmfObject::anonymous(members)))
    }

    /// An ECMA array from `(key, value)` pairs, in order.
    pub fn ecma_array<K: Into<ByteString>>(
        entries: impl IntoIterator<Item = (K, AmfValue)>,
    ) -> Self {
        Self::EcmaArray(Arc::new(EcmaArray {
            dense: Vec::new(),
            assoc: entries.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }))
    }

    /// A strict (dense) array.
    pub fn strict_array(items: impl IntoIterator<Item = AmfValue>) -> Self {
        Self::StrictArray(Arc::new(items.into_iter().collect()))
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The numeric value, if this is a Number or an Integer.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::Integer(i) => Some(f64::from(*i)),
            _ => None,
        }
    }

    /// The boolean, if this is a Boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The object, if this is an object.
    pub fn as_object(&self) -> Option<&AmfObject> {
        match self {
            Self::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Whether this is `null` or `undefined`.
    pub fn is_null_or_undefined(&self) -> bool {
        matches!(self, Self::Null | Self::Undefined)
    }

    /// Looks up `key` in an object or in an ECMA array's associative part; `None`
    /// for anything else or a missing key.
    pub fn get(&self, key: &str) -> Option<&AmfValue> {
        match self {
            Self::Object(o) => o.get(key),
            Self::EcmaArray(a) => a.assoc.iter().find(|(k, _)| &**k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short name of the variant, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Undefined => "undefined",
            Self::Null => "null",
            Self::Boolean(_) => "boolean",
            Self::Integer(_) => "integer",
            Self::Number(_) => "number",
            Self::String(_) => "string",
            Self::Date(_) => "date",
            Self::XmlDocument(_) => "xml-document",
            Self::Xml(_) => "xml",
            Self::ByteArray(_) => "byte-array",
            Self::StrictArray(_) => "strict-array",
            Self::EcmaArray(_) => "ecma-array",
            Self::Object(_) => "object",
            Self::VectorInt(_) => "vector-int",
            Self::VectorUint(_) => "vector-uint",
            Self::VectorDouble(_) => "vector-double",
            Self::VectorObject(_) => "vector-object",
            Self::Dictionary(_) => "dictionary",
            Self::Unsupported => "unsupported",
        }
    }
}

impl From<&str> for AmfValue {
    fn from(s: &str) -> Self {
        Self::String(ByteString::from(s))
    }
}

impl From<String> for AmfValue {
    fn from(s: String) -> Self {
        Self::String(ByteString::from(s))
    }
}

impl From<f64> for AmfValue {
    fn from(n: f64) -> Self {
        Self::Number(n)
    }
}

impl From<bool> for AmfValue {
    fn from(b: bool) -> Self {
        Self::Boolean(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_lookup_finds_first_member_by_name() {
        let v = AmfValue::object([("a", AmfValue::Number(1.0)), ("a", AmfValue::Number(2.0))]);
        assert_eq!(v.get("a"), Some(&AmfValue::Number(1.0)));
        assert_eq!(v.get("b"), None);
    }

    #[test]
    fn integer_reads_as_f64() {
        assert_eq!(AmfValue::Integer(-5).as_f64(), Some(-5.0));
    }
}
