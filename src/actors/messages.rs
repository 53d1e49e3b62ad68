//! Every message the actors exchange: plain data. Commands are imperative
//! (`Publish`, `AddPlayer`), notifications past tense (`QueueReady` is the one
//! exception: a wake-up).

use std::sync::{Arc, Mutex};

use actix::prelude::*;

use super::connection::ConnectionActor;
use super::stream::StreamActor;
use crate::fanout::{Frame, PlayerQueue};

/// A stream's cluster-wide name: scope (application + room path) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// `APP[/ROOM...]` from the connect URL.
    pub scope: String,
    /// The stream name given to publish/play (query string removed).
    pub name: String,
}

impl std::fmt::Display for StreamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.scope, self.name)
    }
}

/// Why a publish was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishRefused {
    /// Someone already publishes that name (`NetStream.Publish.BadName`).
    BadName,
    /// The cluster (Redis) cannot be asked who owns the name.
    ClusterUnavailable,
}

/// Registry: `conn` wants to publish `key`. Answers the new stream's address.
#[derive(Message)]
#[rtype(result = "Result<Addr<StreamActor>, PublishRefused>")]
pub struct Publish {
    /// The stream.
    pub key: StreamKey,
    /// The publishing connection's id.
    pub conn_id: u64,
    /// The publisher's arbiter: the stream actor runs there, on the thread that
    /// produces its input.
    pub arbiter: ArbiterHandle,
}

/// Registry: the publisher of `key` stopped (its StreamActor is stopping).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unpublished {
    /// The stream.
    pub key: StreamKey,
    /// The stopping actor (a newer stream of the same key may be registered).
    pub stream: Addr<StreamActor>,
}

/// Registry: `player` wants `key`; attached now if published, else when it is.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Play {
    /// The stream.
    pub key: StreamKey,
    /// The player's connection.
    pub player: PlayerRef,
}

/// Registry: forget a waiting player (it left or stopped playing).
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopWaiting {
    /// The stream.
    pub key: StreamKey,
    /// The player's id.
    pub player_id: u64,
}

/// A player as the stream sees it: where to queue frames and whom to wake.
#[derive(Clone)]
pub struct PlayerRef {
    /// Unique per (connection, stream id).
    pub player_id: u64,
    /// The player's connection.
    pub conn: Addr<ConnectionActor>,
    /// The message stream id the player plays on.
    pub stream_id: u32,
    /// The bounded queue shared with the connection (the stream pushes, the
    /// connection pops): no actor message per frame per player.
    pub queue: Arc<Mutex<PlayerQueue>>,
}

/// StreamActor: one media frame from the publisher.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Ingest(pub Frame);

/// StreamActor: attach a player (it first gets the GOP cache's join burst).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AddPlayer(pub PlayerRef);

/// StreamActor: detach a player.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemovePlayer {
    /// The player's id.
    pub player_id: u64,
}

/// StreamActor: the publisher left; notify players and stop.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unpublish;

/// ConnectionActor: frames are waiting in the queue of this player.
#[derive(Message)]
#[rtype(result = "()")]
pub struct QueueReady {
    /// The message stream id the player plays on.
    pub stream_id: u32,
}

/// ConnectionActor: the stream this player waited for is now published here.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StreamAttached {
    /// The message stream id the player plays on.
    pub stream_id: u32,
    /// The stream.
    pub stream: Addr<StreamActor>,
    /// Whether the stream was published after the play started (send
    /// `NetStream.Play.PublishNotify`).
    pub notify: bool,
}

/// ConnectionActor: the publisher of the stream this player plays left.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PublisherLeft {
    /// The message stream id the player plays on.
    pub stream_id: u32,
}

/// ConnectionActor: the player was disconnected by the fan-out (too far behind).
#[derive(Message)]
#[rtype(result = "()")]
pub struct PlayerEvicted {
    /// Why.
    pub reason: String,
}

/// ConnectionActor: the node is shutting down; close with a status.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

// ---- shared objects ----

/// A connection subscribed to a SharedObject, as its actor sees it.
#[derive(Clone)]
pub struct SoSubscriber {
    /// The connection's id (unique on this node).
    pub conn_id: u64,
    /// Where the object's messages go.
    pub deliver: Recipient<SoDeliver>,
    /// Bytes the connection has handed to its socket writer and not yet
    /// written: the object stops sending deltas to a subscriber whose backlog
    /// is too large and resyncs it once it drains.
    pub backlog: Arc<std::sync::atomic::AtomicUsize>,
    /// The application, for the write/delete/send hooks (`None`: allow all).
    pub application: Option<Arc<dyn crate::app::Application>>,
    /// The client, for the hooks.
    pub client: Option<Arc<crate::app::ClientInfo>>,
}

/// SharedObjects registry: `subscriber` uses `key`, holding `version` (0 =
/// no local copy). Answers the object's actor (the Use is already in its
/// mailbox, so requests sent to it next are ordered after it).
#[derive(Message)]
#[rtype(result = "Result<Addr<crate::actors::shared_object::SharedObjectActor>, String>")]
pub struct UseSharedObject {
    /// The object.
    pub key: crate::app::SharedObjectRef,
    /// Who.
    pub subscriber: SoSubscriber,
    /// The client's version of the object.
    pub version: u32,
}

/// SharedObjects registry: the connection stops using `key` (Release or
/// disconnect).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseSharedObject {
    /// The object.
    pub key: crate::app::SharedObjectRef,
    /// The connection.
    pub conn_id: u64,
}

/// SharedObjectActor: one client message's operations, applied atomically.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChangeSharedObject {
    /// The writer.
    pub conn_id: u64,
    /// The operations, in message order.
    pub ops: Vec<crate::sharedobject::Operation>,
}

/// ConnectionActor: send this SharedObject message to the client.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct SoDeliver {
    /// The message (shared by every subscriber that gets it).
    pub message: Arc<crate::protocol::shared_object::SharedObjectMessage>,
    /// The object dropped this subscriber (it failed to load): forget it.
    pub ended: bool,
}

// ---- calls ----

/// What a server → client call resolves to: the client's `_result` values,
/// or why there are none.
pub type CallReply = Result<Vec<crate::protocol::amf::AmfValue>, crate::app::CallError>;

/// ConnectionActor: call `method(args...)` on this client with a fresh
/// transaction id and send its answer (or the failure) to `reply`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct InvokeClient {
    /// The method to call on the client.
    pub method: String,
    /// Its arguments.
    pub args: Vec<crate::protocol::amf::AmfValue>,
    /// Where the answer goes.
    pub reply: tokio::sync::oneshot::Sender<CallReply>,
}

/// ConnectionActor: call `method(args...)` on this client with transaction
/// id 0 (no answer expected): what `broadcast` sends.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct NotifyClient {
    /// The method to call on the client.
    pub method: String,
    /// Its arguments.
    pub args: Vec<crate::protocol::amf::AmfValue>,
}

// ---- streams across nodes ----

/// StreamActor (a local stream on its owner node): `node` has players for
/// this stream; send it the GOP cache, then publish live frames while any
/// node wants them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoteWanted {
    /// The wanting node.
    pub node: crate::cluster::NodeId,
}

/// StreamActor (a local stream on its owner node): `node` has no players
/// left for it (or left the cluster).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoteUnwanted {
    /// The node.
    pub node: crate::cluster::NodeId,
}

/// Registry: a relay stream (fed from another node) lost its last player.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RelayIdle {
    /// The stream.
    pub key: StreamKey,
    /// The relay.
    pub stream: Addr<StreamActor>,
}

/// StreamActor (a relay): stop if still without players; answers whether it
/// stops.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct StopIfIdle;

/// Registry: stream news from other nodes, routed by the cluster router.
#[derive(Message)]
#[rtype(result = "()")]
pub enum StreamNews {
    /// `node` wants this node's stream `key`.
    Wanted {
        /// The stream.
        key: StreamKey,
        /// The wanting node.
        node: crate::cluster::NodeId,
    },
    /// `node` no longer wants `key`.
    Unwanted {
        /// The stream.
        key: StreamKey,
        /// The node.
        node: crate::cluster::NodeId,
    },
    /// `node` just published `key`.
    Published {
        /// The stream.
        key: StreamKey,
        /// The owner node.
        node: crate::cluster::NodeId,
    },
    /// The GOP cache of `key` from its owner `from`.
    Burst {
        /// The stream.
        key: StreamKey,
        /// The sender.
        from: crate::cluster::NodeId,
        /// The frames, in order.
        frames: Vec<Frame>,
    },
    /// A live frame of `key` from `from`.
    Frame {
        /// The stream.
        key: StreamKey,
        /// The sender.
        from: crate::cluster::NodeId,
        /// The frame.
        frame: Frame,
    },
    /// `from` unpublished `key` (or does not publish it).
    Unpublished {
        /// The stream.
        key: StreamKey,
        /// The sender.
        from: crate::cluster::NodeId,
    },
    /// `node` left the cluster.
    NodeLeft(crate::cluster::NodeId),
    /// The bus resubscribed after a reconnect (messages may be lost).
    Resynced,
}

/// Registry: the bus confirmed the subscription of a followed stream's
/// channel; its owner can be asked now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StreamChannelSubscribed {
    /// The stream.
    pub key: StreamKey,
}
