//! The slot value codec for the store: an [`AmfValue`] to opaque bytes and
//! back.
//!
//! Format: one format byte, then the value.
//!
//! - `0x03`: the AMF0 AVM+ marker (0x11) followed by the AMF3 encoding (as
//!   Red5 and Flash Player carry AMF3 values inside AMF0 bodies). AMF3 keeps
//!   every AMF3-only type (ByteArray, vectors, Dictionary, E4X XML, ints,
//!   traits, externalizables) and every AMF0 type that has an AMF3 form.
//! - `0x00`: plain AMF0, used for the few values AMF3 cannot hold as they are
//!   (AMF0's `Unsupported` marker, an AMF0 date's time-zone field). [`encode`]
//!   writes AMF3, checks that it decodes back to the same value, and otherwise
//!   uses AMF0 if *that* round trip is exact.
//!
//! A value that neither encoding keeps (an `Integer` outside AMF3's 29-bit
//! range becomes a `Number` in both; a NaN never compares equal) is stored as
//! AMF3; clients cannot send the former, only the admin API and the `Server`
//! methods could.
//!
//! The encoded length is also what `max_slot_bytes` is measured against.

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::amf::amf0::{Amf0Decoder, Amf0Encoder};
use crate::protocol::amf::{AmfError, AmfValue};
use crate::protocol::limits::AmfLimits;

/// Format byte: plain AMF0.
pub const FORMAT_AMF0: u8 = 0x00;
/// Format byte: AVM+ (0x11) + AMF3.
pub const FORMAT_AMF3: u8 = 0x03;

/// Why a stored value could not be read or a value could not be written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodecError {
    /// The stored bytes are empty.
    #[error("empty stored value")]
    Empty,
    /// The format byte is not one this version writes.
    #[error("unknown stored value format 0x{format:02x}")]
    UnknownFormat {
        /// The byte found.
        format: u8,
    },
    /// The AMF inside is malformed, or the value cannot be encoded.
    #[error("stored value AMF: {0}")]
    Amf(#[from] AmfError),
}

/// Encodes a slot value for the store.
///
/// # Errors
/// [`CodecError::Amf`] when the value cannot be encoded (names longer than
/// 65535 bytes, nesting deeper than 256).
pub fn encode(value: &AmfValue) -> Result<Bytes, CodecError> {
    let amf3 = encode_with(value, FORMAT_AMF3)?;
    if decode(amf3.clone()).ok().as_ref() == Some(value) {
        return Ok(amf3);
    }
    if let Ok(amf0) = encode_with(value, FORMAT_AMF0) {
        if decode(amf0.clone()).ok().as_ref() == Some(value) {
            return Ok(amf0);
        }
    }
    Ok(amf3)
}

/// Decodes a stored slot value.
///
/// # Errors
/// [`CodecError`] for empty, unknown-format or malformed bytes.
pub fn decode(mut bytes: Bytes) -> Result<AmfValue, CodecError> {
    let Some(&format) = bytes.first() else {
        return Err(CodecError::Empty);
    };
    if format != FORMAT_AMF0 && format != FORMAT_AMF3 {
        return Err(CodecError::UnknownFormat { format });
    }
    let _ = bytes.split_to(1);
    // The decoder switches to AMF3 on the AVM+ marker by itself.
    Ok(Amf0Decoder::new(AmfLimits::default()).decode(&mut bytes)?)
}

fn encode_with(value: &AmfValue, format: u8) -> Result<Bytes, CodecError> {
    let mut dst = BytesMut::new();
    dst.put_u8(format);
    let mut encoder = Amf0Encoder::new();
    if format == FORMAT_AMF3 {
        encoder.encode_avmplus(value, &mut dst)?;
    } else {
        encoder.encode(value, &mut dst)?;
    }
    Ok(dst.freeze())
}
