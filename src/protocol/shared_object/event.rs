//! SharedObject event types and payloads (RTMP spec §7.1.3, Red5
//! `SharedObjectTypeMapping`).

use bytes::Bytes;
use bytestring::ByteString;

use crate::protocol::amf::AmfValue;

/// Event type bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SharedObjectEventType {
    /// 1, client → server: start using the object.
    Use = 1,
    /// 2, client → server: stop using the object.
    Release = 2,
    /// 3, client → server: set slots.
    RequestChange = 3,
    /// 4, server → client: slots changed.
    Change = 4,
    /// 5, server → client: the client's own change was applied.
    Success = 5,
    /// 6, both ways: invoke a handler on every client (`so.send`).
    SendMessage = 6,
    /// 7, server → client: an error or status.
    Status = 7,
    /// 8, server → client: clear the local copy (before a full resync).
    Clear = 8,
    /// 9, server → client: slots removed.
    Remove = 9,
    /// 10, client → server: remove slots.
    RequestRemove = 10,
    /// 11, server → client: the `Use` succeeded.
    UseSuccess = 11,
}

impl SharedObjectEventType {
    /// The type for a wire byte, if known.
    pub fn from_u8(byte: u8) -> Option<Self> {
        Some(match byte {
            1 => Self::Use,
            2 => Self::Release,
            3 => Self::RequestChange,
            4 => Self::Change,
            5 => Self::Success,
            6 => Self::SendMessage,
            7 => Self::Status,
            8 => Self::Clear,
            9 => Self::Remove,
            10 => Self::RequestRemove,
            11 => Self::UseSuccess,
            _ => return None,
        })
    }
}

/// One event in a SharedObject message.
#[derive(Debug, Clone, PartialEq)]
pub enum SharedObjectEvent {
    /// Use (1): no payload.
    Use,
    /// Release (2): no payload.
    Release,
    /// RequestChange (3): one or more `(slot, value)` pairs. Flash Player
    /// sends one pair per event; several are accepted.
    RequestChange(Vec<(ByteString, AmfValue)>),
    /// Change (4): one or more `(slot, value)` pairs (Red5 and FMS send one
    /// per event when syncing a whole object; several are accepted).
    Change(Vec<(ByteString, AmfValue)>),
    /// Success (5): the slot names whose change was accepted.
    Success(Vec<ByteString>),
    /// SendMessage (6): handler name and arguments, all AMF values.
    SendMessage {
        /// The handler (method) name.
        method: ByteString,
        /// The arguments.
        args: Vec<AmfValue>,
    },
    /// Status (7): a code (e.g. `SharedObject.NoWriteAccess`) and a level.
    Status {
        /// The status code.
        code: ByteString,
        /// The level (`"error"`, `"warning"`, `"status"`).
        level: ByteString,
    },
    /// Clear (8): no payload.
    Clear,
    /// Remove (9): the removed slot names.
    Remove(Vec<ByteString>),
    /// RequestRemove (10): the slot names to remove.
    RequestRemove(Vec<ByteString>),
    /// UseSuccess (11): no payload.
    UseSuccess,
    /// Any other type (12–14 have been seen from FMS/AMS), kept raw.
    Unknown {
        /// The type byte.
        event_type: u8,
        /// The raw event data.
        data: Bytes,
    },
}

impl SharedObjectEvent {
    /// The wire type byte.
    pub fn type_byte(&self) -> u8 {
        use SharedObjectEventType as T;
        (match self {
            Self::Use => T::Use,
            Self::Release => T::Release,
            Self::RequestChange(_) => T::RequestChange,
            Self::Change(_) => T::Change,
            Self::Success(_) => T::Success,
            Self::SendMessage { .. } => T::SendMessage,
            Self::Status { .. } => T::Status,
            Self::Clear => T::Clear,
            Self::Remove(_) => T::Remove,
            Self::RequestRemove(_) => T::RequestRemove,
            Self::UseSuccess => T::UseSuccess,
            Self::Unknown { event_type, .. } => return *event_type,
        }) as u8
    }
}
