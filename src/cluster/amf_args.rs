//! AMF values inside cluster events: call arguments and results travel as
//! AMF0 bodies (values one after another, one reference table, like an RTMP
//! command body), never through bincode.
//!
//! AMF0 alone would flatten AMF3-only values (integers, ByteArray, vectors,
//! Dictionary, E4X XML) on the way to another node, so each value is written
//! as the AVM+ marker (0x11) plus AMF3 — the way Flash Player carries AMF3
//! inside AMF0 bodies — when AMF3 keeps it exactly, else as plain AMF0 when
//! *that* keeps it (AMF0's `Unsupported`, a date's time zone), else AMF3.
//! The AMF0 decoder switches to AMF3 at the marker by itself, so
//! [`decode_args`] is a plain AMF0 body decode. Pure: no I/O.

use bytes::{Bytes, BytesMut};

use crate::protocol::amf::amf0::{self, Amf0Encoder};
use crate::protocol::amf::{AmfError, AmfValue};
use crate::protocol::limits::AmfLimits;

/// Encodes `values` as one AMF0 body, AMF3-only values behind the AVM+
/// marker.
///
/// # Errors
/// [`AmfError::Unencodable`] when a value cannot be represented (names over
/// 65535 bytes, nesting deeper than 256).
pub fn encode_args(values: &[AmfValue]) -> Result<Bytes, AmfError> {
    let mut encoder = Amf0Encoder::new();
    let mut dst = BytesMut::new();
    for value in values {
        if prefers_amf0(value) {
            encoder.encode(value, &mut dst)?;
        } else {
            encoder.encode_avmplus(value, &mut dst)?;
        }
    }
    Ok(dst.freeze())
}

/// Decodes a body written by [`encode_args`] (or any AMF0 body).
///
/// # Errors
/// Any [`AmfError`]: the bytes are not a well-formed body within `limits`.
pub fn decode_args(body: Bytes, limits: AmfLimits) -> Result<Vec<AmfValue>, AmfError> {
    amf0::decode_all(body, limits)
}

/// Whether `value` survives AMF0 exactly but not AMF3.
fn prefers_amf0(value: &AmfValue) -> bool {
    let round_trip = |avmplus: bool| -> Option<AmfValue> {
        let mut dst = BytesMut::new();
        let mut encoder = Amf0Encoder::new();
        let written = if avmplus {
            encoder.encode_avmplus(value, &mut dst)
        } else {
            encoder.encode(value, &mut dst)
        };
        written.ok()?;
        let mut values = amf0::decode_all(dst.freeze(), AmfLimits::default()).ok()?;
        (values.len() == 1).then(|| values.pop()).flatten()
    };
    round_trip(true).as_ref() != Some(value) && round_trip(false).as_ref() == Some(value)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::protocol::amf::{AmfDate, AmfVector, Dictionary};

    fn round_trip(values: Vec<AmfValue>) -> Vec<AmfValue> {
        let body = encode_args(&values).expect("encodes");
        decode_args(body, AmfLimits::default()).expect("decodes")
    }

    #[test]
    fn plain_and_amf3_only_values_survive_the_trip_between_nodes() {
        let values = vec![
            AmfValue::string("hi"),
            AmfValue::Number(1.5),
            AmfValue::Integer(7),
            AmfValue::ByteArray(Bytes::from_static(b"\x00\x01")),
            AmfValue::VectorInt(Arc::new(AmfVector {
                fixed: false,
                items: vec![1, -2, 3],
            })),
            AmfValue::Dictionary(Arc::new(Dictionary {
                weak_keys: true,
                entries: vec![(AmfValue::Integer(1), AmfValue::string("one"))],
            })),
            AmfValue::Xml("<a/>".into()),
            AmfValue::Null,
            AmfValue::Undefined,
        ];
        assert_eq!(round_trip(values.clone()), values);
    }

    #[test]
    fn values_only_amf0_can_hold_are_written_as_amf0() {
        let values = vec![
            AmfValue::Unsupported,
            AmfValue::Date(AmfDate {
                millis: 1e12,
                timezone_minutes: 60,
            }),
        ];
        assert_eq!(round_trip(values.clone()), values);
    }

    #[test]
    fn shared_containers_across_arguments_decode_with_one_reference_table() {
        let shared = AmfValue::strict_array([AmfValue::string("x"), AmfValue::Integer(2)]);
        let values = vec![
            shared.clone(),
            shared.clone(),
            AmfValue::Unsupported,
            shared,
        ];
        assert_eq!(round_trip(values.clone()), values);
    }

    #[test]
    fn no_arguments_is_an_empty_body_and_garbage_is_an_error() {
        assert!(encode_args(&[]).expect("encodes").is_empty());
        assert!(decode_args(Bytes::from_static(&[0x02, 0xff]), AmfLimits::default()).is_err());
    }
}
