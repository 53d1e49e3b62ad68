//! The cluster layer: how nodes talk to each other (DESIGN.md §1, §4).
//!
//! # Layout
//!
//! - [`bus`]: the narrow [`ClusterBus`] trait over bytes — publish to a
//!   channel, subscribe and unsubscribe channels at runtime, receive
//!   [`Inbound`] items on one bounded [`BusInbox`], watch [`BusHealth`]
//!   (state plus a resubscription generation).
//! - [`envelope`]: the one file that touches bincode — [`Envelope`] (format
//!   version, sender node id, per-sender per-channel sequence) around a typed
//!   [`ClusterEvent`].
//! - [`events`]: typed publishing and receiving on top of a bus: sequence
//!   numbering, own-echo filtering, gap detection.
//! - [`local`]: [`LocalBus`], the in-process implementation (single node, and
//!   several nodes in one test process).
//! - [`redis_bus`]: [`RedisBus`], the Redis pub/sub implementation, with
//!   resubscription, resync signalling and backoff.
//! - [`membership`]: node heartbeats with a TTL, live nodes, nodes that left,
//!   and stream-ownership leases.
//! - [`keys`]: every Redis key and channel name.
//! - [`amf_args`]: call arguments and results as AMF bytes inside events.
//! - [`node`]: [`ClusterNode`](node::ClusterNode), this node's side of the
//!   cluster — the bus it runs, scope subscriptions, cross-node calls in
//!   flight, heartbeat, health (the router that acts on received events is
//!   `crate::actors::cluster`).
//!
//! # Delivery contract
//!
//! Both buses are at-most-once, like Redis pub/sub: a message may be lost
//! (disconnect, a full inbox, Redis dropping a slow subscriber). Loss is never
//! silent: the inbox yields [`Inbound::Resubscribed`] after every
//! (re)subscription and [`Inbound::Lost`] after local drops, and the events
//! layer reports sequence gaps. On any of them the consumer resyncs the state
//! it replicates from the authoritative copy (the Redis store). Messages from
//! one sender on one channel arrive in publish order. See `docs/cluster.md`
//! for the wire format and keys.

pub mod amf_args;
pub mod bus;
pub mod envelope;
pub mod events;
pub mod keys;
pub mod local;
pub mod membership;
pub mod node;
pub mod redis_bus;

pub use bus::{
    BusError, BusFuture, BusHealth, BusInbox, BusState, BusStats, ClusterBus, Inbound, PublishAck,
};
pub use envelope::{ClusterEvent, Envelope, EnvelopeError};
pub use events::{EventPublisher, EventReceiver, Received};
pub use keys::KeySpace;
pub use local::{LocalBus, LocalHub};
pub use membership::{Heartbeat, Leases, LiveNode, Membership, MembershipChange};
pub use redis_bus::{RedisBus, RedisBusConfig};

use serde::{Deserialize, Serialize};

/// A node's cluster-wide identity (`--node-id`, or hostname plus a random
/// suffix). Compared byte for byte; a node skips envelopes carrying its own id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(String);

impl NodeId {
    /// Wraps a node id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for NodeId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}
