//! Script data tags (type 18): an AMF0 name followed by AMF0 values (Annex E.4.4).
//!
//! In practice the name is `onMetaData` and the one value an ECMA array (or, from
//! some writers, an object) of stream properties. When a publisher's RTMP data
//! message `@setDataFrame("onMetaData", {...})` is stored verbatim, the name is
//! `@setDataFrame`; [`ScriptTag::strip_set_data_frame`] undoes that.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;

use super::{FlvError, FlvTag, FlvTagType};
use crate::protocol::amf::{amf0, AmfValue};
use crate::protocol::limits::AmfLimits;

/// Name of the metadata script tag.
pub const ON_METADATA: &str = "onMetaData";
/// Name of the RTMP data message that asks a server to store the metadata.
pub const SET_DATA_FRAME: &str = "@setDataFrame";

/// A decoded script data tag body.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptTag {
    /// The name (first AMF0 value, a string), e.g. `onMetaData`.
    pub name: ByteString,
    /// The values after the name, in order.
    pub values: Vec<AmfValue>,
}

impl ScriptTag {
    /// A script tag with the given name and values.
    pub fn new(name: impl Into<ByteString>, values: Vec<AmfValue>) -> Self {
        Self {
            name: name.into(),
            values,
        }
    }

    /// Decodes a script tag body: AMF0 values, the first a string.
    ///
    /// # Errors
    /// [`FlvError::Amf`] for malformed AMF0 (bounded by `limits`);
    /// [`FlvError::ScriptNameNotString`] when the body is empty or does not start
    /// with a string.
    pub fn parse(body: Bytes, limits: AmfLimits) -> Result<Self, FlvError> {
        let mut values = amf0::decode_all(body, limits)?.into_iter();
        match values.next() {
            Some(AmfValue::String(name)) => Ok(Self {
                name,
                values: values.collect(),
            }),
            Some(other) => Err(FlvError::ScriptNameNotString {
                found: other.type_name(),
            }),
            None => Err(FlvError::ScriptNameNotString { found: "nothing" }),
        }
    }

    /// Appends the body (name, then values) as AMF0.
    ///
    /// # Errors
    /// [`FlvError::Amf`] when a value cannot be written as AMF0.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), FlvError> {
        amf0::encode_all(&[AmfValue::String(self.name.clone())], dst)?;
        amf0::encode_all(&self.values, dst)?;
        Ok(())
    }

    /// This script data as an FLV tag at `timestamp`.
    ///
    /// # Errors
    /// As [`encode`](Self::encode).
    pub fn to_tag(&self, timestamp: u32) -> Result<FlvTag, FlvError> {
        let mut body = BytesMut::new();
        self.encode(&mut body)?;
        Ok(FlvTag::new(
            FlvTagType::ScriptData,
            timestamp,
            body.freeze(),
        ))
    }

    /// Whether this is `onMetaData`.
    pub fn is_metadata(&self) -> bool {
        &*self.name == ON_METADATA
    }

    /// The first value after the name (the property array of `onMetaData`).
    pub fn first_value(&self) -> Option<&AmfValue> {
        self.values.first()
    }

    /// Turns `@setDataFrame(name, values…)` into `name(values…)`; any other tag
    /// (or a `@setDataFrame` without a string next) is returned unchanged.
    pub fn strip_set_data_frame(self) -> Self {
        if &*self.name != SET_DATA_FRAME {
            return self;
        }
        let mut values = self.values.into_iter();
        match values.next() {
            Some(AmfValue::String(name)) => Self {
                name,
                values: values.collect(),
            },
            first => Self {
                name: self.name,
                values: first.into_iter().chain(values).collect(),
            },
        }
    }
}
