//! The pure core of a remote SharedObject: its slots and version, applying one
//! client message atomically, the events every subscriber gets, the initial
//! sync, a bounded history for catching up, and the store value codec.
//!
//! No actix, tokio or clock here (like [`crate::fanout`]): the
//! `SharedObjectActor` holds a [`SharedObjectState`], feeds it requests in
//! arrival order and routes the [`Accepted`] outputs. See
//! `docs/shared-objects.md` for the sequences this produces.
//!
//! - One accepted message that changes slots is **one version** (several
//!   pairs in it share the bump); a message that changes nothing (only
//!   sends, removes of absent slots, an empty change) does not bump the
//!   version, so every version a client sees is one the store commits.
//! - Each object *incarnation* (a creation, or a load from the store) has a
//!   base version: deltas and "up to date" answers are only given for a
//!   client version this incarnation can vouch for (see
//!   [`SharedObjectState::begin_incarnation`]); anything else gets a full
//!   resync.
//! - A message is validated completely (permissions, limits) before anything
//!   is applied: it is applied whole or not at all. A refused message leaves
//!   the object as it was and answers the writer one Status event
//!   ([`Refusal`]).

pub mod codec;
mod replica;
mod state;
mod sync;

pub use replica::Planned;
pub use state::{Accepted, SharedObjectState, Slot, SlotChange};
pub use sync::{Delta, SyncPlan};

use bytestring::ByteString;

use crate::protocol::amf::AmfValue;
use crate::protocol::shared_object::SharedObjectEvent;

/// Status codes sent in Status events (FMS names where FMS has one).
pub mod codes {
    /// The application refused a write, delete or send.
    pub const NO_WRITE_ACCESS: &str = "SharedObject.NoWriteAccess";
    /// The application refused the Use.
    pub const NO_READ_ACCESS: &str = "SharedObject.NoReadAccess";
    /// The object could not be created or loaded, or the connection uses
    /// too many objects (`max_per_connection`).
    pub const OBJECT_CREATION_FAILED: &str = "SharedObject.ObjectCreationFailed";
    /// A slot value over `max_slot_bytes`, or one that cannot be encoded.
    pub const BAD_VALUE: &str = "SharedObject.BadValue";
    /// The change would leave more than `max_slots` slots.
    pub const SLOT_LIMIT: &str = "SharedObject.SlotLimit";
    /// More operations (pairs, names, sends) in one message than
    /// `[shared_objects] max_events_per_message`.
    pub const EVENT_LIMIT: &str = "SharedObject.EventLimit";
    /// The change would make the object larger than `max_object_bytes`.
    pub const OBJECT_SIZE_LIMIT: &str = "SharedObject.ObjectSizeLimit";
    /// A persistent change could not be stored: it was not applied.
    pub const FLUSH_FAILED: &str = "SharedObject.Flush.Failed";
    /// Level of every error Status event.
    pub const LEVEL_ERROR: &str = "error";
}

/// Bounds of one object (from `[shared_objects]` and `[limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedObjectLimits {
    /// Most slots.
    pub max_slots: usize,
    /// Largest slot value, in bytes of its stored encoding ([`codec`]).
    pub max_slot_bytes: usize,
    /// Most operations (slot pairs + removed names + sends) in one message.
    pub max_ops_per_message: usize,
    /// Largest object: the sum over its slots of name length + stored
    /// value length. A change that would pass it is refused whole.
    pub max_object_bytes: usize,
    /// Accepted changes kept for catching subscribers up.
    pub history: usize,
    /// Most bytes (slot names + stored values) the kept changes may hold;
    /// the oldest are dropped first, and a change larger than this is not
    /// kept at all (a subscriber behind it gets a full resync).
    pub history_max_bytes: usize,
    /// Bytes of Change events packed into one sync message.
    pub sync_budget_bytes: usize,
    /// With a store that acknowledges before data is durable (a flush
    /// interval): at most this many versions are shown beyond the last one
    /// known durable, and a load jumps the version by this much, so versions
    /// a crash lost are never handed out again. 0: the store is durable
    /// before it acknowledges.
    pub lossy_version_window: u32,
}

impl Default for SharedObjectLimits {
    fn default() -> Self {
        Self {
            max_slots: 10_000,
            max_slot_bytes: 64 * 1024,
            max_ops_per_message: DEFAULT_MAX_OPS_PER_MESSAGE,
            max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
            history: 1024,
            history_max_bytes: DEFAULT_HISTORY_MAX_BYTES,
            sync_budget_bytes: DEFAULT_SYNC_BUDGET_BYTES,
            lossy_version_window: 0,
        }
    }
}

/// Default bytes of slot data in one sync message (the chunk layer splits it).
pub const DEFAULT_SYNC_BUDGET_BYTES: usize = 64 * 1024;
/// Default most operations in one message (below the protocol's hard bound
/// on events per message, which closes the connection).
pub const DEFAULT_MAX_OPS_PER_MESSAGE: usize = 256;
/// Default largest object (16 MiB).
pub const DEFAULT_MAX_OBJECT_BYTES: usize = 16 * 1024 * 1024;
/// The version window used with a lossy store (`flush_interval_ms > 0`).
pub const LOSSY_VERSION_WINDOW: u32 = 1024;
/// Default bytes of kept history per object (4 MiB).
pub const DEFAULT_HISTORY_MAX_BYTES: usize = 4 * 1024 * 1024;

/// What the writer may do: the application's SharedObject hooks, bound to
/// one client and object by the caller.
pub trait Permissions {
    /// May the writer set `slot`?
    fn may_write(&self, slot: &str) -> bool;
    /// May the writer remove `slot`?
    fn may_delete(&self, slot: &str) -> bool;
    /// May the writer `send(method, args)`?
    fn may_send(&self, method: &str, args: &[AmfValue]) -> bool;
}

/// Everything is allowed (server-side changes, applications without hooks).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Permissions for AllowAll {
    fn may_write(&self, _: &str) -> bool {
        true
    }
    fn may_delete(&self, _: &str) -> bool {
        true
    }
    fn may_send(&self, _: &str, _: &[AmfValue]) -> bool {
        true
    }
}

/// One operation of a request, in message order.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Set these slots.
    Set(Vec<(ByteString, AmfValue)>),
    /// Remove these slots (absent ones are ignored).
    Remove(Vec<ByteString>),
    /// `SharedObject.send(method, ...args)`.
    Send {
        /// The handler name.
        method: ByteString,
        /// Its arguments.
        args: Vec<AmfValue>,
    },
    /// Remove every slot (server side only).
    Clear,
}

impl Operation {
    /// The request operations of a client message's events, in order:
    /// RequestChange, RequestRemove and SendMessage. Everything else (Use and
    /// Release are handled by the caller; server-to-client and unknown types)
    /// is skipped.
    pub fn from_events(events: &[SharedObjectEvent]) -> Vec<Operation> {
        events
            .iter()
            .filter_map(|event| match event {
                SharedObjectEvent::RequestChange(pairs) => Some(Operation::Set(pairs.clone())),
                SharedObjectEvent::RequestRemove(names) => Some(Operation::Remove(names.clone())),
                SharedObjectEvent::SendMessage { method, args } => Some(Operation::Send {
                    method: method.clone(),
                    args: args.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// How many operations this counts for against `max_ops_per_message`.
    fn weight(&self) -> usize {
        match self {
            Operation::Set(pairs) => pairs.len().max(1),
            Operation::Remove(names) => names.len().max(1),
            Operation::Send { .. } | Operation::Clear => 1,
        }
    }
}

/// Why a message was refused: the writer gets one Status event with this
/// code; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct Refusal {
    /// The Status code (one of [`codes`]).
    pub code: &'static str,
    /// What was wrong (logs and the admin API).
    pub description: String,
}

impl Refusal {
    fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// The Status event for the writer.
    pub fn to_event(&self) -> SharedObjectEvent {
        status_event(self.code)
    }
}

/// A Status error event with `code`.
pub fn status_event(code: &str) -> SharedObjectEvent {
    SharedObjectEvent::Status {
        code: code.into(),
        level: codes::LEVEL_ERROR.into(),
    }
}

#[cfg(test)]
mod tests;
