//! [`FanoutLimits`]: the plain settings struct that bounds the GOP cache and
//! every player queue, and the timestamp arithmetic both share.

/// What one queued or cached frame costs beyond its payload: the [`Frame`]
/// value itself in a `VecDeque` slot plus the shared buffer's header, rounded
/// up. Charging it keeps a flood of empty (0-byte) frames bounded too.
///
/// [`Frame`]: super::Frame
pub const FRAME_OVERHEAD_BYTES: usize = 64;

/// Bounds of the media fan-out. Every field is a hard number of bytes or
/// milliseconds; see `docs/fanout.md` for why each default was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanoutLimits {
    /// Most bytes the GOP cache holds in frames from the last keyframe (payload
    /// plus [`FRAME_OVERHEAD_BYTES`] each). Past it the cache drops to headers
    /// only until the next keyframe. Default 8 MiB: a 2 s GOP up to ~32 Mbit/s,
    /// a 10 s GOP up to ~6 Mbit/s.
    pub gop_max_bytes: usize,
    /// Longest GOP the cache holds, in media milliseconds from its keyframe.
    /// Default 10 s: OBS, YouTube and Twitch recommend 2 s keyframe intervals;
    /// a late joiner of a longer GOP would start that far behind live.
    pub gop_max_duration_ms: u32,
    /// How much recent audio the cache keeps while it has no GOP (audio-only
    /// streams, or video waiting for its next keyframe), so late joiners hear
    /// sound at once. Default 2 s.
    pub audio_only_window_ms: u32,
    /// Soft byte budget of one player queue (live frames, payload plus
    /// overhead): above it, droppable frames are dropped. Default 4 MiB.
    pub player_queue_max_bytes: usize,
    /// Soft time budget of one player queue: media time from the oldest queued
    /// live frame to the newest. Default 3 s, about nginx-rtmp's 256-message
    /// `out_queue` at 30 fps video plus 44 kHz AAC.
    pub player_queue_max_span_ms: u32,
    /// How long (wall clock, `now_ms`) a queue may stay over its soft budget
    /// before the player is disconnected. Default 10 s.
    pub player_max_lag_ms: u64,
    /// Hard cap on one queue's bytes (payload plus overhead), burst included:
    /// a frame that would pass it disconnects the player instead. Default
    /// 16 MiB: a full GOP burst (8 MiB) plus the soft budget fits.
    pub player_hard_cap_bytes: usize,
}

impl Default for FanoutLimits {
    fn default() -> Self {
        Self {
            gop_max_bytes: 8 * 1024 * 1024,
            gop_max_duration_ms: 10_000,
            audio_only_window_ms: 2_000,
            player_queue_max_bytes: 4 * 1024 * 1024,
            player_queue_max_span_ms: 3_000,
            player_max_lag_ms: 10_000,
            player_hard_cap_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What a frame of `len` payload bytes is charged against a byte budget.
pub(crate) fn frame_cost(len: usize) -> usize {
    len.saturating_add(FRAME_OVERHEAD_BYTES)
}

/// `later - earlier` in RTMP milliseconds, across the 2^32 wrap: the wrapping
/// difference read as signed (so a step of up to ~24.8 days either way is
/// understood), clamped at 0 when `later` is actually before `earlier`.
pub fn timestamp_span(earlier: u32, later: u32) -> u32 {
    let diff = later.wrapping_sub(earlier);
    if diff > i32::MAX as u32 {
        0
    } else {
        diff
    }
}

/// How far behind the newest timestamp a frame may be and still count as
/// interleaving jitter (audio and video of one stream are a few ms to a few
/// hundred ms apart). A frame further behind is a timestamp discontinuity: the
/// publisher restarted its clock.
pub const MAX_BACKWARD_STEP_MS: u32 = 2_000;

/// Whether `candidate` is after `current` in wrapping RTMP time.
fn is_after(candidate: u32, current: u32) -> bool {
    let diff = candidate.wrapping_sub(current);
    diff != 0 && diff <= i32::MAX as u32
}

/// The newest timestamp of a run of frames, in wrapping RTMP time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Newest(Option<u32>);

/// What [`Newest::observe`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Forward, equal, or back by at most [`MAX_BACKWARD_STEP_MS`].
    Continuous,
    /// Back by more than [`MAX_BACKWARD_STEP_MS`]: the newest timestamp is
    /// reset to this one.
    Discontinuity,
}

impl Newest {
    /// Takes in the next timestamp.
    pub(crate) fn observe(&mut self, ts: u32) -> Step {
        match self.0 {
            Some(newest) if !is_after(ts, newest) => {
                if newest.wrapping_sub(ts) > MAX_BACKWARD_STEP_MS {
                    self.0 = Some(ts);
                    Step::Discontinuity
                } else {
                    Step::Continuous
                }
            }
            _ => {
                self.0 = Some(ts);
                Step::Continuous
            }
        }
    }

    /// The newest timestamp, if any.
    pub(crate) fn get(self) -> Option<u32> {
        self.0
    }

    /// Forgets it.
    pub(crate) fn reset(&mut self) {
        self.0 = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_crosses_the_32_bit_wrap() {
        assert_eq!(timestamp_span(u32::MAX - 9, 10), 20);
        assert_eq!(timestamp_span(100, 250), 150);
        assert!(is_after(5, u32::MAX));
        assert!(!is_after(u32::MAX, 5));
    }

    #[test]
    fn newest_tolerates_jitter_and_resets_on_a_discontinuity() {
        let mut newest = Newest::default();
        assert_eq!(newest.observe(u32::MAX - 5), Step::Continuous);
        assert_eq!(newest.observe(10), Step::Continuous); // across the wrap
        assert_eq!(newest.observe(3), Step::Continuous); // jitter
        assert_eq!(newest.get(), Some(10));
        assert_eq!(newest.observe(4_000_000), Step::Continuous);
        assert_eq!(newest.observe(0), Step::Discontinuity);
        assert_eq!(newest.get(), Some(0));
        newest.reset();
        assert_eq!(newest.get(), None);
    }

    #[test]
    fn a_backwards_step_is_a_zero_span() {
        assert_eq!(timestamp_span(1_000, 400), 0);
        assert_eq!(timestamp_span(10, u32::MAX - 9), 0);
        assert!(!is_after(7, 7));
    }
}
