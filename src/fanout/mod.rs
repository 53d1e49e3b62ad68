//! Live media fan-out: the pure data structures between one publisher and its
//! players (DESIGN.md §4 "late joiners start at the last keyframe", §5 "the
//! media hot path is the fan-out").
//!
//! - [`Frame`]: one audio/video/data message, classified once at ingest with
//!   the protocol's sniffers; its payload is a shared [`bytes::Bytes`], so
//!   every clone is a reference count, never a copy.
//! - [`GopCache`]: per stream, metadata + sequence headers + the frames from
//!   the last keyframe (or a short audio window); [`GopCache::join_burst`] is
//!   what a late joiner receives first.
//! - [`PlayerQueue`]: per player, a bounded queue with the slow-consumer
//!   policy (drop droppable frames, wait for a keyframe after a video drop,
//!   disconnect a player that stays behind); [`PlayerQueue::pop_batch`] feeds
//!   merged writes.
//! - [`WriteCoalescer`]: per connection, whether a player's queue is drained
//!   at once or at the end of the write-coalescing window.
//! - [`FanoutStats`]: plain counters for the metrics.
//! - [`FanoutLimits`]: the settings that bound all of it.
//!
//! Like `crate::protocol`, this module is pure: no actors, tasks, clocks or IO;
//! wall-clock time comes in as `now_ms`, media time is the RTMP timestamp. Every
//! operation is O(1) amortized per frame per player. See `docs/fanout.md`.

mod coalesce;
mod frame;
mod gop;
mod limits;
mod queue;
mod stats;

pub use coalesce::{ReadyAction, WriteCoalescer};
pub use frame::{Codec, DataKind, Frame, FrameKind, HeaderKind};
pub use gop::{GopCache, JoinBurst, MAX_HEADER_SLOTS};
pub use limits::{timestamp_span, FanoutLimits, FRAME_OVERHEAD_BYTES, MAX_BACKWARD_STEP_MS};
pub use queue::{DisconnectReason, DropReason, PlayerQueue, PushOutcome};
pub use stats::FanoutStats;

#[cfg(test)]
mod tests;
