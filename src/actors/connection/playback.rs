//! The player side: draining this connection's player queues into the
//! session, and following the streams it plays (attach, publisher gone,
//! eviction).
//!
//! When to drain is the [`WriteCoalescer`]'s call (`[rtmp]
//! write_coalesce_ms`): with no window a queue is drained as soon as it
//! becomes non-empty; with one, the first wake-up arms one timer for the
//! connection and its expiry drains every player's queue, so a window of
//! frames leaves in one vectored write. Joining players (burst, first
//! keyframe) are drained at once either way; commands, statuses, call
//! results and SharedObject messages never go through these queues and are
//! written at once too.

use std::time::Duration;

use actix::prelude::*;
use tracing::{debug, warn};

use super::ConnectionActor;
use crate::actors::messages::{
    AddPlayer, Play, PlayerEvicted, PublisherLeft, QueueReady, StreamAttached,
};
use crate::actors::messages::{RemovePlayer, StopWaiting};
use crate::fanout::{Frame, FrameKind, PlayerQueue, ReadyAction, WriteCoalescer};
use crate::protocol::command::status;
use crate::protocol::session::MediaKind;

impl ConnectionActor {
    /// Live pause: detach from the stream (nothing queues up meanwhile); on
    /// resume, re-attach through the registry, which restarts playback at the
    /// stream's last keyframe (the GOP cache's join burst).
    pub(super) fn pause(&mut self, stream_id: u32, pause: Option<bool>) {
        let Some(playing) = self.playing.get_mut(&stream_id) else {
            return;
        };
        let pause = pause.unwrap_or(!playing.paused);
        if pause == playing.paused {
            return;
        }
        playing.paused = pause;
        let (key, player) = (playing.key.clone(), playing.player.clone());
        let player_id = player.player_id;
        match playing.stream.take() {
            Some(stream) => stream.do_send(RemovePlayer { player_id }),
            None => self.deps.registry.do_send(StopWaiting {
                key: key.clone(),
                player_id,
            }),
        }
        *player.queue.lock().unwrap_or_else(|p| p.into_inner()) =
            PlayerQueue::new(self.deps.fanout);
        if pause {
            let _ = self.session.send_stream_eof(stream_id);
            self.status(stream_id, status::NS_PAUSE_NOTIFY, format!("Paused {key}."));
        } else {
            let _ = self.session.send_stream_begin(stream_id);
            self.status(
                stream_id,
                status::NS_UNPAUSE_NOTIFY,
                format!("Resumed {key}."),
            );
            self.deps.registry.do_send(Play { key, player });
        }
    }
}

/// Bytes drained from a player's queue per turn, so one player's backlog does
/// not monopolise the actor.
const DRAIN_BATCH_BYTES: usize = 256 * 1024;

/// How much of a player's queue one drain may take before the actor yields to
/// its mailbox (the rest follows through [`DrainMore`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Budget {
    /// One batch of [`DRAIN_BATCH_BYTES`]: one player's backlog does not
    /// monopolise the actor.
    Batch,
    /// Everything queued (before a reset of the queue).
    All,
}

/// What draining one player's queue left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drained {
    /// The queue is empty.
    Empty,
    /// Frames remain: the budget ran out.
    More,
    /// Frames remain: the write task is above its high mark and sends
    /// `WriterDrained` once below the low one.
    WriterFull,
}

/// The player side of a connection: when to drain (the write-coalescing
/// window) and a reused vector for the popped frames.
pub(super) struct Drainer {
    coalescer: WriteCoalescer,
    frames: Vec<Frame>,
}

impl Drainer {
    /// A drainer writing frames at the latest `window` after the first
    /// undrained one (zero: as they arrive).
    pub(super) fn new(window: Duration) -> Self {
        Self {
            coalescer: WriteCoalescer::new(u64::try_from(window.as_millis()).unwrap_or(u64::MAX)),
            frames: Vec::new(),
        }
    }
}

/// ConnectionActor (to itself): keep draining a player whose queue still
/// holds frames after a batch.
#[derive(Message)]
#[rtype(result = "()")]
struct DrainMore {
    stream_id: u32,
}

impl ConnectionActor {
    /// Chunk-encodes queued frames of the player on `stream_id` and hands
    /// them to the write task, batch by batch, while the write task is below
    /// its high mark.
    fn drain_player(&mut self, stream_id: u32, budget: Budget) -> Drained {
        let Some(queue) = self.playing.get(&stream_id).map(|p| p.player.queue.clone()) else {
            return Drained::Empty;
        };
        let mut frames = std::mem::take(&mut self.drainer.frames);
        let drained = loop {
            if !self.outbox.ready_for_media() {
                break Drained::WriterFull;
            }
            let more = {
                let mut queue = queue.lock().unwrap_or_else(|p| p.into_inner());
                queue.pop_batch_into(&mut frames, DRAIN_BATCH_BYTES);
                !queue.is_empty()
            };
            for frame in frames.drain(..) {
                self.send_frame(stream_id, &frame);
            }
            self.flush();
            match (more, budget) {
                (false, _) => break Drained::Empty,
                (true, Budget::Batch) => break Drained::More,
                (true, Budget::All) => {}
            }
        };
        self.drainer.frames = frames;
        drained
    }

    /// One frame into the session's chunk stream (the payload is shared).
    fn send_frame(&mut self, stream_id: u32, frame: &Frame) {
        let (ts, payload) = (frame.timestamp(), frame.payload());
        let sent = match frame.kind() {
            FrameKind::Audio => self
                .session
                .send_media(stream_id, MediaKind::Audio, ts, payload)
                .map(|_| ()),
            FrameKind::Video => self
                .session
                .send_media(stream_id, MediaKind::Video, ts, payload)
                .map(|_| ()),
            FrameKind::Data => self.session.send_data_raw(stream_id, ts, payload),
        };
        if let Err(e) = sent {
            debug!(conn_id = self.id, error = %e, "frame not sent");
        }
    }

    /// Drains one batch now; the rest follows through the mailbox.
    fn drain_now(&mut self, stream_id: u32, ctx: &mut Context<Self>) {
        if self.drain_player(stream_id, Budget::Batch) == Drained::More {
            ctx.notify(DrainMore { stream_id });
        }
    }

    /// The write-coalescing window expired: every player's queue goes out
    /// now, in one vectored write.
    fn window_expired(&mut self, ctx: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        self.drainer.coalescer.on_expired();
        let ids: Vec<u32> = self.playing.keys().copied().collect();
        for stream_id in ids {
            self.drain_now(stream_id, ctx);
        }
    }

    /// The write task caught up: drain every player at once (their frames
    /// already waited).
    pub(super) fn resume_players(&mut self, ctx: &mut Context<Self>) {
        let ids: Vec<u32> = self.playing.keys().copied().collect();
        for stream_id in ids {
            self.drain_now(stream_id, ctx);
        }
    }

    /// Before a player's queue is reset (its publisher left), what it holds
    /// goes out: with a coalescing window that is up to a window of frames.
    fn drain_before_reset(&mut self, stream_id: u32) {
        let _ = self.drain_player(stream_id, Budget::All);
    }
}

impl Handler<QueueReady> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: QueueReady, ctx: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        if self.drainer.coalescer.window_ms() == 0 {
            // Low latency: every wake-up drains at once, joining or not (one
            // lock of the queue per frame, not two).
            return self.drain_now(msg.stream_id, ctx);
        }
        let Some(playing) = self.playing.get(&msg.stream_id) else {
            return;
        };
        let joining = playing
            .player
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_joining();
        match self.drainer.coalescer.on_ready(joining) {
            ReadyAction::DrainNow => self.drain_now(msg.stream_id, ctx),
            ReadyAction::Arm { window_ms } => {
                ctx.run_later(Duration::from_millis(window_ms), |act, ctx| {
                    act.window_expired(ctx);
                });
            }
            ReadyAction::Wait => {}
        }
    }
}

impl Handler<DrainMore> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: DrainMore, ctx: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        self.drain_now(msg.stream_id, ctx);
    }
}

impl Handler<StreamAttached> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: StreamAttached, _: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        let Some(playing) = self.playing.get_mut(&msg.stream_id).filter(|p| !p.paused) else {
            return;
        };
        playing.stream = Some(msg.stream.clone());
        let player = playing.player.clone();
        let description = format!("{} is now published.", playing.key);
        if msg.notify {
            let _ = self.session.send_stream_begin(msg.stream_id);
            self.status(msg.stream_id, status::NS_PLAY_PUBLISH_NOTIFY, description);
            self.flush();
        }
        msg.stream.do_send(AddPlayer(player));
    }
}

impl Handler<PublisherLeft> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: PublisherLeft, _: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        let Some(playing) = self.playing.get_mut(&msg.stream_id) else {
            return;
        };
        playing.stream = None;
        let queue = playing.player.queue.clone();
        // What the publisher sent before it left is delivered first.
        self.drain_before_reset(msg.stream_id);
        // A republished stream starts afresh: wait for its first keyframe.
        *queue.lock().unwrap_or_else(|p| p.into_inner()) = PlayerQueue::new(self.deps.fanout);
        let Some(playing) = self.playing.get(&msg.stream_id) else {
            return;
        };
        let (key, player) = (playing.key.clone(), playing.player.clone());
        let _ = self.session.send_stream_eof(msg.stream_id);
        self.status(
            msg.stream_id,
            status::NS_PLAY_UNPUBLISH_NOTIFY,
            format!("{key} is now unpublished."),
        );
        self.flush();
        self.deps.registry.do_send(Play { key, player });
    }
}

impl Handler<PlayerEvicted> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: PlayerEvicted, ctx: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        warn!(conn_id = self.id, peer = %self.peer, reason = %msg.reason, "closing a player that fell too far behind");
        ctx.stop();
    }
}
