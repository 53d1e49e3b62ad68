//! Tests of the GOP cache and the player queue.
//!
//! Payloads are hand-built from the FLV spec v10.1 Annex E.4.2/E.4.3 (legacy
//! AVC/AAC: 0x17/0x27 + AVCPacketType + CTS, 0xAF + AACPacketType) and the
//! veovera E-RTMP v2 "Enhanced Video/Audio" tables (0x90.. + FourCC), as in
//! `src/protocol/media/tests.rs`.

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::protocol::media::{AudioCodec, VideoCodec};

/// Small limits so the bounds are reached in a few frames.
fn small_limits() -> FanoutLimits {
    FanoutLimits {
        gop_max_bytes: 20_000,
        gop_max_duration_ms: 5_000,
        audio_only_window_ms: 1_000,
        player_queue_max_bytes: 4_000,
        player_queue_max_span_ms: 500,
        player_max_lag_ms: 1_000,
        player_hard_cap_bytes: 16_000,
    }
}

/// Largest payload the builders make.
const MAX_TEST_PAYLOAD: usize = 256 * 1024;

/// `head` followed by filler, `size` bytes in all (at least `head`): a slice
/// of one template per header, so building frames costs no allocation.
fn body(head: &'static [u8], size: usize) -> Bytes {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static TEMPLATES: OnceLock<Mutex<HashMap<&'static [u8], Bytes>>> = OnceLock::new();
    let mut templates = TEMPLATES.get_or_init(Default::default).lock().unwrap();
    let template = templates.entry(head).or_insert_with(|| {
        let mut out = head.to_vec();
        out.resize(MAX_TEST_PAYLOAD, 0xAB);
        Bytes::from(out)
    });
    template.slice(..size.clamp(head.len(), MAX_TEST_PAYLOAD))
}

/// AVC sequence header (keyframe, AVCPacketType 0); `tag` varies the avcC.
fn avc_header(ts: u32, tag: u8) -> Frame {
    Frame::video(
        ts,
        Bytes::copy_from_slice(&[0x17, 0x00, 0, 0, 0, 0x01, tag]),
    )
}

/// AVC coded keyframe (0x17, AVCPacketType 1, CTS 0).
fn key(ts: u32, size: usize) -> Frame {
    Frame::video(ts, body(&[0x17, 0x01, 0, 0, 0, 0x65], size))
}

/// AVC coded inter frame (0x27).
fn inter(ts: u32, size: usize) -> Frame {
    Frame::video(ts, body(&[0x27, 0x01, 0, 0, 0, 0x41], size))
}

/// AAC sequence header (ffmpeg's: 0xAF 0x00 0x12 0x08).
fn aac_header(ts: u32) -> Frame {
    Frame::audio(ts, Bytes::from_static(&[0xAF, 0x00, 0x12, 0x08]))
}

/// AAC raw frame.
fn aac(ts: u32, size: usize) -> Frame {
    Frame::audio(ts, body(&[0xAF, 0x01, 0x21], size))
}

/// AMF0 string value.
fn amf0_string(text: &str) -> Vec<u8> {
    let mut out = vec![0x02];
    out.extend_from_slice(&u16::try_from(text.len()).unwrap().to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

/// `@setDataFrame("onMetaData", width)` as a publisher sends it.
fn set_data_frame(ts: u32, width: f64) -> Frame {
    let mut out = amf0_string("@setDataFrame");
    out.extend(amf0_string("onMetaData"));
    out.push(0x00); // AMF0 number
    out.extend_from_slice(&width.to_be_bytes());
    Frame::data(ts, Bytes::from(out))
}

fn timestamps(frames: &[Frame]) -> Vec<u32> {
    frames.iter().map(Frame::timestamp).collect()
}

// ------------------------------------------------------------------ GOP cache

#[test]
fn late_joiner_gets_metadata_headers_keyframe_then_following_frames() {
    let mut cache = GopCache::new(small_limits());
    let stream = [
        set_data_frame(0, 640.0),
        aac_header(0),
        avc_header(0, 1),
        inter(0, 50), // before any keyframe: not cached
        aac(10, 20),
        key(40, 300),
        aac(43, 20),
        inter(80, 100),
        inter(120, 100),
    ];
    for frame in &stream {
        cache.push(frame);
    }
    let burst = cache.join_burst();
    assert_eq!(burst.base_timestamp, 40);
    let f = &burst.frames;
    assert!(f[0].is_metadata());
    assert_eq!(f[1].header_kind(), Some(HeaderKind::VideoSequenceStart));
    assert_eq!(f[2].header_kind(), Some(HeaderKind::AudioSequenceStart));
    assert!(f[3].is_keyframe());
    assert_eq!(f.len(), 7);
    // Metadata and headers are stamped with the base; media keep their own.
    assert_eq!(timestamps(f), [40, 40, 40, 40, 43, 80, 120]);
    assert_eq!(f[4].payload(), stream[6].payload());
    assert!(cache.has_gop());
    assert_eq!(cache.cached_span_ms(), 80);
    assert_eq!(cache.video_codec(), Some(VideoCodec::Avc));
    assert_eq!(cache.audio_codec(), Some(AudioCodec::Aac));
}

#[test]
fn a_new_keyframe_restarts_the_cache_and_keeps_headers_and_metadata() {
    let mut cache = GopCache::new(small_limits());
    for frame in [
        set_data_frame(0, 640.0),
        avc_header(0, 1),
        aac_header(0),
        key(0, 100),
        inter(40, 100),
        aac(50, 10),
        key(2_000, 120),
        aac(2_010, 10),
    ] {
        cache.push(&frame);
    }
    let burst = cache.join_burst();
    assert_eq!(burst.base_timestamp, 2_000);
    assert_eq!(
        timestamps(&burst.frames),
        [2_000, 2_000, 2_000, 2_000, 2_010]
    );
    assert_eq!(burst.frames[3].len(), 120);
    assert_eq!(cache.gops_started(), 2);
}

#[test]
fn a_new_set_data_frame_replaces_the_metadata_and_clear_data_frame_forgets_it() {
    let mut cache = GopCache::new(small_limits());
    cache.push(&set_data_frame(0, 640.0));
    cache.push(&set_data_frame(10, 1280.0));
    let meta = cache.metadata().unwrap();
    assert!(meta.payload().ends_with(&1280.0f64.to_be_bytes()));
    assert!(meta.payload().starts_with(&amf0_string("onMetaData")));
    cache.push(&Frame::data(
        20,
        Bytes::from(amf0_string("@clearDataFrame")),
    ));
    assert!(cache.metadata().is_none());
    // Other data messages are not cached.
    cache.push(&Frame::data(30, Bytes::from(amf0_string("onCuePoint"))));
    assert!(cache.join_burst().frames.is_empty());
}

#[test]
fn a_changed_sequence_header_replaces_the_old_one_and_drops_the_gop() {
    let mut cache = GopCache::new(small_limits());
    for frame in [avc_header(0, 1), key(0, 100), inter(40, 100)] {
        cache.push(&frame);
    }
    // The same header repeated (some encoders do before every keyframe).
    cache.push(&avc_header(60, 1));
    assert!(cache.has_gop());
    assert_eq!(cache.frames().count(), 2);
    // A new resolution: new SPS/PPS. The cached GOP used the old one.
    cache.push(&avc_header(80, 2));
    assert!(!cache.has_gop());
    assert_eq!(cache.frames().count(), 0);
    let headers: Vec<&Frame> = cache.headers().collect();
    assert_eq!(headers.len(), 1);
    assert_eq!(headers[0].payload()[6], 2);
    cache.push(&inter(120, 100)); // no keyframe yet: not cached
    cache.push(&key(160, 100));
    assert_eq!(timestamps(&cache.join_burst().frames), [160, 160]);
}

#[test]
fn a_codec_change_drops_the_old_codecs_other_headers() {
    let mut cache = GopCache::new(small_limits());
    // AV1 over E-RTMP: SequenceStart (0x90) + MPEG2TSSequenceStart (0x95) +
    // Metadata (0x84), then the publisher switches to HEVC.
    for frame in [
        Frame::video(0, Bytes::from_static(b"\x90av01\x81")),
        Frame::video(0, Bytes::from_static(b"\x95av01\x80")),
        Frame::video(0, Bytes::from_static(b"\x84av01\x02")),
        aac_header(0),
        Frame::video(0, Bytes::from_static(b"\x93av01\x12")),
    ] {
        cache.push(&frame);
    }
    assert_eq!(cache.headers().count(), 4);
    cache.push(&Frame::video(500, Bytes::from_static(b"\x90hvc1\x01")));
    let kinds: Vec<_> = cache.headers().map(|h| h.header_kind().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            HeaderKind::AudioSequenceStart,
            HeaderKind::VideoSequenceStart
        ]
    );
    assert_eq!(cache.video_codec(), Some(VideoCodec::Hevc));
    assert!(!cache.has_gop());
}

#[test]
fn enhanced_rtmp_stream_is_cached_like_a_legacy_one() {
    let mut cache = GopCache::new(small_limits());
    // hvc1 SequenceStart, Opus SequenceStart + MultichannelConfig, hvc1
    // CodedFrames keyframe (0x91, CTS 0) and CodedFramesX inter (0xA3), Opus
    // CodedFrames (0x91).
    let stream = [
        Frame::video(0, Bytes::from_static(b"\x90hvc1\x01\x01")),
        Frame::audio(0, Bytes::from_static(b"\x90OpusHead")),
        Frame::audio(0, Bytes::from_static(b"\x94Opus\x01\x02\0\0\0\x03")),
        Frame::video(0, Bytes::from_static(b"\x91hvc1\0\0\0\x26")),
        Frame::audio(20, Bytes::from_static(b"\x91Opus\xFC")),
        Frame::video(33, Bytes::from_static(b"\xA3hvc1\x02")),
    ];
    for frame in &stream {
        cache.push(frame);
    }
    let burst = cache.join_burst();
    let kinds: Vec<_> = burst.frames.iter().map(Frame::header_kind).collect();
    assert_eq!(
        kinds,
        [
            Some(HeaderKind::VideoSequenceStart),
            Some(HeaderKind::AudioSequenceStart),
            Some(HeaderKind::AudioMultichannelConfig),
            None,
            None,
            None
        ]
    );
    assert!(burst.frames[3].is_keyframe());
    assert!(burst.frames[5].is_droppable());
}

#[test]
fn multitrack_headers_are_kept_per_track_and_slots_are_bounded() {
    let mut cache = GopCache::new(small_limits());
    // E-RTMP multitrack video: 0x96 = key | Multitrack; 0x00 = OneTrack |
    // SequenceStart; FourCC avc1; track id; avcC byte.
    for track in 0..=255u8 {
        let mut payload = vec![0x96, 0x00];
        payload.extend_from_slice(b"avc1");
        payload.extend_from_slice(&[track, 0x01]);
        cache.push(&Frame::video(0, Bytes::from(payload)));
    }
    assert_eq!(cache.headers().count(), MAX_HEADER_SLOTS);
    // The newest tracks are the ones kept.
    assert_eq!(cache.headers().last().unwrap().track(), Some(255));
}

#[test]
fn audio_only_stream_keeps_a_sliding_window_for_late_joiners() {
    let mut cache = GopCache::new(small_limits());
    cache.push(&aac_header(0));
    for i in 0..100u32 {
        cache.push(&aac(i * 23, 30));
    }
    assert!(!cache.has_gop());
    let burst = cache.join_burst();
    assert!(burst.frames[0].is_sequence_header());
    let media = &burst.frames[1..];
    let first = media[0].timestamp();
    let last = media[media.len() - 1].timestamp();
    assert_eq!(last, 99 * 23);
    assert!(last - first <= small_limits().audio_only_window_ms);
    assert!(last - first >= small_limits().audio_only_window_ms - 23);
    assert_eq!(burst.base_timestamp, first);
    // The first keyframe turns the window into a GOP.
    cache.push(&key(2_300, 100));
    assert_eq!(cache.frames().count(), 1);
    assert!(cache.has_gop());
}

#[test]
fn a_gop_over_max_bytes_falls_back_to_headers_only_until_the_next_keyframe() {
    let limits = small_limits();
    let mut cache = GopCache::new(limits);
    cache.push(&avc_header(0, 1));
    cache.push(&key(0, 5_000));
    let mut ts = 0;
    while cache.has_gop() {
        ts += 40;
        cache.push(&inter(ts, 2_000));
        assert!(cache.cached_bytes() <= limits.gop_max_bytes);
    }
    assert_eq!(cache.overflows(), 1);
    // Headers only (plus recent audio); inter frames are not cached.
    cache.push(&inter(ts + 40, 2_000));
    cache.push(&aac(ts + 50, 10));
    let burst = cache.join_burst();
    assert_eq!(burst.frames.len(), 2);
    assert!(burst.frames[0].is_sequence_header());
    assert_eq!(burst.frames[1].timestamp(), ts + 50);
    cache.push(&key(ts + 80, 100));
    assert!(cache.has_gop());
    assert_eq!(cache.join_burst().frames.len(), 2);
}

#[test]
fn a_gop_over_max_duration_falls_back_to_headers_only() {
    let mut cache = GopCache::new(small_limits());
    cache.push(&key(0, 100));
    // A 30 s GOP of small frames: over 5 s it is given up.
    for i in 1..=750u32 {
        cache.push(&inter(i * 40, 10));
        assert!(cache.cached_span_ms() <= small_limits().gop_max_duration_ms);
    }
    assert_eq!(cache.overflows(), 1);
    assert!(!cache.has_gop());
}

#[test]
fn a_headers_only_burst_is_stamped_at_the_latest_timestamp() {
    let mut cache = GopCache::new(small_limits());
    cache.push(&avc_header(0, 1));
    cache.push(&inter(5_000, 10));
    let burst = cache.join_burst();
    assert_eq!(burst.base_timestamp, 5_000);
    assert_eq!(timestamps(&burst.frames), [5_000]);
    assert_eq!(GopCache::new(small_limits()).join_burst().base_timestamp, 0);
}

#[test]
fn the_gop_survives_the_32_bit_timestamp_wrap() {
    let mut cache = GopCache::new(small_limits());
    let start = u32::MAX - 100;
    cache.push(&key(start, 100));
    for i in 1..10u32 {
        cache.push(&inter(start.wrapping_add(i * 40), 100));
    }
    assert!(cache.has_gop());
    assert_eq!(cache.frames().count(), 10);
    assert_eq!(cache.cached_span_ms(), 360);
    let burst = cache.join_burst();
    assert_eq!(burst.base_timestamp, start);
    assert_eq!(burst.rebase(start.wrapping_add(360)), 360);
    // A frame interleaved slightly before the base rebases to 0, not 2^32 - 5.
    assert_eq!(burst.rebase(start - 5), 0);
}

#[test]
fn a_publisher_clock_restart_clears_the_cache_and_jitter_does_not() {
    let mut cache = GopCache::new(small_limits());
    cache.push(&key(60_000, 100));
    cache.push(&aac(59_990, 10)); // interleaving jitter: kept
    cache.push(&inter(60_040, 100));
    assert_eq!(cache.frames().count(), 3);
    cache.push(&inter(0, 100)); // restarted clock: the GOP is another timeline
    assert!(!cache.has_gop());
    assert_eq!(cache.frames().count(), 0);
    cache.push(&aac(10, 10));
    assert_eq!(
        timestamps(&cache.frames().cloned().collect::<Vec<_>>()),
        [10]
    );
}

#[test]
fn cached_and_queued_payloads_are_the_publishers_bytes() {
    let mut cache = GopCache::new(FanoutLimits::default());
    let stream = [
        set_data_frame(0, 640.0),
        avc_header(0, 1),
        key(0, 1_000),
        inter(40, 500),
    ];
    for frame in &stream {
        cache.push(frame);
    }
    let burst = cache.join_burst();
    let mut queue = PlayerQueue::new(FanoutLimits::default());
    assert_eq!(queue.push_burst(burst.frames, 0), PushOutcome::Queued);
    let live = inter(80, 500);
    assert_eq!(queue.push(live.clone(), 0), PushOutcome::Queued);
    let sent = queue.pop_batch(usize::MAX);
    assert_eq!(sent.len(), 5);
    for (sent, original) in sent.iter().zip(stream.iter().chain([&live])) {
        assert_eq!(sent.payload().as_ptr(), original.payload().as_ptr());
    }
}

// --------------------------------------------------------------- player queue

#[test]
fn a_queue_under_budget_keeps_every_frame_in_order() {
    let mut queue = PlayerQueue::new(small_limits());
    let frames = [avc_header(0, 1), key(0, 100), aac(10, 10), inter(40, 100)];
    for frame in &frames {
        assert_eq!(queue.push(frame.clone(), 0), PushOutcome::Queued);
    }
    assert_eq!(queue.len(), 4);
    assert_eq!(queue.queued_span_ms(), 40);
    let overhead = 4 * FRAME_OVERHEAD_BYTES;
    assert_eq!(queue.queued_bytes(), 7 + 100 + 10 + 100 + overhead);
    assert_eq!(queue.pop_batch(usize::MAX), frames);
    assert!(queue.is_empty());
    assert_eq!(queue.queued_bytes(), 0);
    assert_eq!(queue.stats().frames_out, 4);
}

#[test]
fn a_new_player_drops_inter_frames_until_its_first_keyframe() {
    let mut queue = PlayerQueue::new(small_limits());
    assert!(queue.is_waiting_for_keyframe());
    assert_eq!(queue.push(avc_header(0, 1), 0), PushOutcome::Queued);
    assert_eq!(
        queue.push(inter(0, 10), 0),
        PushOutcome::Dropped(DropReason::WaitingForKeyframe)
    );
    assert_eq!(queue.push(aac(5, 10), 0), PushOutcome::Queued);
    assert_eq!(queue.push(key(40, 10), 0), PushOutcome::Queued);
    assert_eq!(queue.push(inter(80, 10), 0), PushOutcome::Queued);
    assert!(!queue.is_waiting_for_keyframe());
}

#[test]
fn over_budget_drops_video_until_the_next_keyframe() {
    let limits = small_limits();
    let mut queue = PlayerQueue::new(limits);
    queue.push(key(0, 1_000), 0);
    queue.push(inter(40, 1_000), 0);
    queue.push(inter(80, 1_000), 0);
    // 3,000 + overhead queued; one more 1,000-byte frame passes 4,000.
    assert_eq!(
        queue.push(inter(120, 1_000), 0),
        PushOutcome::Dropped(DropReason::OverBudget)
    );
    assert!(queue.is_waiting_for_keyframe());
    // The player catches up completely, yet inter frames stay dropped: they
    // reference the one it never got.
    queue.pop_batch(usize::MAX);
    assert_eq!(
        queue.push(inter(160, 10), 0),
        PushOutcome::Dropped(DropReason::WaitingForKeyframe)
    );
    assert_eq!(queue.push(aac(170, 10), 0), PushOutcome::Queued);
    assert_eq!(queue.push(key(200, 10), 0), PushOutcome::Queued);
    assert_eq!(queue.push(inter(240, 10), 0), PushOutcome::Queued);
    assert_eq!(queue.stats().dropped_video_frames, 2);
    assert_eq!(queue.stats().dropped_bytes, 1_010);
}

#[test]
fn over_budget_never_drops_headers_metadata_keyframes_or_unknown_frames() {
    let mut queue = PlayerQueue::new(small_limits());
    queue.push(key(0, 3_900), 0);
    // Over budget by bytes now; every one of these is still queued.
    let keep = [
        avc_header(10, 2),
        aac_header(10),
        set_data_frame(10, 640.0),
        key(40, 1_000),
        Frame::video(50, Bytes::from_static(&[0x17, 0x02, 0, 0, 0])), // end of sequence
        Frame::video(60, Bytes::from_static(&[0x27, 0x01])),          // malformed
        Frame::audio(70, Bytes::new()),                               // silence
        Frame::data(80, Bytes::from(amf0_string("onCuePoint"))),
    ];
    for frame in keep {
        assert_eq!(queue.push(frame, 0), PushOutcome::Queued);
    }
    assert_eq!(
        queue.push(inter(90, 10), 0),
        PushOutcome::Dropped(DropReason::OverBudget)
    );
}

#[test]
fn audio_is_dropped_over_budget_and_queued_again_once_under() {
    let limits = small_limits();
    let mut queue = PlayerQueue::new(limits);
    queue.push(key(0, 10), 0);
    // Over the 500 ms span budget.
    queue.push(aac(400, 10), 0);
    assert_eq!(
        queue.push(aac(600, 10), 0),
        PushOutcome::Dropped(DropReason::OverBudget)
    );
    assert_eq!(queue.stats().dropped_audio_frames, 1);
    // Audio drops do not make video wait for a keyframe.
    assert!(!queue.is_waiting_for_keyframe());
    queue.pop();
    assert_eq!(queue.push(aac(620, 10), 0), PushOutcome::Queued);
}

#[test]
fn the_join_burst_is_exempt_from_the_soft_budget_but_not_the_hard_cap() {
    let limits = small_limits();
    let mut cache = GopCache::new(limits);
    cache.push(&avc_header(0, 1));
    cache.push(&key(0, 2_000));
    for i in 1..=40u32 {
        cache.push(&inter(i * 40, 200)); // a 1.6 s, ~10 KB GOP
    }
    let mut queue = PlayerQueue::new(limits);
    assert_eq!(
        queue.push_burst(cache.join_burst().frames, 0),
        PushOutcome::Queued
    );
    assert_eq!(queue.len(), 42);
    assert!(queue.queued_span_ms() > limits.player_queue_max_span_ms);
    assert!(queue.queued_bytes() > limits.player_queue_max_bytes);
    // Live frames after the burst are judged on their own.
    for i in 41..=50u32 {
        assert_eq!(queue.push(inter(i * 40, 200), 0), PushOutcome::Queued);
    }
    // A burst bigger than the hard cap disconnects instead of growing.
    let mut big = PlayerQueue::new(limits);
    let outcome = big.push_burst((0..20).map(|i| key(i * 40, 1_000)), 0);
    assert!(matches!(
        outcome,
        PushOutcome::Disconnect(DisconnectReason::HardCap { .. })
    ));
    assert_eq!(big.queued_bytes(), 0);
}

#[test]
fn a_player_over_budget_for_longer_than_max_lag_is_disconnected() {
    let limits = small_limits();
    let mut queue = PlayerQueue::new(limits);
    queue.push(key(0, 10), 0);
    // Keyframes are never dropped: 600 ms queued is over the 500 ms budget.
    assert_eq!(queue.push(key(600, 10), 100), PushOutcome::Queued);
    assert_eq!(queue.push(key(620, 10), 900), PushOutcome::Queued);
    // The player drains in time (800 ms < 1 s over budget): the clock stops.
    queue.pop();
    assert_eq!(queue.push(key(640, 10), 1_000), PushOutcome::Queued);
    // Then it stalls while keyframes keep coming.
    let (mut now, mut ts) = (1_000u64, 640u32);
    let mut over_since = None;
    let outcome = loop {
        now += 40;
        ts += 40;
        let outcome = queue.push(key(ts, 10), now);
        if outcome != PushOutcome::Queued {
            break outcome;
        }
        if queue.queued_span_ms() > limits.player_queue_max_span_ms {
            over_since.get_or_insert(now);
        }
    };
    let PushOutcome::Disconnect(DisconnectReason::Lagging { over_budget_ms }) = outcome else {
        panic!("expected a lag disconnect, got {outcome:?}");
    };
    assert!(over_budget_ms > limits.player_max_lag_ms);
    let over_since = over_since.unwrap();
    assert!(now - over_since <= limits.player_max_lag_ms + 40);
    assert!(queue.is_empty() && queue.queued_bytes() == 0);
    // Everything after is refused the same way, without queuing.
    assert_eq!(queue.push(key(ts + 40, 10), now + 40), outcome);
    assert_eq!(
        queue.disconnect_reason(),
        Some(DisconnectReason::Lagging { over_budget_ms })
    );
    assert_eq!(queue.stats().disconnects, 1);
}

#[test]
fn a_stalled_player_stays_under_the_hard_cap_whatever_the_producer_sends() {
    // Lag disconnects disabled, so only the byte bounds act: 10k frames of
    // 30 fps video with a 200 KB keyframe every second, plus AAC, never
    // popped. Inter frames and audio are dropped; keyframes fill the queue up
    // to the hard cap, and the player is disconnected rather than passing it.
    let limits = FanoutLimits {
        player_max_lag_ms: u64::MAX,
        ..FanoutLimits::default()
    };
    let mut queue = PlayerQueue::new(limits);
    let key_payload = body(&[0x17, 0x01, 0, 0, 0, 0x65], 200_000);
    let inter_payload = body(&[0x27, 0x01, 0, 0, 0, 0x41], 8_000);
    let mut disconnected = None;
    for i in 0..10_000u32 {
        let ts = i * 33;
        let frame = match i % 3 {
            0 if i % 30 == 0 => Frame::video(ts, key_payload.clone()),
            0 | 1 => Frame::video(ts, inter_payload.clone()),
            _ => aac(ts, 300),
        };
        let outcome = queue.push(frame, u64::from(ts));
        assert!(queue.queued_bytes() <= limits.player_hard_cap_bytes);
        if let PushOutcome::Disconnect(reason) = outcome {
            disconnected.get_or_insert(reason);
        }
    }
    assert!(matches!(
        disconnected,
        Some(DisconnectReason::HardCap { .. })
    ));
    assert_eq!(queue.queued_bytes(), 0);
    assert!(queue.stats().dropped_video_frames > 1_000);
    assert!(queue.stats().dropped_audio_frames > 500);
}

#[test]
fn a_stalled_player_with_default_limits_is_disconnected_for_lag() {
    let limits = FanoutLimits::default();
    let mut queue = PlayerQueue::new(limits);
    let mut outcome = PushOutcome::Queued;
    for i in 0..10_000u32 {
        let ts = i * 20;
        let frame = if i % 100 == 0 {
            key(ts, 20_000)
        } else if i % 2 == 0 {
            inter(ts, 3_000)
        } else {
            aac(ts, 300)
        };
        outcome = queue.push(frame, u64::from(ts));
        assert!(queue.queued_bytes() <= limits.player_hard_cap_bytes);
    }
    assert!(matches!(
        outcome,
        PushOutcome::Disconnect(DisconnectReason::Lagging { .. })
    ));
}

#[test]
fn pop_batch_fills_up_to_max_bytes_and_always_takes_one() {
    let mut queue = PlayerQueue::new(FanoutLimits::default());
    queue.push(key(0, 5_000), 0);
    for i in 1..=5u32 {
        queue.push(inter(i * 40, 1_000), 0);
    }
    assert_eq!(queue.pop_batch(100).len(), 1); // the 5,000-byte keyframe
    let batch = queue.pop_batch(2_500);
    assert_eq!(batch.len(), 2);
    let mut reused = Vec::with_capacity(8);
    assert_eq!(queue.pop_batch_into(&mut reused, 10_000), 3_000);
    assert_eq!(reused.len(), 3);
    assert!(queue.pop_batch(10).is_empty());
}

#[test]
fn a_player_is_joining_until_its_burst_and_first_keyframe_are_popped() {
    let mut cache = GopCache::new(FanoutLimits::default());
    cache.push(&avc_header(0, 1));
    cache.push(&aac_header(0));
    cache.push(&key(0, 2_000));
    cache.push(&inter(40, 200));
    let mut queue = PlayerQueue::new(FanoutLimits::default());
    assert!(!queue.is_joining(), "nothing pushed yet");
    queue.push_burst(cache.join_burst().frames, 0);
    queue.push(inter(80, 200), 0);
    assert!(queue.is_joining());
    // Headers out: the keyframe is still queued.
    queue.pop();
    queue.pop();
    assert!(queue.is_joining());
    while queue.pop().is_some() {}
    assert!(!queue.is_joining(), "burst and keyframe delivered");
    queue.push(inter(120, 200), 0);
    assert!(!queue.is_joining(), "live frames after that are not a join");
}

#[test]
fn a_video_player_without_a_cached_keyframe_is_joining_until_the_live_one() {
    let mut queue = PlayerQueue::new(FanoutLimits::default());
    queue.push_burst([avc_header(0, 1), aac(0, 100)], 0);
    while queue.pop().is_some() {}
    assert!(queue.is_joining(), "video seen, no keyframe delivered yet");
    queue.push(aac(20, 100), 0);
    queue.push(key(40, 2_000), 0);
    while queue.pop().is_some() {}
    assert!(!queue.is_joining());
}

#[test]
fn an_audio_only_player_stops_joining_once_its_burst_is_out() {
    let mut queue = PlayerQueue::new(FanoutLimits::default());
    queue.push_burst([aac_header(0), aac(0, 100), aac(23, 100)], 0);
    assert!(queue.is_joining());
    while queue.pop().is_some() {}
    queue.push(aac(46, 100), 0);
    assert!(!queue.is_joining());
}

#[test]
fn default_queues_hold_a_coalescing_window_of_a_high_bitrate_stream_without_drops() {
    // 500 ms (the largest window `player_queue_max_span_ms` = 3 s allows is
    // 1.5 s) of 20 Mbit/s video at 60 fps (~42 KB frames, a 400 KB
    // keyframe) and 48 kHz AAC: queued undrained for the whole window, then
    // drained at once, ten windows in a row.
    let limits = FanoutLimits::default();
    let mut queue = PlayerQueue::new(limits);
    let mut now = 0u64;
    for window in 0..10u32 {
        let start = window * 500;
        let mut ts = 0;
        while ts < 500 {
            let video = if ts == 0 && window % 4 == 0 {
                key(start + ts, 200_000)
            } else {
                inter(start + ts, 42_000)
            };
            assert_eq!(queue.push(video, now), PushOutcome::Queued);
            assert_eq!(queue.push(aac(start + ts, 400), now), PushOutcome::Queued);
            ts += 16;
            now += 16;
        }
        assert!(queue.queued_bytes() < limits.player_queue_max_bytes);
        while queue.pop().is_some() {}
    }
    assert_eq!(queue.stats().dropped_bytes, 0);
}

#[test]
fn queue_span_crosses_the_32_bit_wrap() {
    let mut queue = PlayerQueue::new(small_limits());
    let start = u32::MAX - 100;
    queue.push(key(start, 10), 0);
    for i in 1..=10u32 {
        assert_eq!(
            queue.push(inter(start.wrapping_add(i * 40), 10), 0),
            PushOutcome::Queued
        );
    }
    assert_eq!(queue.queued_span_ms(), 400);
    assert_eq!(
        queue.push(inter(start.wrapping_add(600), 10), 0),
        PushOutcome::Dropped(DropReason::OverBudget)
    );
}

#[test]
fn a_publisher_clock_restart_does_not_hold_the_queue_over_budget() {
    let mut queue = PlayerQueue::new(small_limits());
    queue.push(key(3_600_000, 10), 0);
    queue.push(inter(3_600_040, 10), 0);
    // The publisher reconnects and starts again at 0.
    assert_eq!(queue.push(key(0, 10), 0), PushOutcome::Queued);
    assert_eq!(queue.push(inter(40, 10), 0), PushOutcome::Queued);
    queue.pop();
    queue.pop();
    assert_eq!(queue.queued_span_ms(), 40);
    assert_eq!(queue.push(inter(80, 10), 0), PushOutcome::Queued);
}

// ------------------------------------------------------------------- proptest

/// One producer (or consumer) step: a frame of some kind, size and timestamp step.
#[derive(Debug, Clone)]
enum Op {
    Key(usize),
    Inter(usize),
    Audio(usize),
    Header,
    Metadata,
    Garbage(Vec<u8>),
    Pop(usize),
}

fn step() -> impl Strategy<Value = (Op, u32, u64)> {
    let step = prop_oneof![
        (0usize..20_000).prop_map(Op::Key),
        (0usize..5_000).prop_map(Op::Inter),
        (0usize..500).prop_map(Op::Audio),
        Just(Op::Header),
        Just(Op::Metadata),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Op::Garbage),
        (0usize..10_000).prop_map(Op::Pop),
    ];
    // Timestamp steps include jitter, big jumps and wraps.
    let ts_step = prop_oneof![0u32..50, Just(u32::MAX - 20), any::<u32>()];
    (step, ts_step, 0u64..200)
}

fn frame_for(step: &Op, ts: u32) -> Option<Frame> {
    Some(match step {
        Op::Key(n) => key(ts, *n),
        Op::Inter(n) => inter(ts, *n),
        Op::Audio(n) => aac(ts, *n),
        Op::Header => avc_header(ts, (ts % 3) as u8),
        Op::Metadata => set_data_frame(ts, 1.0),
        Op::Garbage(bytes) => Frame::video(ts, Bytes::from(bytes.clone())),
        Op::Pop(_) => return None,
    })
}

proptest! {
    // Case generation (proptest's ChaCha RNG, unoptimized) dominates the run
    // time, not the queue: 64 cases of up to 400 steps.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_queue_never_passes_its_hard_cap_and_its_accounting_holds(
        steps in proptest::collection::vec(step(), 0..400),
        with_pops in any::<bool>(),
    ) {
        let limits = FanoutLimits {
            player_queue_max_bytes: 20_000,
            player_hard_cap_bytes: 60_000,
            player_max_lag_ms: 5_000,
            ..FanoutLimits::default()
        };
        let mut queue = PlayerQueue::new(limits);
        let mut cache = GopCache::new(FanoutLimits { gop_max_bytes: 50_000, ..limits });
        let (mut ts, mut now) = (0u32, 0u64);
        for (step, ts_step, now_step) in &steps {
            ts = ts.wrapping_add(*ts_step);
            now += now_step;
            match frame_for(step, ts) {
                Some(frame) => {
                    cache.push(&frame);
                    queue.push(frame, now);
                }
                None if with_pops => {
                    if let Op::Pop(n) = step {
                        queue.pop_batch(*n);
                    }
                }
                None => {}
            }
            prop_assert!(queue.queued_bytes() <= limits.player_hard_cap_bytes);
            prop_assert!(cache.cached_bytes() <= 50_000);
        }
        let charged: usize = queue.frames().map(|f| f.len() + FRAME_OVERHEAD_BYTES).sum();
        prop_assert_eq!(queue.queued_bytes(), charged);
        // Every frame pushed was queued, dropped or refused; popped ones left.
        let stats = *queue.stats();
        prop_assert!(stats.frames_out + stats.dropped_frames() <= stats.frames_in);
        let burst = cache.join_burst();
        prop_assert!(burst.frames.len() <= cache.frames().count() + MAX_HEADER_SLOTS + 1);
    }
}
