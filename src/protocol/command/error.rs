//! Errors of the command layer.

use crate::protocol::amf::AmfError;

/// Why a command message could not be decoded or encoded.
///
/// A decoding error means the peer sent a command this server cannot make
/// sense of; the session layer decides whether that closes the connection or
/// is answered with `_error`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The AMF body itself is malformed.
    #[error("malformed AMF in command message: {0}")]
    Amf(#[from] AmfError),
    /// The message body held no values at all (not even a command name).
    #[error("empty command message")]
    Empty,
    /// The first value, the command name, is not a string.
    #[error("command name must be a string, found {found}")]
    NameNotString {
        /// The AMF type found instead.
        found: &'static str,
    },
    /// A required argument is absent (or `null`/`undefined`).
    #[error("{command}: missing required argument {argument}")]
    MissingArgument {
        /// The command name.
        command: &'static str,
        /// Which argument.
        argument: &'static str,
    },
    /// An argument has a type or value that cannot be coerced to what the
    /// command needs.
    #[error("{command}: argument {argument} should be {expected}, found {found}")]
    InvalidArgument {
        /// The command name.
        command: &'static str,
        /// Which argument.
        argument: &'static str,
        /// What was expected.
        expected: &'static str,
        /// The AMF type (or a description of the value) found instead.
        found: &'static str,
    },
}
