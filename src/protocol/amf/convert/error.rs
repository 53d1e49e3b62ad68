//! The one error type of the serde bridge.

use std::fmt::Display;

/// Why a conversion between a Rust value (or JSON) and an
/// [`AmfValue`](crate::protocol::amf::AmfValue) failed.
///
/// Errors raised below the top level are wrapped in [`ConvertError::At`], whose
/// message names the path to the offending member (`at .args[2].when: ...`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// A message from serde itself or from a type's own (de)serialization code,
    /// such as ``missing field `name` ``.
    #[error("{message}")]
    Custom {
        /// The message.
        message: String,
    },
    /// The value has another AMF type than the target needs.
    #[error("expected {expected}, found AMF {found}")]
    WrongType {
        /// What the target type needed.
        expected: &'static str,
        /// [`AmfValue::type_name`](crate::protocol::amf::AmfValue::type_name) of
        /// what was found.
        found: &'static str,
    },
    /// A number converted to an integer type that cannot hold it.
    #[error("number {value} is out of range for {target}")]
    IntegerOutOfRange {
        /// The number found.
        value: f64,
        /// The target integer type (`"u8"`, `"i64"`, ...).
        target: &'static str,
    },
    /// A number with a fractional part (or NaN/infinite) converted to an integer
    /// type.
    #[error("number {value} is not an integer, so it cannot become {target}")]
    NotAnInteger {
        /// The number found.
        value: f64,
        /// The target integer type.
        target: &'static str,
    },
    /// A Rust integer outside ±2^53, which an AMF Number (a double) cannot hold
    /// exactly. Serialize it as a string or an `f64` instead.
    #[error("integer {value} is outside ±2^53 and would lose precision as an AMF number")]
    IntegerPrecision {
        /// The integer, in decimal.
        value: String,
    },
    /// A map key that is neither a string nor a number (nor a unit enum variant).
    #[error("map key must be a string or a number, found {found}")]
    UnsupportedKey {
        /// What kind of key was found.
        found: &'static str,
    },
    /// A JSON object that uses the reserved `$` tag names (see
    /// `docs/protocol/amf-serde.md`) in a malformed way.
    #[error("invalid tagged value {tag}: {reason}")]
    InvalidTag {
        /// The tag (or key) at fault, e.g. `"$date"`.
        tag: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Input nested deeper than the configured limit.
    #[error("value nested deeper than the limit of {limit} levels")]
    TooDeep {
        /// The configured limit.
        limit: usize,
    },
    /// An error below the top level, with the path to where it happened.
    #[error("at {path}: {source}")]
    At {
        /// Path from the top, e.g. `.args[2].when`.
        path: String,
        /// The error at that place.
        source: Box<ConvertError>,
    },
}

impl ConvertError {
    /// Prefixes the error's path with a member name (`.key`).
    pub(crate) fn at_key(self, key: &str) -> Self {
        self.prefixed(format!(".{key}"))
    }

    /// Prefixes the error's path with an index (`[index]`).
    pub(crate) fn at_index(self, index: usize) -> Self {
        self.prefixed(format!("[{index}]"))
    }

    fn prefixed(self, segment: String) -> Self {
        match self {
            Self::At { path, source } => Self::At {
                path: segment + &path,
                source,
            },
            other => Self::At {
                path: segment,
                source: Box::new(other),
            },
        }
    }

    /// The error without its path wrapper.
    pub fn root(&self) -> &ConvertError {
        match self {
            Self::At { source, .. } => source.root(),
            other => other,
        }
    }

    /// The path to where the error happened (empty at the top level).
    pub fn path(&self) -> &str {
        match self {
            Self::At { path, .. } => path,
            _ => "",
        }
    }
}

impl serde::ser::Error for ConvertError {
    fn custom<T: Display>(msg: T) -> Self {
        Self::Custom {
            message: msg.to_string(),
        }
    }
}

impl serde::de::Error for ConvertError {
    fn custom<T: Display>(msg: T) -> Self {
        Self::Custom {
            message: msg.to_string(),
        }
    }
}

pub(crate) fn tag_error(tag: &str, reason: &'static str) -> ConvertError {
    ConvertError::InvalidTag {
        tag: tag.to_owned(),
        reason,
    }
}
