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

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};

    use super::*;
    use crate::protocol::flv::tests::FFMPEG_FLV;
    use crate::protocol::flv::{FlvConfig, FlvDecoder, FlvItem};

    /// The onMetaData tag body ffmpeg wrote into out.flv (the first tag).
    fn ffmpeg_metadata_body() -> Bytes {
        let mut decoder = FlvDecoder::new(FlvConfig::default());
        let mut buf = BytesMut::from(FFMPEG_FLV);
        loop {
            if let Some(FlvItem::Tag(tag)) = decoder.decode(&mut buf).unwrap() {
                assert_eq!(tag.tag_type, FlvTagType::ScriptData);
                return tag.data;
            }
        }
    }

    #[test]
    fn parses_ffmpeg_on_metadata() {
        let script = ScriptTag::parse(ffmpeg_metadata_body(), AmfLimits::default()).unwrap();
        assert!(script.is_metadata());
        assert_eq!(script.values.len(), 1);
        let meta = script.first_value().unwrap();
        assert_eq!(meta.get("width").and_then(AmfValue::as_f64), Some(160.0));
        assert_eq!(meta.get("height").and_then(AmfValue::as_f64), Some(120.0));
        assert_eq!(
            meta.get("videocodecid").and_then(AmfValue::as_f64),
            Some(7.0)
        );
        assert_eq!(
            meta.get("audiocodecid").and_then(AmfValue::as_f64),
            Some(10.0)
        );
        assert_eq!(meta.get("stereo").and_then(AmfValue::as_bool), Some(false));
    }

    #[test]
    fn ffmpeg_on_metadata_reencodes_byte_for_byte() {
        let body = ffmpeg_metadata_body();
        let script = ScriptTag::parse(body.clone(), AmfLimits::default()).unwrap();
        let tag = script.to_tag(0).unwrap();
        assert_eq!(tag.data, body);
    }

    #[test]
    fn agrees_with_the_amf_crate_on_ffmpeg_metadata() {
        // Independent oracle: the `amf` crate's AMF0 decoder.
        let body = ffmpeg_metadata_body();
        let mut reader = &body[..];
        let mut oracle = Vec::new();
        while !reader.is_empty() {
            oracle.push(amf::amf0::Value::read_from(&mut reader).unwrap());
        }
        assert_eq!(oracle.len(), 2);
        let amf::amf0::Value::String(name) = &oracle[0] else {
            panic!("name first");
        };
        let ours = ScriptTag::parse(body, AmfLimits::default()).unwrap();
        assert_eq!(name.as_str(), &*ours.name);
        let amf::amf0::Value::EcmaArray { entries } = &oracle[1] else {
            panic!("ECMA array second");
        };
        let AmfValue::EcmaArray(array) = &ours.values[0] else {
            panic!("ECMA array second");
        };
        let keys: Vec<&str> = entries.iter().map(|p| p.key.as_str()).collect();
        let our_keys: Vec<&str> = array.assoc.iter().map(|(k, _)| &**k).collect();
        assert_eq!(our_keys, keys);
    }

    #[test]
    fn roundtrips_a_built_script_tag() {
        let script = ScriptTag::new(
            ON_METADATA,
            vec![AmfValue::ecma_array([
                ("duration", AmfValue::Number(0.0)),
                ("encoder", AmfValue::string("ferrocast")),
            ])],
        );
        let tag = script.to_tag(42).unwrap();
        assert_eq!(tag.timestamp, 42);
        assert_eq!(
            ScriptTag::parse(tag.data, AmfLimits::default()).unwrap(),
            script
        );
    }

    #[test]
    fn strips_set_data_frame() {
        let stored = ScriptTag::new(
            SET_DATA_FRAME,
            vec![AmfValue::string(ON_METADATA), AmfValue::Null],
        );
        let stripped = stored.strip_set_data_frame();
        assert!(stripped.is_metadata());
        assert_eq!(stripped.values, vec![AmfValue::Null]);
        let odd = ScriptTag::new(SET_DATA_FRAME, vec![AmfValue::Number(1.0)]);
        assert_eq!(odd.clone().strip_set_data_frame(), odd);
    }

    #[test]
    fn rejects_a_body_without_a_leading_string() {
        let err = ScriptTag::parse(Bytes::new(), AmfLimits::default()).unwrap_err();
        assert_eq!(err, FlvError::ScriptNameNotString { found: "nothing" });
        // AMF0 number 1.0 (marker 0x00 + IEEE-754 double).
        let number = Bytes::from_static(&[0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0]);
        let err = ScriptTag::parse(number, AmfLimits::default()).unwrap_err();
        assert_eq!(err, FlvError::ScriptNameNotString { found: "number" });
    }

    #[test]
    fn malformed_amf_is_an_amf_error() {
        // A string marker declaring 10 bytes, with 2 present.
        let cut = Bytes::from_static(&[0x02, 0x00, 0x0A, b'o', b'n']);
        let err = ScriptTag::parse(cut, AmfLimits::default()).unwrap_err();
        assert!(matches!(err, FlvError::Amf(_)));
    }

    #[test]
    fn every_prefix_of_ffmpeg_metadata_parses_without_panic() {
        let body = ffmpeg_metadata_body();
        for end in 0..=body.len() {
            let _ = ScriptTag::parse(body.slice(..end), AmfLimits::default());
        }
    }
}
