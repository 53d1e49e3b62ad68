//! The node's registry of published streams and of players waiting for a
//! stream that is not (or no longer) published. One per node.

use std::collections::HashMap;

use actix::prelude::*;
use tracing::info;

use super::messages::{
    Play, PlayerRef, Publish, PublishRefused, StopWaiting, StreamAttached, StreamKey, Unpublished,
};
use super::stream::StreamActor;
use crate::directory::Directory;
use crate::fanout::FanoutLimits;
use crate::metrics::Metrics;

/// Streams by key, and players waiting for a key.
pub struct RegistryActor {
    streams: HashMap<StreamKey, Addr<StreamActor>>,
    waiting: HashMap<StreamKey, Vec<PlayerRef>>,
    limits: FanoutLimits,
    metrics: std::sync::Arc<Metrics>,
    directory: std::sync::Arc<Directory>,
}

impl RegistryActor {
    /// An empty registry.
    pub fn new(
        limits: FanoutLimits,
        metrics: std::sync::Arc<Metrics>,
        directory: std::sync::Arc<Directory>,
    ) -> Self {
        Self {
            streams: HashMap::new(),
            waiting: HashMap::new(),
            limits,
            metrics,
            directory,
        }
    }
}

impl Actor for RegistryActor {
    type Context = Context<Self>;
}

impl Handler<Publish> for RegistryActor {
    type Result = Result<Addr<StreamActor>, PublishRefused>;

    fn handle(&mut self, msg: Publish, ctx: &mut Context<Self>) -> Self::Result {
        if self.streams.contains_key(&msg.key) {
            return Err(PublishRefused::BadName);
        }
        // The stream actor runs on the publisher's arbiter: the thread that
        // produces its input.
        let cell = self
            .directory
            .stream_published(&msg.key.scope, &msg.key.name, msg.conn_id);
        let stream = StreamActor::new(
            msg.key.clone(),
            self.limits,
            ctx.address(),
            self.metrics.clone(),
            cell,
        );
        let addr = StreamActor::start_in_arbiter(&msg.arbiter, move |_| stream);
        info!(stream = %msg.key, conn_id = msg.conn_id, "stream published");
        self.streams.insert(msg.key.clone(), addr.clone());
        self.metrics.streams.set(self.streams.len() as u64);
        for player in self.waiting.remove(&msg.key).unwrap_or_default() {
            player.conn.do_send(StreamAttached {
                stream_id: player.stream_id,
                stream: addr.clone(),
                notify: true,
            });
        }
        Ok(addr)
    }
}

impl Handler<Unpublished> for RegistryActor {
    type Result = ();

    fn handle(&mut self, msg: Unpublished, _: &mut Context<Self>) {
        self.streams.remove(&msg.key);
        self.directory
            .stream_unpublished(&msg.key.scope, &msg.key.name);
        self.metrics.streams.set(self.streams.len() as u64);
    }
}

impl Handler<Play> for RegistryActor {
    type Result = ();

    fn handle(&mut self, msg: Play, _: &mut Context<Self>) {
        match self.streams.get(&msg.key) {
            Some(stream) => msg.player.conn.do_send(StreamAttached {
                stream_id: msg.player.stream_id,
                stream: stream.clone(),
                notify: false,
            }),
            None => self.waiting.entry(msg.key).or_default().push(msg.player),
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
