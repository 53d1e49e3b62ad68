//! Liberal readers for command arguments: numbers from numeric strings and
//! booleans, booleans from numbers, stream names from numbers.

use bytestring::ByteString;

use super::error::CommandError;
use super::request::CommandMessage;
use crate::protocol::amf::AmfValue;

/// Reads a stream-name argument: a string, or a number written as its decimal
/// form (some bots send `play(1234)`); `false` means "stop" and yields `None`.
pub(super) fn stream_name(v: &AmfValue) -> Result<Option<ByteString>, &'static str> {
    match v {
        AmfValue::String(s) => Ok(Some(s.clone())),
        AmfValue::Boolean(false) => Ok(None),
        other => match to_number(other) {
            Some(n) if matches!(other, AmfValue::Number(_) | AmfValue::Integer(_)) => {
                Ok(Some(ByteString::from(format_number(n))))
            }
            _ => Err(other.type_name()),
        },
    }
}

pub(super) trait TransposeName {
    fn transpose_name(self, command: &'static str) -> Result<Option<ByteString>, CommandError>;
}

impl TransposeName for Option<Result<Option<ByteString>, &'static str>> {
    fn transpose_name(self, command: &'static str) -> Result<Option<ByteString>, CommandError> {
        match self {
            None => Ok(None),
            Some(Ok(name)) => Ok(name),
            Some(Err(found)) => Err(CommandError::InvalidArgument {
                command,
                argument: "stream name",
                expected: "string",
                found,
            }),
        }
    }
}

pub(super) fn name_arg(
    msg: &CommandMessage,
    command: &'static str,
) -> Result<ByteString, CommandError> {
    msg.arg(0)
        .map(stream_name)
        .transpose_name(command)?
        .ok_or(CommandError::MissingArgument {
            command,
            argument: "stream name",
        })
}

pub(super) fn number_arg(
    msg: &CommandMessage,
    index: usize,
    command: &'static str,
    argument: &'static str,
) -> Result<f64, CommandError> {
    let v = msg
        .arg(index)
        .ok_or(CommandError::MissingArgument { command, argument })?;
    to_number(v).ok_or(CommandError::InvalidArgument {
        command,
        argument,
        expected: "number",
        found: v.type_name(),
    })
}

pub(super) fn stream_id_arg(
    msg: &CommandMessage,
    command: &'static str,
) -> Result<u32, CommandError> {
    let n = number_arg(msg, 0, command, "stream id")?;
    if n.is_finite() && (0.0..=f64::from(u32::MAX)).contains(&n) {
        // Truncation is intended: a stream id is an integer on the wire.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(n as u32)
    } else {
        Err(CommandError::InvalidArgument {
            command,
            argument: "stream id",
            expected: "integer in 0..=4294967295",
            found: "out-of-range number",
        })
    }
}

/// A number from a Number, Integer, Boolean (1/0) or numeric String.
pub(super) fn to_number(v: &AmfValue) -> Option<f64> {
    match v {
        AmfValue::Number(n) => Some(*n),
        AmfValue::Integer(i) => Some(f64::from(*i)),
        AmfValue::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
        AmfValue::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean from a Boolean, a Number/Integer (non-zero is true) or the
/// strings `"true"`/`"false"`.
pub(super) fn to_bool(v: &AmfValue) -> Option<bool> {
    match v {
        AmfValue::Boolean(b) => Some(*b),
        AmfValue::Number(n) => Some(*n != 0.0 && !n.is_nan()),
        AmfValue::Integer(i) => Some(*i != 0),
        AmfValue::String(s) => match s.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        format!("{n}")
    }
}
