//! The node's registry of published streams and of players waiting for a
//! stream that is not (or no longer) published. One per node.
//!
//! Single node: the registry alone decides who publishes a name. In a
//! cluster (`--redis`) a publish first takes the name's cluster-wide lease,
//! and a player of a stream that is not published here makes this node
//! follow it on the other nodes (a relay stream); see [`cluster`].

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use tracing::info;

use super::messages::{
    Play, PlayerRef, Publish, PublishRefused, StopWaiting, StreamAttached, StreamKey, Unpublished,
};
use super::stream::StreamActor;
use crate::cluster::NodeId;
use crate::directory::Directory;
use crate::fanout::FanoutLimits;
use crate::metrics::Metrics;

mod cluster;
mod news;

pub use cluster::StreamCluster;

/// Where a registered stream's frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    /// A publisher connected to this node; in a cluster, the lease token it
    /// holds (`node/conn`).
    Local { lease_owner: Option<String> },
    /// Another node's stream, relayed here.
    Relay { source: NodeId },
}

/// A registered stream.
struct Entry {
    addr: Addr<StreamActor>,
    origin: Origin,
    /// A relay asked to stop because it had no players: new players wait
    /// instead of attaching to it.
    closing: bool,
}

/// Streams by key, and players waiting for a key.
pub struct RegistryActor {
    streams: HashMap<StreamKey, Entry>,
    waiting: HashMap<StreamKey, Vec<PlayerRef>>,
    limits: FanoutLimits,
    metrics: Arc<Metrics>,
    directory: Arc<Directory>,
    /// With `--redis`: leases and relays.
    cluster: Option<StreamCluster>,
}

impl RegistryActor {
    /// An empty registry.
    pub fn new(limits: FanoutLimits, metrics: Arc<Metrics>, directory: Arc<Directory>) -> Self {
        Self {
            streams: HashMap::new(),
            waiting: HashMap::new(),
            limits,
            metrics,
            directory,
            cluster: None,
        }
    }

    /// Makes this registry cluster-aware (`--redis`): publishes take the
    /// cluster-wide lease, players follow streams published elsewhere.
    pub fn with_cluster(mut self, cluster: StreamCluster) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Starts `stream` as `key`'s stream on `arbiter` (or here), registers
    /// it and attaches the players waiting for it.
    fn register(
        &mut self,
        key: StreamKey,
        stream: StreamActor,
        arbiter: Option<&ArbiterHandle>,
        origin: Origin,
    ) -> Addr<StreamActor> {
        let addr = match arbiter {
            Some(arbiter) => StreamActor::start_in_arbiter(arbiter, move |_| stream),
            None => stream.start(),
        };
        self.streams.insert(
            key.clone(),
            Entry {
                addr: addr.clone(),
                origin,
                closing: false,
            },
        );
        self.metrics.streams.set(self.streams.len() as u64);
        self.attach_waiting(&key, &addr);
        addr
    }

    fn attach_waiting(&mut self, key: &StreamKey, addr: &Addr<StreamActor>) {
        for player in self.waiting.remove(key).unwrap_or_default() {
            player.conn.do_send(StreamAttached {
                stream_id: player.stream_id,
                stream: addr.clone(),
                notify: true,
            });
        }
    }

    fn new_stream(&self, key: &StreamKey, conn_id: u64, ctx: &Context<Self>) -> StreamActor {
        let cell = self
            .directory
            .stream_published(&key.scope, &key.name, conn_id);
        StreamActor::new(
            key.clone(),
            self.limits,
            ctx.address(),
            self.metrics.clone(),
            cell,
        )
    }
}

impl Actor for RegistryActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if let Some(cluster) = &mut self.cluster {
            cluster.start(ctx);
        }
    }
}

impl Handler<Publish> for RegistryActor {
    type Result = ResponseActFuture<Self, Result<Addr<StreamActor>, PublishRefused>>;

    fn handle(&mut self, msg: Publish, ctx: &mut Context<Self>) -> Self::Result {
        if matches!(
            self.streams.get(&msg.key),
            Some(Entry {
                origin: Origin::Local { .. },
                ..
            })
        ) {
            return Box::pin(fut::ready(Err(PublishRefused::BadName)));
        }
        if self.cluster.is_some() {
            return self.publish_clustered(msg);
        }
        Box::pin(fut::ready(Ok(self.publish_local(msg, None, ctx))))
    }
}

impl RegistryActor {
    /// Registers a local publisher's stream (the name is ours to take).
    fn publish_local(
        &mut self,
        msg: Publish,
        lease_owner: Option<String>,
        ctx: &mut Context<Self>,
    ) -> Addr<StreamActor> {
        // The stream actor runs on the publisher's arbiter: the thread that
        // produces its input.
        let mut stream = self.new_stream(&msg.key, msg.conn_id, ctx);
        if let Some(cluster) = &self.cluster {
            stream = stream.with_relay_out(cluster.relay_out(&msg.key));
        }
        info!(stream = %msg.key, conn_id = msg.conn_id, "stream published");
        let origin = Origin::Local { lease_owner };
        self.register(msg.key, stream, Some(&msg.arbiter), origin)
    }
}

impl Handler<Unpublished> for RegistryActor {
    type Result = ();

    fn handle(&mut self, msg: Unpublished, ctx: &mut Context<Self>) {
        let Some(entry) = self.streams.get(&msg.key) else {
            return;
        };
        if entry.addr != msg.stream {
            // An older stream of this key; a newer one is registered.
            return;
        }
        let Some(entry) = self.streams.remove(&msg.key) else {
            return;
        };
        self.directory
            .stream_unpublished(&msg.key.scope, &msg.key.name);
        self.metrics.streams.set(self.streams.len() as u64);
        if self.cluster.is_some() {
            self.stream_ended(msg.key, entry.origin, ctx);
        }
    }
}

impl Handler<Play> for RegistryActor {
    type Result = ();

    fn handle(&mut self, msg: Play, ctx: &mut Context<Self>) {
        match self.streams.get(&msg.key).filter(|e| !e.closing) {
            Some(entry) => msg.player.conn.do_send(StreamAttached {
                stream_id: msg.player.stream_id,
                stream: entry.addr.clone(),
                notify: false,
            }),
            None => {
                let key = msg.key.clone();
                self.waiting.entry(msg.key).or_default().push(msg.player);
                if self.cluster.is_some() && !self.streams.contains_key(&key) {
                    self.follow(key, ctx);
                }
            }
        }
    }
}

impl Handler<StopWaiting> for RegistryActor {
    type Result = ();

    fn handle(&mut self, msg: StopWaiting, _: &mut Context<Self>) {
        if let Some(list) = self.waiting.get_mut(&msg.key) {
            list.retain(|p| p.player_id != msg.player_id);
            if list.is_empty() {
                self.waiting.remove(&msg.key);
            }
        }
    }
}
