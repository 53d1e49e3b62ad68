//! Chunk stream decoding: bytes → whole [`RawMessage`]s (spec §5.3.1, §5.4).
//!
//! The decoder keeps, per chunk stream, the last message header (to inherit fields
//! for formats 1–3) and the partially received message. It applies Set Chunk
//! Size, Abort and Window Acknowledgement Size itself as soon as such a message is
//! complete, so the very next chunk (possibly already in the same buffer) is read
//! with the new settings.

use std::collections::HashMap;

use bytes::{Buf, BytesMut};

use super::header::{array_at, be24, parse_basic_header, BasicHeader};
use super::{ChunkError, RawMessage, DEFAULT_CHUNK_SIZE, EXTENDED_TIMESTAMP_MARKER};
use crate::protocol::limits::ChunkLimits;
use crate::protocol::message::{ABORT, SET_CHUNK_SIZE, WINDOW_ACK_SIZE};

/// Most bytes reserved up front for a message that spans several chunks; beyond
/// this the buffer grows only as bytes actually arrive.
const PREALLOC_LIMIT: usize = 64 * 1024;

/// The up-front reservation is also at most this many times the first
/// chunk's data, so a peer cannot make every chunk stream reserve
/// [`PREALLOC_LIMIT`] with a one-byte chunk.
const PREALLOC_PER_RECEIVED_BYTE: usize = 16;

/// Bytes to reserve for a message of `length` whose first chunk carried
/// `received` bytes.
fn prealloc_len(length: usize, received: usize) -> usize {
    length
        .min(PREALLOC_LIMIT)
        .min(received.saturating_mul(PREALLOC_PER_RECEIVED_BYTE))
}

/// What one chunk stream remembers between chunks.
#[derive(Debug, Default)]
struct StreamState {
    /// Absolute timestamp of the current (or last) message.
    timestamp: u32,
    /// Last resolved timestamp field: the absolute timestamp after a format 0
    /// chunk, the delta after format 1/2; a format 3 chunk that starts a message
    /// adds it again (spec §5.3.1.2.4, as ffmpeg, librtmp and SRS read it).
    delta: u32,
    /// Length of the current (or last) message.
    length: u32,
    /// Type id of the current (or last) message.
    type_id: u8,
    /// Message stream id of the current (or last) message.
    stream_id: u32,
    /// `Some(v)` when the most recent header carried an extended timestamp `v`;
    /// format 3 chunks then carry the same 4-byte field (spec §5.3.1.3).
    extended: Option<u32>,
    /// The incomplete message being reassembled, if any (boxed: every chunk
    /// stream a connection ever used keeps its state, mostly with nothing
    /// in progress, so the empty case is kept small).
    partial: Option<Box<BytesMut>>,
}

/// Whether the peer repeats the extended timestamp on format 3 continuation
/// chunks. Learned once per connection from the first such chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExtendedRepeat {
    /// Not observed yet.
    Unknown,
    /// Peer repeats it (spec, Flash, FMS, FMLE, ffmpeg, OBS).
    Repeats,
    /// Peer omits it (old librtmp/rtmpdump and others following the 2009 spec).
    Omits,
}

/// Outcome of decoding one chunk.
enum Step {
    /// Not enough bytes for the next whole chunk.
    NeedMore,
    /// A chunk was consumed, its message is not complete yet.
    Partial,
    /// A chunk was consumed and completed this message.
    Message(RawMessage),
}

/// Header fields of a chunk that has been parsed but not yet committed.
struct Parsed {
    header_len: usize,
    timestamp: u32,
    delta: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    extended: Option<u32>,
    learned: Option<ExtendedRepeat>,
}

/// Streaming chunk decoder for one connection's incoming direction.
///
/// Feed it the bytes that follow the handshake; it returns one message per
/// [`decode`](Self::decode) call that completes one.
#[derive(Debug)]
pub struct ChunkDecoder {
    limits: ChunkLimits,
    chunk_size: u32,
    streams: HashMap<u32, StreamState>,
    extended_repeat: ExtendedRepeat,
    /// Total bytes consumed (plus any reported by `add_bytes_received`).
    bytes_received: u64,
    /// Peer's acknowledgement window (0 = none announced).
    ack_window: u32,
    /// `bytes_received` when the last acknowledgement was reported due.
    last_ack: u64,
}

impl ChunkDecoder {
    /// A decoder with the default chunk size (128) and no acknowledgement window.
    pub fn new(limits: ChunkLimits) -> Self {
        Self {
            limits,
            chunk_size: DEFAULT_CHUNK_SIZE,
            streams: HashMap::new(),
            extended_repeat: ExtendedRepeat::Unknown,
            bytes_received: 0,
            ack_window: 0,
            last_ack: 0,
        }
    }

    /// Decodes the next whole message from `buf`, consuming only complete chunks.
    ///
    /// Returns `Ok(None)` when `buf` holds no further complete message (any
    /// complete chunks are consumed and buffered internally). Set Chunk Size,
    /// Abort and Window Acknowledgement Size are applied before returning them.
    ///
    /// # Errors
    ///
    /// Any [`ChunkError`] is a protocol violation; the connection should be
    /// closed and the decoder not used again.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<RawMessage>, ChunkError> {
        loop {
            match self.decode_chunk(buf)? {
                Step::NeedMore => return Ok(None),
                Step::Partial => continue,
                Step::Message(msg) => {
                    self.apply_control(&msg)?;
                    return Ok(Some(msg));
                }
            }
        }
    }

    /// The chunk size currently used to read incoming chunks.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Total bytes received so far (consumed chunks plus [`add_bytes_received`]).
    ///
    /// [`add_bytes_received`]: Self::add_bytes_received
    pub fn bytes_received(&self) -> u64 {
        self.bytes_received
    }

    /// Counts bytes received outside the decoder (e.g. the 3073 handshake bytes)
    /// so acknowledgement sequence numbers cover the whole connection.
    pub fn add_bytes_received(&mut self, n: u64) {
        self.bytes_received = self.bytes_received.saturating_add(n);
    }

    /// The acknowledgement window the peer announced (0 if none yet).
    pub fn ack_window(&self) -> u32 {
        self.ack_window
    }

    /// Number of chunk streams the peer has used so far.
    pub fn open_chunk_streams(&self) -> usize {
        self.streams.len()
    }

    /// Reports, at most once per window, that an Acknowledgement is due (spec
    /// §5.4.3: sent after receiving bytes equal to the window size). Returns the
    /// sequence number to send: total bytes received so far, wrapping at 2^32.
    pub fn take_ack_due(&mut self) -> Option<u32> {
        if self.ack_window == 0 {
            return None;
        }
        let since = self.bytes_received.saturating_sub(self.last_ack);
        if since < u64::from(self.ack_window) {
            return None;
        }
        self.last_ack = self.bytes_received;
        Some((self.bytes_received & 0xFFFF_FFFF) as u32)
    }

    /// Decodes one chunk if it is complete in `buf`.
    fn decode_chunk(&mut self, buf: &mut BytesMut) -> Result<Step, ChunkError> {
        let Some(basic) = parse_basic_header(buf) else {
            return Ok(Step::NeedMore);
        };
        let Some(parsed) = self.parse_header(buf, basic)? else {
            return Ok(Step::NeedMore);
        };
        let received = self
            .streams
            .get(&basic.csid)
            .and_then(|s| s.partial.as_ref())
            .map_or(0, |p| p.len());
        let in_progress = self
            .streams
            .get(&basic.csid)
            .is_some_and(|s| s.partial.is_some());
        // `received < length` always holds for an in-progress message.
        let remaining = (parsed.length as usize).saturating_sub(received);
        let take = remaining.min(usize::try_from(self.chunk_size).unwrap_or(usize::MAX));
        let Some(total) = parsed.header_len.checked_add(take) else {
            return Ok(Step::NeedMore);
        };
        if buf.len() < total {
            return Ok(Step::NeedMore);
        }

        // The whole chunk is present: commit.
        buf.advance(parsed.header_len);
        let data = buf.split_to(take);
        self.bytes_received = self.bytes_received.saturating_add(total as u64);
        if let Some(learned) = parsed.learned {
            self.extended_repeat = learned;
        }
        let state = self.streams.entry(basic.csid).or_default();
        state.timestamp = parsed.timestamp;
        state.delta = parsed.delta;
        state.length = parsed.length;
        state.type_id = parsed.type_id;
        state.stream_id = parsed.stream_id;
        state.extended = parsed.extended;

        let complete = if in_progress {
            let mut partial = state.partial.take().unwrap_or_default();
            partial.extend_from_slice(&data);
            if partial.len() < parsed.length as usize {
                state.partial = Some(partial);
                return Ok(Step::Partial);
            }
            *partial
        } else if take < parsed.length as usize {
            let mut partial = BytesMut::with_capacity(prealloc_len(parsed.length as usize, take));
            partial.extend_from_slice(&data);
            state.partial = Some(Box::new(partial));
            return Ok(Step::Partial);
        } else {
            // Single-chunk message: hand out the received bytes without copying.
            data
        };
        Ok(Step::Message(RawMessage {
            csid: basic.csid,
            timestamp: state.timestamp,
            type_id: state.type_id,
            stream_id: state.stream_id,
            payload: complete.freeze(),
        }))
    }

    /// Parses the message header and extended timestamp following `basic`.
    /// `Ok(None)` if `buf` is too short; nothing is changed either way.
    fn parse_header(&self, buf: &[u8], basic: BasicHeader) -> Result<Option<Parsed>, ChunkError> {
        let BasicHeader { fmt, csid, len } = basic;
        let prev = self.streams.get(&csid);
        if prev.is_none() && self.streams.len() >= self.limits.max_chunk_streams {
            return Err(ChunkError::TooManyChunkStreams {
                csid,
                limit: self.limits.max_chunk_streams,
            });
        }
        if let Some(partial) = prev.and_then(|s| s.partial.as_ref()) {
            // Continuation chunks of a message are format 3 (spec §5.3.1.2.4).
            if fmt != 3 {
                return Err(ChunkError::HeaderInsideMessage {
                    csid,
                    fmt,
                    received: partial.len() as u32,
                    length: prev.map_or(0, |s| s.length),
                });
            }
        }
        let mut pos = len;

        // Timestamp field (formats 0-2), then the inherited or new other fields.
        let ts_field = if fmt == 3 {
            None
        } else {
            let Some(ts) = array_at::<3>(buf, pos) else {
                return Ok(None);
            };
            pos += 3;
            Some(be24(ts))
        };
        let (length, type_id, stream_id) = match (fmt, prev) {
            (0 | 1, _) => {
                let (Some(length), Some(type_id)) =
                    (array_at::<3>(buf, pos), array_at::<1>(buf, pos + 3))
                else {
                    return Ok(None);
                };
                pos += 4;
                let stream_id = if fmt == 0 {
                    let Some(sid) = array_at::<4>(buf, pos) else {
                        return Ok(None);
                    };
                    pos += 4;
                    // The message stream id is little-endian (spec §5.3.1.2.1).
                    u32::from_le_bytes(sid)
                } else {
                    // librtmp opens csid 2 with a format 1 chunk (its first ping);
                    // SRS accepts that too: inherit stream id 0.
                    prev.map_or(0, |s| s.stream_id)
                };
                let length = be24(length);
                if length > self.limits.max_message_len {
                    return Err(ChunkError::MessageTooLong {
                        csid,
                        length,
                        limit: self.limits.max_message_len,
                    });
                }
                (length, u8::from_be_bytes(type_id), stream_id)
            }
            (_, Some(s)) => (s.length, s.type_id, s.stream_id),
            (_, None) => return Err(ChunkError::NoPreviousHeader { csid, fmt }),
        };

        let prev_timestamp = prev.map_or(0, |s| s.timestamp);
        let in_progress = prev.is_some_and(|s| s.partial.is_some());
        let mut learned = None;
        let (timestamp, delta, extended) = match (ts_field, prev) {
            (Some(field), _) => {
                let (value, extended) = if field == EXTENDED_TIMESTAMP_MARKER {
                    let Some(ext) = array_at::<4>(buf, pos) else {
                        return Ok(None);
                    };
                    pos += 4;
                    let ext = u32::from_be_bytes(ext);
                    (ext, Some(ext))
                } else {
                    (field, None)
                };
                if fmt == 0 {
                    (value, value, extended)
                } else {
                    (prev_timestamp.wrapping_add(value), value, extended)
                }
            }
            (None, Some(s)) if in_progress => {
                // Continuation chunk: the header stays; skip a repeated extended
                // timestamp if this peer sends one.
                if let Some(stored) = s.extended {
                    match self.extended_repeat {
                        ExtendedRepeat::Repeats => {
                            if buf.len() < pos + 4 {
                                return Ok(None);
                            }
                            pos += 4;
                        }
                        ExtendedRepeat::Omits => {}
                        ExtendedRepeat::Unknown => {
                            let Some(ext) = array_at::<4>(buf, pos) else {
                                return Ok(None);
                            };
                            if u32::from_be_bytes(ext) == stored {
                                pos += 4;
                                learned = Some(ExtendedRepeat::Repeats);
                            } else {
                                learned = Some(ExtendedRepeat::Omits);
                            }
                        }
                    }
                }
                (s.timestamp, s.delta, s.extended)
            }
            (None, Some(s)) => {
                // Format 3 starting a new message: same header, same delta. If the
                // last header had an extended timestamp, the field is present and
                // carries the delta (ffmpeg writes the new delta there when only
                // the 24-bit field, 0xFFFFFF, repeats).
                let (delta, extended) = match s.extended {
                    Some(_) => {
                        let Some(ext) = array_at::<4>(buf, pos) else {
                            return Ok(None);
                        };
                        pos += 4;
                        let ext = u32::from_be_bytes(ext);
                        (ext, Some(ext))
                    }
                    None => (s.delta, None),
                };
                (s.timestamp.wrapping_add(delta), delta, extended)
            }
            (None, None) => return Err(ChunkError::NoPreviousHeader { csid, fmt }),
        };

        Ok(Some(Parsed {
            header_len: pos,
            timestamp,
            delta,
            length,
            type_id,
            stream_id,
            extended,
            learned,
        }))
    }

    /// Applies the protocol control messages that affect decoding (spec §5.4).
    /// They are honoured on any chunk stream and message stream, though the spec
    /// says they arrive on csid 2, stream 0.
    fn apply_control(&mut self, msg: &RawMessage) -> Result<(), ChunkError> {
        if !matches!(msg.type_id, SET_CHUNK_SIZE | ABORT | WINDOW_ACK_SIZE) {
            return Ok(());
        }
        let Some(value) = array_at::<4>(&msg.payload, 0).map(u32::from_be_bytes) else {
            return Err(ChunkError::ControlMessageTooShort {
                type_id: msg.type_id,
                len: msg.payload.len(),
            });
        };
        match msg.type_id {
            SET_CHUNK_SIZE => {
                // §5.4.1: "The first bit of this field MUST be zero"; the value is
                // at least 1 and at most 0x7FFFFFFF.
                if value == 0 || value & 0x8000_0000 != 0 {
                    return Err(ChunkError::InvalidChunkSize { size: value });
                }
                if value > self.limits.max_chunk_size {
                    return Err(ChunkError::ChunkSizeTooLarge {
                        size: value,
                        limit: self.limits.max_chunk_size,
                    });
                }
                self.chunk_size = value;
            }
            ABORT => {
                // §5.4.2: discard the partially received message on that csid.
                if let Some(state) = self.streams.get_mut(&value) {
                    state.partial = None;
                }
            }
            _ => self.ack_window = value,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservation_for_a_multi_chunk_message_is_bounded_by_the_bytes_received() {
        // Found by review: a 1-byte first chunk of a message declaring 8 MiB
        // used to reserve 64 KiB, on each of up to max_chunk_streams csids.
        assert_eq!(prealloc_len(8 << 20, 1), 16);
        assert_eq!(prealloc_len(8 << 20, 128), 2048);
        assert_eq!(prealloc_len(8 << 20, 1 << 20), PREALLOC_LIMIT);
        assert_eq!(prealloc_len(300, 128), 300);

        let mut decoder = ChunkDecoder::new(ChunkLimits::default());
        // Set Chunk Size 1 on csid 2, then an 8 MiB - 1 video message's first byte.
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(matches!(decoder.decode(&mut buf), Ok(Some(_))));
        buf.extend_from_slice(&[0x06, 0, 0, 0, 0x7F, 0xFF, 0xFF, 9, 1, 0, 0, 0, 0x17]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        let partial = decoder.streams.get(&6).and_then(|s| s.partial.as_ref());
        assert!(partial.is_some_and(|p| p.len() == 1 && p.capacity() <= 64));
    }
}
