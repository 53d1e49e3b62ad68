//! The walker against chunks written by the project's encoder, cut at every
//! byte boundary, and against malformed input.

use bytes::{Bytes, BytesMut};

use super::*;
use crate::protocol::chunk::{ChunkEncoder, RawMessage};
use crate::protocol::message::DATA_AMF0;

fn raw(csid: u32, timestamp: u32, type_id: u8, stream_id: u32, payload: Vec<u8>) -> RawMessage {
    RawMessage {
        csid,
        timestamp,
        type_id,
        stream_id,
        payload: Bytes::from(payload),
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

/// What a server writes to a player, chunked by the project's encoder:
/// a multi-chunk command, chunk size and window changes, a ping, media
/// of every size class, a data message, extended timestamps.
fn session() -> (Vec<RawMessage>, Bytes) {
    let mut keyframe = pattern(10_000, 3);
    keyframe[..2].copy_from_slice(&[0x17, 0x01]);
    let mut late = pattern(9_000, 5);
    late[..2].copy_from_slice(&[0x27, 0x01]);
    let messages = vec![
        raw(2, 0, WINDOW_ACK_SIZE, 0, vec![0, 0, 0x10, 0]),
        raw(3, 0, COMMAND_AMF0, 0, pattern(300, 1)),
        raw(2, 0, SET_CHUNK_SIZE, 0, vec![0, 0, 0x10, 0]),
        raw(2, 0, USER_CONTROL, 0, vec![0, 6, 0, 0, 0, 9]),
        raw(6, 0, VIDEO, 1, vec![0x17, 0x00, 0, 0, 0, 1, 0x64]),
        raw(4, 0, AUDIO, 1, vec![0xAF]),
        raw(6, 40, VIDEO, 1, keyframe),
        raw(5, 40, DATA_AMF0, 1, pattern(200, 2)),
        raw(4, 60, AUDIO, 1, pattern(300, 4)),
        raw(6, 0x0100_0000, VIDEO, 1, late.clone()),
        raw(6, 0x0100_0021, VIDEO, 1, late),
        raw(3, 0x0100_0030, COMMAND_AMF3, 1, pattern(5000, 6)),
        raw(6, 0x0100_0042, VIDEO, 1, Vec::new()),
    ];
    let mut encoder = ChunkEncoder::new();
    let mut wire = BytesMut::new();
    for m in &messages {
        encoder.encode(m, &mut wire).unwrap();
    }
    (messages, wire.freeze())
}

/// An event as owned values: (is media, type id, stream id, bytes,
/// declared length).
type Seen = (bool, u8, u32, Vec<u8>, u32);

fn seen(event: WalkEvent<'_>) -> Seen {
    match event {
        WalkEvent::Message {
            type_id,
            stream_id,
            payload,
        } => {
            let len = payload.len() as u32;
            (false, type_id, stream_id, payload, len)
        }
        WalkEvent::MediaHead {
            type_id,
            stream_id,
            head,
            length,
        } => (true, type_id, stream_id, head.to_vec(), length),
    }
}

fn expected_events(messages: &[RawMessage]) -> Vec<Seen> {
    messages
        .iter()
        .filter_map(|m| {
            let len = m.payload.len() as u32;
            match m.type_id {
                t if is_kept(t) => Some((false, t, m.stream_id, m.payload.to_vec(), len)),
                AUDIO | VIDEO if len > 0 => Some((
                    true,
                    m.type_id,
                    m.stream_id,
                    m.payload[..m.payload.len().min(2)].to_vec(),
                    len,
                )),
                _ => None,
            }
        })
        .collect()
}

fn walk_pieces<'a>(
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> (ChunkWalker, Result<Vec<Seen>, WalkError>) {
    let mut walker = ChunkWalker::new(WalkerLimits::default());
    let mut events = Vec::new();
    for piece in pieces {
        if let Err(e) = walker.feed(piece, |e| events.push(seen(e))) {
            return (walker, Err(e));
        }
    }
    (walker, Ok(events))
}

#[test]
fn a_session_split_at_every_byte_boundary_yields_the_same_events_and_counts() {
    let (messages, wire) = session();
    let expected = expected_events(&messages);
    let media: u64 = messages
        .iter()
        .filter(|m| is_media(m.type_id))
        .map(|m| m.payload.len() as u64)
        .sum();
    for cut in 0..=wire.len() {
        let (walker, events) = walk_pieces([&wire[..cut], &wire[cut..]]);
        assert_eq!(events.as_ref(), Ok(&expected), "cut at {cut}");
        assert_eq!(walker.media_bytes(), media);
        assert_eq!(walker.bytes_received(), wire.len() as u64);
        assert_eq!(walker.chunk_size(), 4096);
    }
    let (walker, events) = walk_pieces(wire.chunks(1));
    assert_eq!(events, Ok(expected));
    assert_eq!(walker.media_bytes(), media);
}

#[test]
fn chunks_of_two_messages_may_interleave() {
    // csid 6 video of 200 bytes and csid 4 audio of 150 bytes, 128-byte
    // chunks, alternating.
    let video = pattern(200, 7);
    let audio = pattern(150, 8);
    let mut wire = vec![0x06, 0, 0, 0, 0, 0, 200, VIDEO, 1, 0, 0, 0];
    wire.extend_from_slice(&video[..128]);
    wire.extend_from_slice(&[0x04, 0, 0, 0, 0, 0, 150, AUDIO, 1, 0, 0, 0]);
    wire.extend_from_slice(&audio[..128]);
    wire.push(0xC6);
    wire.extend_from_slice(&video[128..]);
    wire.push(0xC4);
    wire.extend_from_slice(&audio[128..]);
    let (walker, events) = walk_pieces([&wire[..]]);
    let heads: Vec<u8> = events
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e.0, "only media heads: {e:?}");
            e.1
        })
        .collect();
    assert_eq!(heads, vec![VIDEO, AUDIO]);
    assert_eq!(walker.media_bytes(), 350);
}

#[test]
fn an_acknowledgement_is_due_once_per_window() {
    let mut walker = ChunkWalker::new(WalkerLimits::default());
    walker.add_bytes_received(3073);
    walker
        .feed(
            &[
                0x02,
                0,
                0,
                0,
                0,
                0,
                4,
                WINDOW_ACK_SIZE,
                0,
                0,
                0,
                0,
                0,
                0,
                0x0C,
                0x80,
            ],
            |_| {},
        )
        .unwrap();
    assert_eq!(walker.take_ack_due(), None);
    // A window of 3200 bytes; the next 140 bytes pass it.
    let mut video = vec![0x06, 0, 0, 0, 0, 0x10, 0, VIDEO, 1, 0, 0, 0];
    video.extend(std::iter::repeat_n(0, 128));
    walker.feed(&video, |_| {}).unwrap();
    let due = walker.take_ack_due();
    assert_eq!(due, Some((3073 + 16 + video.len()) as u32));
    assert_eq!(walker.take_ack_due(), None);
}

#[test]
fn an_abort_discards_the_partial_message() {
    let mut wire = vec![0x03, 0, 0, 0, 0, 1, 0, COMMAND_AMF0, 0, 0, 0, 0];
    wire.extend(std::iter::repeat_n(1, 128));
    wire.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 4, ABORT, 0, 0, 0, 0, 0, 0, 0, 3]);
    // A fresh message may now start on csid 3 with a format 0 header.
    wire.extend_from_slice(&[0x03, 0, 0, 0, 0, 0, 1, COMMAND_AMF0, 0, 0, 0, 0, 42]);
    let (_, events) = walk_pieces([&wire[..]]);
    let events = events.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1], (false, COMMAND_AMF0, 0, vec![42], 1));
}

#[test]
fn malformed_streams_are_errors() {
    let cases: Vec<(Vec<u8>, WalkError)> = vec![
        (
            vec![0xC5, 1, 2],
            WalkError::NoPreviousHeader { csid: 5, fmt: 3 },
        ),
        (
            vec![0x83, 0, 0, 0],
            WalkError::NoPreviousHeader { csid: 3, fmt: 2 },
        ),
        (
            [
                &[0x03, 0, 0, 0, 0, 1, 0, VIDEO, 0, 0, 0, 0][..],
                &[0; 128],
                &[0x43],
            ]
            .concat(),
            WalkError::HeaderInsideMessage { csid: 3, fmt: 1 },
        ),
        (
            vec![
                0x02,
                0,
                0,
                0,
                0,
                0,
                4,
                SET_CHUNK_SIZE,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ],
            WalkError::InvalidChunkSize {
                size: 0,
                limit: 16 * 1024 * 1024,
            },
        ),
        (
            vec![0x02, 0, 0, 0, 0, 0, 2, SET_CHUNK_SIZE, 0, 0, 0, 0, 0, 1],
            WalkError::ControlMessageTooShort {
                type_id: SET_CHUNK_SIZE,
                len: 2,
            },
        ),
        (
            vec![0x03, 0, 0, 0, 0x10, 0, 0, COMMAND_AMF0, 0, 0, 0, 0],
            WalkError::KeptMessageTooLong {
                type_id: COMMAND_AMF0,
                length: 0x10_0000,
                limit: 64 * 1024,
            },
        ),
    ];
    for (wire, error) in cases {
        let mut walker = ChunkWalker::new(WalkerLimits::default());
        assert_eq!(walker.feed(&wire, |_| {}), Err(error));
        assert_eq!(walker.feed(&[0], |_| {}), Err(WalkError::Stopped));
    }
}

#[test]
fn too_many_chunk_streams_are_refused() {
    let limits = WalkerLimits {
        max_chunk_streams: 2,
        ..WalkerLimits::default()
    };
    let mut walker = ChunkWalker::new(limits);
    let mut wire = Vec::new();
    for csid in 3..6u8 {
        wire.extend_from_slice(&[csid, 0, 0, 0, 0, 0, 1, DATA_AMF0, 0, 0, 0, 0, 0]);
    }
    assert_eq!(
        walker.feed(&wire, |_| {}),
        Err(WalkError::TooManyChunkStreams { csid: 5, limit: 2 })
    );
}

#[test]
fn garbage_never_panics() {
    let (_, wire) = session();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..2000 {
        let mut bytes = wire[..(round * 7) % wire.len()].to_vec();
        for _ in 0..64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = (state as usize) % (bytes.len() + 1);
            if i < bytes.len() {
                bytes[i] = (state >> 32) as u8;
            } else {
                bytes.push((state >> 40) as u8);
            }
        }
        let mut walker = ChunkWalker::new(WalkerLimits::default());
        for piece in bytes.chunks(1 + round % 97) {
            if walker.feed(piece, |_| {}).is_err() {
                break;
            }
        }
    }
}
