//! Cross-cutting chunk tests: the spec's worked examples, hand-built vectors for
//! real-peer behaviour, limits, proptest roundtrips and no-panic robustness.

use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::protocol::limits::ChunkLimits;

fn decoder() -> ChunkDecoder {
    ChunkDecoder::new(ChunkLimits::default())
}

/// Decodes every whole message in `bytes`; panics on error.
fn decode_all(dec: &mut ChunkDecoder, bytes: &[u8]) -> Vec<RawMessage> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(m) = dec.decode(&mut buf).unwrap() {
        out.push(m);
    }
    out
}

fn raw(csid: u32, timestamp: u32, type_id: u8, stream_id: u32, payload: &[u8]) -> RawMessage {
    RawMessage {
        csid,
        timestamp,
        type_id,
        stream_id,
        payload: Bytes::copy_from_slice(payload),
    }
}

fn encode_all(enc: &mut ChunkEncoder, msgs: &[RawMessage]) -> BytesMut {
    let mut out = BytesMut::new();
    for m in msgs {
        enc.encode(m, &mut out).unwrap();
    }
    out
}

fn set_chunk_size(size: u32) -> RawMessage {
    raw(2, 0, 1, 0, &size.to_be_bytes())
}

/// Spec §5.3.2.1, example 1: four 32-byte audio messages on csid 3, message
/// stream 12345, timestamps 1000, 1020, 1040, 1060 → formats 0, 2, 3, 3.
fn spec_example_1() -> (Vec<u8>, Vec<RawMessage>) {
    let mut v = vec![
        0x03, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x20, 0x08, 0x39, 0x30, 0x00, 0x00,
    ];
    v.extend_from_slice(&[0xA1; 32]);
    v.extend_from_slice(&[0x83, 0x00, 0x00, 0x14]);
    v.extend_from_slice(&[0xA2; 32]);
    v.push(0xC3);
    v.extend_from_slice(&[0xA3; 32]);
    v.push(0xC3);
    v.extend_from_slice(&[0xA4; 32]);
    let msgs = vec![
        raw(3, 1000, 8, 12345, &[0xA1; 32]),
        raw(3, 1020, 8, 12345, &[0xA2; 32]),
        raw(3, 1040, 8, 12345, &[0xA3; 32]),
        raw(3, 1060, 8, 12345, &[0xA4; 32]),
    ];
    (v, msgs)
}

/// Spec §5.3.2.2, example 2: one 307-byte video message on csid 4, stream 12346,
/// timestamp 1000, chunk size 128 → a format 0 chunk and two format 3 chunks.
fn spec_example_2() -> (Vec<u8>, RawMessage) {
    let payload: Vec<u8> = (0..307u32).map(|i| i as u8).collect();
    let mut v = vec![
        0x04, 0x00, 0x03, 0xE8, 0x00, 0x01, 0x33, 0x09, 0x3A, 0x30, 0x00, 0x00,
    ];
    v.extend_from_slice(&payload[..128]);
    v.push(0xC4);
    v.extend_from_slice(&payload[128..256]);
    v.push(0xC4);
    v.extend_from_slice(&payload[256..]);
    (v, raw(4, 1000, 9, 12346, &payload))
}

/// A 200-byte video message at timestamp 0x01000000 (over 24 bits), chunk size
/// 128, as ffmpeg/FMS send it: the extended timestamp repeated on the format 3
/// continuation chunk (ffmpeg rtmppkt.c `ff_rtmp_packet_write`).
fn extended_vector(repeat: bool) -> (Vec<u8>, RawMessage) {
    let payload: Vec<u8> = (0..200u32).map(|i| (i * 7) as u8).collect();
    let mut v = vec![
        0x06, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0xC8, 0x09, 0x01, 0x00, 0x00, 0x00,
    ];
    v.extend_from_slice(&[0x01, 0x00, 0x00, 0x00]);
    v.extend_from_slice(&payload[..128]);
    v.push(0xC6);
    if repeat {
        v.extend_from_slice(&[0x01, 0x00, 0x00, 0x00]);
    }
    v.extend_from_slice(&payload[128..]);
    (v, raw(6, 0x0100_0000, 9, 1, &payload))
}

#[test]
fn decodes_spec_example_1_audio_sequence_with_formats_0_2_3_3() {
    let (bytes, expected) = spec_example_1();
    assert_eq!(decode_all(&mut decoder(), &bytes), expected);
}

#[test]
fn encodes_spec_example_1_with_the_same_header_compression() {
    let (bytes, msgs) = spec_example_1();
    assert_eq!(
        encode_all(&mut ChunkEncoder::new(), &msgs).as_ref(),
        &bytes[..]
    );
}

#[test]
fn decodes_spec_example_2_video_message_split_in_three_chunks() {
    let (bytes, expected) = spec_example_2();
    assert_eq!(decode_all(&mut decoder(), &bytes), vec![expected]);
}

#[test]
fn encodes_spec_example_2_byte_for_byte() {
    let (bytes, msg) = spec_example_2();
    let mut enc = ChunkEncoder::new();
    assert_eq!(encode_all(&mut enc, &[msg]).as_ref(), &bytes[..]);
    assert_eq!(enc.bytes_written(), bytes.len() as u64);
}

#[test]
fn decodes_all_three_basic_header_forms() {
    for csid in [2, 63, 64, 319, 320, 1000, 65_599] {
        let msg = raw(csid, 5, 20, 0, b"hello");
        let bytes = encode_all(&mut ChunkEncoder::new(), std::slice::from_ref(&msg));
        let expected_basic_len = match csid {
            2..=63 => 1,
            64..=319 => 2,
            _ => 3,
        };
        assert_eq!(bytes.len(), expected_basic_len + 11 + 5, "csid {csid}");
        assert_eq!(decode_all(&mut decoder(), &bytes), vec![msg]);
    }
}

#[test]
fn decodes_type_3_continuation_that_repeats_the_extended_timestamp() {
    let (bytes, expected) = extended_vector(true);
    assert_eq!(decode_all(&mut decoder(), &bytes), vec![expected]);
}

#[test]
fn decodes_type_3_continuation_without_the_extended_timestamp_as_rtmpdump_sends_it() {
    let (bytes, expected) = extended_vector(false);
    let mut dec = decoder();
    assert_eq!(decode_all(&mut dec, &bytes), vec![expected.clone()]);
    // Once learned, later messages from the same peer decode the same way.
    assert_eq!(decode_all(&mut dec, &bytes), vec![expected]);
}

#[test]
fn encoder_repeats_the_extended_timestamp_on_continuation_chunks() {
    let (bytes, msg) = extended_vector(true);
    assert_eq!(
        encode_all(&mut ChunkEncoder::new(), &[msg]).as_ref(),
        &bytes[..]
    );
}

#[test]
fn type_3_chunk_starting_a_message_after_extended_header_reads_the_delta_field() {
    // ffmpeg sends format 3 for a new message when the 24-bit field (0xFFFFFF)
    // repeats, with the new delta in the extended field.
    let mut v = vec![0x46, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x02, 0x09];
    v.extend_from_slice(&0x0100_0000u32.to_be_bytes());
    v.extend_from_slice(&[1, 2]);
    v.push(0xC6);
    v.extend_from_slice(&0x0100_0005u32.to_be_bytes());
    v.extend_from_slice(&[3, 4]);
    let msgs = decode_all(&mut decoder(), &v);
    assert_eq!(msgs[0].timestamp, 0x0100_0000);
    assert_eq!(msgs[1].timestamp, 0x0200_0005);
    assert_eq!(msgs[1].payload.as_ref(), &[3, 4]);
}

#[test]
fn type_3_chunk_starting_a_message_after_type_0_adds_the_timestamp_again() {
    // As ffmpeg, librtmp and SRS read it: after format 0 at t=40 the stored
    // "delta" is 40, so a format 3 message lands at 80.
    let v = [0x03, 0, 0, 40, 0, 0, 1, 8, 1, 0, 0, 0, 0xAA, 0xC3, 0xBB];
    let msgs = decode_all(&mut decoder(), &v);
    assert_eq!((msgs[0].timestamp, msgs[1].timestamp), (40, 80));
}

#[test]
fn extended_timestamp_in_a_type_1_header_is_a_delta() {
    // The vector from veovera/enhanced-rtmp issue #42 (SRS): fmt 0 at 11000, then
    // fmt 1 with extended delta 16776216 → 11000 + 16776216.
    let mut v = vec![
        0x04, 0x00, 0x2A, 0xF8, 0x00, 0x00, 0x01, 0x09, 0x01, 0x00, 0x00, 0x00, 0xEE,
    ];
    v.extend_from_slice(&[
        0x44, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x01, 0x09, 0x00, 0xFF, 0xFC, 0x18, 0xEF,
    ]);
    let msgs = decode_all(&mut decoder(), &v);
    assert_eq!(msgs[1].timestamp, 11_000 + 16_776_216);
}

#[test]
fn timestamps_wrap_at_32_bits() {
    let v = [
        0x03, 0xFF, 0xFF, 0xFF, 0, 0, 0, 8, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xF0, 0x83, 0, 0, 0x20,
    ];
    let msgs = decode_all(&mut decoder(), &v);
    assert_eq!((msgs[0].timestamp, msgs[1].timestamp), (0xFFFF_FFF0, 0x10));
}

#[test]
fn decodes_messages_interleaved_on_two_chunk_streams() {
    // Audio on csid 4 and video on csid 6, chunks alternating (chunk size 128).
    let audio: Vec<u8> = vec![0xAA; 200];
    let video: Vec<u8> = vec![0xBB; 150];
    let mut v = vec![0x04, 0, 0, 10, 0, 0, 200, 8, 1, 0, 0, 0];
    v.extend_from_slice(&audio[..128]);
    v.extend_from_slice(&[0x06, 0, 0, 11, 0, 0, 150, 9, 1, 0, 0, 0]);
    v.extend_from_slice(&video[..128]);
    v.push(0xC4);
    v.extend_from_slice(&audio[128..]);
    v.push(0xC6);
    v.extend_from_slice(&video[128..]);
    let msgs = decode_all(&mut decoder(), &v);
    assert_eq!(
        msgs,
        vec![raw(4, 10, 8, 1, &audio), raw(6, 11, 9, 1, &video)]
    );
}

#[test]
fn set_chunk_size_applies_to_the_next_chunk_in_the_same_buffer() {
    let big = vec![0x5A; 300];
    let mut enc = ChunkEncoder::new();
    let bytes = encode_all(&mut enc, &[set_chunk_size(4096), raw(3, 0, 9, 1, &big)]);
    // One header for the 300-byte message: it was chunked at 4096.
    assert_eq!(bytes.len(), (12 + 4) + (12 + 300));
    let mut dec = decoder();
    let mut buf = BytesMut::from(&bytes[..]);
    let first = dec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(first.type_id, 1);
    assert_eq!(dec.chunk_size(), 4096);
    assert_eq!(
        dec.decode(&mut buf).unwrap().unwrap().payload.as_ref(),
        &big[..]
    );
    assert!(buf.is_empty());
}

#[test]
fn set_chunk_size_mid_message_applies_to_its_remaining_chunks() {
    let body = vec![0x33; 300];
    let mut v = vec![0x04, 0, 0, 0, 0, 0x01, 0x2C, 9, 1, 0, 0, 0];
    v.extend_from_slice(&body[..128]);
    v.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 1, 0]); // 256
    v.push(0xC4);
    v.extend_from_slice(&body[128..]); // 172 bytes in one chunk now
    let msgs = decode_all(&mut decoder(), &v);
    assert_eq!(msgs[0].type_id, 1);
    assert_eq!(msgs[1].payload.as_ref(), &body[..]);
}

#[test]
fn abort_discards_the_partial_message_on_that_chunk_stream() {
    let mut v = vec![0x04, 0, 0, 0, 0, 0x01, 0x2C, 9, 1, 0, 0, 0];
    v.extend_from_slice(&[0x11; 128]);
    v.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 4]); // Abort csid 4
    v.extend_from_slice(&[0x04, 0, 0, 5, 0, 0, 2, 8, 1, 0, 0, 0, 0x22, 0x23]);
    let msgs = decode_all(&mut decoder(), &v);
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].type_id, 2);
    assert_eq!(msgs[1], raw(4, 5, 8, 1, &[0x22, 0x23]));
}

#[test]
fn reports_an_acknowledgement_due_once_per_window() {
    let mut dec = decoder();
    dec.add_bytes_received(3073); // the handshake
    assert_eq!(dec.take_ack_due(), None);
    let was = raw(2, 0, 5, 0, &100u32.to_be_bytes());
    let bytes = encode_all(&mut ChunkEncoder::new(), &[was]);
    decode_all(&mut dec, &bytes);
    assert_eq!(dec.ack_window(), 100);
    // 3073 + 16 bytes received since the start, last ack at 0 → due now.
    assert_eq!(dec.take_ack_due(), Some(3073 + 16));
    assert_eq!(dec.take_ack_due(), None);
    let msg = raw(3, 0, 20, 0, &[0; 80]);
    let bytes = encode_all(&mut ChunkEncoder::new(), std::slice::from_ref(&msg));
    decode_all(&mut dec, &bytes); // 92 bytes: not yet a window
    assert_eq!(dec.take_ack_due(), None);
    decode_all(&mut dec, &bytes);
    assert_eq!(dec.take_ack_due(), Some(3073 + 16 + 2 * 92));
}

#[test]
fn incomplete_chunks_are_left_in_the_buffer() {
    let (bytes, expected) = spec_example_2();
    let mut dec = decoder();
    let mut buf = BytesMut::from(&bytes[..100]);
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
    assert_eq!(buf.len(), 100, "a partial first chunk must not be consumed");
    let mut buf = BytesMut::from(&bytes[..150]);
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
    assert_eq!(buf.len(), 150 - 140, "the complete first chunk is consumed");
    buf.extend_from_slice(&bytes[150..]);
    assert_eq!(dec.decode(&mut buf).unwrap(), Some(expected));
}

#[test]
fn type_1_chunk_may_open_a_chunk_stream_as_librtmp_does_for_its_first_ping() {
    // librtmp sends its first User Control on csid 2 with a format 1 header.
    let v = [0x42, 0, 0, 0, 0, 0, 6, 4, 0, 6, 0, 0, 0, 1];
    let msgs = decode_all(&mut decoder(), &v);
    assert_eq!(msgs, vec![raw(2, 0, 4, 0, &[0, 6, 0, 0, 0, 1])]);
}

#[test]
fn type_2_or_3_chunk_on_a_fresh_chunk_stream_is_an_error() {
    for (first, fmt) in [(0x83u8, 2u8), (0xC3, 3)] {
        let mut buf = BytesMut::from(&[first, 0, 0, 0, 0, 0][..]);
        assert_eq!(
            decoder().decode(&mut buf),
            Err(ChunkError::NoPreviousHeader { csid: 3, fmt })
        );
    }
}

#[test]
fn new_header_inside_an_incomplete_message_is_an_error() {
    let (bytes, _) = spec_example_2();
    let mut v = bytes[..140].to_vec();
    v.extend_from_slice(&[0x04, 0, 0, 0, 0, 0, 1, 8, 1, 0, 0, 0, 0]);
    let mut buf = BytesMut::from(&v[..]);
    assert_eq!(
        decoder().decode(&mut buf),
        Err(ChunkError::HeaderInsideMessage {
            csid: 4,
            fmt: 0,
            received: 128,
            length: 307
        })
    );
}

#[test]
fn too_many_chunk_streams_is_an_error() {
    let limits = ChunkLimits {
        max_chunk_streams: 2,
        ..ChunkLimits::default()
    };
    let mut dec = ChunkDecoder::new(limits);
    let msgs = [
        raw(3, 0, 20, 0, b"a"),
        raw(4, 0, 20, 0, b"b"),
        raw(5, 0, 20, 0, b"c"),
    ];
    let mut buf = encode_all(&mut ChunkEncoder::new(), &msgs);
    assert!(dec.decode(&mut buf).unwrap().is_some());
    assert!(dec.decode(&mut buf).unwrap().is_some());
    assert_eq!(
        dec.decode(&mut buf),
        Err(ChunkError::TooManyChunkStreams { csid: 5, limit: 2 })
    );
    assert_eq!(dec.open_chunk_streams(), 2);
}

#[test]
fn message_longer_than_the_limit_is_an_error_before_any_payload_arrives() {
    let limits = ChunkLimits {
        max_message_len: 1000,
        ..ChunkLimits::default()
    };
    let mut buf = BytesMut::from(&[0x04, 0, 0, 0, 0x00, 0x03, 0xE9, 9, 1, 0, 0, 0][..]);
    assert_eq!(
        ChunkDecoder::new(limits).decode(&mut buf),
        Err(ChunkError::MessageTooLong {
            csid: 4,
            length: 1001,
            limit: 1000
        })
    );
}

#[test]
fn set_chunk_size_above_the_limit_zero_or_with_top_bit_is_an_error() {
    let limits = ChunkLimits {
        max_chunk_size: 65_536,
        ..ChunkLimits::default()
    };
    let cases = [
        (
            65_537,
            ChunkError::ChunkSizeTooLarge {
                size: 65_537,
                limit: 65_536,
            },
        ),
        (0, ChunkError::InvalidChunkSize { size: 0 }),
        (
            0x8000_0080,
            ChunkError::InvalidChunkSize { size: 0x8000_0080 },
        ),
    ];
    for (size, err) in cases {
        let mut buf = encode_all(&mut ChunkEncoder::new(), &[set_chunk_size(size)]);
        assert_eq!(ChunkDecoder::new(limits).decode(&mut buf), Err(err));
    }
}

#[test]
fn short_control_messages_the_decoder_applies_are_errors() {
    let mut buf = encode_all(&mut ChunkEncoder::new(), &[raw(2, 0, 5, 0, &[0, 1])]);
    assert_eq!(
        decoder().decode(&mut buf),
        Err(ChunkError::ControlMessageTooShort { type_id: 5, len: 2 })
    );
}

#[test]
fn encoder_picks_format_0_1_2_3_like_a_good_server() {
    let mut enc = ChunkEncoder::new();
    let fmt_of = |enc: &mut ChunkEncoder, m: RawMessage| {
        let mut b = BytesMut::new();
        enc.encode(&m, &mut b).unwrap();
        b[0] >> 6
    };
    assert_eq!(fmt_of(&mut enc, raw(5, 100, 9, 1, &[1; 10])), 0); // first
    assert_eq!(fmt_of(&mut enc, raw(5, 133, 9, 1, &[1; 12])), 1); // length changed
    assert_eq!(fmt_of(&mut enc, raw(5, 166, 9, 1, &[1; 12])), 3); // all repeats
    assert_eq!(fmt_of(&mut enc, raw(5, 200, 9, 1, &[1; 12])), 2); // delta changed
    assert_eq!(fmt_of(&mut enc, raw(5, 210, 8, 1, &[1; 12])), 1); // type changed
    assert_eq!(fmt_of(&mut enc, raw(5, 220, 8, 2, &[1; 12])), 0); // stream changed
    assert_eq!(fmt_of(&mut enc, raw(5, 100, 8, 2, &[1; 12])), 0); // backwards
}

#[test]
fn encoding_set_chunk_size_changes_the_outgoing_chunk_size() {
    let mut enc = ChunkEncoder::new();
    assert_eq!(enc.chunk_size(), DEFAULT_CHUNK_SIZE);
    encode_all(&mut enc, &[set_chunk_size(60_000)]);
    assert_eq!(enc.chunk_size(), 60_000);
}

#[test]
fn encoder_rejects_unencodable_chunk_stream_ids_and_oversized_payloads() {
    let mut enc = ChunkEncoder::new();
    let mut out = BytesMut::new();
    assert_eq!(
        enc.encode(&raw(1, 0, 8, 0, b""), &mut out),
        Err(ChunkError::InvalidChunkStreamId { csid: 1 })
    );
    let huge = RawMessage {
        payload: Bytes::from(vec![0; 0x0100_0000]),
        ..raw(3, 0, 8, 0, b"")
    };
    assert_eq!(
        enc.encode(&huge, &mut out),
        Err(ChunkError::PayloadTooLong {
            length: 0x0100_0000
        })
    );
    assert!(out.is_empty());
    assert_eq!(enc.bytes_written(), 0);
}

#[test]
fn encode_segments_shares_the_payload_for_fan_out() {
    let payload = Bytes::from(vec![7u8; 1000]);
    let header = MessageHeader {
        csid: 6,
        timestamp: 0x0123_4567,
        type_id: 9,
        stream_id: 1,
    };
    // Two receivers with different histories: different headers, same payload.
    let mut a = ChunkEncoder::new();
    let mut b = ChunkEncoder::new();
    encode_all(&mut b, &[raw(6, 0x0123_4500, 9, 1, &[0; 1000])]);
    for enc in [&mut a, &mut b] {
        let mut segs = Vec::new();
        enc.encode_segments(&header, &payload, &mut segs).unwrap();
        assert_eq!(segs.len(), 2 * 8); // 1000 bytes at 128 → 8 chunks
        for seg in segs.iter().skip(1).step_by(2) {
            let start = payload.as_ptr() as usize;
            let p = seg.as_ptr() as usize;
            assert!(p >= start && p + seg.len() <= start + payload.len());
        }
    }
}

// ---- proptest roundtrips -------------------------------------------------

/// One step of a random session: a message, or a chunk size change.
#[derive(Debug, Clone)]
enum Op {
    Msg {
        csid: u32,
        ts: TsMode,
        type_id: u8,
        stream_id: u32,
        payload: Vec<u8>,
    },
    ChunkSize(u32),
}

#[derive(Debug, Clone)]
enum TsMode {
    Absolute(u32),
    Delta(u32),
}

fn csid_strategy() -> impl Strategy<Value = u32> {
    prop_oneof![
        prop::sample::select(vec![3u32, 4, 6]),
        2u32..=63,
        64u32..=319,
        320u32..=65_599,
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let ts = prop_oneof![
        3 => prop::sample::select(vec![0u32, 20, 33, 0x00FF_FFFF, 0x0100_0000]).prop_map(TsMode::Delta),
        1 => any::<u32>().prop_map(TsMode::Absolute),
        1 => (0x00FF_FFF0u32..=0x0100_0010).prop_map(TsMode::Absolute),
    ];
    let payload = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4),
        prop::collection::vec(any::<u8>(), 0..700),
    ];
    prop_oneof![
        8 => (csid_strategy(), ts, prop::sample::select(vec![3u8, 4, 6, 8, 9, 18, 20, 22, 99]),
              0u32..3, payload)
            .prop_map(|(csid, ts, type_id, stream_id, payload)| Op::Msg { csid, ts, type_id, stream_id, payload }),
        1 => prop_oneof![1u32..300, 300u32..70_000].prop_map(Op::ChunkSize),
    ]
}

/// Turns ops into concrete messages (resolving deltas per chunk stream).
fn materialize(ops: &[Op]) -> Vec<RawMessage> {
    let mut last = std::collections::HashMap::new();
    ops.iter()
        .map(|op| match op {
            Op::Msg {
                csid,
                ts,
                type_id,
                stream_id,
                payload,
            } => {
                let prev: u32 = last.get(csid).copied().unwrap_or(0);
                let timestamp = match ts {
                    TsMode::Absolute(t) => *t,
                    TsMode::Delta(d) => prev.wrapping_add(*d),
                };
                last.insert(*csid, timestamp);
                raw(*csid, timestamp, *type_id, *stream_id, payload)
            }
            Op::ChunkSize(size) => set_chunk_size(*size),
        })
        .collect()
}

fn decode_in_pieces(bytes: &[u8], cuts: &[usize]) -> Vec<RawMessage> {
    let mut dec = decoder();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut pos = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let end = cut.clamp(pos, bytes.len());
        buf.extend_from_slice(&bytes[pos..end]);
        pos = end;
        while let Some(m) = dec.decode(&mut buf).unwrap() {
            out.push(m);
        }
    }
    assert!(buf.is_empty());
    out
}

proptest! {
    #[test]
    fn encoded_messages_decode_to_the_same_messages_in_any_split(
        ops in prop::collection::vec(op_strategy(), 1..24),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let msgs = materialize(&ops);
        let mut enc = ChunkEncoder::new();
        let bytes = encode_all(&mut enc, &msgs);
        prop_assert_eq!(enc.bytes_written(), bytes.len() as u64);
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(decode_in_pieces(&bytes, &cuts), msgs);
    }

    #[test]
    fn encode_segments_concatenated_equals_encode_and_points_into_the_payload(
        ops in prop::collection::vec(op_strategy(), 1..16),
    ) {
        let msgs = materialize(&ops);
        let mut copying = ChunkEncoder::new();
        let mut zero_copy = ChunkEncoder::new();
        for m in &msgs {
            let mut expected = BytesMut::new();
            copying.encode(m, &mut expected).unwrap();
            let mut segs = Vec::new();
            zero_copy.encode_segments(&m.header(), &m.payload, &mut segs).unwrap();
            prop_assert_eq!(segs.concat(), expected.to_vec());
            let start = m.payload.as_ptr() as usize;
            let mut payload_bytes = 0;
            for seg in segs.iter().skip(1).step_by(2) {
                let p = seg.as_ptr() as usize;
                prop_assert!(p >= start && p + seg.len() <= start + m.payload.len());
                payload_bytes += seg.len();
            }
            prop_assert_eq!(payload_bytes, m.payload.len());
            prop_assert_eq!(copying.chunk_size(), zero_copy.chunk_size());
        }
        prop_assert_eq!(copying.bytes_written(), zero_copy.bytes_written());
    }

    #[test]
    fn random_bytes_never_panic_the_decoder(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let limits = ChunkLimits { max_chunk_size: 4096, max_message_len: 65_536, max_chunk_streams: 8 };
        let mut dec = ChunkDecoder::new(limits);
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = dec.decode(&mut buf) {}
    }
}

// ---- robustness -----------------------------------------------------------

/// Every hand-built vector plus a few encoded sessions.
fn all_vectors() -> Vec<Vec<u8>> {
    let mut v = vec![
        spec_example_1().0,
        spec_example_2().0,
        extended_vector(true).0,
        extended_vector(false).0,
    ];
    let mut enc = ChunkEncoder::new();
    let session = [
        set_chunk_size(60),
        raw(2, 0, 5, 0, &2_500_000u32.to_be_bytes()),
        raw(3, 0, 20, 0, &[0x02; 150]),
        raw(400, 0xFFFF_FFF0, 9, 1, &[0x17; 90]),
        raw(400, 0x10, 9, 1, &[0x27; 90]),
        raw(70, 7, 8, 1, &[]),
        raw(2, 0, 2, 0, &70u32.to_be_bytes()),
    ];
    v.push(encode_all(&mut enc, &session).to_vec());
    v
}

fn drain(bytes: &[u8]) {
    let mut dec = decoder();
    let mut buf = BytesMut::from(bytes);
    while let Ok(Some(_)) = dec.decode(&mut buf) {}
}

#[test]
fn every_prefix_of_every_vector_decodes_without_panicking() {
    for vector in all_vectors() {
        for len in 0..=vector.len() {
            drain(&vector[..len]);
        }
    }
}

#[test]
fn random_corruptions_of_every_vector_decode_without_panicking() {
    // Small xorshift, fixed seed: reproducible without a clock or OS randomness.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for vector in all_vectors() {
        for _ in 0..300 {
            let mut v = vector.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % v.len() as u64) as usize;
                v[i] = next() as u8;
            }
            drain(&v);
        }
    }
}

#[test]
fn first_chunk_of_a_long_message_is_consumed_and_buffered() {
    // 8 MiB declared, 128 bytes sent: the chunk is taken; the decoder reserves at
    // most 64 KiB up front and otherwise grows with the bytes that arrive.
    let mut buf = BytesMut::new();
    buf.put_slice(&[0x04, 0, 0, 0, 0x7F, 0xFF, 0xFF, 9, 1, 0, 0, 0]);
    buf.put_slice(&[0; 128]);
    let mut dec = decoder();
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
    assert!(buf.is_empty());
}
