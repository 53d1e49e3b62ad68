//! The one error type of the session layer.

use crate::protocol::chunk::ChunkError;
use crate::protocol::command::CommandError;
use crate::protocol::handshake::HandshakeError;
use crate::protocol::message::MessageError;
use crate::protocol::shared_object::SharedObjectError;

use super::events::RequestId;

/// Why a session failed, or why a decision could not be carried out.
///
/// Errors from [`handle_input`](super::ServerSession::handle_input) are
/// protocol violations: close the connection and log the message. Errors
/// from the decision and send methods are caller mistakes or races (see
/// [`SessionError::UnknownRequest`]) and leave the session usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The handshake failed.
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// The chunk stream is malformed or breaks a limit.
    #[error("chunk stream: {0}")]
    Chunk(#[from] ChunkError),
    /// A control, user control or aggregate message is malformed.
    #[error("message of type {type_id} on stream {stream_id}: {source}")]
    Message {
        /// Message type id.
        type_id: u8,
        /// Message stream id.
        stream_id: u32,
        /// The decoding error.
        source: MessageError,
    },
    /// A command message's AMF body is malformed (before `connect` is
    /// accepted, also one with unreadable arguments).
    #[error("command message (type {type_id}) on stream {stream_id}: {source}")]
    Command {
        /// Message type id (17 or 20).
        type_id: u8,
        /// Message stream id.
        stream_id: u32,
        /// The decoding error.
        source: CommandError,
    },
    /// A data message's AMF body is malformed.
    #[error("data message (type {type_id}) on stream {stream_id}: {source}")]
    Data {
        /// Message type id (15 or 18).
        type_id: u8,
        /// Message stream id.
        stream_id: u32,
        /// The decoding error.
        source: CommandError,
    },
    /// A SharedObject message is malformed or breaks a limit.
    #[error("SharedObject message (type {type_id}): {source}")]
    SharedObject {
        /// Message type id (16 or 19).
        type_id: u8,
        /// The decoding error.
        source: SharedObjectError,
    },
    /// A command or message that needs an accepted `connect` arrived before
    /// one (RTMP spec §7.2.1.1: `connect` comes first).
    #[error("{what} before an accepted connect")]
    NotConnected {
        /// The command name, or the message kind.
        what: String,
    },
    /// A second `connect` on the same connection.
    #[error("connect received while a connect is already pending or accepted")]
    DuplicateConnect,
    /// A decision for a request that is not pending: already decided, or
    /// cancelled by the client (closeStream, deleteStream) while the
    /// application was deciding. Nothing was sent; not a protocol violation.
    #[error("request {} is not pending", request.get())]
    UnknownRequest {
        /// The request id passed.
        request: RequestId,
    },
    /// A send method named a message stream id that does not exist.
    #[error("message stream {stream_id} does not exist")]
    UnknownStream {
        /// The stream id passed.
        stream_id: u32,
    },
    /// A send method was called before the handshake completed.
    #[error("cannot send messages before the handshake completes")]
    HandshakeIncomplete,
    /// A command or data message could not be encoded.
    #[error("encoding {what}: {source}")]
    EncodeCommand {
        /// What was being encoded.
        what: &'static str,
        /// The encoding error.
        source: CommandError,
    },
    /// A SharedObject message could not be encoded.
    #[error("encoding SharedObject message: {0}")]
    EncodeSharedObject(SharedObjectError),
    /// The chunk encoder refused a message (payload over 16 MiB).
    #[error("chunking message of type {type_id}: {source}")]
    EncodeChunk {
        /// Message type id.
        type_id: u8,
        /// The chunk encoder's error.
        source: ChunkError,
    },
    /// The client sent more than `SessionConfig::max_held_input` bytes while
    /// its `connect` was waiting for the application's decision.
    #[error("{len} bytes received while connect is pending (limit {limit})")]
    TooMuchInputBeforeConnect {
        /// Bytes held.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Input after a failure: the session is finished.
    #[error("session already failed; no more input accepted")]
    Finished,
}
