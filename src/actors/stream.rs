//! One actor per published stream: the GOP cache and the fan-out to players.
//!
//! Frames arrive from the publisher's connection (`Ingest`); each is cached and
//! pushed into every player's bounded queue (shared with that player's
//! connection). A player is woken (`QueueReady`) only when its queue goes from
//! empty to non-empty, so there is no actor message per frame per player
//! that is behind or inside a write-coalescing window (`[rtmp]
//! write_coalesce_ms`: the queue stays non-empty until the window's drain);
//! with no window, a player that keeps up is woken about once per frame.
//!
//! In a cluster a stream is one of two things. A **local** stream (its
//! publisher is connected here) also publishes its frames for the nodes that
//! want them ([`RelayOut`]). A **relay** stream is fed from the bus with
//! another node's stream: same cache, same fan-out, so its players are
//! served exactly like a local publisher's; it asks the registry to stop it
//! when its last player leaves ([`RelayIdle`]).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use tracing::{debug, info};

use super::messages::{
    AddPlayer, Ingest, PlayerEvicted, PlayerRef, PublisherLeft, QueueReady, RelayIdle,
    RemoteUnwanted, RemoteWanted, RemovePlayer, StopIfIdle, StreamKey, Unpublish, Unpublished,
};
use super::registry::RegistryActor;
use super::stream_relay::RelayOut;
use crate::directory::StreamCell;
use crate::fanout::{FanoutLimits, Frame, GopCache, PushOutcome};
use crate::metrics::Metrics;

/// A published stream.
pub struct StreamActor {
    key: StreamKey,
    gop: GopCache,
    players: HashMap<u64, PlayerRef>,
    registry: Addr<RegistryActor>,
    metrics: Arc<Metrics>,
    /// This stream's entry in the admin API.
    cell: Arc<StreamCell>,
    started: Instant,
    /// A local stream in a cluster: publishes for the nodes that want it.
    relay_out: Option<RelayOut>,
    /// A relay of another node's stream: idle without players.
    relay_in: bool,
}

impl StreamActor {
    /// A stream with an empty cache.
    pub fn new(
        key: StreamKey,
        limits: FanoutLimits,
        registry: Addr<RegistryActor>,
        metrics: Arc<Metrics>,
        cell: Arc<StreamCell>,
    ) -> Self {
        Self {
            key,
            gop: GopCache::new(limits),
            players: HashMap::new(),
            registry,
            metrics,
            cell,
            started: Instant::now(),
            relay_out: None,
            relay_in: false,
        }
    }

    /// Also publishes frames for other nodes (a local stream in a cluster).
    pub fn with_relay_out(mut self, relay: RelayOut) -> Self {
        self.relay_out = Some(relay);
        self
    }

    /// A relay of another node's stream, starting with `burst` (that
    /// node's GOP cache) in its cache.
    pub fn relay_of(mut self, burst: &[Frame]) -> Self {
        self.relay_in = true;
        for frame in burst {
            self.gop.push(frame);
        }
        self
    }

    /// A relay without players asks the registry whether to stop.
    fn check_idle(&self, ctx: &mut Context<Self>) {
        if self.relay_in && self.players.is_empty() {
            self.registry.do_send(RelayIdle {
                key: self.key.clone(),
                stream: ctx.address(),
            });
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Pushes into one player's queue; false when the player must go.
    fn deliver(
        &self,
        player: &PlayerRef,
        frames: impl FnOnce(&mut crate::fanout::PlayerQueue) -> PushOutcome,
    ) -> bool {
        let (was_empty, outcome, is_empty) = {
            let mut queue = player.queue.lock().unwrap_or_else(|p| p.into_inner());
            let was_empty = queue.is_empty();
            let outcome = frames(&mut queue);
            (was_empty, outcome, queue.is_empty())
        };
        match outcome {
            PushOutcome::Disconnect(reason) => {
                self.metrics.evicted_players.add(1);
                player.conn.do_send(PlayerEvicted {
                    reason: reason.to_string(),
                });
                false
            }
            other => {
                if matches!(other, PushOutcome::Dropped(_)) {
                    self.metrics.dropped_frames.add(1);
                    self.cell.dropped_frames.fetch_add(1, Ordering::Relaxed);
                }
                if was_empty && !is_empty {
                    player.conn.do_send(QueueReady {
                        stream_id: player.stream_id,
                    });
                }
                true
            }
        }
    }
}

impl Actor for StreamActor {
    type Context = Context<Self>;

    fn stopped(&mut self, ctx: &mut Context<Self>) {
        self.registry.do_send(Unpublished {
            key: self.key.clone(),
            stream: ctx.address(),
        });
        for player in self.players.values() {
            player.conn.do_send(PublisherLeft {
                stream_id: player.stream_id,
            });
        }
        self.metrics.players.set(
            self.metrics
                .players
                .get()
                .saturating_sub(self.players.len() as u64),
        );
        info!(stream = %self.key, "stream unpublished");
    }
}

impl Handler<Ingest> for StreamActor {
    type Result = ();

    fn handle(&mut self, Ingest(frame): Ingest, ctx: &mut Context<Self>) {
        self.gop.push(&frame);
        if let Some(relay) = &self.relay_out {
            relay.frame(&frame);
        }
        self.cell
            .bytes_in
            .fetch_add(frame.len() as u64, Ordering::Relaxed);
        self.cell.frames_in.fetch_add(1, Ordering::Relaxed);
        if frame.is_sequence_header() {
            let name = |c: String| c.to_lowercase();
            self.cell.set_codecs(
                self.gop.video_codec().map(|c| name(format!("{c:?}"))),
                self.gop.audio_codec().map(|c| name(format!("{c:?}"))),
            );
        }
        let now = self.now_ms();
        let mut gone = Vec::new();
        for (id, player) in &self.players {
            let frame: Frame = frame.clone();
            if !self.deliver(player, |q| q.push(frame, now)) {
                gone.push(*id);
            }
        }
        let evicted = !gone.is_empty();
        for id in gone {
            self.players.remove(&id);
            self.metrics.players.dec();
            self.cell.players.fetch_sub(1, Ordering::Relaxed);
        }
        if evicted {
            self.check_idle(ctx);
        }
    }
}

impl Handler<AddPlayer> for StreamActor {
    type Result = ();

    fn handle(&mut self, AddPlayer(player): AddPlayer, _: &mut Context<Self>) {
        let burst = self.gop.join_burst();
        debug!(stream = %self.key, player = player.player_id, frames = burst.frames.len(), "player joins");
        let now = self.now_ms();
        if self.deliver(&player, |q| q.push_burst(burst.frames, now)) {
            self.players.insert(player.player_id, player);
            self.metrics.players.inc();
            self.cell.players.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Handler<RemovePlayer> for StreamActor {
    type Result = ();

    fn handle(&mut self, msg: RemovePlayer, ctx: &mut Context<Self>) {
        if self.players.remove(&msg.player_id).is_some() {
            self.metrics.players.dec();
            self.cell.players.fetch_sub(1, Ordering::Relaxed);
            self.check_idle(ctx);
        }
    }
}

impl Handler<Unpublish> for StreamActor {
    type Result = ();

    fn handle(&mut self, _: Unpublish, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<RemoteWanted> for StreamActor {
    type Result = ();

    fn handle(&mut self, msg: RemoteWanted, _: &mut Context<Self>) {
        if let Some(relay) = &mut self.relay_out {
            let burst = self.gop.join_burst();
            info!(stream = %self.key, node = %msg.node, frames = burst.frames.len(), "another node plays this stream");
            relay.wanted(msg.node, burst.frames);
        }
    }
}

impl Handler<RemoteUnwanted> for StreamActor {
    type Result = ();

    fn handle(&mut self, msg: RemoteUnwanted, _: &mut Context<Self>) {
        if let Some(relay) = &mut self.relay_out {
            if relay.wanting().contains(&msg.node) {
                info!(stream = %self.key, node = %msg.node, "another node stopped playing this stream");
                relay.unwanted(&msg.node);
            }
        }
    }
}

impl Handler<StopIfIdle> for StreamActor {
    type Result = bool;

    fn handle(&mut self, _: StopIfIdle, ctx: &mut Context<Self>) -> bool {
        let idle = self.players.is_empty();
        if idle {
            debug!(stream = %self.key, "relay without players stops");
            ctx.stop();
        }
        idle
    }
}
