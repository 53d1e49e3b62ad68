//! What a [`ChunkWalker`](super::ChunkWalker) is given and reports.

/// Bounds on what a server can make a player hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkerLimits {
    /// Largest chunk size a Set Chunk Size may announce.
    pub max_chunk_size: u32,
    /// Most chunk streams the server may open.
    pub max_chunk_streams: usize,
    /// Largest control or command message reassembled.
    pub max_kept_len: u32,
}

impl Default for WalkerLimits {
    fn default() -> Self {
        Self {
            max_chunk_size: 16 * 1024 * 1024,
            max_chunk_streams: 64,
            max_kept_len: 64 * 1024,
        }
    }
}

/// What the walker reports while it walks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkEvent<'a> {
    /// A whole control (types 1–6) or command (17, 20) message. Set Chunk
    /// Size, Abort and Window Acknowledgement Size are already applied.
    Message {
        /// Message type id.
        type_id: u8,
        /// Message stream id.
        stream_id: u32,
        /// The payload.
        payload: Vec<u8>,
    },
    /// The first bytes of an audio or video message have arrived.
    MediaHead {
        /// 8 (audio) or 9 (video).
        type_id: u8,
        /// Message stream id.
        stream_id: u32,
        /// The first `min(2, length)` payload bytes.
        head: &'a [u8],
        /// The message's declared length.
        length: u32,
    },
}
