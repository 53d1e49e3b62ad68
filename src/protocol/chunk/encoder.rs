//! Chunk stream encoding: messages → chunks (spec §5.3.1), with header
//! compression per chunk stream and zero-copy output for fan-out.
//!
//! Header choice per message, like FMS, ffmpeg and SRS (spec §5.3.1.2):
//! - format 0 for the first message on a chunk stream, when the message stream id
//!   changes, or when the timestamp goes backwards;
//! - format 1 when the length or type id changes;
//! - format 2 when only the timestamp delta changes;
//! - format 3 when length, type and delta all repeat.
//!
//! Timestamps or deltas ≥ 0xFFFFFF go into the extended timestamp field, which is
//! repeated on every continuation chunk (spec §5.3.1.3; Flash, FMS and ffmpeg
//! expect it there).

use bytes::{BufMut, Bytes, BytesMut};

use super::header::{write_basic_header, MAX_CHUNK_HEADER_LEN};
use super::{
    ChunkError, MessageHeader, RawMessage, DEFAULT_CHUNK_SIZE, EXTENDED_TIMESTAMP_MARKER,
    MAX_CHUNK_SIZE, MAX_CHUNK_STREAM_ID, MAX_MESSAGE_LEN, MIN_CHUNK_STREAM_ID,
};
use crate::protocol::message::SET_CHUNK_SIZE;

/// Longest continuation header: 3-byte basic header + 4-byte extended timestamp.
const MAX_CONTINUATION_HEADER_LEN: usize = 7;

/// The last header sent on one chunk stream.
#[derive(Debug, Clone, Copy)]
struct StreamState {
    timestamp: u32,
    /// Last timestamp field value sent (absolute after format 0, else the delta);
    /// the peer adds it again for a format 3 chunk that starts a message.
    delta: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
}

/// Header bytes for one message: the first chunk's and the continuations'.
struct Layout {
    first: [u8; MAX_CHUNK_HEADER_LEN],
    first_len: usize,
    continuation: [u8; MAX_CONTINUATION_HEADER_LEN],
    continuation_len: usize,
    chunk_size: usize,
}

/// Chunk encoder for one connection's outgoing direction.
///
/// Each receiver of a fan-out has its own encoder (header compression state is
/// per connection); the payload `Bytes` is shared between them.
#[derive(Debug)]
pub struct ChunkEncoder {
    chunk_size: u32,
    /// The last header per chunk stream id, searched linearly: a sender uses
    /// a handful of chunk streams (the server five), so this beats hashing
    /// on every message.
    streams: Vec<(u32, StreamState)>,
    bytes_written: u64,
}

impl Default for ChunkEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkEncoder {
    /// An encoder with the default chunk size (128) and no history.
    pub fn new() -> Self {
        Self {
            chunk_size: DEFAULT_CHUNK_SIZE,
            streams: Vec::new(),
            bytes_written: 0,
        }
    }

    /// The chunk size used for outgoing chunks. It changes when a Set Chunk Size
    /// message is encoded (for the chunks after that message).
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Total bytes produced so far (headers and payload), for honouring the peer's
    /// acknowledgement window.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Chunks one message into `out` without copying the payload: header segments
    /// alternate with `payload.slice(..)` pieces (a zero-length payload yields the
    /// header alone). Concatenated, the segments equal [`encode`](Self::encode)'s
    /// output.
    ///
    /// # Errors
    ///
    /// [`ChunkError::InvalidChunkStreamId`] for a csid outside 2..=65599,
    /// [`ChunkError::PayloadTooLong`] for a payload over 0xFFFFFF bytes. Nothing is
    /// written and no state changes on error.
    pub fn encode_segments(
        &mut self,
        header: &MessageHeader,
        payload: &Bytes,
        out: &mut Vec<Bytes>,
    ) -> Result<(), ChunkError> {
        let layout = self.layout(header, payload.len())?;
        let chunks = chunk_count(payload.len(), layout.chunk_size);
        let mut headers =
            BytesMut::with_capacity(layout.first_len + (chunks - 1) * layout.continuation_len);
        headers.put_slice(&layout.first[..layout.first_len]);
        for _ in 1..chunks {
            headers.put_slice(&layout.continuation[..layout.continuation_len]);
        }
        let mut headers = headers.freeze();
        out.push(headers.split_to(layout.first_len));
        let mut offset = 0;
        while offset < payload.len() {
            if offset > 0 {
                out.push(headers.split_to(layout.continuation_len));
            }
            let end = payload.len().min(offset + layout.chunk_size);
            out.push(payload.slice(offset..end));
            offset = end;
        }
        self.finish(header, payload);
        Ok(())
    }

    /// Like [`encode_segments`](Self::encode_segments), but the chunk headers
    /// are written into `headers` (the caller's buffer, reused across
    /// messages) and split off from it, instead of a new allocation per
    /// message; bytes already in `headers` go out in front of the first
    /// chunk header. Concatenated, the segments equal those bytes followed
    /// by [`encode`](Self::encode)'s output.
    ///
    /// # Errors
    ///
    /// As [`encode_segments`](Self::encode_segments); nothing is written to
    /// `headers` or `out` on error.
    pub fn encode_segments_into(
        &mut self,
        header: &MessageHeader,
        payload: &Bytes,
        headers: &mut BytesMut,
        out: &mut Vec<Bytes>,
    ) -> Result<(), ChunkError> {
        let layout = self.layout(header, payload.len())?;
        headers.put_slice(&layout.first[..layout.first_len]);
        out.push(headers.split().freeze());
        let mut offset = 0;
        while offset < payload.len() {
            if offset > 0 {
                headers.put_slice(&layout.continuation[..layout.continuation_len]);
                out.push(headers.split().freeze());
            }
            let end = payload.len().min(offset + layout.chunk_size);
            out.push(payload.slice(offset..end));
            offset = end;
        }
        self.finish(header, payload);
        Ok(())
    }

    /// Chunks one message into `dst`, copying the payload. Convenient for control
    /// and command messages; use [`encode_segments`](Self::encode_segments) for
    /// media fan-out.
    ///
    /// # Errors
    ///
    /// As [`encode_segments`](Self::encode_segments).
    pub fn encode(&mut self, msg: &RawMessage, dst: &mut BytesMut) -> Result<(), ChunkError> {
        let header = msg.header();
        let layout = self.layout(&header, msg.payload.len())?;
        let chunks = chunk_count(msg.payload.len(), layout.chunk_size);
        dst.reserve(layout.first_len + (chunks - 1) * layout.continuation_len + msg.payload.len());
        dst.put_slice(&layout.first[..layout.first_len]);
        for (i, piece) in msg.payload.chunks(layout.chunk_size).enumerate() {
            if i > 0 {
                dst.put_slice(&layout.continuation[..layout.continuation_len]);
            }
            dst.put_slice(piece);
        }
        self.finish(&header, &msg.payload);
        Ok(())
    }

    /// Chooses the header format for `header` and renders the header bytes;
    /// records the new per-stream state. Validates before changing anything.
    fn layout(&mut self, header: &MessageHeader, len: usize) -> Result<Layout, ChunkError> {
        if !(MIN_CHUNK_STREAM_ID..=MAX_CHUNK_STREAM_ID).contains(&header.csid) {
            return Err(ChunkError::InvalidChunkStreamId { csid: header.csid });
        }
        let length = match u32::try_from(len) {
            Ok(l) if l <= MAX_MESSAGE_LEN => l,
            _ => return Err(ChunkError::PayloadTooLong { length: len }),
        };
        let slot = self
            .streams
            .iter()
            .position(|(csid, _)| *csid == header.csid);
        let (fmt, field) = match slot.map(|i| &self.streams[i].1) {
            Some(p) if p.stream_id == header.stream_id && header.timestamp >= p.timestamp => {
                let delta = header.timestamp - p.timestamp;
                if p.length != length || p.type_id != header.type_id {
                    (1, delta)
                } else if p.delta != delta {
                    (2, delta)
                } else {
                    (3, delta)
                }
            }
            _ => (0, header.timestamp),
        };
        let extended = field >= EXTENDED_TIMESTAMP_MARKER;

        let mut first = [0u8; MAX_CHUNK_HEADER_LEN];
        let mut w = &mut first[..];
        write_basic_header(&mut w, fmt, header.csid)?;
        if fmt < 3 {
            w.put_uint(u64::from(field.min(EXTENDED_TIMESTAMP_MARKER)), 3);
        }
        if fmt < 2 {
            w.put_uint(u64::from(length), 3);
            w.put_u8(header.type_id);
        }
        if fmt == 0 {
            w.put_u32_le(header.stream_id);
        }
        if extended {
            w.put_u32(field);
        }
        let first_len = MAX_CHUNK_HEADER_LEN - w.len();

        let mut continuation = [0u8; MAX_CONTINUATION_HEADER_LEN];
        let mut w = &mut continuation[..];
        write_basic_header(&mut w, 3, header.csid)?;
        if extended {
            w.put_u32(field);
        }
        let continuation_len = MAX_CONTINUATION_HEADER_LEN - w.len();

        let state = StreamState {
            timestamp: header.timestamp,
            delta: field,
            length,
            type_id: header.type_id,
            stream_id: header.stream_id,
        };
        match slot {
            Some(i) => self.streams[i].1 = state,
            None => self.streams.push((header.csid, state)),
        }
        let chunk_size = usize::try_from(self.chunk_size).unwrap_or(usize::MAX);
        self.bytes_written +=
            (first_len + (chunk_count(len, chunk_size) - 1) * continuation_len + len) as u64;
        Ok(Layout {
            first,
            first_len,
            continuation,
            continuation_len,
            chunk_size,
        })
    }

    /// After a message is out: a Set Chunk Size we sent changes our chunk size.
    fn finish(&mut self, header: &MessageHeader, payload: &[u8]) {
        if header.type_id != SET_CHUNK_SIZE {
            return;
        }
        if let Some(bytes) = payload.get(..4) {
            let mut raw = [0u8; 4];
            raw.copy_from_slice(bytes);
            let size = u32::from_be_bytes(raw) & MAX_CHUNK_SIZE;
            if size > 0 {
                self.chunk_size = size;
            }
        }
    }
}

/// Number of chunks a payload of `len` bytes needs (at least one, even if empty).
fn chunk_count(len: usize, chunk_size: usize) -> usize {
    len.div_ceil(chunk_size.max(1)).max(1)
}
