//! Command and SharedObject message bodies: the first input byte picks the
//! encoding (bit 0: AMF0 or AMF3 message type), the rest is the body. Whatever
//! decodes is re-encoded, which must not panic either.

use bytes::{Bytes, BytesMut};

use crate::protocol::command::{Command, CommandEncoding};
use crate::protocol::limits::{AmfLimits, SharedObjectLimits};
use crate::protocol::shared_object::{SharedObjectEncoding, SharedObjectMessage};

/// Decodes a command body (type 20 or 17) and re-encodes it.
pub fn command(data: &[u8]) {
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
        let _ = command.encode(encoding, &mut BytesMut::new());
    }
}

/// Decodes a SharedObject message body (type 19 or 16) and re-encodes it.
pub fn shared_object(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let encoding = if selector & 1 == 0 {
        SharedObjectEncoding::Amf0
    } else {
        SharedObjectEncoding::Amf3
    };
    let decoded = SharedObjectMessage::decode(
        Bytes::copy_from_slice(body),
        encoding,
        SharedObjectLimits::default(),
        AmfLimits::default(),
    );
    if let Ok(message) = decoded {
        let _ = message.encode(encoding, &mut BytesMut::new());
    }
}
