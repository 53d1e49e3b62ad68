//! Limits on everything a peer can make us allocate.
//!
//! Every decoder in [`crate::protocol`] receives one of these plain structs; the
//! settings layer fills them from configuration. Breaking a limit is an error of
//! the decoding layer (which closes that one connection), never a panic and never
//! an allocation sized by an untrusted length.

/// Most bytes that references may stand for in one AMF message, counted as
/// the expanded value's size: a value counts 1, a string its length too, a
/// ByteArray byte or vector element 9 (the AMF0 Number it becomes). A wire
/// reference decodes in O(1) to a shared node, but anything that walks or
/// re-encodes the value pays the expanded size, and nested references
/// multiply: without this bound a few hundred bytes can stand for a value of
/// 2^60 nodes. Twice the default [`ChunkLimits::max_message_len`].
pub const MAX_AMF_REFERENCED_LEN: u64 = 16 * 1024 * 1024;

/// Limits for AMF0/AMF3 decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmfLimits {
    /// Deepest nesting of containers (objects, arrays, vectors, dictionaries)
    /// accepted in one value. Bounds recursion, hence stack use.
    pub max_depth: usize,
    /// Largest number of entries in any one reference table (AMF0 objects; AMF3
    /// strings, objects and traits) within one message.
    pub max_references: usize,
}

impl Default for AmfLimits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_references: 65_536,
        }
    }
}

/// Limits for the chunk stream decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Largest chunk size a peer may announce with Set Chunk Size. The spec allows
    /// up to 0x7FFF_FFFF; larger announced values than this are a protocol error.
    pub max_chunk_size: u32,
    /// Largest message length accepted in a chunk message header (the wire field is
    /// 24 bits, so at most 16 MiB - 1).
    pub max_message_len: u32,
    /// Largest number of chunk streams (csids) a peer may have open at once.
    pub max_chunk_streams: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        Self {
            max_chunk_size: 16 * 1024 * 1024,
            max_message_len: 8 * 1024 * 1024,
            max_chunk_streams: 64,
        }
    }
}

/// Limits for SharedObject messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedObjectLimits {
    /// Most events accepted in one SharedObject message.
    pub max_events_per_message: usize,
    /// Longest SharedObject name, in bytes.
    pub max_name_len: usize,
}

impl Default for SharedObjectLimits {
    fn default() -> Self {
        Self {
            max_events_per_message: 1024,
            max_name_len: 1024,
        }
    }
}

/// All protocol limits together, as the connection layer holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProtocolLimits {
    /// Chunk stream limits.
    pub chunk: ChunkLimits,
    /// AMF limits.
    pub amf: AmfLimits,
    /// SharedObject message limits.
    pub shared_object: SharedObjectLimits,
}
