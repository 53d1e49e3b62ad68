//! The server side of one RTMP connection as a sans-IO state machine.
//!
//! A [`ServerSession`] owns everything one TCP connection needs above the
//! socket: the handshake (RTMP spec §5.2), the chunk decoder and encoder
//! (§5.3), acknowledgement accounting (§5.4.3), and the NetConnection /
//! NetStream state of §7.2 (connected application, object encoding, message
//! stream ids created, which stream publishes or plays what). The connection
//! actor feeds it bytes with [`ServerSession::handle_input`], gets typed
//! [`SessionEvent`]s for what the application must decide, answers through
//! the decision methods (`accept_connect`, `accept_publish`, …) and writes
//! what [`ServerSession::take_outbound`] returns.
//!
//! The session answers by itself what the protocol answers by itself: Ping
//! Request → Ping Response, Acknowledgements when the client's window is
//! full, `createStream`, `deleteStream` / `closeStream` bookkeeping, the FMS
//! acknowledgements of `releaseStream` / `FCPublish` / `FCUnpublish`,
//! `receiveAudio` / `receiveVideo` flags and Set Buffer Length.
//!
//! # Layout
//!
//! - `mod.rs`: [`ServerSession`], [`SessionConfig`], input loop, accessors.
//! - `events.rs`: [`SessionEvent`] and the plain data it carries.
//! - `state.rs`: per-connection and per-stream state ([`StreamInfo`]).
//! - `inbound.rs`: non-command messages (control, user control, media, data,
//!   SharedObject).
//! - `commands.rs`: commands from the client.
//! - `decisions.rs`: the application's answers to requests.
//! - `outbound.rs`: everything the server sends on its own initiative, and
//!   the outbound queue.
//!
//! Pure: no clocks (`now_ms` is an argument), randomness is an argument, no
//! IO. See `docs/protocol/session.md` for the state machine and example
//! exchanges.

mod commands;
mod decisions;
mod error;
mod events;
mod inbound;
mod outbound;
mod state;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::BytesMut;
use bytestring::ByteString;
use rand::RngCore;

use crate::protocol::chunk::{ChunkDecoder, ChunkWriter};
use crate::protocol::command::{DEFAULT_CAPABILITIES, DEFAULT_FMS_VERSION, DEFAULT_MODE};
use crate::protocol::handshake::ServerHandshake;
use crate::protocol::limits::ProtocolLimits;
use crate::protocol::shared_object::SharedObjectEncoding;

pub use decisions::{ConnectAccept, PlayAccept};
pub use error::SessionError;
pub use events::{
    CloseReason, IgnoreReason, MediaKind, ObjectEncoding, RequestId, SessionEvent, StreamRole,
};
pub use state::{StreamActivity, StreamInfo};

/// Chunk stream id of protocol control and user control messages (spec §5.4).
pub const CSID_CONTROL: u32 = 2;
/// Chunk stream id of command messages (`_result`, `onStatus`, calls), as FMS.
pub const CSID_COMMAND: u32 = 3;
/// Chunk stream id of audio messages.
pub const CSID_AUDIO: u32 = 4;
/// Chunk stream id of data messages (`onMetaData`, `|RtmpSampleAccess`).
pub const CSID_DATA: u32 = 5;
/// Chunk stream id of video messages.
pub const CSID_VIDEO: u32 = 6;

/// Chunk size the server announces after connect, as FMS does.
pub const DEFAULT_SERVER_CHUNK_SIZE: u32 = 4096;
/// Window Acknowledgement Size the server announces (FMS, nginx-rtmp, SRS).
pub const DEFAULT_WINDOW_ACK_SIZE: u32 = 2_500_000;
/// Set Peer Bandwidth window the server announces.
pub const DEFAULT_PEER_BANDWIDTH: u32 = 2_500_000;
/// Message streams one connection may hold at once.
pub const DEFAULT_MAX_STREAMS: usize = 16;
/// Bytes held unread while a `connect` decision is pending.
pub const DEFAULT_MAX_HELD_INPUT: usize = 1024 * 1024;

/// Most bytes of an incomplete chunk moved out of the read they came in, so
/// that they alone stay allocated between reads (a longer remainder, part of
/// a large chunk still arriving, stays where it is and grows as usual).
const COMPACT_REMAINDER_LEN: usize = 4096;

/// Input as the caller gives it: borrowed, or a buffer the session may keep.
enum Input<'a> {
    Borrowed(&'a [u8]),
    Owned(BytesMut),
}

impl Input<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Borrowed(input) => input,
            Self::Owned(input) => input,
        }
    }
}

/// How a session behaves; plain data filled by the settings layer.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// Bounds on everything the client can make us allocate.
    pub limits: ProtocolLimits,
    /// The chunk size we announce with Set Chunk Size after connect.
    pub chunk_size: u32,
    /// The Window Acknowledgement Size we announce: the client acknowledges
    /// after receiving this many bytes from us.
    pub window_ack_size: u32,
    /// The Set Peer Bandwidth window we announce (limit type dynamic).
    pub peer_bandwidth: u32,
    /// `fmsVer` in the connect `_result`.
    pub fms_version: ByteString,
    /// `capabilities` in the connect `_result`.
    pub capabilities: f64,
    /// `mode` in the connect `_result`.
    pub mode: f64,
    /// Most message streams (`createStream`) open at once; further requests
    /// get an `_error`.
    pub max_streams: usize,
    /// Most bytes held back unread while a `connect` decision is pending
    /// (clients normally wait for the `_result`; a few pipeline commands).
    pub max_held_input: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            limits: ProtocolLimits::default(),
            chunk_size: DEFAULT_SERVER_CHUNK_SIZE,
            window_ack_size: DEFAULT_WINDOW_ACK_SIZE,
            peer_bandwidth: DEFAULT_PEER_BANDWIDTH,
            fms_version: ByteString::from_static(DEFAULT_FMS_VERSION),
            capabilities: DEFAULT_CAPABILITIES,
            mode: DEFAULT_MODE,
            max_streams: DEFAULT_MAX_STREAMS,
            max_held_input: DEFAULT_MAX_HELD_INPUT,
        }
    }
}

/// The server side of one RTMP connection. See the module docs.
#[derive(Debug)]
pub struct ServerSession {
    /// Shared by every session of the node.
    config: Arc<SessionConfig>,
    /// `Some` until the handshake completes.
    handshake: Option<ServerHandshake>,
    /// Handshake bytes written (S0+S1+S2), for [`bytes_sent`](Self::bytes_sent).
    handshake_bytes_sent: u64,
    decoder: ChunkDecoder,
    /// Received bytes not yet consumed by the chunk decoder (at most one
    /// partial chunk).
    inbuf: BytesMut,
    /// The outbound chunk stream (media payloads are never copied).
    writer: ChunkWriter,
    connection: state::Connection,
    /// Message streams created with `createStream`, by id.
    streams: BTreeMap<u32, StreamInfo>,
    /// Next [`RequestId`] value.
    next_request: u64,
    /// Next transaction id for server → client calls.
    next_transaction_id: u64,
    /// The SharedObject message type the client used first (answers use it).
    so_encoding: Option<SharedObjectEncoding>,
    /// The last Ping Request we sent: its timestamp field and `now_ms`.
    last_ping: Option<(u32, u64)>,
    /// Sequence number of the client's last Acknowledgement.
    last_ack_received: Option<u32>,
    /// The last Window Acknowledgement Size we sent (0 before connect).
    window_ack_sent: u32,
    /// Set after any error: the session accepts no further input.
    failed: bool,
}

impl ServerSession {
    /// A session waiting for the client's C0+C1.
    pub fn new(config: SessionConfig) -> Self {
        Self::with_shared_config(Arc::new(config))
    }

    /// A session waiting for the client's C0+C1, with a configuration
    /// shared with other sessions (a node's connections all use one).
    pub fn with_shared_config(config: Arc<SessionConfig>) -> Self {
        Self {
            decoder: ChunkDecoder::new(config.limits.chunk),
            config,
            handshake: Some(ServerHandshake::new()),
            handshake_bytes_sent: 0,
            inbuf: BytesMut::new(),
            writer: ChunkWriter::new(),
            connection: state::Connection::AwaitingConnect,
            streams: BTreeMap::new(),
            next_request: 1,
            next_transaction_id: 1,
            so_encoding: None,
            last_ping: None,
            last_ack_received: None,
            window_ack_sent: 0,
            failed: false,
        }
    }

    /// Feeds bytes read from the client (any fragmentation). Returns what
    /// happened, in order; bytes to write back are queued for
    /// [`take_outbound`](Self::take_outbound).
    ///
    /// While a `connect` awaits the application's decision, messages after it
    /// are held unread; after `accept_connect` call `handle_input(&[], ..)`
    /// to process them (it returns their events).
    ///
    /// `now_ms` is the caller's monotonic clock (used for the handshake time
    /// field and ping round trips); `rng` fills the handshake's random bytes.
    ///
    /// # Errors
    ///
    /// A [`SessionError`] is a protocol violation (or input after one): close
    /// the connection and log the error. Events decoded earlier in the same
    /// call are dropped; bytes already queued (e.g. an Acknowledgement) may
    /// still be written.
    pub fn handle_input<R: RngCore + ?Sized>(
        &mut self,
        input: &[u8],
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<SessionEvent>, SessionError> {
        self.handle(Input::Borrowed(input), now_ms, rng)
    }

    /// [`handle_input`](Self::handle_input) for a buffer the caller no
    /// longer needs (a socket read): when nothing is buffered from earlier
    /// input, the session decodes from `input` itself, without copying, and
    /// single-chunk messages share its allocation.
    ///
    /// # Errors
    ///
    /// As [`handle_input`](Self::handle_input).
    pub fn handle_input_buf<R: RngCore + ?Sized>(
        &mut self,
        input: BytesMut,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<SessionEvent>, SessionError> {
        self.handle(Input::Owned(input), now_ms, rng)
    }

    fn handle<R: RngCore + ?Sized>(
        &mut self,
        input: Input<'_>,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<SessionEvent>, SessionError> {
        if self.failed {
            return Err(SessionError::Finished);
        }
        let result = self.process(input, now_ms, rng);
        if result.is_err() {
            self.failed = true;
        }
        self.release_input_buffer();
        result
    }

    fn process<R: RngCore + ?Sized>(
        &mut self,
        input: Input<'_>,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<SessionEvent>, SessionError> {
        let mut events = Vec::new();
        if let Some(handshake) = self.handshake.as_mut() {
            let input = input.as_slice();
            // The handshake time field is 32 bits; it wraps like RTMP timestamps.
            let step = handshake.handle_input(input, now_ms as u32, rng)?;
            let send = step.send().clone();
            self.handshake_bytes_sent += send.len() as u64;
            if !send.is_empty() {
                self.writer.push_bytes(send);
            }
            let Some(outcome) = step.outcome() else {
                self.decoder.add_bytes_received(input.len() as u64);
                return Ok(events);
            };
            let consumed = input.len().saturating_sub(outcome.remaining.len());
            self.decoder.add_bytes_received(consumed as u64);
            self.inbuf.extend_from_slice(&outcome.remaining);
            events.push(SessionEvent::HandshakeCompleted {
                kind: outcome.kind,
                peer_version: outcome.peer_version,
            });
            self.handshake = None;
        } else {
            match input {
                // Nothing buffered: decode from the read itself.
                Input::Owned(input) if self.inbuf.is_empty() => self.inbuf = input,
                input => self.inbuf.extend_from_slice(input.as_slice()),
            }
        }
        // While the application decides on `connect`, later messages wait in
        // `inbuf` (a client that pipelines createStream after connect would
        // otherwise be refused); the decision's caller resumes with empty input.
        while !matches!(self.connection, state::Connection::Requested { .. }) {
            let Some(raw) = self.decoder.decode(&mut self.inbuf)? else {
                break;
            };
            // Checked after each whole message (not after partial chunks), so
            // the Acknowledgements sent do not depend on how TCP split the input.
            if let Some(sequence_number) = self.decoder.take_ack_due() {
                self.queue_acknowledgement(sequence_number)?;
            }
            self.handle_message(raw, now_ms, &mut events)?;
        }
        if self.inbuf.len() > self.config.max_held_input {
            return Err(SessionError::TooMuchInputBeforeConnect {
                len: self.inbuf.len(),
                limit: self.config.max_held_input,
            });
        }
        Ok(events)
    }

    /// Keeps no input buffer while there is no incomplete chunk, so an idle
    /// connection holds no read buffer; a small incomplete chunk is moved to
    /// a buffer of its own size, so it does not pin the whole read it came
    /// in. Input held while a `connect` is decided stays as it is.
    fn release_input_buffer(&mut self) {
        if matches!(self.connection, state::Connection::Requested { .. }) {
            return;
        }
        if self.inbuf.is_empty() {
            self.inbuf = BytesMut::new();
        } else if self.inbuf.len() <= COMPACT_REMAINDER_LEN {
            self.inbuf = BytesMut::from(&self.inbuf[..]);
        }
    }

    /// Bytes of input buffered (an incomplete chunk, or input held while a
    /// `connect` is decided) and the capacity of the buffer holding them.
    pub fn buffered_input(&self) -> (usize, usize) {
        (self.inbuf.len(), self.inbuf.capacity())
    }

    /// Whether the handshake has completed.
    pub fn is_handshake_done(&self) -> bool {
        self.handshake.is_none()
    }

    /// Whether a `connect` has been accepted.
    pub fn is_connected(&self) -> bool {
        matches!(self.connection, state::Connection::Connected { .. })
    }

    /// The application name of the accepted `connect`.
    pub fn app(&self) -> Option<&ByteString> {
        match &self.connection {
            state::Connection::Connected { app, .. } => Some(app),
            _ => None,
        }
    }

    /// The object encoding of the accepted `connect` (AMF0 before that).
    pub fn object_encoding(&self) -> ObjectEncoding {
        match &self.connection {
            state::Connection::Connected {
                object_encoding, ..
            } => *object_encoding,
            _ => ObjectEncoding::Amf0,
        }
    }

    /// The state of message stream `stream_id`, if it was created.
    pub fn stream(&self, stream_id: u32) -> Option<&StreamInfo> {
        self.streams.get(&stream_id)
    }

    /// Every message stream created and not deleted, by id (for cleanup when
    /// the connection ends).
    pub fn streams(&self) -> impl Iterator<Item = (u32, &StreamInfo)> + '_ {
        self.streams.iter().map(|(id, info)| (*id, info))
    }

    /// Total bytes received (handshake included), as acknowledged to the peer.
    pub fn bytes_received(&self) -> u64 {
        self.decoder.bytes_received() + self.inbuf.len() as u64
    }

    /// Total bytes queued for sending so far (handshake included).
    pub fn bytes_sent(&self) -> u64 {
        self.handshake_bytes_sent + self.writer.encoder().bytes_written()
    }

    /// Bytes sent that the client has not acknowledged yet, judged by its last
    /// Acknowledgement (sequence numbers wrap at 2^32), for backpressure.
    /// Before the client's first Acknowledgement it is everything sent.
    pub fn unacknowledged_bytes(&self) -> u64 {
        let sent = self.bytes_sent();
        match self.last_ack_received {
            None => sent,
            Some(ack) => {
                let sent_low = (sent & 0xFFFF_FFFF) as u32;
                u64::from(sent_low.wrapping_sub(ack))
            }
        }
    }

    fn next_request_id(&mut self) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        id
    }
}
