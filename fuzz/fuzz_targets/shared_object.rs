//! Fuzz the SharedObject message decoder: the first byte picks the encoding
//! (type 19 or 16), the rest is the message body. Decoded messages are
//! re-encoded, which must not panic either.
#![no_main]

use bytes::{Bytes, BytesMut};
use ferrocast::protocol::limits::{AmfLimits, SharedObjectLimits};
use ferrocast::protocol::shared_object::{SharedObjectEncoding, SharedObjectMessage};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let encoding = if selector & 1 == 0 {
        SharedObjectEncoding::Amf0
    } else {
        SharedObjectEncoding::Amf3
    };
    if let Ok(message) = SharedObjectMessage::decode(
        Bytes::copy_from_slice(body),
        encoding,
        SharedObjectLimits::default(),
        AmfLimits::default(),
    ) {
        let mut dst = BytesMut::new();
        let _ = message.encode(encoding, &mut dst);
    }
});
