//! [`GopCache`]: what a late joiner of a live stream receives first.
//!
//! Per stream: the current metadata, the latest decoder configuration of each
//! kind (kept across GOPs), and the frames from the last video keyframe on —
//! or, while there is no such GOP (audio-only streams, or video waiting for
//! its next keyframe), a short window of recent audio. DESIGN.md §4: "Late
//! joiners on any node start at the last keyframe with metadata and codec
//! headers."

use std::collections::VecDeque;

use super::frame::{Codec, DataKind, Frame, FrameKind, HeaderKind};
use super::limits::{frame_cost, timestamp_span, FanoutLimits, Newest, Step};
use crate::protocol::media::{AudioCodec, VideoCodec};

/// Most header slots (kind × E-RTMP track) kept; the oldest goes first. Real
/// streams use two to four; the bound stops a publisher cycling track ids.
pub const MAX_HEADER_SLOTS: usize = 16;

/// What a late joiner is sent before live frames, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinBurst {
    /// The timestamp the burst starts at: the cached keyframe's (or first
    /// cached audio frame's), else the latest timestamp the stream carried.
    /// Metadata and headers in `frames` are stamped with it; cached media
    /// frames keep their original timestamps (see `docs/fanout.md`).
    pub base_timestamp: u32,
    /// Metadata, video headers, audio headers, then the cached frames.
    pub frames: Vec<Frame>,
}

impl JoinBurst {
    /// `timestamp` relative to [`base_timestamp`](Self::base_timestamp), for a
    /// session that prefers to start each player at 0. Frames slightly before
    /// the base (audio interleaved around a keyframe) map to 0, never to a
    /// wrapped-around huge value.
    pub fn rebase(&self, timestamp: u32) -> u32 {
        timestamp_span(self.base_timestamp, timestamp)
    }
}

/// The per-stream GOP cache. Feed it every frame of the stream in order with
/// [`push`](Self::push); ask it for [`join_burst`](Self::join_burst) when a
/// player joins. Every operation is O(1) amortized per frame (header
/// operations are O([`MAX_HEADER_SLOTS`])).
#[derive(Debug, Clone)]
pub struct GopCache {
    limits: FanoutLimits,
    metadata: Option<Frame>,
    /// At most one frame per (header kind, track), oldest first.
    headers: Vec<Frame>,
    /// A GOP (starting at a keyframe) when `in_gop`, else the audio window.
    frames: VecDeque<Frame>,
    /// Bytes charged for `frames` (payload plus overhead).
    frames_cost: usize,
    in_gop: bool,
    /// Latest timestamp of the stream's media since `frames` was last
    /// cleared (wrapping order, reset on a discontinuity).
    newest: Newest,
    /// Timestamp of the last frame pushed, whatever it was.
    last_timestamp: Option<u32>,
    video_codec: Option<VideoCodec>,
    audio_codec: Option<AudioCodec>,
    gops_started: u64,
    overflows: u64,
}

impl GopCache {
    /// An empty cache bounded by `limits` (the `gop_*` and
    /// `audio_only_window_ms` fields).
    pub fn new(limits: FanoutLimits) -> Self {
        Self {
            limits,
            metadata: None,
            headers: Vec::new(),
            frames: VecDeque::new(),
            frames_cost: 0,
            in_gop: false,
            newest: Newest::default(),
            last_timestamp: None,
            video_codec: None,
            audio_codec: None,
            gops_started: 0,
            overflows: 0,
        }
    }

    /// Takes in the next frame of the stream (cloning a `Bytes` handle, never
    /// the payload).
    pub fn push(&mut self, frame: &Frame) {
        self.last_timestamp = Some(frame.timestamp());
        match frame.codec() {
            Some(Codec::Video(codec)) => self.video_codec = Some(codec),
            Some(Codec::Audio(codec)) => self.audio_codec = Some(codec),
            None => {}
        }
        if let Some(kind) = frame.header_kind() {
            self.set_header(frame, kind);
            return;
        }
        match frame.kind() {
            FrameKind::Data => match frame.data_kind() {
                Some(DataKind::Metadata) => self.metadata = Some(frame.clone()),
                Some(DataKind::ClearMetadata) => self.metadata = None,
                _ => {}
            },
            FrameKind::Video | FrameKind::Audio => self.push_media(frame),
        }
    }

    /// What a late joiner receives first: metadata, video headers, audio
    /// headers (each stamped with the base timestamp), then the cached frames
    /// with their own timestamps. O(cached frames).
    pub fn join_burst(&self) -> JoinBurst {
        let base = self
            .frames
            .front()
            .map(Frame::timestamp)
            .or(self.last_timestamp)
            .unwrap_or(0);
        let is_video = |f: &&Frame| f.kind() == FrameKind::Video;
        let headers = self
            .headers
            .iter()
            .filter(is_video)
            .chain(self.headers.iter().filter(|f| !is_video(f)));
        let frames = self
            .metadata
            .iter()
            .chain(headers)
            .map(|f| f.with_timestamp(base))
            .chain(self.frames.iter().cloned())
            .collect();
        JoinBurst {
            base_timestamp: base,
            frames,
        }
    }

    /// Forgets everything (the publisher left).
    pub fn clear(&mut self) {
        *self = Self::new(self.limits);
    }

    /// The current metadata (`onMetaData`, `@setDataFrame` stripped).
    pub fn metadata(&self) -> Option<&Frame> {
        self.metadata.as_ref()
    }

    /// The cached headers, oldest first.
    pub fn headers(&self) -> impl Iterator<Item = &Frame> {
        self.headers.iter()
    }

    /// The cached frames (a GOP from its keyframe, or the audio window).
    pub fn frames(&self) -> impl Iterator<Item = &Frame> {
        self.frames.iter()
    }

    /// Whether the cached frames are a GOP starting at a keyframe.
    pub fn has_gop(&self) -> bool {
        self.in_gop
    }

    /// Bytes charged for the cached frames (payload plus overhead; headers and
    /// metadata not included).
    pub fn cached_bytes(&self) -> usize {
        self.frames_cost
    }

    /// Media time spanned by the cached frames, in ms.
    pub fn cached_span_ms(&self) -> u32 {
        match (self.frames.front(), self.newest.get()) {
            (Some(front), Some(newest)) => timestamp_span(front.timestamp(), newest),
            _ => 0,
        }
    }

    /// The video codec last seen, for the admin API.
    pub fn video_codec(&self) -> Option<VideoCodec> {
        self.video_codec
    }

    /// The audio codec last seen, for the admin API.
    pub fn audio_codec(&self) -> Option<AudioCodec> {
        self.audio_codec
    }

    /// How many GOPs (keyframes) the cache has started.
    pub fn gops_started(&self) -> u64 {
        self.gops_started
    }

    /// How many times a GOP passed `gop_max_bytes` or `gop_max_duration_ms`
    /// and the cache fell back to headers only.
    pub fn overflows(&self) -> u64 {
        self.overflows
    }

    /// Replaces the header of the same kind and track. A header whose bytes
    /// differ from the one it replaces — or that changes the codec — means the
    /// cached frames were encoded with another configuration: they are
    /// dropped, and the cache waits for the next keyframe.
    fn set_header(&mut self, frame: &Frame, kind: HeaderKind) {
        let same_media_and_track =
            |f: &Frame| f.kind() == frame.kind() && f.track() == frame.track();
        let mut changed = false;
        self.headers.retain(|old| {
            if !same_media_and_track(old) {
                return true;
            }
            if old.header_kind() == Some(kind) {
                changed |= old.payload() != frame.payload();
                false
            } else if old.codec() != frame.codec() {
                // Codec change: the old codec's other headers are stale.
                changed = true;
                false
            } else {
                true
            }
        });
        if self.headers.len() >= MAX_HEADER_SLOTS {
            self.headers.remove(0);
        }
        self.headers.push(frame.clone());
        if changed {
            self.clear_frames();
        }
    }

    fn push_media(&mut self, frame: &Frame) {
        if frame.kind() == FrameKind::Video && frame.is_keyframe() {
            // A new GOP: the cache restarts from this keyframe.
            self.clear_frames();
            self.in_gop = true;
            self.gops_started += 1;
        } else if self.newest.observe(frame.timestamp()) == Step::Discontinuity {
            // The publisher restarted its clock: what is cached belongs to
            // another timeline. Video waits for the next keyframe.
            self.clear_frames();
        }
        if self.in_gop {
            self.append(frame);
            self.enforce_gop_bounds();
        } else if frame.kind() == FrameKind::Audio && self.limits.audio_only_window_ms > 0 {
            // Audio frames decode on their own: a sliding window.
            self.append(frame);
            self.trim_audio_window();
        }
    }

    fn append(&mut self, frame: &Frame) {
        self.newest.observe(frame.timestamp());
        self.frames_cost += frame_cost(frame.len());
        self.frames.push_back(frame.clone());
    }

    fn clear_frames(&mut self) {
        self.frames.clear();
        self.frames_cost = 0;
        self.newest.reset();
        self.in_gop = false;
    }

    /// A GOP past its bounds is not trimmed (its frames need its keyframe):
    /// the cache falls back to headers only until the next keyframe.
    fn enforce_gop_bounds(&mut self) {
        if self.frames_cost > self.limits.gop_max_bytes
            || self.cached_span_ms() > self.limits.gop_max_duration_ms
        {
            self.clear_frames();
            self.overflows += 1;
        }
    }

    fn trim_audio_window(&mut self) {
        while self.frames_cost > self.limits.gop_max_bytes
            || self.cached_span_ms() > self.limits.audio_only_window_ms
        {
            let Some(old) = self.frames.pop_front() else {
                break;
            };
            self.frames_cost -= frame_cost(old.len());
        }
    }
}
