//! [`PlayerQueue`]: one player's bounded outbound queue of shared frames, and
//! the slow-consumer policy (DESIGN.md §5, STYLE.md rule 10).
//!
//! The stream pushes every frame into every player's queue (an O(1) enqueue of
//! a `Bytes` handle); the player's connection pops batches for merged writes.
//! The queue decides, per frame, in O(1):
//!
//! 1. Over its soft budget (`player_queue_max_bytes` or
//!    `player_queue_max_span_ms` of live frames), droppable frames are dropped.
//!    Dropping a video frame makes the queue wait for the next keyframe: every
//!    droppable video frame until then is dropped too, so the decoder never
//!    sees a broken reference chain. Keyframes, headers, metadata, data and
//!    anything unclassifiable are never dropped.
//! 2. Over the soft budget for longer than `player_max_lag_ms` of wall clock,
//!    or about to pass `player_hard_cap_bytes`, the player is to be
//!    disconnected ([`PushOutcome::Disconnect`]); the queue empties itself and
//!    refuses everything after. So memory per player is bounded by the hard cap
//!    whatever the producer does.

use std::collections::VecDeque;

use super::frame::{Frame, FrameKind};
use super::limits::{frame_cost, timestamp_span, FanoutLimits, Newest};
use super::stats::FanoutStats;

/// What [`PlayerQueue::push`] did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Queued for the player.
    Queued,
    /// Dropped, and counted.
    Dropped(DropReason),
    /// The player cannot keep up: close its connection. The queue is empty and
    /// refuses every later push with the same outcome.
    Disconnect(DisconnectReason),
}

/// Why a frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The queue was over its soft budget and the frame droppable.
    OverBudget,
    /// A droppable video frame while the queue waits for a keyframe (after a
    /// video drop, or for a player that joined without a cached keyframe).
    WaitingForKeyframe,
}

/// Why a player is to be disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DisconnectReason {
    /// The queue stayed over its soft budget for too long.
    #[error("player lagging: queue over budget for {over_budget_ms} ms")]
    Lagging {
        /// How long it had been over budget, in ms of wall clock.
        over_budget_ms: u64,
    },
    /// Queuing a frame that may not be dropped would pass the hard cap.
    #[error("player queue hard cap: {queued_bytes} bytes queued, frame of {frame_bytes}")]
    HardCap {
        /// Bytes charged to the queue at that moment.
        queued_bytes: usize,
        /// The frame's payload bytes.
        frame_bytes: usize,
    },
}

/// A per-player bounded queue of shared frames. See the module docs for the
/// policy; `docs/fanout.md` for the defaults.
#[derive(Debug, Clone)]
pub struct PlayerQueue {
    limits: FanoutLimits,
    frames: VecDeque<Frame>,
    /// Bytes charged for everything queued (payload plus overhead).
    cost: usize,
    /// How many frames at the front came from the join burst: they are exempt
    /// from the soft budget (a late joiner is a GOP behind by design and
    /// drains it at network speed), not from the hard cap.
    burst_frames: usize,
    /// Bytes charged for those.
    burst_cost: usize,
    newest: Newest,
    waiting_for_keyframe: bool,
    /// A video frame was pushed (this stream has video).
    seen_video: bool,
    /// A video keyframe was popped (the player has its first picture).
    keyframe_out: bool,
    /// Wall clock (ms) since which the live frames are over the soft budget.
    over_budget_since: Option<u64>,
    disconnected: Option<DisconnectReason>,
    stats: FanoutStats,
}

impl PlayerQueue {
    /// An empty queue. It starts waiting for a keyframe: a player must not
    /// get inter frames before one (the join burst normally brings it).
    pub fn new(limits: FanoutLimits) -> Self {
        Self {
            limits,
            frames: VecDeque::new(),
            cost: 0,
            burst_frames: 0,
            burst_cost: 0,
            newest: Newest::default(),
            waiting_for_keyframe: true,
            seen_video: false,
            keyframe_out: false,
            over_budget_since: None,
            disconnected: None,
            stats: FanoutStats::default(),
        }
    }

    /// Queues the join burst ([`GopCache::join_burst`]) ahead of live frames,
    /// exempt from the soft budget (still under the hard cap). Call it before
    /// the first live push; on a queue that already holds live frames the
    /// burst is pushed like live frames. Frames dropped on the way are
    /// counted; the outcome is `Disconnect` if the burst passed the hard cap,
    /// else `Queued`.
    ///
    /// [`GopCache::join_burst`]: super::GopCache::join_burst
    pub fn push_burst(
        &mut self,
        burst: impl IntoIterator<Item = Frame>,
        now_ms: u64,
    ) -> PushOutcome {
        let exempt = self.frames.len() == self.burst_frames;
        for frame in burst {
            let outcome = self.push_inner(frame, now_ms, exempt);
            if let PushOutcome::Disconnect(_) = outcome {
                return outcome;
            }
        }
        PushOutcome::Queued
    }

    /// Queues one live frame, or drops it, or reports that the player must go.
    pub fn push(&mut self, frame: Frame, now_ms: u64) -> PushOutcome {
        self.push_inner(frame, now_ms, false)
    }

    fn push_inner(&mut self, frame: Frame, now_ms: u64, burst: bool) -> PushOutcome {
        if let Some(reason) = self.disconnected {
            return PushOutcome::Disconnect(reason);
        }
        self.stats.record_in(&frame);
        if let Some(reason) = self.check_lag(now_ms) {
            return self.disconnect(reason);
        }
        if frame.kind() == FrameKind::Video {
            self.seen_video = true;
            if frame.is_keyframe() {
                self.waiting_for_keyframe = false;
            } else if self.waiting_for_keyframe && frame.is_droppable() {
                return self.drop_frame(&frame, DropReason::WaitingForKeyframe);
            }
        }
        if !burst && frame.is_droppable() && self.over_budget_with(&frame) {
            if frame.kind() == FrameKind::Video {
                self.waiting_for_keyframe = true;
            }
            return self.drop_frame(&frame, DropReason::OverBudget);
        }
        let cost = frame_cost(frame.len());
        if self.cost.saturating_add(cost) > self.limits.player_hard_cap_bytes {
            return self.disconnect(DisconnectReason::HardCap {
                queued_bytes: self.cost,
                frame_bytes: frame.len(),
            });
        }
        // On a discontinuity (the publisher restarted its clock) `newest`
        // restarts from this frame, so older frames measure as a zero span
        // instead of holding the queue over budget until they drain.
        self.newest.observe(frame.timestamp());
        self.cost += cost;
        if burst {
            self.burst_frames += 1;
            self.burst_cost += cost;
        }
        self.frames.push_back(frame);
        // Start the over-budget clock now if this frame tipped the queue over;
        // the next push acts on it.
        let _ = self.check_lag(now_ms);
        PushOutcome::Queued
    }

    /// Pops the next frame to write.
    pub fn pop(&mut self) -> Option<Frame> {
        let frame = self.frames.pop_front()?;
        let cost = frame_cost(frame.len());
        self.cost -= cost;
        if self.burst_frames > 0 {
            self.burst_frames -= 1;
            self.burst_cost -= cost;
        }
        if self.frames.is_empty() {
            self.newest.reset();
        }
        if frame.is_keyframe() {
            self.keyframe_out = true;
        }
        if !self.over_budget() {
            self.over_budget_since = None;
        }
        self.stats.record_out(&frame);
        Some(frame)
    }

    /// Pops frames for one merged write: as many as fit in `max_bytes` of
    /// payload, and always at least one if any is queued (so a frame larger
    /// than `max_bytes` is not stuck).
    pub fn pop_batch(&mut self, max_bytes: usize) -> Vec<Frame> {
        let mut out = Vec::new();
        self.pop_batch_into(&mut out, max_bytes);
        out
    }

    /// [`pop_batch`](Self::pop_batch) into a caller's (reused) vector;
    /// returns the payload bytes appended.
    pub fn pop_batch_into(&mut self, out: &mut Vec<Frame>, max_bytes: usize) -> usize {
        let mut bytes = 0usize;
        let mut popped_any = false;
        while let Some(next) = self.frames.front() {
            if popped_any && bytes.saturating_add(next.len()) > max_bytes {
                break;
            }
            let Some(frame) = self.pop() else { break };
            bytes = bytes.saturating_add(frame.len());
            popped_any = true;
            out.push(frame);
        }
        bytes
    }

    /// Whether the player is still joining: join-burst frames are queued, or
    /// the stream has video and no keyframe was popped yet. A joining
    /// player's frames are written at once, whatever the write-coalescing
    /// window ([`WriteCoalescer`](super::WriteCoalescer)), so play → first
    /// keyframe does not wait for it.
    pub fn is_joining(&self) -> bool {
        self.burst_frames > 0 || (self.seen_video && !self.keyframe_out)
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The queued frames, oldest first.
    pub fn frames(&self) -> impl Iterator<Item = &Frame> {
        self.frames.iter()
    }

    /// Frames queued.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Bytes charged for the queued frames: payload plus
    /// [`FRAME_OVERHEAD_BYTES`](super::FRAME_OVERHEAD_BYTES) each. Never above
    /// `player_hard_cap_bytes`.
    pub fn queued_bytes(&self) -> usize {
        self.cost
    }

    /// Media time from the oldest queued frame to the newest, in ms.
    pub fn queued_span_ms(&self) -> u32 {
        self.span_from(0)
    }

    /// Whether droppable video is being dropped until the next keyframe.
    pub fn is_waiting_for_keyframe(&self) -> bool {
        self.waiting_for_keyframe
    }

    /// Why the player is to be disconnected, once it is.
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        self.disconnected
    }

    /// This player's counters (in = pushed, out = popped).
    pub fn stats(&self) -> &FanoutStats {
        &self.stats
    }

    /// Span from the frame at `index` to the newest.
    fn span_from(&self, index: usize) -> u32 {
        match (self.frames.get(index), self.newest.get()) {
            (Some(oldest), Some(newest)) => timestamp_span(oldest.timestamp(), newest),
            _ => 0,
        }
    }

    /// Whether the live frames (after the burst) are over the soft budget.
    fn over_budget(&self) -> bool {
        self.cost - self.burst_cost > self.limits.player_queue_max_bytes
            || self.span_from(self.burst_frames) > self.limits.player_queue_max_span_ms
    }

    /// Whether queuing `frame` as a live frame would be over the soft budget.
    fn over_budget_with(&self, frame: &Frame) -> bool {
        let live_cost = self.cost - self.burst_cost;
        if live_cost.saturating_add(frame_cost(frame.len())) > self.limits.player_queue_max_bytes {
            return true;
        }
        let Some(oldest) = self.frames.get(self.burst_frames) else {
            return false;
        };
        let span = self
            .span_from(self.burst_frames)
            .max(timestamp_span(oldest.timestamp(), frame.timestamp()));
        span > self.limits.player_queue_max_span_ms
    }

    /// Starts or stops the over-budget clock; the reason to disconnect once it
    /// has run longer than `player_max_lag_ms`.
    fn check_lag(&mut self, now_ms: u64) -> Option<DisconnectReason> {
        if !self.over_budget() {
            self.over_budget_since = None;
            return None;
        }
        let since = *self.over_budget_since.get_or_insert(now_ms);
        let over_budget_ms = now_ms.saturating_sub(since);
        (over_budget_ms > self.limits.player_max_lag_ms)
            .then_some(DisconnectReason::Lagging { over_budget_ms })
    }

    fn drop_frame(&mut self, frame: &Frame, reason: DropReason) -> PushOutcome {
        self.stats.record_drop(frame);
        PushOutcome::Dropped(reason)
    }

    /// Frees everything at once: the caller closes the player.
    fn disconnect(&mut self, reason: DisconnectReason) -> PushOutcome {
        self.frames = VecDeque::new();
        self.cost = 0;
        self.burst_frames = 0;
        self.burst_cost = 0;
        self.newest.reset();
        self.disconnected = Some(reason);
        self.stats.disconnects += 1;
        PushOutcome::Disconnect(reason)
    }
}
