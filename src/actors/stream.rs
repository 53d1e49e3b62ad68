//! One actor per published stream: the GOP cache and the fan-out to players.
//!
//! Frames arrive from the publisher's connection (`Ingest`); each is cached and
//! pushed into every player's bounded queue (shared with that player's
//! connection). A player is woken (`QueueReady`) only when its queue goes from
//! empty to non-empty, so there is no actor message per frame per player.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use tracing::{debug, info};

use super::messages::{
    AddPlayer, Ingest, PlayerEvicted, PlayerRef, PublisherLeft, QueueReady, RemovePlayer,
    StreamKey, Unpublish, Unpublished,
};
use super::registry::RegistryActor;
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

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.registry.do_send(Unpublished {
            key: self.key.clone(),
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

    fn handle(&mut self, Ingest(frame): Ingest, _: &mut Context<Self>) {
        self.gop.push(&frame);
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
        for id in gone {
            self.players.remove(&id);
            self.metrics.players.dec();
            self.cell.players.fetch_sub(1, Ordering::Relaxed);
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

    fn handle(&mut self, msg: RemovePlayer, _: &mut Context<Self>) {
        if self.players.remove(&msg.player_id).is_some() {
            self.metrics.players.dec();
            self.cell.players.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Handler<Unpublish> for StreamActor {
    type Result = ();

    fn handle(&mut self, _: Unpublish, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
