//! The [`ClusterBus`] trait: the one narrow door between a node and the
//! other nodes, over bytes (DESIGN.md §1; modelled on socketioxide-redis's
//! `Driver`).
//!
//! A bus publishes opaque payloads to named channels, keeps a set of
//! subscribed channels that changes at runtime (one per scope, per
//! SharedObject, per stream, per node inbox), and delivers what arrives on
//! those channels — including this node's own publications, exactly like Redis
//! does; the [`events`](super::events) layer drops own echoes by node id — to
//! one bounded [`BusInbox`].
//!
//! # Why object-safe
//!
//! The node picks its bus at start from configuration (`--redis` or not), and
//! many actors hold it; `Arc<dyn ClusterBus>` keeps that choice in one place
//! and keeps actors free of a generic parameter. The cost is one boxed future
//! per subscribe/unsubscribe; the hot path, [`ClusterBus::publish`], is a
//! synchronous enqueue that allocates nothing but its acknowledgement slot.
//!
//! # Ordering and loss
//!
//! `publish` enqueues synchronously, so messages one node publishes leave in
//! call order and, per channel, arrive in that order. Delivery is at most
//! once. Every loss a node can know about is reported in band: after each
//! (re)subscription the inbox yields [`Inbound::Resubscribed`] (messages
//! published while the node was not subscribed are gone) and, after the inbox
//! had to drop messages because its consumer fell behind, [`Inbound::Lost`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use super::envelope::EnvelopeError;
use super::NodeId;

/// Longest accepted channel name, in bytes.
pub const MAX_CHANNEL_LEN: usize = 1024;

/// What a subscription change returns: a boxed `'static` future, so a caller
/// can spawn it without borrowing the bus.
pub type BusFuture<T> = Pin<Box<dyn Future<Output = Result<T, BusError>> + Send + 'static>>;

/// Errors of the bus layer and of the Redis helpers built beside it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The backend cannot be reached right now; the bus keeps retrying.
    #[error("cluster bus unavailable: {reason}")]
    Unavailable {
        /// Why, as last observed (connection refused, timeout, ...).
        reason: String,
    },
    /// The outbound queue is full: the backend is slower than this node
    /// publishes. The message was not sent.
    #[error("cluster bus outbound queue is full ({capacity} messages)")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The bus was shut down.
    #[error("cluster bus is closed")]
    Closed,
    /// A channel name was empty or too long.
    #[error("invalid channel name ({len} bytes): {reason}")]
    InvalidChannel {
        /// The name's length in bytes.
        len: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A payload is larger than the bus accepts.
    #[error("payload of {len} bytes exceeds the {max}-byte limit")]
    PayloadTooLarge {
        /// The payload's length.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// A Redis command failed.
    #[error("redis {op} failed: {source}")]
    Redis {
        /// The operation, e.g. `"SET NX PX"`.
        op: &'static str,
        /// The client's error.
        #[source]
        source: redis::RedisError,
    },
    /// An envelope could not be encoded or decoded.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
}

/// Where the bus stands with its backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusState {
    /// Not yet connected since start.
    Connecting,
    /// Connected and every wanted channel is subscribed.
    Connected,
    /// The backend is unreachable (or a connection broke); the bus retries
    /// with backoff. Local work goes on; cluster-wide operations fail.
    Degraded {
        /// The last error seen.
        reason: String,
    },
    /// The bus was shut down.
    Closed,
}

/// A snapshot of the bus's health, published on a `watch` channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusHealth {
    /// Connection state.
    pub state: BusState,
    /// Bumped every time the bus (re)subscribed all its channels after a
    /// (re)connect. A change means "messages may have been missed: resync";
    /// the same news arrives in band as [`Inbound::Resubscribed`].
    pub generation: u64,
}

impl BusHealth {
    /// Whether the bus is connected.
    pub fn is_connected(&self) -> bool {
        self.state == BusState::Connected
    }
}

/// One item from the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A message on a subscribed channel (possibly this node's own).
    Message {
        /// The channel it was published to.
        channel: Arc<str>,
        /// The payload, as published.
        payload: Bytes,
    },
    /// The bus (re)subscribed all its channels: anything published before
    /// this point while the node was disconnected is lost. Resync everything.
    Resubscribed {
        /// The new generation (also in [`BusHealth::generation`]).
        generation: u64,
    },
    /// The inbox was full and dropped this many messages (of any channel)
    /// since the last report. Resync everything.
    Lost {
        /// How many messages were dropped.
        dropped: u64,
    },
}

/// Counters a bus keeps (for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Messages handed to the backend.
    pub published: u64,
    /// Publications refused or failed (queue full, unavailable, backend error).
    pub publish_failed: u64,
    /// Messages put into the inbox.
    pub received: u64,
    /// Messages the inbox dropped because it was full.
    pub inbox_dropped: u64,
    /// Successful (re)subscriptions after a (re)connect.
    pub resubscriptions: u64,
}

/// The shared atomic counters behind [`BusStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) published: AtomicU64,
    pub(crate) publish_failed: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) inbox_dropped: AtomicU64,
    pub(crate) resubscriptions: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> BusStats {
        BusStats {
            published: self.published.load(Ordering::Relaxed),
            publish_failed: self.publish_failed.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            inbox_dropped: self.inbox_dropped.load(Ordering::Relaxed),
            resubscriptions: self.resubscriptions.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The cluster bus. See the module docs for the contract.
pub trait ClusterBus: Send + Sync + std::fmt::Debug + 'static {
    /// This node's id.
    fn node_id(&self) -> &NodeId;

    /// Queues `payload` for `channel`, in call order, without waiting. The
    /// returned [`PublishAck`] may be awaited for the number of subscribers
    /// (nodes) the backend delivered to, or dropped.
    ///
    /// # Errors
    ///
    /// [`BusError::Unavailable`] while the bus is degraded,
    /// [`BusError::QueueFull`] when the outbound queue is full,
    /// [`BusError::InvalidChannel`], [`BusError::PayloadTooLarge`],
    /// [`BusError::Closed`]. The message was not sent in any of these cases.
    fn publish(&self, channel: &str, payload: Bytes) -> Result<PublishAck, BusError>;

    /// Adds `channel` to the subscribed set. Idempotent. The channel stays in
    /// the set across reconnects; the future resolves once the backend
    /// confirmed the subscription (messages published after that arrive).
    ///
    /// # Errors
    ///
    /// [`BusError::Unavailable`] when the backend is unreachable right now —
    /// the channel is still in the set and becomes live with the next
    /// [`Inbound::Resubscribed`]; [`BusError::InvalidChannel`];
    /// [`BusError::Closed`].
    fn subscribe(&self, channel: &str) -> BusFuture<()>;

    /// Removes `channel` from the subscribed set. Idempotent.
    ///
    /// # Errors
    ///
    /// As [`ClusterBus::subscribe`]; when unavailable the channel is removed
    /// from the set anyway.
    fn unsubscribe(&self, channel: &str) -> BusFuture<()>;

    /// A receiver of the bus's health; `changed()` wakes on every change.
    /// Never hold a borrow of it (`borrow()`, or the `Ref` that
    /// `wait_for` returns) across an `.await`: the bus's tasks cannot update
    /// the health meanwhile and block.
    fn health(&self) -> watch::Receiver<BusHealth>;

    /// Counter snapshot.
    fn stats(&self) -> BusStats;
}

/// Checks a channel name.
pub(crate) fn check_channel(channel: &str) -> Result<(), BusError> {
    if channel.is_empty() {
        return Err(BusError::InvalidChannel {
            len: 0,
            reason: "empty",
        });
    }
    if channel.len() > MAX_CHANNEL_LEN {
        return Err(BusError::InvalidChannel {
            len: channel.len(),
            reason: "longer than MAX_CHANNEL_LEN",
        });
    }
    Ok(())
}

/// The acknowledgement of one publication: resolves to the number of
/// subscribers the backend delivered it to.
#[derive(Debug)]
pub struct PublishAck(AckInner);

#[derive(Debug)]
enum AckInner {
    Ready(Option<Result<usize, BusError>>),
    Pending(oneshot::Receiver<Result<usize, BusError>>),
}

impl PublishAck {
    /// An acknowledgement that is already known.
    pub(crate) fn ready(result: Result<usize, BusError>) -> Self {
        Self(AckInner::Ready(Some(result)))
    }

    /// An acknowledgement completed later through the returned sender.
    pub(crate) fn pending() -> (Self, oneshot::Sender<Result<usize, BusError>>) {
        let (tx, rx) = oneshot::channel();
        (Self(AckInner::Pending(rx)), tx)
    }
}

impl Future for PublishAck {
    type Output = Result<usize, BusError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            AckInner::Ready(result) => Poll::Ready(result.take().unwrap_or(Err(BusError::Closed))),
            AckInner::Pending(rx) => Pin::new(rx)
                .poll(cx)
                .map(|r| r.unwrap_or(Err(BusError::Closed))),
        }
    }
}

/// The receiving end of a bus: one bounded queue of [`Inbound`] items.
#[derive(Debug)]
pub struct BusInbox {
    rx: mpsc::Receiver<Inbound>,
    /// Drops not yet reported as [`Inbound::Lost`].
    unreported: Arc<AtomicU64>,
}

/// The sending side of a [`BusInbox`], used by bus implementations.
#[derive(Debug, Clone)]
pub(crate) struct InboxSender {
    tx: mpsc::Sender<Inbound>,
    unreported: Arc<AtomicU64>,
    counters: Arc<Counters>,
}

/// Makes an inbox of `capacity` items (at least 1).
pub(crate) fn inbox(capacity: usize, counters: Arc<Counters>) -> (InboxSender, BusInbox) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let unreported = Arc::new(AtomicU64::new(0));
    (
        InboxSender {
            tx,
            unreported: unreported.clone(),
            counters,
        },
        BusInbox { rx, unreported },
    )
}

impl InboxSender {
    /// Puts an item into the inbox without waiting; when the inbox is full
    /// the item is dropped, counted, and reported later as [`Inbound::Lost`].
    /// Returns `false` when the inbox was dropped (nobody listens anymore).
    pub(crate) fn push(&self, item: Inbound) -> bool {
        let is_message = matches!(item, Inbound::Message { .. });
        match self.tx.try_send(item) {
            Ok(()) => {
                if is_message {
                    Counters::bump(&self.counters.received);
                }
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.unreported.fetch_add(1, Ordering::Relaxed);
                Counters::bump(&self.counters.inbox_dropped);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Whether the inbox's receiver is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

impl BusInbox {
    /// The next item; `None` once the bus is gone. A pending drop report
    /// comes first.
    pub async fn recv(&mut self) -> Option<Inbound> {
        if let Some(lost) = self.take_lost() {
            return Some(lost);
        }
        let item = self.rx.recv().await;
        // Drops may have happened while this item waited in the full queue;
        // they are reported on the next call.
        item
    }

    /// The next item if one is ready.
    pub fn try_recv(&mut self) -> Option<Inbound> {
        if let Some(lost) = self.take_lost() {
            return Some(lost);
        }
        self.rx.try_recv().ok()
    }

    fn take_lost(&self) -> Option<Inbound> {
        match self.unreported.swap(0, Ordering::Relaxed) {
            0 => None,
            dropped => Some(Inbound::Lost { dropped }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: u8) -> Inbound {
        Inbound::Message {
            channel: Arc::from("c"),
            payload: Bytes::from(vec![n]),
        }
    }

    #[tokio::test]
    async fn a_full_inbox_drops_counts_and_then_reports_the_loss_before_more_items() {
        let counters = Arc::new(Counters::default());
        let (tx, mut inbox) = inbox(2, counters.clone());
        for n in 0..5 {
            assert!(tx.push(message(n)));
        }
        assert_eq!(counters.snapshot().inbox_dropped, 3);
        assert_eq!(counters.snapshot().received, 2);
        assert_eq!(inbox.recv().await, Some(Inbound::Lost { dropped: 3 }));
        assert_eq!(inbox.recv().await, Some(message(0)));
        assert_eq!(inbox.recv().await, Some(message(1)));
        assert_eq!(inbox.try_recv(), None);
    }

    #[tokio::test]
    async fn a_push_into_a_dropped_inbox_says_nobody_listens() {
        let (tx, inbox) = inbox(1, Arc::default());
        drop(inbox);
        assert!(!tx.push(message(0)));
        assert!(tx.is_closed());
    }

    #[tokio::test]
    async fn a_ready_ack_yields_its_result_and_a_dropped_sender_means_closed() {
        assert_eq!(PublishAck::ready(Ok(3)).await.ok(), Some(3));
        let (ack, tx) = PublishAck::pending();
        drop(tx);
        assert!(matches!(ack.await, Err(BusError::Closed)));
    }

    #[test]
    fn channel_names_must_be_non_empty_and_bounded() {
        assert!(check_channel("ferrocast:ch:scope:live").is_ok());
        assert!(check_channel("").is_err());
        assert!(check_channel(&"x".repeat(MAX_CHANNEL_LEN + 1)).is_err());
    }
}
