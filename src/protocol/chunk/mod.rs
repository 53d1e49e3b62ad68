//! The RTMP chunk stream (RTMP specification 1.0, §5.3).
//!
//! RTMP messages travel over TCP cut into *chunks*: each chunk carries a basic
//! header (format + chunk stream id), a message header whose size depends on the
//! format (11, 7, 3 or 0 bytes), an optional extended timestamp, and at most
//! "chunk size" bytes of one message's payload. Chunks of different chunk streams
//! may interleave, so one message can be spread over many chunks with other
//! messages' chunks between them.
//!
//! - [`ChunkDecoder`] turns bytes into whole [`RawMessage`]s. It applies the
//!   protocol control messages that change how the next chunk is read (Set Chunk
//!   Size, Abort, Window Acknowledgement Size) itself, before the next chunk is
//!   decoded, and still returns them to the caller.
//! - [`ChunkEncoder`] turns messages into chunks with per-chunk-stream header
//!   compression. [`ChunkEncoder::encode_segments`] never copies the payload: it
//!   emits header bytes and `Bytes::slice`s of the shared payload, so one media
//!   frame can be fanned out to many players with only the headers differing.
//! - [`ChunkWriter`] is one side's outbound stream: an encoder plus the bytes
//!   it produced (copied small messages, shared payload segments), in order.
//!
//! Both are pure state machines: bytes in, values out. See
//! `docs/protocol/chunk.md` for the deviations of real peers from the spec and how
//! they are handled.

mod decoder;
mod encoder;
mod header;
mod writer;

#[cfg(test)]
mod tests;

use bytes::Bytes;

pub use decoder::ChunkDecoder;
pub use encoder::ChunkEncoder;
pub use writer::ChunkWriter;

/// Chunk size both sides assume until a Set Chunk Size message says otherwise
/// (spec §5.4.1: "The maximum chunk size defaults to 128 bytes").
pub const DEFAULT_CHUNK_SIZE: u32 = 128;

/// Largest chunk size the spec allows (31 bits; the top bit MUST be zero).
pub const MAX_CHUNK_SIZE: u32 = 0x7FFF_FFFF;

/// Chunk stream id reserved for protocol control messages (spec §5.4: "Protocol
/// control messages ... MUST be sent with ... chunk stream ID 2").
pub const CONTROL_CHUNK_STREAM_ID: u32 = 2;

/// Smallest chunk stream id that can be encoded (0 and 1 are the markers of the
/// 2- and 3-byte basic header forms).
pub const MIN_CHUNK_STREAM_ID: u32 = 2;

/// Largest chunk stream id that can be encoded (3-byte basic header form).
pub const MAX_CHUNK_STREAM_ID: u32 = 65_599;

/// Value of the 24-bit timestamp field that announces an extended timestamp.
pub const EXTENDED_TIMESTAMP_MARKER: u32 = 0x00FF_FFFF;

/// Largest message length the 24-bit length field can carry.
pub const MAX_MESSAGE_LEN: u32 = 0x00FF_FFFF;

/// The header of one RTMP message as the chunk layer sees it (spec §5.3.1.2):
/// everything except the payload and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageHeader {
    /// Chunk stream id the message travels on (2..=65599).
    pub csid: u32,
    /// Absolute timestamp in milliseconds (deltas already applied).
    pub timestamp: u32,
    /// Message type id (see [`crate::protocol::message`] for the constants).
    pub type_id: u8,
    /// Message stream id (0 for connection-level messages).
    pub stream_id: u32,
}

/// One whole RTMP message, reassembled from its chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// Chunk stream id the message travelled on.
    pub csid: u32,
    /// Absolute timestamp in milliseconds, after applying deltas (wraps at 2^32).
    pub timestamp: u32,
    /// Message type id.
    pub type_id: u8,
    /// Message stream id.
    pub stream_id: u32,
    /// The message payload.
    pub payload: Bytes,
}

impl RawMessage {
    /// The message's header without its payload.
    pub fn header(&self) -> MessageHeader {
        MessageHeader {
            csid: self.csid,
            timestamp: self.timestamp,
            type_id: self.type_id,
            stream_id: self.stream_id,
        }
    }
}

/// Errors of the chunk stream layer. Each one is a protocol violation (or, for the
/// encoder, a caller mistake) that should close the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// A chunk of format 2 or 3 (or 1 on a fresh stream is allowed; see docs)
    /// arrived on a chunk stream that has no previous header to inherit from.
    #[error("chunk of format {fmt} on chunk stream {csid}, which has no previous header")]
    NoPreviousHeader {
        /// Chunk stream id.
        csid: u32,
        /// Chunk format (0..=3).
        fmt: u8,
    },
    /// A chunk of format 0, 1 or 2 arrived while a message on the same chunk
    /// stream was still incomplete (continuation chunks must be format 3).
    #[error("chunk of format {fmt} on chunk stream {csid} interrupts an incomplete message ({received} of {length} bytes)")]
    HeaderInsideMessage {
        /// Chunk stream id.
        csid: u32,
        /// Chunk format (0..=2).
        fmt: u8,
        /// Bytes of the interrupted message received so far.
        received: u32,
        /// Declared length of the interrupted message.
        length: u32,
    },
    /// The peer opened more chunk streams than `ChunkLimits::max_chunk_streams`.
    #[error("too many chunk streams: chunk stream {csid} would exceed the limit of {limit}")]
    TooManyChunkStreams {
        /// The chunk stream id that would have been opened.
        csid: u32,
        /// The configured limit.
        limit: usize,
    },
    /// A message header declared a length above `ChunkLimits::max_message_len`.
    #[error("message of {length} bytes on chunk stream {csid} exceeds the limit of {limit}")]
    MessageTooLong {
        /// Chunk stream id.
        csid: u32,
        /// Declared message length.
        length: u32,
        /// The configured limit.
        limit: u32,
    },
    /// A Set Chunk Size message carried 0 or had its top bit set.
    #[error("invalid chunk size {size:#x}: must be between 1 and 0x7fffffff")]
    InvalidChunkSize {
        /// The announced raw 32-bit value.
        size: u32,
    },
    /// A Set Chunk Size message announced a size above `ChunkLimits::max_chunk_size`.
    #[error("chunk size {size} exceeds the limit of {limit}")]
    ChunkSizeTooLarge {
        /// The announced chunk size.
        size: u32,
        /// The configured limit.
        limit: u32,
    },
    /// A protocol control message the decoder must apply was shorter than 4 bytes.
    #[error("protocol control message of type {type_id} has {len} bytes, needs 4")]
    ControlMessageTooShort {
        /// Message type id (1, 2 or 5).
        type_id: u8,
        /// Actual payload length.
        len: usize,
    },
    /// The encoder was asked to use a chunk stream id outside 2..=65599.
    #[error("chunk stream id {csid} cannot be encoded (valid: 2..=65599)")]
    InvalidChunkStreamId {
        /// The rejected chunk stream id.
        csid: u32,
    },
    /// The encoder was given a payload longer than the 24-bit length field allows.
    #[error("payload of {length} bytes does not fit the 24-bit message length field")]
    PayloadTooLong {
        /// The payload length.
        length: usize,
    },
}
