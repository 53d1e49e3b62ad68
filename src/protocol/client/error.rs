//! The one error type of the client session layer.

use crate::protocol::chunk::ChunkError;
use crate::protocol::command::CommandError;
use crate::protocol::handshake::HandshakeError;
use crate::protocol::message::MessageError;
use crate::protocol::shared_object::SharedObjectError;

/// Why a [`ClientSession`](super::ClientSession) failed, or why a request
/// could not be sent.
///
/// Errors from [`handle_input`](super::ClientSession::handle_input) are
/// protocol violations by the server: close the connection. Errors from the
/// send methods are caller mistakes (sending before `connect` succeeded,
/// values that cannot be encoded) and leave the session usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientSessionError {
    /// The handshake failed.
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// The server's chunk stream is malformed or breaks a limit.
    #[error("chunk stream: {0}")]
    Chunk(#[from] ChunkError),
    /// A control or user control message from the server is malformed.
    #[error("message of type {type_id} on stream {stream_id}: {source}")]
    Message {
        /// Message type id.
        type_id: u8,
        /// Message stream id.
        stream_id: u32,
        /// The decoding error.
        source: MessageError,
    },
    /// A command or data message from the server is malformed.
    #[error("command or data message (type {type_id}) on stream {stream_id}: {source}")]
    Command {
        /// Message type id (15, 17, 18 or 20).
        type_id: u8,
        /// Message stream id.
        stream_id: u32,
        /// The decoding error.
        source: CommandError,
    },
    /// A SharedObject message from the server is malformed.
    #[error("SharedObject message (type {type_id}): {source}")]
    SharedObject {
        /// Message type id (16 or 19).
        type_id: u8,
        /// The decoding error.
        source: SharedObjectError,
    },
    /// The server sent something only a connected session can receive
    /// before answering `connect`.
    #[error("server sent {what} before answering connect")]
    NotConnected {
        /// What arrived.
        what: String,
    },
    /// A request was made before the handshake completed.
    #[error("the handshake is not complete")]
    HandshakeIncomplete,
    /// A request that needs an accepted `connect` was made before it (or
    /// after a rejection).
    #[error("cannot send {what}: not connected")]
    NotConnectedYet {
        /// What the caller tried to send.
        what: &'static str,
    },
    /// `connect` was called twice.
    #[error("connect was already sent")]
    AlreadyConnecting,
    /// More calls awaiting an answer than the configured limit.
    #[error("{pending} calls await an answer (limit {limit})")]
    TooManyPendingCalls {
        /// Calls pending.
        pending: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A value given to a send method cannot be encoded.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoding error.
        source: CommandError,
    },
    /// A SharedObject message given to a send method cannot be encoded.
    #[error("cannot encode SharedObject message: {0}")]
    EncodeSharedObject(SharedObjectError),
    /// A message could not be chunked (payload over 16 MiB).
    #[error("cannot chunk message of type {type_id}: {source}")]
    EncodeChunk {
        /// Message type id.
        type_id: u8,
        /// The chunking error.
        source: ChunkError,
    },
    /// Input after an earlier error.
    #[error("the session already failed")]
    Finished,
}
