//! The registry in a cluster (DESIGN.md §4 "Streams"; docs/cluster.md
//! "Streams across nodes").
//!
//! **Ownership.** A publish takes the lease `stream:{scope}:{name}` with
//! `SET NX PX` (owner token `node/conn`): of any number of racers on any
//! nodes exactly one wins, the others get `NetStream.Publish.BadName`. The
//! registry refreshes the leases of its local streams every heartbeat
//! interval; a stream whose refresh finds another owner (or none) is
//! unpublished with a logged reason. Unpublishing releases the lease
//! (compare-and-delete) and announces `StreamUnpublished` on the stream's
//! channel; publishing announces `StreamPublished`.
//!
//! **Following a remote stream.** A player of a stream not published here
//! makes the node *follow* it: subscribe the stream's channel (only while it
//! has players for it), then find the owner in the lease and send
//! `StreamWanted` to its inbox. The owner answers with a GOP burst; the
//! node then starts a relay [`StreamActor`] fed from the channel and
//! attaches its players. No owner yet: the node waits for
//! `StreamPublished` (and looks at the lease every tick in case that was
//! lost). The owner's `StreamUnpublished`, its node leaving the cluster, or
//! the lease no longer naming it end the relay (players get
//! `NetStream.Play.UnpublishNotify` and wait again). A relay whose last
//! player leaves is stopped and the owner told `StreamUnwanted`.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::{Origin, RegistryActor};
use crate::actors::messages::{
    Publish, PublishRefused, StreamChannelSubscribed, StreamKey, Unpublish,
};
use crate::actors::stream::StreamActor;
use crate::actors::stream_relay::{wire_key, RelayOut};
use crate::cluster::node::ClusterNode;
use crate::cluster::{ClusterEvent, KeySpace, Leases, NodeId};

/// Channel (un)subscriptions queued for the bus, applied in order.
const CHANNEL_OPS_CAPACITY: usize = 4096;
/// Ticks a node waits for an owner's burst before asking again.
const BURST_WAIT_TICKS: u32 = 3;

/// One (un)subscription of a stream channel.
struct ChannelOp {
    channel: String,
    subscribe: bool,
    /// Told once the subscription is confirmed.
    confirm: Option<(Addr<RegistryActor>, StreamKey)>,
}

/// A stream this node follows on other nodes (it has players for it and no
/// local publisher).
#[derive(Debug, Default)]
pub(super) struct Remote {
    /// The owner node, once known (the `StreamWanted` went there).
    pub(super) source: Option<NodeId>,
    /// A relay stream runs for it.
    pub(super) relaying: bool,
    /// The stream's channel is subscribed.
    pub(super) subscribed: bool,
    /// A lease lookup is in flight.
    pub(super) locating: bool,
    /// Ticks since `StreamWanted` without a burst.
    pub(super) ticks_asked: u32,
}

/// The registry's cluster side: leases, followed streams, the bus.
pub struct StreamCluster {
    pub(super) node: Arc<ClusterNode>,
    leases: Leases,
    ops: Option<mpsc::Sender<ChannelOp>>,
    pub(super) remote: HashMap<StreamKey, Remote>,
}

impl StreamCluster {
    /// The cluster side of a registry; `None` on a single node (no leases).
    pub fn new(node: Arc<ClusterNode>) -> Option<Self> {
        let leases = node.leases()?.clone();
        Some(Self {
            node,
            leases,
            ops: None,
            remote: HashMap::new(),
        })
    }

    /// Starts the channel task and the tick (lease refresh, lookups).
    pub(super) fn start(&mut self, ctx: &mut Context<RegistryActor>) {
        let (tx, mut rx) = mpsc::channel::<ChannelOp>(CHANNEL_OPS_CAPACITY);
        let bus = self.node.bus().clone();
        tokio::spawn(async move {
            while let Some(op) = rx.recv().await {
                let result = if op.subscribe {
                    bus.subscribe(&op.channel).await
                } else {
                    bus.unsubscribe(&op.channel).await
                };
                match result {
                    Ok(()) => {
                        if let Some((registry, key)) = op.confirm {
                            registry.do_send(StreamChannelSubscribed { key });
                        }
                    }
                    // Kept in the bus's wanted set: live after reconnecting,
                    // when `Resynced` asks the owners again.
                    Err(error) => {
                        debug!(channel = %op.channel, %error, "stream channel change deferred");
                    }
                }
            }
        });
        self.ops = Some(tx);
        ctx.run_interval(self.node.heartbeat_interval(), |act, ctx| act.tick(ctx));
    }

    /// The relay side of a new local stream.
    pub(super) fn relay_out(&self, key: &StreamKey) -> RelayOut {
        RelayOut::new(self.node.clone(), key)
    }

    fn channel(&self, key: &StreamKey) -> String {
        self.node.keys().stream_channel(&key.scope, &key.name)
    }

    fn change_channel(
        &self,
        key: &StreamKey,
        subscribe: bool,
        confirm: Option<Addr<RegistryActor>>,
    ) {
        let op = ChannelOp {
            channel: self.channel(key),
            subscribe,
            confirm: confirm.map(|registry| (registry, key.clone())),
        };
        if let Some(Err(error)) = self.ops.as_ref().map(|ops| ops.try_send(op)) {
            warn!(stream = %key, %error, "stream channel change dropped");
        }
    }

    fn publish(&self, channel: &str, event: ClusterEvent) {
        if let Err(error) = self.node.publish_event(channel, event) {
            debug!(%channel, %error, "stream event not published");
        }
    }

    pub(super) fn tell_node(&self, node: &NodeId, event: ClusterEvent) {
        self.publish(&self.node.keys().node_channel(node), event);
    }
}

fn lease_name(key: &StreamKey) -> String {
    KeySpace::stream_lease(&key.scope, &key.name)
}

/// The node named by a lease owner token `node/conn`.
fn owner_node(token: &str) -> NodeId {
    NodeId::new(token.rsplit_once('/').map_or(token, |(node, _)| node))
}

impl RegistryActor {
    /// A publish in a cluster: take the lease first.
    pub(super) fn publish_clustered(
        &mut self,
        msg: Publish,
    ) -> ResponseActFuture<Self, Result<Addr<StreamActor>, PublishRefused>> {
        let Some(cluster) = &self.cluster else {
            return Box::pin(fut::ready(Err(PublishRefused::ClusterUnavailable)));
        };
        let leases = cluster.leases.clone();
        let owner = format!("{}/{}", cluster.node.node_id(), msg.conn_id);
        let lease = lease_name(&msg.key);
        let ttl = cluster.node.lease_ttl();
        let taking = async move {
            let taken = leases.try_acquire(&lease, &owner, ttl).await;
            (taken, owner)
        };
        Box::pin(
            taking
                .into_actor(self)
                .map(move |(taken, owner), act, ctx| {
                    match taken {
                        Ok(true) => {}
                        Ok(false) => return Err(PublishRefused::BadName),
                        Err(error) => {
                            warn!(stream = %msg.key, %error, "cannot take the stream's lease");
                            return Err(PublishRefused::ClusterUnavailable);
                        }
                    }
                    let key = msg.key.clone();
                    if let Some(entry) = act.streams.remove(&key) {
                        if let Origin::Relay { source } = &entry.origin {
                            // Its owner is gone (we hold the lease now): this node's
                            // players move to the new local stream.
                            info!(stream = %key, %source, "a relayed stream is published here now");
                            act.drop_remote(&key);
                        }
                        entry.addr.do_send(Unpublish);
                    }
                    let addr = act.publish_local(msg, Some(owner), ctx);
                    if let Some(cluster) = &act.cluster {
                        let node = cluster.node.node_id().clone();
                        let event = ClusterEvent::StreamPublished {
                            stream: wire_key(&key),
                            node,
                        };
                        cluster.publish(&cluster.channel(&key), event);
                    }
                    Ok(addr)
                }),
        )
    }

    /// A registered stream stopped: release its lease, or let the followed
    /// stream go on without its relay.
    pub(super) fn stream_ended(&mut self, key: StreamKey, origin: Origin, ctx: &mut Context<Self>) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        match origin {
            Origin::Local { lease_owner } => {
                let event = ClusterEvent::StreamUnpublished {
                    stream: wire_key(&key),
                };
                cluster.publish(&cluster.channel(&key), event);
                if let Some(owner) = lease_owner {
                    let leases = cluster.leases.clone();
                    let lease = lease_name(&key);
                    tokio::spawn(async move {
                        if let Err(error) = leases.release(&lease, &owner).await {
                            debug!(%lease, %error, "stream lease not released; it expires");
                        }
                    });
                }
            }
            Origin::Relay { .. } => {
                let Some(remote) = cluster.remote.get_mut(&key) else {
                    return;
                };
                remote.relaying = false;
                if !self.waiting.contains_key(&key) {
                    self.drop_remote(&key);
                } else if let Some(source) = remote.source.clone() {
                    // Players came while it closed: ask for a new burst.
                    self.ask(&key, source);
                } else {
                    self.locate(&key, ctx);
                }
            }
        }
    }

    /// Follows `key` on the other nodes (a player waits for it here).
    pub(super) fn follow(&mut self, key: StreamKey, ctx: &mut Context<Self>) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        match cluster.remote.get(&key) {
            Some(remote) => {
                if remote.subscribed && remote.source.is_none() {
                    self.locate(&key, ctx);
                }
            }
            None => {
                cluster.remote.insert(key.clone(), Remote::default());
                cluster.change_channel(&key, true, Some(ctx.address()));
            }
        }
    }

    /// Stops following `key`.
    pub(super) fn drop_remote(&mut self, key: &StreamKey) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        let Some(remote) = cluster.remote.remove(key) else {
            return;
        };
        cluster.change_channel(key, false, None);
        if let Some(source) = remote.source {
            let event = ClusterEvent::StreamUnwanted {
                stream: wire_key(key),
                node: cluster.node.node_id().clone(),
            };
            cluster.tell_node(&source, event);
        }
        debug!(stream = %key, "no longer following a remote stream");
    }

    /// Looks up `key`'s owner in its lease and asks it for the stream.
    pub(super) fn locate(&mut self, key: &StreamKey, ctx: &mut Context<Self>) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        let Some(remote) = cluster.remote.get_mut(key).filter(|r| !r.locating) else {
            return;
        };
        remote.locating = true;
        let leases = cluster.leases.clone();
        let lease = lease_name(key);
        let key = key.clone();
        let lookup = async move { leases.owner(&lease).await };
        ctx.spawn(lookup.into_actor(self).map(move |owner, act, _| {
            let Some(cluster) = &mut act.cluster else {
                return;
            };
            let me = cluster.node.node_id().clone();
            let Some(remote) = cluster.remote.get_mut(&key) else {
                return;
            };
            remote.locating = false;
            match owner {
                Ok(Some(token)) if remote.source.is_none() && owner_node(&token) != me => {
                    act.ask(&key, owner_node(&token));
                }
                Ok(_) => {}
                Err(error) => debug!(stream = %key, %error, "stream owner lookup failed"),
            }
        }));
    }

    /// Sends `StreamWanted` for `key` to `source`.
    pub(super) fn ask(&mut self, key: &StreamKey, source: NodeId) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        let Some(remote) = cluster.remote.get_mut(key) else {
            return;
        };
        remote.source = Some(source.clone());
        remote.ticks_asked = 0;
        debug!(stream = %key, %source, "asking the owner for a stream");
        let event = ClusterEvent::StreamWanted {
            stream: wire_key(key),
            node: cluster.node.node_id().clone(),
        };
        cluster.tell_node(&source, event);
    }

    /// `from` no longer publishes `key`: end its relay here; players wait.
    pub(super) fn source_ended(&mut self, key: &StreamKey, from: &NodeId) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        let Some(remote) = cluster.remote.get_mut(key) else {
            return;
        };
        if remote.source.as_ref() != Some(from) {
            return;
        }
        remote.source = None;
        if let Some(entry) = self.streams.get_mut(key) {
            if entry.origin
                == (Origin::Relay {
                    source: from.clone(),
                })
            {
                info!(stream = %key, source = %from, "a relayed stream ended");
                entry.closing = true;
                entry.addr.do_send(Unpublish);
            }
        }
    }

    pub(super) fn tick(&mut self, ctx: &mut Context<Self>) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        // Refresh the leases of local streams.
        let ttl = cluster.node.lease_ttl();
        let leases = cluster.leases.clone();
        let held: Vec<(StreamKey, Addr<StreamActor>, String)> = self
            .streams
            .iter()
            .filter_map(|(key, entry)| match &entry.origin {
                Origin::Local {
                    lease_owner: Some(owner),
                } => Some((key.clone(), entry.addr.clone(), owner.clone())),
                _ => None,
            })
            .collect();
        for (key, addr, owner) in held {
            let (leases, lease) = (leases.clone(), lease_name(&key));
            // A lease found missing (expired while Redis was unreachable,
            // or Redis restarted without it) is taken again if nobody else
            // took it: only another owner ends the stream.
            let refresh = async move {
                match leases.refresh(&lease, &owner, ttl).await {
                    Ok(false) => leases.try_acquire(&lease, &owner, ttl).await,
                    other => other,
                }
            };
            ctx.spawn(refresh.into_actor(self).map(move |kept, act, _| match kept {
                Ok(true) => {}
                Ok(false) => {
                    if act.streams.get(&key).is_some_and(|e| e.addr == addr) {
                        warn!(stream = %key, "the stream's lease was taken over by another publisher: unpublishing");
                        addr.do_send(Unpublish);
                    }
                }
                Err(error) => debug!(stream = %key, %error, "stream lease refresh failed"),
            }));
        }
        let Some(cluster) = &self.cluster else {
            return;
        };
        // Followed streams: drop the unwanted, find owners, check them.
        let keys: Vec<StreamKey> = cluster.remote.keys().cloned().collect();
        for key in keys {
            let wanted = self.waiting.contains_key(&key) || self.streams.contains_key(&key);
            let Some(cluster) = &mut self.cluster else {
                return;
            };
            let Some(remote) = cluster.remote.get_mut(&key) else {
                continue;
            };
            if !wanted && !remote.relaying {
                self.drop_remote(&key);
            } else if remote.source.is_none() {
                if remote.subscribed {
                    self.locate(&key, ctx);
                }
            } else if !remote.relaying {
                remote.ticks_asked += 1;
                if remote.ticks_asked >= BURST_WAIT_TICKS {
                    // No burst: the owner may have changed; look again.
                    remote.source = None;
                    self.locate(&key, ctx);
                }
            } else {
                self.check_owner(key, ctx);
            }
        }
    }

    /// Ends the relay of `key` if its lease no longer names its source.
    pub(super) fn check_owner(&mut self, key: StreamKey, ctx: &mut Context<Self>) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        let leases = cluster.leases.clone();
        let lease = lease_name(&key);
        let lookup = async move { leases.owner(&lease).await };
        ctx.spawn(lookup.into_actor(self).map(move |owner, act, _| {
            let Some(source) = act
                .cluster
                .as_ref()
                .and_then(|c| c.remote.get(&key))
                .and_then(|r| r.source.clone())
            else {
                return;
            };
            match owner {
                Ok(token) if token.as_deref().map(owner_node) != Some(source.clone()) => {
                    info!(stream = %key, %source, "the stream's lease no longer names its owner");
                    act.source_ended(&key, &source);
                }
                Ok(_) => {}
                Err(error) => debug!(stream = %key, %error, "stream owner check failed"),
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_node_is_what_precedes_the_last_slash_of_the_lease_token() {
        assert_eq!(owner_node("node-a/17"), NodeId::from("node-a"));
        assert_eq!(owner_node("rack/1/node-b/3"), NodeId::from("rack/1/node-b"));
        assert_eq!(owner_node("bare"), NodeId::from("bare"));
    }
}
