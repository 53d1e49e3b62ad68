//! What the registry, the `Server` methods and the admin API ask of a
//! SharedObject actor, and what it answers.

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::protocol::amf::AmfValue;
use crate::sharedobject::{Operation, Refusal};

/// What the registry lists about a live object (updated by its actor).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SoInfo {
    /// The current version.
    pub version: u32,
    /// How many slots.
    pub slots: usize,
    /// How many connections use it.
    pub subscribers: usize,
    /// The object failed to load and its actor stopped.
    pub failed: bool,
    /// Nothing is pending: loaded, no subscribers, no commit unresolved, no
    /// message queued. A persistent object in this state may be unloaded.
    pub idle: bool,
    /// How many registry messages (Subscribe, Unsubscribe, admin requests)
    /// the actor handled: the registry trusts `idle` only once this equals
    /// what it forwarded.
    pub handled: u64,
}

/// An object's slots at one version.
#[derive(Debug, Clone, PartialEq)]
pub struct SoSnapshot {
    /// The version.
    pub version: u32,
    /// Every slot, in name order.
    pub slots: Vec<(String, AmfValue)>,
    /// How many connections use it.
    pub subscribers: usize,
    /// Whether the object exists: it has a version, slots or subscribers
    /// (a persistent object never stored reads as not existing).
    pub exists: bool,
}

/// A server-side operation.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminOp {
    /// Read the slots.
    Get,
    /// Apply these operations atomically, as a change from nobody: every
    /// subscriber gets the Change/Remove/Clear/SendMessage events.
    Apply(Vec<Operation>),
}

/// What a server-side operation answers.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminAnswer {
    /// For [`AdminOp::Get`].
    Snapshot(SoSnapshot),
    /// For [`AdminOp::Apply`]: the version after the change (durable for a
    /// persistent object).
    Applied {
        /// The version.
        version: u32,
    },
}

/// Where the answer goes.
pub type AdminReply = oneshot::Sender<Result<AdminAnswer, SoApiError>>;

/// SharedObjectActor: a server-side operation, answered once its result is
/// durable and ordered with every client change.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AdminRequest {
    /// The operation.
    pub op: AdminOp,
    /// The answer.
    pub reply: AdminReply,
}

/// Why a server-side SharedObject operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SoApiError {
    /// No such object (a non-persistent object nobody uses, or a persistent
    /// one never stored).
    #[error("no such SharedObject")]
    NotFound,
    /// A limit refused the change (nothing changed).
    #[error("refused: {0}")]
    Refused(Refusal),
    /// The store failed (nothing changed).
    #[error("SharedObject store failed: {0}")]
    Store(String),
    /// The node is stopping or the object's actor is gone.
    #[error("SharedObjects unavailable")]
    Unavailable,
}
