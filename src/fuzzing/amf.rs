//! AMF0 and AMF3: decode, then re-encode whatever decoded in both formats.

use bytes::{Bytes, BytesMut};

use crate::protocol::amf::{amf0, amf3, AmfError, AmfValue};
use crate::protocol::limits::AmfLimits;

fn decode_then_reencode(
    data: &[u8],
    decode: fn(Bytes, AmfLimits) -> Result<Vec<AmfValue>, AmfError>,
) {
    if let Ok(values) = decode(Bytes::copy_from_slice(data), AmfLimits::default()) {
        let mut dst = BytesMut::new();
        let _ = amf0::encode_all(&values, &mut dst);
        dst.clear();
        let _ = amf3::encode_all(&values, &mut dst);
    }
}

/// Decodes `data` as AMF0 values and re-encodes them as AMF0 and AMF3.
pub fn amf0(data: &[u8]) {
    decode_then_reencode(data, amf0::decode_all);
}

/// Decodes `data` as AMF3 values and re-encodes them as AMF3 and AMF0.
pub fn amf3(data: &[u8]) {
    decode_then_reencode(data, amf3::decode_all);
}
