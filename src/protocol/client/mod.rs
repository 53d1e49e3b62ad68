//! The client side of one RTMP connection as a sans-IO state machine.
//!
//! A [`ClientSession`] mirrors the server's
//! [`ServerSession`](crate::protocol::session::ServerSession): it owns the
//! handshake (RTMP spec §5.2, client role), the chunk decoder and encoder
//! (§5.3), acknowledgement accounting (§5.4.3) and the NetConnection state
//! (connect, transaction ids). The caller writes what
//! [`take_outbound`](ClientSession::take_outbound) returns, feeds every byte
//! read to [`handle_input`](ClientSession::handle_input) and acts on the
//! typed [`ClientEvent`]s it returns.
//!
//! The session answers by itself what the protocol answers by itself:
//! Ping Request → Ping Response, Acknowledgements when the server's window
//! is full, Window Acknowledgement Size after Set Peer Bandwidth (§5.4.5). It
//! announces its own chunk size before `connect`.
//!
//! Encodings: `connect` always travels as type 20 (Flash Player, librtmp and
//! ffmpeg do so; the server answers on the type `connect` used). With
//! `objectEncoding` 3, later commands go out as type 17 (format byte, AMF0
//! with AMF3 values behind the AVM+ marker, as Flash Player writes
//! `NetConnection.call`) and SharedObject messages as type 16. Commands and
//! SharedObject messages of either type are accepted from the server.
//!
//! # Layout
//!
//! - `mod.rs`: [`ClientSession`], [`ClientSessionConfig`], input loop.
//! - `events.rs`: [`ClientEvent`], [`ConnectRequest`], [`TransactionId`].
//! - `inbound.rs`: messages from the server.
//! - `outbound.rs`: requests to the server and the outbound queue.
//! - `replica.rs`: [`SharedObjectReplica`], the local copy of a remote
//!   SharedObject, and its [`SoEvent`]s.
//!
//! Pure: no clocks (`now_ms` is an argument), randomness is an argument, no IO.

mod error;
mod events;
mod inbound;
mod outbound;
mod replica;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use bytes::BytesMut;
use rand::RngCore;

use crate::protocol::chunk::{ChunkDecoder, ChunkWriter};
use crate::protocol::handshake::{ClientConfig, ClientHandshake, HandshakeStep};
use crate::protocol::limits::ProtocolLimits;
use crate::protocol::session::ObjectEncoding;

pub use error::ClientSessionError;
pub use events::{ClientEvent, ConnectRequest, TransactionId};
pub use replica::{SharedObjectReplica, SoEvent};

/// `flashVer` a [`ConnectRequest`] announces by default.
pub const DEFAULT_FLASH_VER: &str = "LNX 11,2,202,235";
/// Chunk size the client announces before `connect` (as ffmpeg does).
pub const DEFAULT_CLIENT_CHUNK_SIZE: u32 = 4096;
/// Calls that may await an answer at once.
pub const DEFAULT_MAX_PENDING_CALLS: usize = 1024;

/// How a client session behaves; plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSessionConfig {
    /// Bounds on everything the server can make us allocate.
    pub limits: ProtocolLimits,
    /// Simple or digest handshake.
    pub handshake: ClientConfig,
    /// The chunk size we announce with Set Chunk Size before `connect`.
    pub chunk_size: u32,
    /// Most requests awaiting a `_result` / `_error` at once.
    pub max_pending_calls: usize,
}

impl Default for ClientSessionConfig {
    fn default() -> Self {
        Self {
            limits: ProtocolLimits::default(),
            handshake: ClientConfig::default(),
            chunk_size: DEFAULT_CLIENT_CHUNK_SIZE,
            max_pending_calls: DEFAULT_MAX_PENDING_CALLS,
        }
    }
}

/// Where the NetConnection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Connection {
    /// Handshake done (or in progress), `connect` not sent.
    Idle,
    /// `connect` sent with this transaction id.
    Requested {
        transaction_id: u64,
        object_encoding: ObjectEncoding,
    },
    /// `connect` accepted.
    Connected { object_encoding: ObjectEncoding },
    /// `connect` refused.
    Rejected,
}

/// What a pending transaction id stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Call,
}

/// The client side of one RTMP connection. See the module docs.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientSessionConfig,
    /// `Some` until the handshake completes.
    handshake: Option<ClientHandshake>,
    decoder: ChunkDecoder,
    /// Received bytes not yet consumed by the chunk decoder.
    inbuf: BytesMut,
    /// The outbound chunk stream (media payloads are never copied).
    writer: ChunkWriter,
    connection: Connection,
    /// Next transaction id for our requests (1 is `connect`).
    next_transaction_id: u64,
    /// Requests awaiting `_result` / `_error`, by transaction id.
    pending: BTreeMap<u64, Pending>,
    /// The last Window Acknowledgement Size we sent.
    window_ack_sent: u32,
    /// Set after any input error: the session accepts no further input.
    failed: bool,
}

impl ClientSession {
    /// A session with C0+C1 queued in [`take_outbound`](Self::take_outbound).
    ///
    /// `now_ms` becomes the C1 time field; `rng` fills C1.
    pub fn new<R: RngCore + ?Sized>(config: ClientSessionConfig, now_ms: u64, rng: &mut R) -> Self {
        let (handshake, c0c1) = ClientHandshake::start(config.handshake, now_ms as u32, rng);
        Self {
            decoder: ChunkDecoder::new(config.limits.chunk),
            config,
            handshake: Some(handshake),
            inbuf: BytesMut::new(),
            writer: {
                let mut writer = ChunkWriter::new();
                writer.push_bytes(c0c1);
                writer
            },
            connection: Connection::Idle,
            next_transaction_id: 1,
            pending: BTreeMap::new(),
            window_ack_sent: 0,
            failed: false,
        }
    }

    /// Feeds bytes read from the server (any fragmentation). Returns what
    /// happened, in order; answers are queued for
    /// [`take_outbound`](Self::take_outbound).
    ///
    /// # Errors
    ///
    /// A [`ClientSessionError`] is a protocol violation by the server (or
    /// input after one): close the connection. Events decoded earlier in the
    /// same call are dropped.
    pub fn handle_input<R: RngCore + ?Sized>(
        &mut self,
        input: &[u8],
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<ClientEvent>, ClientSessionError> {
        if self.failed {
            return Err(ClientSessionError::Finished);
        }
        let result = self.process(input, now_ms, rng);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn process<R: RngCore + ?Sized>(
        &mut self,
        input: &[u8],
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<ClientEvent>, ClientSessionError> {
        let mut events = Vec::new();
        if let Some(handshake) = self.handshake.as_mut() {
            match handshake.handle_input(input, now_ms as u32, rng)? {
                HandshakeStep::Continue { send } => {
                    self.decoder.add_bytes_received(input.len() as u64);
                    if !send.is_empty() {
                        self.writer.push_bytes(send);
                    }
                    return Ok(events);
                }
                HandshakeStep::Done { send, outcome } => {
                    let consumed = input.len().saturating_sub(outcome.remaining.len());
                    self.decoder.add_bytes_received(consumed as u64);
                    if !send.is_empty() {
                        self.writer.push_bytes(send);
                    }
                    self.inbuf.extend_from_slice(&outcome.remaining);
                    self.handshake = None;
                    events.push(ClientEvent::HandshakeCompleted);
                }
            }
        } else {
            self.inbuf.extend_from_slice(input);
        }
        while let Some(raw) = self.decoder.decode(&mut self.inbuf)? {
            if let Some(sequence_number) = self.decoder.take_ack_due() {
                self.queue_acknowledgement(sequence_number)?;
            }
            self.handle_message(raw, &mut events)?;
        }
        Ok(events)
    }

    /// Whether the handshake has completed.
    pub fn is_handshake_done(&self) -> bool {
        self.handshake.is_none()
    }

    /// Whether the server accepted `connect`.
    pub fn is_connected(&self) -> bool {
        matches!(self.connection, Connection::Connected { .. })
    }

    /// The object encoding in use: the requested one once `connect` was sent.
    pub fn object_encoding(&self) -> ObjectEncoding {
        match self.connection {
            Connection::Requested {
                object_encoding, ..
            }
            | Connection::Connected { object_encoding } => object_encoding,
            _ => ObjectEncoding::Amf0,
        }
    }

    /// Requests awaiting an answer.
    pub fn pending_calls(&self) -> usize {
        self.pending.len()
    }

    /// Forgets a request whose answer no longer matters (its caller gave
    /// up); a late answer is then reported as
    /// [`ClientEvent::Ignored`].
    pub fn forget(&mut self, transaction_id: TransactionId) {
        self.pending.remove(&transaction_id.0);
    }

    /// Total bytes received (handshake included).
    pub fn bytes_received(&self) -> u64 {
        self.decoder.bytes_received() + self.inbuf.len() as u64
    }
}
