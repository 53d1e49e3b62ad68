//! SharedObject messages: types 19 (AMF0) and 16 (AMF3) (RTMP spec §7.1.3).
//!
//! A message names one SharedObject and carries a list of events:
//!
//! ```text
//! [0x00 format byte, type 16 only]
//! name            u16 length + UTF-8 (no AMF marker)
//! version         u32
//! flags           u32   persistence bit flags (see [`flags`])
//! reserved        u32   written 0, ignored on read
//! events*         type u8, data length u32, data
//! ```
//!
//! Event payloads ([`SharedObjectEvent`]) hold slot names (u16-length UTF-8
//! strings without a marker) and AMF values. Values are AMF0; in type 16 and
//! from AMF3 clients they sit behind the AMF0 AVM+ marker 0x11.
//!
//! The spec's description is thin; the layout here follows Red5's codec, FMS
//! traffic documented by client authors, and Flash Player behaviour. Every
//! place they disagree is listed in `docs/protocol/shared-objects-wire.md`.

mod decode;
mod encode;
mod event;

pub use event::{SharedObjectEvent, SharedObjectEventType};

use bytestring::ByteString;

use crate::protocol::amf::AmfError;
use crate::protocol::message::{SHARED_OBJECT_AMF0, SHARED_OBJECT_AMF3};

/// Bits of the header's persistence flags word.
///
/// The word is a bit set whose meaning is only partly known: Red5 writes 2 for
/// a persistent object and 0 otherwise and tests `== 2` on read; traffic from
/// FMS/AMS shows 16 (0x10), 32 (0x20) and 48 (0x30) on server events. Unknown
/// bits are never refused and are kept as received.
pub mod flags {
    /// The object is persistent (Red5, Flash Player `getRemote(.., true)`).
    pub const PERSISTENT: u32 = 0x02;
    /// Seen from FMS/AMS on most events (meaning unknown).
    pub const FMS_0X10: u32 = 0x10;
    /// Seen from FMS/AMS on server-initiated removes and with 0x10 on
    /// use-success / access-denied status (meaning unknown).
    pub const FMS_0X20: u32 = 0x20;
}

/// Which SharedObject message type a body belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SharedObjectEncoding {
    /// Message type 19: AMF0 values.
    Amf0,
    /// Message type 16: a 0x00 format byte, then the same layout with values
    /// written as AMF0 AVM+ (0x11) + AMF3.
    Amf3,
}

impl SharedObjectEncoding {
    /// The RTMP message type id.
    pub fn message_type(self) -> u8 {
        match self {
            Self::Amf0 => SHARED_OBJECT_AMF0,
            Self::Amf3 => SHARED_OBJECT_AMF3,
        }
    }

    /// The encoding for a message type id, if it is a SharedObject type.
    pub fn from_message_type(type_id: u8) -> Option<Self> {
        match type_id {
            SHARED_OBJECT_AMF0 => Some(Self::Amf0),
            SHARED_OBJECT_AMF3 => Some(Self::Amf3),
            _ => None,
        }
    }
}

/// One SharedObject message: the object's name, version, flags and events.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedObjectMessage {
    /// The SharedObject's name (as passed to `SharedObject.getRemote`).
    pub name: ByteString,
    /// The version: the client's current version on requests, the server's
    /// version after the change on server events.
    pub version: u32,
    /// The persistence flags word, as received (see [`flags`]).
    pub flags: u32,
    /// The fourth header word: always written 0 by known peers; kept as
    /// received.
    pub reserved: u32,
    /// The events, in order.
    pub events: Vec<SharedObjectEvent>,
}

impl SharedObjectMessage {
    /// A message with the given name, version and persistence, no events.
    pub fn new(name: impl Into<ByteString>, version: u32, persistent: bool) -> Self {
        Self {
            name: name.into(),
            version,
            flags: if persistent { flags::PERSISTENT } else { 0 },
            reserved: 0,
            events: Vec::new(),
        }
    }

    /// Whether the persistent bit (0x02) is set.
    pub fn is_persistent(&self) -> bool {
        self.flags & flags::PERSISTENT != 0
    }
}

/// Why a SharedObject message could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SharedObjectError {
    /// The input ended inside a fixed-size field or a string.
    #[error("truncated SharedObject message while reading {what}: need {needed} bytes, {remaining} remain")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// A type 16 body whose format byte is not 0x00.
    #[error("unknown SharedObject format byte 0x{byte:02x} in an AMF3 (type 16) message")]
    UnknownFormatByte {
        /// The byte found.
        byte: u8,
    },
    /// The SharedObject name is longer than [`SharedObjectLimits::max_name_len`](crate::protocol::limits::SharedObjectLimits).
    #[error("SharedObject name of {len} bytes exceeds the limit of {limit}")]
    NameTooLong {
        /// The declared length.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A name or slot key that is not valid UTF-8.
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 {
        /// Which string.
        what: &'static str,
    },
    /// More events than [`SharedObjectLimits::max_events_per_message`](crate::protocol::limits::SharedObjectLimits).
    #[error("more than {limit} events in one SharedObject message")]
    TooManyEvents {
        /// The configured limit.
        limit: usize,
    },
    /// An event whose declared data length runs past the end of the message.
    #[error("event type {event_type} declares {declared} bytes but only {remaining} remain")]
    EventOverrun {
        /// The event type byte.
        event_type: u8,
        /// The declared length.
        declared: usize,
        /// Bytes left in the message.
        remaining: usize,
    },
    /// A `SendMessage` event whose first value (the handler name) is missing or
    /// not a string.
    #[error("SendMessage event without a handler name (found {found})")]
    MissingHandlerName {
        /// The AMF type found instead.
        found: &'static str,
    },
    /// An AMF value inside an event is malformed (including one that runs past
    /// its event's declared length).
    #[error("malformed AMF in SharedObject event: {0}")]
    Amf(#[from] AmfError),
    /// A string or event too long for its length field on encode.
    #[error("{what} of {len} bytes is too long for its length field")]
    TooLong {
        /// What was too long.
        what: &'static str,
        /// Its length.
        len: usize,
    },
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod value_tests;
