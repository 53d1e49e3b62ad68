//! [`LocalBus`]: the in-process [`ClusterBus`]. A [`LocalHub`] is the
//! "server"; each node attaches to it and gets its own bus and inbox. A
//! single node uses a hub with one attachment; tests attach several nodes to
//! one hub and run a whole cluster in one process.
//!
//! Semantics match [`RedisBus`](super::RedisBus) except durability and
//! faults: a publication reaches every attachment subscribed to its channel
//! at that moment (the publisher's own included), in one total order per
//! channel; each inbox is bounded and drops (and reports) when full. The bus
//! is always connected, at generation 1 (one [`Inbound::Resubscribed`] at
//! attach time).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tokio::sync::watch;

use super::bus::{
    check_channel, inbox, BusError, BusFuture, BusHealth, BusInbox, BusState, BusStats, ClusterBus,
    Counters, Inbound, InboxSender, PublishAck,
};
use super::NodeId;

/// Which attachment a subscription belongs to.
type AttachmentId = u64;

#[derive(Debug, Default)]
struct HubState {
    next_id: AttachmentId,
    /// channel → attachments subscribed to it.
    channels: HashMap<Arc<str>, HashSet<AttachmentId>>,
    /// attachment → its inbox.
    inboxes: HashMap<AttachmentId, InboxSender>,
}

/// The in-process message hub several nodes attach to. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct LocalHub {
    state: Arc<Mutex<HubState>>,
}

/// One node's attachment to a [`LocalHub`]. Dropping it detaches the node.
#[derive(Debug)]
pub struct LocalBus {
    hub: LocalHub,
    id: AttachmentId,
    node_id: NodeId,
    max_payload: usize,
    counters: Arc<Counters>,
    health_tx: watch::Sender<BusHealth>,
}

impl LocalHub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// Attaches a node: its bus, and its inbox of `inbox_capacity` items
    /// (which starts with one [`Inbound::Resubscribed`]). Payloads over
    /// `max_payload` bytes are refused.
    pub fn attach(
        &self,
        node_id: NodeId,
        inbox_capacity: usize,
        max_payload: usize,
    ) -> (LocalBus, BusInbox) {
        let counters = Arc::new(Counters::default());
        let (tx, rx) = inbox(inbox_capacity, counters.clone());
        tx.push(Inbound::Resubscribed { generation: 1 });
        Counters::bump(&counters.resubscriptions);
        let mut state = self.lock();
        state.next_id += 1;
        let id = state.next_id;
        state.inboxes.insert(id, tx);
        drop(state);
        let (health_tx, _) = watch::channel(BusHealth {
            state: BusState::Connected,
            generation: 1,
        });
        let bus = LocalBus {
            hub: self.clone(),
            id,
            node_id,
            max_payload,
            counters,
            health_tx,
        };
        (bus, rx)
    }

    /// How many attachments are subscribed to `channel`.
    pub fn subscribers(&self, channel: &str) -> usize {
        self.lock().channels.get(channel).map_or(0, HashSet::len)
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        // The state stays consistent across a panic elsewhere (every update
        // is a single insert/remove), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ClusterBus for LocalBus {
    fn node_id(&self) -> &NodeId {
        &self.node_id
    }

    fn publish(&self, channel: &str, payload: Bytes) -> Result<PublishAck, BusError> {
        let checked = check_channel(channel).and_then(|()| {
            if payload.len() > self.max_payload {
                Err(BusError::PayloadTooLarge {
                    len: payload.len(),
                    max: self.max_payload,
                })
            } else {
                Ok(())
            }
        });
        if let Err(e) = checked {
            Counters::bump(&self.counters.publish_failed);
            return Err(e);
        }
        let state = self.hub.lock();
        let mut delivered = 0;
        if let Some((name, subscribers)) = state.channels.get_key_value(channel) {
            for id in subscribers {
                if let Some(tx) = state.inboxes.get(id) {
                    // Counted as delivered even when the inbox is full, as
                    // Redis counts a subscriber it later drops.
                    tx.push(Inbound::Message {
                        channel: name.clone(),
                        payload: payload.clone(),
                    });
                    delivered += 1;
                }
            }
        }
        drop(state);
        Counters::bump(&self.counters.published);
        Ok(PublishAck::ready(Ok(delivered)))
    }

    fn subscribe(&self, channel: &str) -> BusFuture<()> {
        let result = check_channel(channel).map(|()| {
            let mut state = self.hub.lock();
            match state.channels.get_mut(channel) {
                Some(set) => {
                    set.insert(self.id);
                }
                None => {
                    state
                        .channels
                        .insert(Arc::from(channel), HashSet::from([self.id]));
                }
            }
        });
        Box::pin(std::future::ready(result))
    }

    fn unsubscribe(&self, channel: &str) -> BusFuture<()> {
        let result = check_channel(channel).map(|()| {
            let mut state = self.hub.lock();
            if let Some(set) = state.channels.get_mut(channel) {
                set.remove(&self.id);
                if set.is_empty() {
                    state.channels.remove(channel);
                }
            }
        });
        Box::pin(std::future::ready(result))
    }

    fn health(&self) -> watch::Receiver<BusHealth> {
        self.health_tx.subscribe()
    }

    fn stats(&self) -> BusStats {
        self.counters.snapshot()
    }
}

impl Drop for LocalBus {
    fn drop(&mut self) {
        let mut state = self.hub.lock();
        state.inboxes.remove(&self.id);
        state.channels.retain(|_, set| {
            set.remove(&self.id);
            !set.is_empty()
        });
        drop(state);
        self.health_tx.send_replace(BusHealth {
            state: BusState::Closed,
            generation: 1,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(channel: &str, payload: &'static [u8]) -> Inbound {
        Inbound::Message {
            channel: Arc::from(channel),
            payload: Bytes::from_static(payload),
        }
    }

    #[tokio::test]
    async fn an_attached_node_first_hears_that_it_is_subscribed() {
        let hub = LocalHub::new();
        let (bus, mut inbox) = hub.attach(NodeId::from("a"), 8, 1024);
        assert_eq!(
            inbox.recv().await,
            Some(Inbound::Resubscribed { generation: 1 })
        );
        assert!(bus.health().borrow().is_connected());
    }

    #[tokio::test]
    async fn only_subscribers_of_a_channel_receive_it_including_the_publisher() {
        let hub = LocalHub::new();
        let (a, mut ia) = hub.attach(NodeId::from("a"), 8, 1024);
        let (b, mut ib) = hub.attach(NodeId::from("b"), 8, 1024);
        let _ = (ia.recv().await, ib.recv().await);
        a.subscribe("x").await.expect("subscribes");
        b.subscribe("y").await.expect("subscribes");
        assert_eq!(
            a.publish("x", Bytes::from_static(b"1"))
                .expect("queued")
                .await
                .ok(),
            Some(1)
        );
        assert_eq!(
            b.publish("y", Bytes::from_static(b"2"))
                .expect("queued")
                .await
                .ok(),
            Some(1)
        );
        assert_eq!(ia.try_recv(), Some(msg("x", b"1")));
        assert_eq!(ib.try_recv(), Some(msg("y", b"2")));
        assert_eq!((ia.try_recv(), ib.try_recv()), (None, None));
        b.unsubscribe("y").await.expect("unsubscribes");
        assert_eq!(
            a.publish("y", Bytes::from_static(b"3"))
                .expect("queued")
                .await
                .ok(),
            Some(0)
        );
        assert_eq!(hub.subscribers("y"), 0);
    }

    #[tokio::test]
    async fn a_dropped_bus_is_detached_from_every_channel() {
        let hub = LocalHub::new();
        let (a, _ia) = hub.attach(NodeId::from("a"), 8, 1024);
        a.subscribe("x").await.expect("subscribes");
        assert_eq!(hub.subscribers("x"), 1);
        drop(a);
        assert_eq!(hub.subscribers("x"), 0);
    }

    #[test]
    fn oversized_payloads_and_bad_channels_are_refused_and_counted() {
        let hub = LocalHub::new();
        let (a, _ia) = hub.attach(NodeId::from("a"), 8, 4);
        assert!(matches!(
            a.publish("x", Bytes::from_static(b"12345")),
            Err(BusError::PayloadTooLarge { len: 5, max: 4 })
        ));
        assert!(matches!(
            a.publish("", Bytes::new()),
            Err(BusError::InvalidChannel { .. })
        ));
        assert_eq!(a.stats().publish_failed, 2);
    }
}
