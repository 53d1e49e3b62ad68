//! Stream news from other nodes (routed by the cluster router) and from the
//! registry's own relays, in a cluster: bursts start relays, frames feed
//! them, unpublishes and departures end them, `StreamWanted` reaches the
//! local stream. See [`cluster`](super::cluster) for the whole protocol.

use std::sync::atomic::Ordering;

use actix::prelude::*;
use tracing::info;

use super::{Entry, Origin, RegistryActor};
use crate::actors::messages::{
    Ingest, RelayIdle, RemoteUnwanted, RemoteWanted, StopIfIdle, StreamChannelSubscribed,
    StreamKey, StreamNews,
};
use crate::actors::stream_relay::wire_key;
use crate::cluster::{ClusterEvent, NodeId};
use crate::fanout::Frame;

impl RegistryActor {
    /// `from`'s GOP burst for `key`: start the relay.
    fn burst(&mut self, key: StreamKey, from: NodeId, frames: Vec<Frame>, ctx: &mut Context<Self>) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        let Some(remote) = cluster.remote.get_mut(&key) else {
            return;
        };
        if remote.source.as_ref() != Some(&from)
            || remote.relaying
            || self.streams.contains_key(&key)
        {
            return;
        }
        if !self.waiting.contains_key(&key) {
            self.drop_remote(&key);
            return;
        }
        remote.relaying = true;
        info!(stream = %key, source = %from, frames = frames.len(), "relaying a stream from another node");
        let stream = self.new_stream(&key, 0, ctx).relay_of(&frames);
        self.register(key, stream, None, Origin::Relay { source: from });
    }
}

impl Handler<StreamChannelSubscribed> for RegistryActor {
    type Result = ();

    fn handle(&mut self, msg: StreamChannelSubscribed, ctx: &mut Context<Self>) {
        let Some(remote) = self
            .cluster
            .as_mut()
            .and_then(|c| c.remote.get_mut(&msg.key))
        else {
            return;
        };
        remote.subscribed = true;
        if remote.source.is_none() {
            self.locate(&msg.key, ctx);
        }
    }
}

impl Handler<RelayIdle> for RegistryActor {
    type Result = ();

    fn handle(&mut self, msg: RelayIdle, ctx: &mut Context<Self>) {
        let Some(entry) = self.streams.get_mut(&msg.key) else {
            return;
        };
        if entry.addr != msg.stream || entry.closing {
            return;
        }
        entry.closing = true;
        let (key, addr) = (msg.key, msg.stream);
        ctx.spawn(
            addr.send(StopIfIdle)
                .into_actor(self)
                .map(move |stopped, act, _| {
                    if matches!(stopped, Ok(false)) {
                        // A player joined meanwhile: keep it and attach the ones
                        // that waited.
                        if let Some(entry) = act.streams.get_mut(&key).filter(|e| e.addr == addr) {
                            entry.closing = false;
                            act.attach_waiting(&key, &addr);
                        }
                    }
                }),
        );
    }
}

impl Handler<StreamNews> for RegistryActor {
    type Result = ();

    fn handle(&mut self, news: StreamNews, ctx: &mut Context<Self>) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        match news {
            StreamNews::Wanted { key, node } => match self.streams.get(&key) {
                Some(Entry {
                    addr,
                    origin: Origin::Local { .. },
                    ..
                }) => addr.do_send(RemoteWanted { node }),
                _ => {
                    // Not ours (any more): it should look again.
                    let event = ClusterEvent::StreamUnpublished {
                        stream: wire_key(&key),
                    };
                    cluster.tell_node(&node, event);
                }
            },
            StreamNews::Unwanted { key, node } => {
                if let Some(entry) = self.streams.get(&key) {
                    if matches!(entry.origin, Origin::Local { .. }) {
                        entry.addr.do_send(RemoteUnwanted { node });
                    }
                }
            }
            StreamNews::Published { key, node } => {
                let ready = cluster
                    .remote
                    .get(&key)
                    .is_some_and(|r| r.subscribed && r.source.is_none());
                if ready && &node != cluster.node.node_id() {
                    self.ask(&key, node);
                }
            }
            StreamNews::Burst { key, from, frames } => self.burst(key, from, frames, ctx),
            StreamNews::Frame { key, from, frame } => {
                if let Some(entry) = self.streams.get(&key) {
                    if entry.origin == (Origin::Relay { source: from }) {
                        cluster.node.media.received.fetch_add(1, Ordering::Relaxed);
                        entry.addr.do_send(Ingest(frame));
                    }
                }
            }
            StreamNews::Unpublished { key, from } => self.source_ended(&key, &from),
            StreamNews::NodeLeft(node) => {
                for entry in self.streams.values() {
                    if matches!(entry.origin, Origin::Local { .. }) {
                        entry.addr.do_send(RemoteUnwanted { node: node.clone() });
                    }
                }
                let followed: Vec<StreamKey> = cluster.remote.keys().cloned().collect();
                for key in followed {
                    self.source_ended(&key, &node);
                }
            }
            StreamNews::Resynced => {
                // Messages may have been lost: ask every owner again (an
                // owner answers a node it already serves with a burst, which
                // a running relay ignores) and look up the others.
                let followed: Vec<(StreamKey, Option<NodeId>)> = cluster
                    .remote
                    .iter()
                    .map(|(k, r)| (k.clone(), r.source.clone()))
                    .collect();
                for (key, source) in followed {
                    if let Some(remote) = self.cluster.as_mut().and_then(|c| c.remote.get_mut(&key))
                    {
                        remote.subscribed = true;
                        remote.locating = false;
                    }
                    match source {
                        Some(source) => self.ask(&key, source),
                        None => self.locate(&key, ctx),
                    }
                }
            }
        }
    }
}
