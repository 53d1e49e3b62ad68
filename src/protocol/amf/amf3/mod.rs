//! AMF3 (Adobe's AMF3 specification). STUB: API fixed, bodies to be written.

use bytes::{Bytes, BytesMut};

use super::{AmfError, AmfValue};
use crate::protocol::limits::AmfLimits;

/// Decodes AMF3 values from one message; holds the message's reference table.
#[derive(Debug)]
pub struct Amf3Decoder {
    limits: AmfLimits,
}

impl Amf3Decoder {
    /// A decoder with empty reference tables.
    pub fn new(limits: AmfLimits) -> Self {
        Self { limits }
    }

    /// Decodes one value from the front of `buf`, advancing it.
    ///
    /// # Errors
    /// Any [`AmfError`]: the peer sent malformed AMF3.
    pub fn decode(&mut self, buf: &mut Bytes) -> Result<AmfValue, AmfError> {
        self.decode_nested(buf, 0)
    }

    /// Decodes one value nested `depth` containers deep (after an AVM+ switch).
    pub(in crate::protocol::amf) fn decode_nested(
        &mut self,
        buf: &mut Bytes,
        depth: usize,
    ) -> Result<AmfValue, AmfError> {
        let _ = (buf, self.limits, depth);
        Err(AmfError::Invalid {
            reason: "AMF3 decoder not written yet",
        })
    }
}

/// Encodes AMF3 values into one message; holds the message's reference table.
#[derive(Debug, Default)]
pub struct Amf3Encoder {}

impl Amf3Encoder {
    /// An encoder with empty reference tables.
    pub fn new() -> Self {
        Self {}
    }

    /// Appends `value` to `dst`.
    ///
    /// # Errors
    /// [`AmfError::Unencodable`] when the value cannot be represented.
    pub fn encode(&mut self, value: &AmfValue, dst: &mut BytesMut) -> Result<(), AmfError> {
        let _ = (value, dst);
        Err(AmfError::Unencodable {
            reason: "AMF3 encoder not written yet",
        })
    }
}

/// Decodes every value in `buf` (one message body) with one reference table.
///
/// # Errors
/// Any [`AmfError`].
pub fn decode_all(mut buf: Bytes, limits: AmfLimits) -> Result<Vec<AmfValue>, AmfError> {
    let mut decoder = Amf3Decoder::new(limits);
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
    let mut encoder = Amf3Encoder::new();
    values.iter().try_for_each(|v| encoder.encode(v, dst))
}
