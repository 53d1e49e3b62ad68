//! [`ClusterNode`]: this node's side of the cluster — the bus it publishes
//! on, the scope channels it subscribes while it has local clients there,
//! its cross-node `callClient` calls awaiting a reply, its heartbeat, and
//! the health `/health` and `/metrics` report (DESIGN.md §3, §4).
//!
//! Without `--redis` the node attaches alone to a [`LocalHub`]: the same
//! code runs, every publication reaches nobody else, and nothing changes for
//! single-node users. With `--redis` it starts a [`RedisBus`] (which returns
//! at once and connects in the background, so a Redis that is down never
//! blocks startup) and a [`Membership`] heartbeat on a lazy connection.
//!
//! What a node does with the events it *receives* is the router's business
//! (`crate::actors::cluster`); this type only publishes and keeps state.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::amf_args::{decode_args, encode_args};
use super::envelope::{CallOutcome, MAX_ENVELOPE_LEN};
use super::{
    BusError, BusHealth, BusState, ClusterBus, ClusterEvent, EventPublisher, EventReceiver,
    Heartbeat, KeySpace, Leases, LocalHub, Membership, MembershipChange, NodeId, PublishAck,
    RedisBus, RedisBusConfig,
};
use crate::app::CallError;
use crate::protocol::amf::AmfValue;
use crate::protocol::limits::AmfLimits;
use crate::settings::Settings;

mod calls;
mod subscriptions;

use calls::error_outcome;
pub use calls::RemoteCall;
use subscriptions::Subscriptions;

/// How long `GET /api/nodes` and a clean leave wait for Redis.
const REDIS_QUERY_LIMIT: Duration = Duration::from_secs(2);

/// How a node is clustered, for `/health`'s `"cluster"` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterStatus {
    /// No `--redis`: a single node.
    Single,
    /// Connected to Redis, every channel subscribed.
    Connected,
    /// Redis is unreachable (or not reached yet): local clients are served,
    /// cluster-wide operations answer errors.
    Degraded {
        /// Why, as last observed.
        reason: String,
    },
}

impl ClusterStatus {
    /// `"single"`, `"connected"` or `"degraded"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Connected => "connected",
            Self::Degraded { .. } => "degraded",
        }
    }
}

/// One live node, as `GET /api/nodes` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeView {
    /// Its id.
    pub node_id: String,
    /// Its RTMP address, as it reported it.
    pub rtmp_addr: Option<String>,
    /// Its HTTP address, as it reported it.
    pub http_addr: Option<String>,
    /// Whether it is the node answering.
    #[serde(rename = "self")]
    pub is_self: bool,
}

#[derive(Debug, Serialize, serde::Deserialize)]
struct HeartbeatInfo {
    rtmp_addr: String,
    http_addr: String,
}

/// What the router task consumes: the receiving side of the bus and, with
/// Redis, the membership changes.
#[derive(Debug)]
pub struct ClusterInputs {
    /// Events from other nodes.
    pub events: EventReceiver,
    /// Nodes joining and leaving (`None` on a single node).
    pub membership: Option<mpsc::Receiver<MembershipChange>>,
}

/// Redis-only parts.
struct RedisParts {
    membership: Membership,
    leases: Leases,
    heartbeat: Mutex<Option<Heartbeat>>,
}

/// This node's handle on the cluster. Cheap to share (`Arc`).
pub struct ClusterNode {
    node_id: NodeId,
    keys: KeySpace,
    publisher: EventPublisher,
    health: watch::Receiver<BusHealth>,
    redis: Option<RedisParts>,
    rtmp_addr: SocketAddr,
    http_addr: SocketAddr,
    subscriptions: Arc<Subscriptions>,
    calls: calls::PendingCalls,
    amf_limits: AmfLimits,
    /// Broadcasts received from other nodes and delivered here.
    pub(crate) broadcasts_received: AtomicU64,
    /// Cross-node calls this node served for other nodes.
    pub(crate) calls_served: AtomicU64,
    /// Set by [`ClusterNode::leave`]: the router stops.
    stopped: watch::Sender<bool>,
    /// `cluster.heartbeat_interval_ms`: also how often stream leases are
    /// refreshed and remote streams looked up.
    heartbeat_interval: Duration,
    /// `cluster.node_ttl_ms`: also the TTL of a stream lease.
    lease_ttl: Duration,
    /// Streams across nodes: frames published to other nodes, frames not
    /// published (bus refused: queue full, Redis down), frames received.
    pub(crate) media: MediaCounters,
}

/// Counters of media relayed through the bus.
#[derive(Debug, Default)]
pub(crate) struct MediaCounters {
    /// Frames (and bursts) this node published for other nodes.
    pub(crate) sent: AtomicU64,
    /// Frames (and bursts) the bus refused (outbox full, Redis unreachable).
    pub(crate) dropped: AtomicU64,
    /// Frames from other nodes fed to a relay here.
    pub(crate) received: AtomicU64,
    /// Gaps seen in relayed frames (messages lost on the way).
    pub(crate) gaps: AtomicU64,
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        self.subscriptions.close();
    }
}

impl std::fmt::Debug for ClusterNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterNode")
            .field("node_id", &self.node_id)
            .field("redis", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

impl ClusterNode {
    /// Starts this node's cluster side from `[cluster]` and returns it with
    /// the inputs for the router. Spawns tokio tasks: call inside a runtime.
    ///
    /// # Errors
    /// [`BusError::Redis`] when `cluster.redis_url` does not parse.
    pub fn start(
        settings: &Settings,
        node_id: &str,
        rtmp_addr: SocketAddr,
        http_addr: SocketAddr,
    ) -> Result<(Arc<Self>, ClusterInputs), BusError> {
        let c = &settings.cluster;
        let node_id = NodeId::new(node_id);
        let keys = KeySpace::new(&c.key_prefix);
        let (bus, inbox, redis): (Arc<dyn ClusterBus>, _, _) = match &c.redis_url {
            None => {
                let (bus, inbox) =
                    LocalHub::new().attach(node_id.clone(), c.inbox_capacity, MAX_ENVELOPE_LEN);
                (Arc::new(bus), inbox, None)
            }
            Some(url) => {
                let mut config = RedisBusConfig::new(url.clone(), node_id.clone());
                config.inbox_capacity = c.inbox_capacity;
                config.outbox_capacity = c.outbox_capacity;
                let (bus, inbox) = RedisBus::start(config)?;
                let conn = lazy_connection(url)?;
                let parts = (
                    Membership::new(conn.clone(), keys.clone()),
                    Leases::new(conn, keys.clone()),
                );
                (Arc::new(bus), inbox, Some(parts))
            }
        };
        let events = EventReceiver::new(inbox, node_id.clone(), MAX_ENVELOPE_LEN);
        let mut inputs = ClusterInputs {
            events,
            membership: None,
        };
        let redis = redis.map(|(membership, leases)| {
            let info = serde_json::to_string(&HeartbeatInfo {
                rtmp_addr: rtmp_addr.to_string(),
                http_addr: http_addr.to_string(),
            })
            .unwrap_or_default();
            let interval = Duration::from_millis(c.heartbeat_interval_ms);
            let ttl = Duration::from_millis(c.node_ttl_ms);
            let heartbeat = membership.spawn_heartbeat(node_id.clone(), info, interval, ttl);
            inputs.membership = Some(membership.watch(interval));
            RedisParts {
                membership,
                leases,
                heartbeat: Mutex::new(Some(heartbeat)),
            }
        });
        let subscriptions = Arc::new(Subscriptions::new(bus.clone(), keys.clone()));
        subscriptions.spawn(keys.node_channel(&node_id));
        let node = Arc::new(Self {
            health: bus.health(),
            publisher: EventPublisher::new(bus),
            keys,
            rtmp_addr,
            http_addr,
            subscriptions,
            calls: calls::PendingCalls::new(c.max_pending_calls, settings.calls.timeout_ms),
            amf_limits: settings.protocol_limits().amf,
            broadcasts_received: AtomicU64::new(0),
            calls_served: AtomicU64::new(0),
            stopped: watch::channel(false).0,
            heartbeat_interval: Duration::from_millis(c.heartbeat_interval_ms.max(1)),
            lease_ttl: Duration::from_millis(c.node_ttl_ms.max(1)),
            media: MediaCounters::default(),
            redis,
            node_id,
        });
        Ok((node, inputs))
    }

    /// This node's id.
    pub fn node_id(&self) -> &NodeId {
        &self.node_id
    }

    /// The bus (stream relays and SharedObject actors subscribe their
    /// channels on it).
    pub fn bus(&self) -> &Arc<dyn ClusterBus> {
        self.publisher.bus()
    }

    /// The next sequence number of this node on `channel`, for an envelope
    /// Redis publishes on its behalf (SharedObject changes).
    pub fn next_seq(&self, channel: &str) -> u64 {
        self.publisher.next_seq(channel)
    }

    /// The key space of channel and key names.
    pub fn keys(&self) -> &KeySpace {
        &self.keys
    }

    /// The bounds for decoding AMF that arrives from other nodes.
    pub fn amf_limits(&self) -> AmfLimits {
        self.amf_limits
    }

    /// The stream-ownership leases (`None` on a single node).
    pub fn leases(&self) -> Option<&Leases> {
        self.redis.as_ref().map(|r| &r.leases)
    }

    /// How often heartbeats, lease refreshes and remote-stream lookups run.
    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat_interval
    }

    /// How long a stream lease lives unless refreshed.
    pub fn lease_ttl(&self) -> Duration {
        self.lease_ttl
    }

    /// Numbers, encodes and queues `event` on `channel` (stream events).
    ///
    /// # Errors
    /// As [`EventPublisher::publish`]: the bus refused it (queue full, Redis
    /// unreachable, too large).
    pub fn publish_event(
        &self,
        channel: &str,
        event: ClusterEvent,
    ) -> Result<PublishAck, BusError> {
        self.publisher.publish(channel, event)
    }

    /// Resolves once [`leave`](Self::leave) was called.
    pub async fn stopped(&self) {
        let mut rx = self.stopped.subscribe();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }

    /// Whether this node runs with Redis.
    pub fn is_clustered(&self) -> bool {
        self.redis.is_some()
    }

    /// The `/health` status.
    pub fn status(&self) -> ClusterStatus {
        if self.redis.is_none() {
            return ClusterStatus::Single;
        }
        match &self.health.borrow().state {
            BusState::Connected => ClusterStatus::Connected,
            BusState::Connecting => ClusterStatus::Degraded {
                reason: "connecting to Redis".to_string(),
            },
            BusState::Degraded { reason } => ClusterStatus::Degraded {
                reason: reason.clone(),
            },
            BusState::Closed => ClusterStatus::Degraded {
                reason: "the cluster bus is closed".to_string(),
            },
        }
    }

    /// A scope got its first local client (`true`) or lost its last:
    /// (un)subscribe its broadcast channel. Never blocks.
    pub fn scope_changed(&self, scope: &str, present: bool) {
        self.subscriptions.set(scope, present);
    }

    /// The bus (re)subscribed every wanted channel.
    pub(crate) fn resubscribed(&self) {
        self.subscriptions.all_confirmed();
    }

    /// Resolves a pending call with the reply that arrived.
    pub(crate) fn resolve(&self, correlation_id: u64, outcome: CallOutcome) {
        let limits = self.amf_limits;
        self.calls
            .resolve(correlation_id, |client_id| match outcome {
                CallOutcome::Result(body) => {
                    decode_args(body, limits).map_err(|e| CallError::Failed {
                        description: format!("the reply of client {client_id:?} is malformed: {e}"),
                    })
                }
                CallOutcome::Error(body) => Err(CallError::Failed {
                    description: decode_args(body, limits)
                        .ok()
                        .and_then(|v| v.first().and_then(|d| d.as_str().map(str::to_string)))
                        .unwrap_or_else(|| "the client answered _error".to_string()),
                }),
                CallOutcome::NoSuchClient => Err(CallError::NoSuchClient { client_id }),
            });
    }

    /// Fails every pending call to a node that left the cluster.
    pub(crate) fn node_left(&self, node: &NodeId) {
        self.calls.fail_node(node);
    }

    /// Sends the answer of a call this node served to the origin's inbox.
    pub(crate) fn reply(
        &self,
        origin: &NodeId,
        correlation_id: u64,
        target_client: String,
        answer: Result<Vec<AmfValue>, CallError>,
    ) {
        self.calls_served.fetch_add(1, Ordering::Relaxed);
        let outcome = match answer {
            Ok(values) => match encode_args(&values) {
                Ok(body) => CallOutcome::Result(body),
                Err(e) => error_outcome(&format!("the client's result cannot be relayed: {e}")),
            },
            Err(CallError::NoSuchClient { .. }) => CallOutcome::NoSuchClient,
            Err(CallError::Failed { description }) => error_outcome(&description),
            Err(other) => error_outcome(&other.to_string()),
        };
        let event = ClusterEvent::CallClientReply {
            correlation_id,
            target_client,
            outcome,
        };
        if let Err(error) = self
            .publisher
            .publish(&self.keys.node_channel(origin), event)
        {
            tracing::warn!(%origin, correlation_id, %error, "cannot send a callClient reply");
        }
    }

    /// The live nodes: from the heartbeats with Redis, this node alone
    /// without.
    ///
    /// # Errors
    /// [`BusError`] when Redis cannot be asked.
    pub async fn nodes(&self) -> Result<Vec<NodeView>, BusError> {
        let Some(redis) = &self.redis else {
            return Ok(vec![NodeView {
                node_id: self.node_id.to_string(),
                rtmp_addr: Some(self.rtmp_addr.to_string()),
                http_addr: Some(self.http_addr.to_string()),
                is_self: true,
            }]);
        };
        let live = tokio::time::timeout(REDIS_QUERY_LIMIT, redis.membership.live_nodes())
            .await
            .map_err(|_| BusError::Unavailable {
                reason: "listing the live nodes timed out".to_string(),
            })??;
        Ok(live
            .into_iter()
            .map(|node| {
                let info: Option<HeartbeatInfo> = serde_json::from_str(&node.info).ok();
                NodeView {
                    is_self: node.id == self.node_id,
                    node_id: node.id.to_string(),
                    rtmp_addr: info.as_ref().map(|i| i.rtmp_addr.clone()),
                    http_addr: info.map(|i| i.http_addr),
                }
            })
            .collect())
    }

    /// Stops heartbeating and removes this node's heartbeat key (clean
    /// shutdown), waiting for Redis at most a moment.
    pub async fn leave(&self) {
        self.stopped.send_replace(true);
        let Some(redis) = &self.redis else { return };
        drop(lock(&redis.heartbeat).take());
        let left = tokio::time::timeout(REDIS_QUERY_LIMIT, redis.membership.leave(&self.node_id));
        if !matches!(left.await, Ok(Ok(()))) {
            tracing::warn!(node = %self.node_id, "could not remove the heartbeat; it expires by itself");
        }
    }

    /// The Prometheus text of the cluster's counters.
    pub fn render_metrics(&self) -> String {
        let stats = self.publisher.bus().stats();
        let health = self.health.borrow().clone();
        let media = &self.media;
        let rows: [(&str, &str, &str, u64); 13] = [
            ("ferrocast_cluster_connected", "gauge", "1 while the cluster bus is connected (always 1 on a single node).", u64::from(health.is_connected())),
            ("ferrocast_cluster_generation", "gauge", "Bus (re)subscriptions after a (re)connect; a bump means messages may have been missed.", health.generation),
            ("ferrocast_cluster_published_total", "counter", "Cluster messages handed to the bus.", stats.published),
            ("ferrocast_cluster_publish_failed_total", "counter", "Cluster publications refused or failed.", stats.publish_failed),
            ("ferrocast_cluster_received_total", "counter", "Cluster messages received (own echoes included).", stats.received),
            ("ferrocast_cluster_dropped_total", "counter", "Cluster messages dropped because the inbox was full.", stats.inbox_dropped),
            ("ferrocast_cluster_resubscriptions_total", "counter", "Successful (re)subscriptions of every channel.", stats.resubscriptions),
            ("ferrocast_cluster_remote_calls_pending", "gauge", "Cross-node callClient calls awaiting a reply.", self.calls.len() as u64),
            ("ferrocast_cluster_broadcasts_received_total", "counter", "Broadcasts from other nodes delivered here.", self.broadcasts_received.load(Ordering::Relaxed)),
            ("ferrocast_cluster_media_sent_total", "counter", "Media frames and GOP bursts published for other nodes.", media.sent.load(Ordering::Relaxed)),
            ("ferrocast_cluster_media_dropped_total", "counter", "Media frames and GOP bursts the bus refused (outbox full, Redis unreachable).", media.dropped.load(Ordering::Relaxed)),
            ("ferrocast_cluster_media_received_total", "counter", "Media frames from other nodes fed to relays here.", media.received.load(Ordering::Relaxed)),
            ("ferrocast_cluster_media_gaps_total", "counter", "Gaps seen in media frames relayed from other nodes.", media.gaps.load(Ordering::Relaxed)),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in rows {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        }
        out
    }
}

/// A lazy connection for membership and leases: nothing is dialled until
/// the first heartbeat, so an unreachable Redis does not block startup.
fn lazy_connection(url: &str) -> Result<redis::aio::ConnectionManager, BusError> {
    let client =
        redis::Client::open(url).map_err(|source| BusError::Redis { op: "open", source })?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(REDIS_QUERY_LIMIT))
        .set_response_timeout(Some(REDIS_QUERY_LIMIT))
        .set_number_of_retries(1);
    redis::aio::ConnectionManager::new_lazy_with_config(client, config).map_err(|source| {
        BusError::Redis {
            op: "connection manager",
            source,
        }
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
