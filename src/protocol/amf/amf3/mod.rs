//! AMF3, as specified in Adobe's "Action Message Format -- AMF 3" (2013 edition,
//! which adds Vector and Dictionary).
//!
//! Used by AMF3 clients (`NetConnection.objectEncoding = 3`) after an AVM+
//! switch (AMF0 marker 0x11) inside type-17/15/16 messages, and by Flex
//! remoting. Three reference tables per message (spec §2.2): strings, traits
//! and objects.
//!
//! - [`Amf3Decoder`] keeps the tables across calls (one decoder per message);
//!   a reference to a finished object is an [`Arc`](std::sync::Arc) clone, a
//!   reference to an object still being decoded is a cycle and an error.
//! - [`Amf3Encoder`] emits references as Flash Player does: strings by value,
//!   traits by (class, sealed names, dynamic, externalizable), containers by
//!   identity ([`Arc::ptr_eq`](std::sync::Arc::ptr_eq)).
//! - Externalizable classes: see [`externalizable`].

mod decode;
mod encode;
pub mod externalizable;

#[cfg(test)]
mod tests;

use bytes::{Bytes, BytesMut};

pub use decode::Amf3Decoder;
pub use encode::Amf3Encoder;

use super::{AmfError, AmfValue};
use crate::protocol::limits::AmfLimits;

/// AMF3 type markers (spec §3.1).
mod marker {
    pub(crate) const UNDEFINED: u8 = 0x00;
    pub(crate) const NULL: u8 = 0x01;
    pub(crate) const FALSE: u8 = 0x02;
    pub(crate) const TRUE: u8 = 0x03;
    pub(crate) const INTEGER: u8 = 0x04;
    pub(crate) const DOUBLE: u8 = 0x05;
    pub(crate) const STRING: u8 = 0x06;
    pub(crate) const XML_DOC: u8 = 0x07;
    pub(crate) const DATE: u8 = 0x08;
    pub(crate) const ARRAY: u8 = 0x09;
    pub(crate) const OBJECT: u8 = 0x0A;
    pub(crate) const XML: u8 = 0x0B;
    pub(crate) const BYTE_ARRAY: u8 = 0x0C;
    pub(crate) const VECTOR_INT: u8 = 0x0D;
    pub(crate) const VECTOR_UINT: u8 = 0x0E;
    pub(crate) const VECTOR_DOUBLE: u8 = 0x0F;
    pub(crate) const VECTOR_OBJECT: u8 = 0x10;
    pub(crate) const DICTIONARY: u8 = 0x11;
}

/// Largest value of a U29 (spec §1.3.1).
const U29_MAX: u32 = (1 << 29) - 1;
/// Smallest `int` written as an AMF3 integer (-2^28).
const INT_MIN: i32 = -(1 << 28);
/// Largest `int` written as an AMF3 integer (2^28 - 1).
const INT_MAX: i32 = (1 << 28) - 1;
/// Largest length or table index behind a U29 flag bit (2^28 - 1).
const U28_MAX: usize = (1 << 28) - 1;

/// Decodes every value in `buf` (one message body) with one set of reference
/// tables.
///
/// # Errors
/// Any [`AmfError`]: the peer sent malformed AMF3.
pub fn decode_all(mut buf: Bytes, limits: AmfLimits) -> Result<Vec<AmfValue>, AmfError> {
    let mut decoder = Amf3Decoder::new(limits);
    let mut values = Vec::new();
    while !buf.is_empty() {
        values.push(decoder.decode(&mut buf)?);
    }
    Ok(values)
}

/// Encodes `values` one after another (one message body) with one set of
/// reference tables.
///
/// # Errors
/// [`AmfError::Unencodable`].
pub fn encode_all(values: &[AmfValue], dst: &mut BytesMut) -> Result<(), AmfError> {
    let mut encoder = Amf3Encoder::new();
    values.iter().try_for_each(|v| encoder.encode(v, dst))
}
