//! Fuzz the command decoder: the first byte picks the encoding (type 20 or
//! 17), the rest is the message body. Decoded commands are re-encoded, which
//! must not panic either.
#![no_main]

use bytes::{Bytes, BytesMut};
use ferrocast::protocol::command::{Command, CommandEncoding};
use ferrocast::protocol::limits::AmfLimits;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let encoding = if selector & 1 == 0 {
        CommandEncoding::Amf0
    } else {
        CommandEncoding::Amf3
    };
    if let Ok(command) =
        Command::decode(Bytes::copy_from_slice(body), encoding, AmfLimits::default())
    {
        let mut dst = BytesMut::new();
        let _ = command.encode(encoding, &mut dst);
    }
});
