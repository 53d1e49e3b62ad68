//! [`RedisBus`]: the [`ClusterBus`] over Redis pub/sub (DESIGN.md §4, §6).
//!
//! Two connections, two tasks:
//!
//! - a **publisher** task owns a `ConnectionManager` and drains the bounded
//!   outbound queue in batches, one pipeline of `PUBLISH` commands per batch,
//!   so messages leave in queue order with one round trip per batch; it also
//!   `PING`s on an interval while idle so command-side health stays current;
//! - a **subscriber** task owns an `aio::PubSub` connection and the set of
//!   wanted channels. Redis pub/sub is at-most-once and silently drops a
//!   subscriber over its output-buffer limit, and a connection manager does
//!   not resubscribe by itself: so after every (re)connect this task
//!   subscribes every wanted channel again, bumps the generation, puts
//!   [`Inbound::Resubscribed`] in the inbox (before any message of the new
//!   connection) and reports `Connected`. It pings on an interval so a silent
//!   dead connection is noticed; it reconnects with capped exponential
//!   backoff with jitter, reporting `Degraded` meanwhile.
//!
//! Everything is bounded: the outbound queue (full → [`BusError::QueueFull`]),
//! the inbox (full → drop, count, [`Inbound::Lost`]), payload size. The
//! Redis client's own pub/sub queue is drained without waiting into the
//! inbox, so it never holds more than what arrived during one subscribe call.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{timeout, MissedTickBehavior};

use super::bus::{
    check_channel, inbox, BusError, BusFuture, BusHealth, BusInbox, BusState, BusStats, ClusterBus,
    Counters, PublishAck,
};
use super::NodeId;

mod subscriber;

use subscriber::subscriber;

/// How a [`RedisBus`] connects and how much it buffers.
#[derive(Debug, Clone)]
pub struct RedisBusConfig {
    /// `redis://host:port/db`.
    pub url: String,
    /// This node's id.
    pub node_id: NodeId,
    /// Inbox capacity, in messages.
    pub inbox_capacity: usize,
    /// Outbound queue capacity, in messages.
    pub outbox_capacity: usize,
    /// Largest payload accepted for publishing, in bytes.
    pub max_payload: usize,
    /// Most `PUBLISH` commands in one pipeline.
    pub publish_batch: usize,
    /// First reconnect delay.
    pub backoff_initial: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Limit of one connection attempt and of one command round trip.
    pub timeout: Duration,
    /// How often both connections are pinged.
    pub ping_interval: Duration,
}

impl RedisBusConfig {
    /// Defaults: 4096-message queues, 8 MiB payloads, batches of 64,
    /// backoff 100 ms doubling up to 2 s, 2 s timeouts, a ping every second.
    pub fn new(url: impl Into<String>, node_id: NodeId) -> Self {
        Self {
            url: url.into(),
            node_id,
            inbox_capacity: 4096,
            outbox_capacity: 4096,
            max_payload: 8 * 1024 * 1024,
            publish_batch: 64,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
            ping_interval: Duration::from_secs(1),
        }
    }
}

/// The reconnect delay before attempt `attempt` (0-based): `initial · 2^attempt`
/// capped at `max`, then spread into its upper half by `jitter` ∈ [0, 1).
pub fn backoff_delay(attempt: u32, initial: Duration, max: Duration, jitter: f64) -> Duration {
    let factor = 2u32.saturating_pow(attempt.min(30));
    let base = initial.saturating_mul(factor).min(max);
    base / 2 + base.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
}

/// The state of one of the two connections.
#[derive(Debug, Clone)]
enum Link {
    Connecting,
    Up,
    Down(String),
}

#[derive(Debug)]
struct Shared {
    counters: Arc<Counters>,
    health: watch::Sender<BusHealth>,
    links: Mutex<(Link, Link)>,
}

impl Shared {
    /// Records one connection's state and republishes the combined health.
    fn set_link(&self, subscriber: bool, link: Link) {
        let mut links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        if subscriber {
            links.0 = link;
        } else {
            links.1 = link;
        }
        let state = match &*links {
            (Link::Down(reason), _) => BusState::Degraded {
                reason: format!("pub/sub connection: {reason}"),
            },
            (_, Link::Down(reason)) => BusState::Degraded {
                reason: format!("command connection: {reason}"),
            },
            (Link::Connecting, _) | (_, Link::Connecting) => BusState::Connecting,
            (Link::Up, Link::Up) => BusState::Connected,
        };
        drop(links);
        self.health.send_if_modified(|h| {
            let changed = h.state != state;
            h.state = state;
            changed
        });
    }

    fn set_generation(&self, generation: u64) {
        self.health.send_modify(|h| h.generation = generation);
    }
}

struct Outgoing {
    channel: String,
    payload: Bytes,
    ack: oneshot::Sender<Result<usize, BusError>>,
}

enum Control {
    Subscribe(Arc<str>, oneshot::Sender<Result<(), BusError>>),
    Unsubscribe(Arc<str>, oneshot::Sender<Result<(), BusError>>),
}

/// The Redis pub/sub bus. Dropping it stops its tasks.
#[derive(Debug)]
pub struct RedisBus {
    node_id: NodeId,
    max_payload: usize,
    outbox_capacity: usize,
    out_tx: mpsc::Sender<Outgoing>,
    ctl_tx: mpsc::Sender<Control>,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Outgoing({}, {} bytes)",
            self.channel,
            self.payload.len()
        )
    }
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Control::Subscribe(c, _) => write!(f, "Subscribe({c})"),
            Control::Unsubscribe(c, _) => write!(f, "Unsubscribe({c})"),
        }
    }
}

impl RedisBus {
    /// Starts the bus and returns at once, `Connecting`; it connects in the
    /// background and keeps retrying while Redis is unreachable. Must be
    /// called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`BusError::Redis`] if the URL does not parse.
    pub fn start(config: RedisBusConfig) -> Result<(Self, BusInbox), BusError> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|source| BusError::Redis { op: "open", source })?;
        let counters = Arc::new(Counters::default());
        let (health, _) = watch::channel(BusHealth {
            state: BusState::Connecting,
            generation: 0,
        });
        let shared = Arc::new(Shared {
            counters: counters.clone(),
            health,
            links: Mutex::new((Link::Connecting, Link::Connecting)),
        });
        let (inbox_tx, inbox_rx) = inbox(config.inbox_capacity, counters);
        let (out_tx, out_rx) = mpsc::channel(config.outbox_capacity.max(1));
        let (ctl_tx, ctl_rx) = mpsc::channel(64);
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_min_delay(config.backoff_initial)
            .set_max_delay(config.backoff_max)
            .set_number_of_retries(2);
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), manager_config)
            .map_err(|source| BusError::Redis {
                op: "connection manager",
                source,
            })?;
        let tasks = vec![
            tokio::spawn(publisher(manager, out_rx, shared.clone(), config.clone())),
            tokio::spawn(subscriber(
                client,
                ctl_rx,
                inbox_tx,
                shared.clone(),
                config.clone(),
            )),
        ];
        let bus = Self {
            node_id: config.node_id,
            max_payload: config.max_payload,
            outbox_capacity: config.outbox_capacity.max(1),
            out_tx,
            ctl_tx,
            shared,
            tasks,
        };
        Ok((bus, inbox_rx))
    }

    fn control(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), BusError>>) -> Control,
    ) -> BusFuture<()> {
        let (tx, rx) = oneshot::channel();
        let ctl_tx = self.ctl_tx.clone();
        let control = make(tx);
        Box::pin(async move {
            ctl_tx.send(control).await.map_err(|_| BusError::Closed)?;
            rx.await.unwrap_or(Err(BusError::Closed))
        })
    }
}

impl ClusterBus for RedisBus {
    fn node_id(&self) -> &NodeId {
        &self.node_id
    }

    fn publish(&self, channel: &str, payload: Bytes) -> Result<PublishAck, BusError> {
        let result = self.try_publish(channel, payload);
        if result.is_err() {
            Counters::bump(&self.shared.counters.publish_failed);
        }
        result
    }

    fn subscribe(&self, channel: &str) -> BusFuture<()> {
        if let Err(e) = check_channel(channel) {
            return Box::pin(std::future::ready(Err(e)));
        }
        self.control(|tx| Control::Subscribe(Arc::from(channel), tx))
    }

    fn unsubscribe(&self, channel: &str) -> BusFuture<()> {
        if let Err(e) = check_channel(channel) {
            return Box::pin(std::future::ready(Err(e)));
        }
        self.control(|tx| Control::Unsubscribe(Arc::from(channel), tx))
    }

    fn health(&self) -> watch::Receiver<BusHealth> {
        self.shared.health.subscribe()
    }

    fn stats(&self) -> BusStats {
        self.shared.counters.snapshot()
    }
}

impl RedisBus {
    fn try_publish(&self, channel: &str, payload: Bytes) -> Result<PublishAck, BusError> {
        check_channel(channel)?;
        if payload.len() > self.max_payload {
            return Err(BusError::PayloadTooLarge {
                len: payload.len(),
                max: self.max_payload,
            });
        }
        if let BusState::Degraded { reason } = &self.shared.health.borrow().state {
            return Err(BusError::Unavailable {
                reason: reason.clone(),
            });
        }
        let (ack, tx) = PublishAck::pending();
        let outgoing = Outgoing {
            channel: channel.to_owned(),
            payload,
            ack: tx,
        };
        self.out_tx.try_send(outgoing).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => BusError::QueueFull {
                capacity: self.outbox_capacity,
            },
            mpsc::error::TrySendError::Closed(_) => BusError::Closed,
        })?;
        Ok(ack)
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.shared
            .health
            .send_modify(|h| h.state = BusState::Closed);
    }
}

/// The publisher task: batches of `PUBLISH` in a pipeline, pings when idle.
async fn publisher(
    mut manager: ConnectionManager,
    mut out_rx: mpsc::Receiver<Outgoing>,
    shared: Arc<Shared>,
    config: RedisBusConfig,
) {
    let mut ping = tokio::time::interval(config.ping_interval);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut batch = Vec::with_capacity(config.publish_batch.max(1));
    loop {
        tokio::select! {
            first = out_rx.recv() => {
                let Some(first) = first else { return };
                batch.push(first);
                while batch.len() < config.publish_batch.max(1) {
                    match out_rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                send_batch(&mut manager, &mut batch, &shared, config.timeout).await;
            }
            _ = ping.tick() => {
                let pong = timeout(config.timeout, redis::cmd("PING").query_async::<String>(&mut manager)).await;
                match pong {
                    Ok(Ok(_)) => shared.set_link(false, Link::Up),
                    Ok(Err(e)) => shared.set_link(false, Link::Down(e.to_string())),
                    Err(_) => shared.set_link(false, Link::Down("PING timed out".into())),
                }
            }
        }
    }
}

async fn send_batch(
    manager: &mut ConnectionManager,
    batch: &mut Vec<Outgoing>,
    shared: &Shared,
    limit: Duration,
) {
    let mut pipe = redis::pipe();
    for m in batch.iter() {
        pipe.cmd("PUBLISH").arg(&m.channel).arg(m.payload.as_ref());
    }
    let result = match timeout(limit, pipe.query_async::<Vec<usize>>(manager)).await {
        Ok(Ok(counts)) if counts.len() == batch.len() => Ok(counts),
        Ok(Ok(counts)) => Err(format!(
            "{} replies to {} PUBLISH",
            counts.len(),
            batch.len()
        )),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("PUBLISH timed out".to_owned()),
    };
    match result {
        Ok(counts) => {
            shared.set_link(false, Link::Up);
            for (m, count) in batch.drain(..).zip(counts) {
                Counters::bump(&shared.counters.published);
                let _ = m.ack.send(Ok(count));
            }
        }
        Err(reason) => {
            tracing::warn!(%reason, messages = batch.len(), "cluster publish failed");
            shared.set_link(false, Link::Down(reason.clone()));
            for m in batch.drain(..) {
                Counters::bump(&shared.counters.publish_failed);
                let _ = m.ack.send(Err(BusError::Unavailable {
                    reason: reason.clone(),
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_initial_delay_and_stays_under_the_cap() {
        let (initial, max) = (Duration::from_millis(100), Duration::from_secs(2));
        assert_eq!(
            backoff_delay(0, initial, max, 0.0),
            Duration::from_millis(50)
        );
        assert_eq!(backoff_delay(0, initial, max, 0.999_999).as_millis(), 99);
        assert_eq!(
            backoff_delay(3, initial, max, 0.0),
            Duration::from_millis(400)
        );
        assert_eq!(backoff_delay(10, initial, max, 0.0), Duration::from_secs(1));
        assert!(backoff_delay(u32::MAX, initial, max, 1.0) <= max);
    }

    #[test]
    fn health_is_degraded_while_either_connection_is_down_and_connected_when_both_are_up() {
        let (health, rx) = watch::channel(BusHealth {
            state: BusState::Connecting,
            generation: 0,
        });
        let shared = Shared {
            counters: Arc::default(),
            health,
            links: Mutex::new((Link::Connecting, Link::Connecting)),
        };
        shared.set_link(true, Link::Up);
        assert_eq!(rx.borrow().state, BusState::Connecting);
        shared.set_link(false, Link::Up);
        assert_eq!(rx.borrow().state, BusState::Connected);
        shared.set_link(false, Link::Down("refused".into()));
        assert!(
            matches!(&rx.borrow().state, BusState::Degraded { reason } if reason.contains("refused"))
        );
        shared.set_link(false, Link::Up);
        shared.set_link(true, Link::Down("closed".into()));
        assert!(
            matches!(&rx.borrow().state, BusState::Degraded { reason } if reason.contains("pub/sub"))
        );
    }
}
