//! AMF0, as specified in Adobe's "Action Message Format -- AMF 0" (2007).
//!
//! The encoding of RTMP command messages (type 20), data messages (type 18,
//! e.g. `onMetaData`) and SharedObject messages (type 19); inside their AMF3
//! twins (types 17, 15, 16) it carries the AVM+ marker (0x11) that switches one
//! value to AMF3.
//!
//! - [`Amf0Decoder`] reads one value at a time from a message body and keeps the
//!   message's reference table (spec §2.9) across calls; [`decode_all`] reads a
//!   whole body.
//! - [`Amf0Encoder`] writes values, emitting a reference (0x07) when the same
//!   container (by [`Arc::ptr_eq`](std::sync::Arc::ptr_eq)) is written twice in
//!   one message, and [`Amf0Encoder::encode_avmplus`] writes 0x11 + AMF3.
//!
//! See `docs/protocol/amf.md` for the deviations of real peers we accept.

mod decode;
mod encode;
pub(super) mod wire;

#[cfg(test)]
pub(super) mod test_support;
#[cfg(test)]
mod tests;

use bytes::{Bytes, BytesMut};

pub use decode::Amf0Decoder;
pub use encode::Amf0Encoder;

use super::{AmfError, AmfValue};
use crate::protocol::limits::AmfLimits;

/// AMF0 type markers (spec §2.1).
pub(crate) mod marker {
    pub(crate) const NUMBER: u8 = 0x00;
    pub(crate) const BOOLEAN: u8 = 0x01;
    pub(crate) const STRING: u8 = 0x02;
    pub(crate) const OBJECT: u8 = 0x03;
    /// Reserved, not supported (spec §2.6).
    pub(crate) const MOVIECLIP: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const UNDEFINED: u8 = 0x06;
    pub(crate) const REFERENCE: u8 = 0x07;
    pub(crate) const ECMA_ARRAY: u8 = 0x08;
    pub(crate) const OBJECT_END: u8 = 0x09;
    pub(crate) const STRICT_ARRAY: u8 = 0x0A;
    pub(crate) const DATE: u8 = 0x0B;
    pub(crate) const LONG_STRING: u8 = 0x0C;
    pub(crate) const UNSUPPORTED: u8 = 0x0D;
    /// Reserved, not supported (spec §2.14).
    pub(crate) const RECORDSET: u8 = 0x0E;
    pub(crate) const XML_DOCUMENT: u8 = 0x0F;
    pub(crate) const TYPED_OBJECT: u8 = 0x10;
    pub(crate) const AVMPLUS: u8 = 0x11;
}

/// Decodes every value in `buf` (one message body) with one reference table.
///
/// # Errors
/// Any [`AmfError`]: the peer sent malformed AMF0.
pub fn decode_all(mut buf: Bytes, limits: AmfLimits) -> Result<Vec<AmfValue>, AmfError> {
    let mut decoder = Amf0Decoder::new(limits);
    let mut values = Vec::new();
    while !buf.is_empty() {
        values.push(decoder.decode(&mut buf)?);
    }
    Ok(values)
}

/// Encodes `values` one after another (one message body) with one reference table.
///
/// # Errors
/// [`AmfError::Unencodable`].
pub fn encode_all(values: &[AmfValue], dst: &mut BytesMut) -> Result<(), AmfError> {
    let mut encoder = Amf0Encoder::new();
    values.iter().try_for_each(|v| encoder.encode(v, dst))
}
