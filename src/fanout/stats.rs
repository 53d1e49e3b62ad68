//! [`FanoutStats`]: plain counters the HTTP metrics read, kept per stream and
//! per player.

use super::frame::{Frame, FrameKind};
use super::queue::PushOutcome;

/// Media counters. Bytes are payload bytes (what crosses the wire, without the
/// accounting overhead). For a player queue, "in" is what was pushed and "out"
/// what was popped for writing; for a stream, "in" is what the publisher sent
/// and "out" what was accepted into player queues (the sum over players, see
/// [`record_out`](Self::record_out)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FanoutStats {
    /// Frames received.
    pub frames_in: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Frames passed on.
    pub frames_out: u64,
    /// Payload bytes passed on.
    pub bytes_out: u64,
    /// Video frames dropped for slow consumers (inter frames, and everything
    /// until the next keyframe after one).
    pub dropped_video_frames: u64,
    /// Audio frames dropped for slow consumers.
    pub dropped_audio_frames: u64,
    /// Payload bytes of all dropped frames.
    pub dropped_bytes: u64,
    /// Players disconnected for lagging or passing the hard cap.
    pub disconnects: u64,
}

impl FanoutStats {
    /// Counts a frame received.
    pub fn record_in(&mut self, frame: &Frame) {
        self.frames_in += 1;
        self.bytes_in += len_u64(frame);
    }

    /// Counts a frame passed on.
    pub fn record_out(&mut self, frame: &Frame) {
        self.frames_out += 1;
        self.bytes_out += len_u64(frame);
    }

    /// Counts a dropped frame by its kind.
    pub fn record_drop(&mut self, frame: &Frame) {
        match frame.kind() {
            FrameKind::Video => self.dropped_video_frames += 1,
            // Data frames are never droppable; counted with audio if a caller
            // ever drops one anyway.
            FrameKind::Audio | FrameKind::Data => self.dropped_audio_frames += 1,
        }
        self.dropped_bytes += len_u64(frame);
    }

    /// Counts what a player queue did with a frame: queued (out), dropped,
    /// or the player disconnected (counted once per player: a queue refuses
    /// every push after its disconnect, so count only the first).
    pub fn record_outcome(&mut self, frame: &Frame, outcome: &PushOutcome) {
        match outcome {
            PushOutcome::Queued => self.record_out(frame),
            PushOutcome::Dropped(_) => self.record_drop(frame),
            PushOutcome::Disconnect(_) => self.disconnects += 1,
        }
    }

    /// All dropped frames.
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_video_frames + self.dropped_audio_frames
    }

    /// Adds another set of counters (e.g. a leaving player's into its stream's
    /// or a node total).
    pub fn add(&mut self, other: &Self) {
        self.frames_in += other.frames_in;
        self.bytes_in += other.bytes_in;
        self.frames_out += other.frames_out;
        self.bytes_out += other.bytes_out;
        self.dropped_video_frames += other.dropped_video_frames;
        self.dropped_audio_frames += other.dropped_audio_frames;
        self.dropped_bytes += other.dropped_bytes;
        self.disconnects += other.disconnects;
    }
}

fn len_u64(frame: &Frame) -> u64 {
    u64::try_from(frame.len()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn counts_frames_bytes_and_drops_by_kind() {
        let mut stats = FanoutStats::default();
        let inter = Frame::video(0, Bytes::from_static(&[0x27, 0x01, 0, 0, 0, 0x41]));
        let aac = Frame::audio(0, Bytes::from_static(&[0xAF, 0x01, 0x21]));
        stats.record_in(&inter);
        stats.record_in(&aac);
        stats.record_out(&aac);
        stats.record_drop(&inter);
        stats.record_drop(&aac);
        assert_eq!((stats.frames_in, stats.bytes_in), (2, 9));
        assert_eq!((stats.frames_out, stats.bytes_out), (1, 3));
        assert_eq!(stats.dropped_video_frames, 1);
        assert_eq!(stats.dropped_audio_frames, 1);
        assert_eq!((stats.dropped_frames(), stats.dropped_bytes), (2, 9));
        stats.record_outcome(&aac, &PushOutcome::Queued);
        assert_eq!(stats.frames_out, 2);
        let mut total = FanoutStats::default();
        total.add(&stats);
        total.add(&stats);
        assert_eq!(total.frames_in, 4);
        assert_eq!(total.frames_out, 4);
        assert_eq!(total.dropped_bytes, 18);
    }
}
