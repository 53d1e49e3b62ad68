//! What a [`ClientSession`](super::ClientSession) reports: plain data.

use bytes::Bytes;
use bytestring::ByteString;

use crate::protocol::amf::AmfValue;
use crate::protocol::command::StatusInfo;
use crate::protocol::session::{MediaKind, ObjectEncoding};
use crate::protocol::shared_object::SharedObjectMessage;

/// What to send in `connect` (RTMP spec §7.2.1.1).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectRequest {
    /// `app`: the application (and room path) to connect to.
    pub app: String,
    /// `tcUrl`: the URL the application was reached with.
    pub tc_url: String,
    /// `flashVer` as announced to the server.
    pub flash_ver: String,
    /// `objectEncoding`: 0 (AMF0) or 3 (AMF3). With AMF3 the `connect`
    /// itself still travels as type 20 (as Flash Player sends it); later
    /// commands go out as type 17 and SharedObject messages as type 16.
    pub object_encoding: ObjectEncoding,
    /// Arguments after the command object (FMS passes them to
    /// `application.onConnect`).
    pub args: Vec<AmfValue>,
}

impl ConnectRequest {
    /// A request for `app` reached at `tc_url`, AMF0, no arguments.
    pub fn new(app: impl Into<String>, tc_url: impl Into<String>) -> Self {
        Self {
            app: app.into(),
            tc_url: tc_url.into(),
            flash_ver: crate::protocol::client::DEFAULT_FLASH_VER.to_owned(),
            object_encoding: ObjectEncoding::Amf0,
            args: Vec::new(),
        }
    }
}

/// Identifies a request awaiting the server's `_result` / `_error`.
/// Unique within one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub(super) u64);

impl TransactionId {
    /// The number sent on the wire.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Something the server did, for the caller to act on.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// The handshake completed; `connect` may be sent.
    HandshakeCompleted,
    /// The server accepted `connect`.
    Connected {
        /// The `_result` command object (`fmsVer`, `capabilities`, `mode`).
        properties: AmfValue,
        /// The information object (`NetConnection.Connect.Success`, …).
        info: AmfValue,
        /// The object encoding now in use.
        object_encoding: ObjectEncoding,
    },
    /// The server refused `connect` (`_error`); the server closes the
    /// connection next.
    ConnectRejected {
        /// The information object (`NetConnection.Connect.Rejected`, …).
        info: AmfValue,
    },
    /// The answer to a [`call`](super::ClientSession::call) or
    /// [`create_stream`](super::ClientSession::create_stream).
    CallResult {
        /// The id the request returned.
        transaction_id: TransactionId,
        /// `_result` (true) or `_error` (false).
        ok: bool,
        /// The command object of the answer (normally `null`).
        command_object: AmfValue,
        /// The returned values (for `_error`, normally one info object).
        values: Vec<AmfValue>,
    },
    /// The server invoked a method on us. Answer with
    /// [`reply_result`](super::ClientSession::reply_result) or
    /// [`reply_error`](super::ClientSession::reply_error) unless
    /// `transaction_id` is 0 (a notification).
    CallReceived {
        /// The message stream it arrived on (0: the connection).
        stream_id: u32,
        /// The server's transaction id (0: no answer expected).
        transaction_id: f64,
        /// The method name.
        method: ByteString,
        /// The arguments.
        args: Vec<AmfValue>,
    },
    /// An `onStatus` on a message stream (or on the connection, stream 0).
    Status {
        /// The message stream.
        stream_id: u32,
        /// The info object, read liberally.
        info: StatusInfo,
    },
    /// User Control Stream Begin.
    StreamBegin {
        /// The message stream.
        stream_id: u32,
    },
    /// User Control Stream EOF.
    StreamEof {
        /// The message stream.
        stream_id: u32,
    },
    /// Audio or video on a played stream (aggregates are split).
    Media {
        /// The message stream.
        stream_id: u32,
        /// Audio or video.
        kind: MediaKind,
        /// The message timestamp.
        timestamp: u32,
        /// The FLV tag body as reassembled by the chunk layer.
        payload: Bytes,
    },
    /// A data message (`onMetaData`, `|RtmpSampleAccess`, `onStatus`
    /// Data.Start, `NetStream.send` relays); the first value is normally the
    /// handler name.
    Data {
        /// The message stream.
        stream_id: u32,
        /// The message timestamp.
        timestamp: u32,
        /// The values.
        values: Vec<AmfValue>,
    },
    /// A SharedObject message from the server.
    SharedObject(SharedObjectMessage),
    /// A message that was not acted on (an answer to an unknown transaction,
    /// an unknown message type); log it.
    Ignored {
        /// Its message stream id.
        stream_id: u32,
        /// Its message type id.
        type_id: u8,
        /// Why.
        reason: &'static str,
    },
}
