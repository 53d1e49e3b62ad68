//! Command message bodies on the wire: type 20 (AMF0) and type 17 (AMF3)
//! (RTMP spec §7.1.1, §7.2).
//!
//! - Type 20 is a plain sequence of AMF0 values.
//! - Type 17 starts with one format byte (0x00 from Flash Player and every
//!   server we know), followed by the same AMF0 sequence, in which AMF3 values
//!   appear behind the AMF0 "AVM+" marker 0x11. Flash Player writes the name and
//!   transaction id as AMF0, and complex values as 0x11 + AMF3.
//!
//! Deviations handled (see `docs/protocol/commands.md`): SRS skips the first
//! byte of a type 17 body whatever it is; Red5 writes the command name itself
//! behind 0x11. We skip a leading 0x00 or any byte that cannot start a command
//! name, and keep a body whose first byte is already a string marker (0x02,
//! 0x0C) or the AVM+ marker (0x11) — a type 17 body without the format byte.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::CommandError;
use super::request::{Command, CommandMessage};
use crate::protocol::amf::{amf0, amf3, AmfValue};
use crate::protocol::limits::AmfLimits;

/// RTMP message type id of an AMF0 command message.
pub const AMF0_COMMAND_MESSAGE_TYPE: u8 = 20;
/// RTMP message type id of an AMF3 command message.
pub const AMF3_COMMAND_MESSAGE_TYPE: u8 = 17;

/// The format byte Flash Player writes at the front of a type 17 body.
const AMF3_FORMAT_BYTE: u8 = 0x00;
/// AMF0 markers that can start a command name (string, long string, AVM+).
const AMF0_STRING_MARKER: u8 = 0x02;
const AMF0_LONG_STRING_MARKER: u8 = 0x0C;
const AMF0_AVMPLUS_MARKER: u8 = 0x11;

/// Which command message type a body belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandEncoding {
    /// Message type 20: AMF0 values.
    Amf0,
    /// Message type 17: a format byte, then AMF0 values with AMF3 behind 0x11.
    Amf3,
}

impl CommandEncoding {
    /// The RTMP message type id.
    pub fn message_type(self) -> u8 {
        match self {
            Self::Amf0 => AMF0_COMMAND_MESSAGE_TYPE,
            Self::Amf3 => AMF3_COMMAND_MESSAGE_TYPE,
        }
    }

    /// The encoding for a message type id, if it is a command type.
    pub fn from_message_type(type_id: u8) -> Option<Self> {
        match type_id {
            AMF0_COMMAND_MESSAGE_TYPE => Some(Self::Amf0),
            AMF3_COMMAND_MESSAGE_TYPE => Some(Self::Amf3),
            _ => None,
        }
    }
}

/// Decodes a command message body into its AMF values.
///
/// # Errors
/// [`CommandError::Empty`] for an empty body, [`CommandError::Amf`] for
/// malformed AMF.
pub fn decode_values(
    mut payload: Bytes,
    encoding: CommandEncoding,
    limits: AmfLimits,
) -> Result<Vec<AmfValue>, CommandError> {
    if encoding == CommandEncoding::Amf3 {
        match payload.first() {
            None => return Err(CommandError::Empty),
            Some(&(AMF0_STRING_MARKER | AMF0_LONG_STRING_MARKER | AMF0_AVMPLUS_MARKER)) => {}
            // 0x00 (Flash Player) or any other format byte (SRS skips it blindly).
            Some(_) => {
                let _format = payload.split_to(1);
            }
        }
    }
    if payload.is_empty() {
        return Err(CommandError::Empty);
    }
    Ok(amf0::decode_all(payload, limits)?)
}

/// Encodes AMF values as a command message body of the given type.
///
/// For [`CommandEncoding::Amf3`] this writes the 0x00 format byte, scalars
/// (null, undefined, booleans, numbers, strings) as AMF0 and every other value
/// as 0x11 + AMF3 with its own AMF3 reference tables, as Flash Player does;
/// AMF3-only types (integers, vectors, byte arrays, dictionaries) survive.
///
/// # Errors
/// [`CommandError::Amf`] when a value cannot be encoded.
pub fn encode_values(
    values: &[AmfValue],
    encoding: CommandEncoding,
    dst: &mut BytesMut,
) -> Result<(), CommandError> {
    match encoding {
        CommandEncoding::Amf0 => amf0::encode_all(values, dst)?,
        CommandEncoding::Amf3 => {
            dst.put_u8(AMF3_FORMAT_BYTE);
            let mut scalars = amf0::Amf0Encoder::new();
            for value in values {
                if is_amf0_scalar(value) {
                    scalars.encode(value, dst)?;
                } else {
                    dst.put_u8(AMF0_AVMPLUS_MARKER);
                    amf3::Amf3Encoder::new().encode(value, dst)?;
                }
            }
        }
    }
    Ok(())
}

fn is_amf0_scalar(value: &AmfValue) -> bool {
    matches!(
        value,
        AmfValue::Null
            | AmfValue::Undefined
            | AmfValue::Boolean(_)
            | AmfValue::Number(_)
            | AmfValue::String(_)
    )
}

impl CommandMessage {
    /// Decodes a command message body (type 20 or 17) without typing it.
    ///
    /// # Errors
    /// As [`decode_values`] and [`CommandMessage::from_values`].
    pub fn decode(
        payload: Bytes,
        encoding: CommandEncoding,
        limits: AmfLimits,
    ) -> Result<Self, CommandError> {
        Self::from_values(decode_values(payload, encoding, limits)?)
    }

    /// Appends the message body for the given encoding to `dst`.
    ///
    /// # Errors
    /// [`CommandError::Amf`] when a value cannot be encoded.
    pub fn encode(
        &self,
        encoding: CommandEncoding,
        dst: &mut BytesMut,
    ) -> Result<(), CommandError> {
        encode_values(&self.to_values(), encoding, dst)
    }
}

impl Command {
    /// Decodes and types a command message body.
    ///
    /// # Errors
    /// [`CommandError`]: malformed AMF, no string name, or a required argument
    /// missing or of the wrong type.
    pub fn decode(
        payload: Bytes,
        encoding: CommandEncoding,
        limits: AmfLimits,
    ) -> Result<Self, CommandError> {
        Self::from_values(decode_values(payload, encoding, limits)?)
    }

    /// Appends the command's message body for the given encoding to `dst`.
    ///
    /// # Errors
    /// [`CommandError::Amf`] when a value cannot be encoded.
    pub fn encode(
        &self,
        encoding: CommandEncoding,
        dst: &mut BytesMut,
    ) -> Result<(), CommandError> {
        self.to_message().encode(encoding, dst)
    }
}
