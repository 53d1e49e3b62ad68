//! Typed events over a bus: [`EventPublisher`] numbers and encodes,
//! [`EventReceiver`] decodes, drops this node's own echoes and detects gaps.
//!
//! Sequence numbers count per channel on the sending node, from 1, so a
//! receiver subscribed to a channel sees every number a sender used on it: a
//! jump means messages were lost (Redis dropped them, or the sender's
//! publication failed after numbering) and is reported as
//! [`Received::Event::missed`]. A number at or below the last one seen means
//! the sender restarted under the same node id; it becomes the new baseline.
//! The receiver forgets a channel's baselines on
//! [`EventReceiver::forget_channel`] (after unsubscribing) and a node's on
//! [`EventReceiver::forget_node`] (after it left), and on every resync.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::bus::{BusError, BusInbox, ClusterBus, Inbound, PublishAck};
use super::envelope::{ClusterEvent, Envelope};
use super::NodeId;

/// Publishes typed events on a bus.
#[derive(Debug)]
pub struct EventPublisher {
    bus: Arc<dyn ClusterBus>,
    /// Last sequence number used, per channel. One entry per channel this
    /// node ever published to.
    seqs: Mutex<HashMap<String, u64>>,
}

impl EventPublisher {
    /// A publisher on `bus`, sending as the bus's node.
    pub fn new(bus: Arc<dyn ClusterBus>) -> Self {
        Self {
            bus,
            seqs: Mutex::new(HashMap::new()),
        }
    }

    /// The bus underneath.
    pub fn bus(&self) -> &Arc<dyn ClusterBus> {
        &self.bus
    }

    /// Forgets `channel`'s sequence counter (a channel this node will not
    /// publish to again, e.g. an ended stream's), bounding the counter map.
    /// Should it publish there again, numbering restarts at 1, which
    /// receivers take as a new baseline.
    pub fn forget_channel(&self, channel: &str) {
        self.seqs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(channel);
    }

    /// Takes the next sequence number on `channel` for an envelope that
    /// is published by someone else on this node's behalf (the Redis
    /// SharedObject script).
    pub fn next_seq(&self, channel: &str) -> u64 {
        let mut seqs = self.seqs.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = seqs.entry(channel.to_owned()).or_insert(0);
        *seq += 1;
        *seq
    }

    /// Numbers, encodes and queues `event` on `channel`.
    ///
    /// # Errors
    ///
    /// [`BusError::Envelope`] if the event cannot be encoded; otherwise as
    /// [`ClusterBus::publish`]. A failed publication still used its sequence
    /// number, so receivers see a gap and resync.
    pub fn publish(&self, channel: &str, event: ClusterEvent) -> Result<PublishAck, BusError> {
        // Numbering and enqueueing under one lock keep sequence order equal
        // to queue order when several actors publish on one channel.
        let mut seqs = self.seqs.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = match seqs.get_mut(channel) {
            Some(seq) => {
                *seq += 1;
                *seq
            }
            None => {
                seqs.insert(channel.to_owned(), 1);
                1
            }
        };
        let wire = Envelope::new(self.bus.node_id().clone(), seq, event).encode()?;
        self.bus.publish(channel, wire)
    }
}

/// What [`EventReceiver::recv`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// An event from another node.
    Event {
        /// The channel it came on.
        channel: Arc<str>,
        /// The envelope.
        envelope: Envelope,
        /// How many messages from this sender on this channel were missed
        /// just before this one (0 = none). Non-zero: resync what this
        /// channel replicates.
        missed: u64,
    },
    /// Messages may have been lost on any channel (resubscription after a
    /// reconnect, or a full inbox): resync everything replicated.
    ResyncAll {
        /// The bus generation, when this follows a resubscription.
        generation: Option<u64>,
    },
}

/// Receives typed events from a bus inbox.
#[derive(Debug)]
pub struct EventReceiver {
    inbox: BusInbox,
    node_id: NodeId,
    max_len: usize,
    /// Last sequence number seen per (sender, channel).
    last_seq: HashMap<(NodeId, Arc<str>), u64>,
    /// Messages skipped because they did not decode.
    malformed: u64,
    /// Own echoes skipped.
    echoes: u64,
}

impl EventReceiver {
    /// A receiver for the node `node_id` over `inbox`; envelopes over
    /// `max_len` bytes are skipped as malformed.
    pub fn new(inbox: BusInbox, node_id: NodeId, max_len: usize) -> Self {
        Self {
            inbox,
            node_id,
            max_len,
            last_seq: HashMap::new(),
            malformed: 0,
            echoes: 0,
        }
    }

    /// The next event from another node, or a resync signal; `None` once
    /// the bus is gone. Own echoes and undecodable messages are skipped
    /// (the latter counted and logged).
    pub async fn recv(&mut self) -> Option<Received> {
        loop {
            let item = self.inbox.recv().await?;
            if let Some(received) = self.accept(item) {
                return Some(received);
            }
        }
    }

    fn accept(&mut self, item: Inbound) -> Option<Received> {
        match item {
            Inbound::Resubscribed { generation } => {
                self.last_seq.clear();
                Some(Received::ResyncAll {
                    generation: Some(generation),
                })
            }
            Inbound::Lost { .. } => {
                self.last_seq.clear();
                Some(Received::ResyncAll { generation: None })
            }
            Inbound::Message { channel, payload } => {
                let envelope = match Envelope::decode_shared(&payload, self.max_len) {
                    Ok(envelope) => envelope,
                    Err(error) => {
                        self.malformed += 1;
                        tracing::warn!(%channel, %error, len = payload.len(), "skipping an undecodable cluster message");
                        return None;
                    }
                };
                if envelope.node_id == self.node_id {
                    self.echoes += 1;
                    return None;
                }
                let key = (envelope.node_id.clone(), channel.clone());
                let missed = match self.last_seq.insert(key, envelope.seq) {
                    Some(last) if envelope.seq > last => envelope.seq - last - 1,
                    _ => 0,
                };
                if missed > 0 {
                    tracing::debug!(%channel, from = %envelope.node_id, missed, "gap in cluster messages");
                }
                Some(Received::Event {
                    channel,
                    envelope,
                    missed,
                })
            }
        }
    }

    /// Forgets every sequence baseline of `channel` (call after
    /// unsubscribing, so a later resubscription does not see a false gap).
    pub fn forget_channel(&mut self, channel: &str) {
        self.last_seq.retain(|(_, c), _| &**c != channel);
    }

    /// Forgets every sequence baseline of a node that left.
    pub fn forget_node(&mut self, node: &NodeId) {
        self.last_seq.retain(|(n, _), _| n != node);
    }

    /// Messages skipped because they did not decode.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Own echoes skipped.
    pub fn echoes(&self) -> u64 {
        self.echoes
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::cluster::envelope::MAX_ENVELOPE_LEN;
    use crate::cluster::LocalHub;

    fn broadcast(method: &str) -> ClusterEvent {
        ClusterEvent::Broadcast {
            scope: "live".into(),
            method: method.into(),
            args: Bytes::new(),
        }
    }

    fn received_method(r: Option<Received>) -> (String, u64) {
        match r {
            Some(Received::Event {
                envelope:
                    Envelope {
                        event: ClusterEvent::Broadcast { method, .. },
                        ..
                    },
                missed,
                ..
            }) => (method, missed),
            other => panic!("expected a broadcast, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn own_echoes_are_skipped_and_other_nodes_events_arrive_in_order() {
        let hub = LocalHub::new();
        let (a, ia) = hub.attach(NodeId::from("a"), 16, 1 << 20);
        let (b, ib) = hub.attach(NodeId::from("b"), 16, 1 << 20);
        let (a, b): (Arc<dyn ClusterBus>, Arc<dyn ClusterBus>) = (Arc::new(a), Arc::new(b));
        a.subscribe("c").await.expect("subscribes");
        b.subscribe("c").await.expect("subscribes");
        let (pa, pb) = (EventPublisher::new(a), EventPublisher::new(b));
        let mut ra = EventReceiver::new(ia, NodeId::from("a"), MAX_ENVELOPE_LEN);
        let mut rb = EventReceiver::new(ib, NodeId::from("b"), MAX_ENVELOPE_LEN);
        assert!(matches!(
            ra.recv().await,
            Some(Received::ResyncAll {
                generation: Some(1)
            })
        ));
        assert!(matches!(
            rb.recv().await,
            Some(Received::ResyncAll {
                generation: Some(1)
            })
        ));
        pa.publish("c", broadcast("one")).expect("queued");
        pa.publish("c", broadcast("two")).expect("queued");
        pb.publish("c", broadcast("from-b")).expect("queued");
        assert_eq!(received_method(rb.recv().await), ("one".into(), 0));
        assert_eq!(received_method(rb.recv().await), ("two".into(), 0));
        assert_eq!(received_method(ra.recv().await), ("from-b".into(), 0));
        pa.publish("c", broadcast("three")).expect("queued");
        // b skips its own "from-b" on the way to a's third message.
        assert_eq!(received_method(rb.recv().await), ("three".into(), 0));
        assert_eq!((ra.echoes(), rb.echoes()), (2, 1));
    }

    #[tokio::test]
    async fn a_skipped_sequence_number_is_reported_as_missed() {
        let hub = LocalHub::new();
        let (a, _ia) = hub.attach(NodeId::from("a"), 16, 1 << 20);
        let (b, ib) = hub.attach(NodeId::from("b"), 16, 1 << 20);
        b.subscribe("c").await.expect("subscribes");
        let mut rb = EventReceiver::new(ib, NodeId::from("b"), MAX_ENVELOPE_LEN);
        let _ = rb.recv().await;
        for seq in [1u64, 2, 5] {
            let wire = Envelope::new(NodeId::from("a"), seq, broadcast("m"))
                .encode()
                .expect("encodes");
            a.publish("c", wire).expect("queued");
        }
        assert_eq!(received_method(rb.recv().await).1, 0);
        assert_eq!(received_method(rb.recv().await).1, 0);
        assert_eq!(received_method(rb.recv().await).1, 2);
    }

    #[tokio::test]
    async fn garbage_on_a_channel_is_counted_and_skipped() {
        let hub = LocalHub::new();
        let (a, _ia) = hub.attach(NodeId::from("a"), 16, 1 << 20);
        let (b, ib) = hub.attach(NodeId::from("b"), 16, 1 << 20);
        b.subscribe("c").await.expect("subscribes");
        let mut rb = EventReceiver::new(ib, NodeId::from("b"), MAX_ENVELOPE_LEN);
        let _ = rb.recv().await;
        a.publish("c", Bytes::from_static(b"\x01\xff\xff"))
            .expect("queued");
        EventPublisher::new(Arc::new(a))
            .publish("c", broadcast("ok"))
            .expect("queued");
        assert_eq!(received_method(rb.recv().await).0, "ok");
        assert_eq!(rb.malformed(), 1);
    }
}
