//! Fuzz target: the AMF0 decoder must return Ok or Err on any input, never
//! panic, and whatever it decodes must re-encode (AMF0 and AMF3) without panic.
#![no_main]

use bytes::{Bytes, BytesMut};
use ferrocast::protocol::amf::{amf0, amf3};
use ferrocast::protocol::limits::AmfLimits;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(values) = amf0::decode_all(Bytes::copy_from_slice(data), AmfLimits::default()) {
        let mut dst = BytesMut::new();
        let _ = amf0::encode_all(&values, &mut dst);
        dst.clear();
        let _ = amf3::encode_all(&values, &mut dst);
    }
});
