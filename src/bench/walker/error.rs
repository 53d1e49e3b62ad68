//! [`WalkError`]: why a [`ChunkWalker`](super::ChunkWalker) stopped.

/// Why the walker stopped: the server broke the chunk stream protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    /// A chunk of format 1–3 on a chunk stream without a previous header.
    #[error("chunk of format {fmt} on chunk stream {csid}, which has no previous header")]
    NoPreviousHeader {
        /// Chunk stream id.
        csid: u32,
        /// Chunk format.
        fmt: u8,
    },
    /// A chunk of format 0–2 interrupted an incomplete message.
    #[error("chunk of format {fmt} on chunk stream {csid} interrupts an incomplete message")]
    HeaderInsideMessage {
        /// Chunk stream id.
        csid: u32,
        /// Chunk format.
        fmt: u8,
    },
    /// More chunk streams than [`WalkerLimits::max_chunk_streams`](super::WalkerLimits::max_chunk_streams).
    #[error("chunk stream {csid} exceeds the limit of {limit} chunk streams")]
    TooManyChunkStreams {
        /// The chunk stream id that would have been opened.
        csid: u32,
        /// The limit.
        limit: usize,
    },
    /// A control or command message longer than
    /// [`WalkerLimits::max_kept_len`](super::WalkerLimits::max_kept_len).
    #[error("message of type {type_id} has {length} bytes, more than the {limit} kept")]
    KeptMessageTooLong {
        /// Message type id.
        type_id: u8,
        /// Declared length.
        length: u32,
        /// The limit.
        limit: u32,
    },
    /// A Set Chunk Size of 0, with the top bit set, or above the limit.
    #[error("invalid chunk size {size:#x} (limit {limit})")]
    InvalidChunkSize {
        /// The announced size.
        size: u32,
        /// The limit.
        limit: u32,
    },
    /// Set Chunk Size, Abort or Window Acknowledgement Size under 4 bytes.
    #[error("control message of type {type_id} has {len} bytes, needs 4")]
    ControlMessageTooShort {
        /// Message type id.
        type_id: u8,
        /// Its length.
        len: usize,
    },
    /// Input after an error.
    #[error("the walker stopped at an earlier error")]
    Stopped,
}
