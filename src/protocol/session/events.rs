//! What a [`ServerSession`](super::ServerSession) reports to the connection
//! layer: plain data, no behaviour.

use bytes::Bytes;
use bytestring::ByteString;

use crate::protocol::amf::AmfValue;
use crate::protocol::command::{CommandEncoding, PlayStart, PublishType};
use crate::protocol::handshake::HandshakeKind;
use crate::protocol::message::LimitType;
use crate::protocol::shared_object::{SharedObjectEncoding, SharedObjectMessage};

/// Identifies a request (connect, publish, play) waiting for the
/// application's decision. Unique within one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(super) u64);

impl RequestId {
    /// The raw number (for logs).
    pub fn get(self) -> u64 {
        self.0
    }
}

/// The client's `objectEncoding`: how values are written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ObjectEncoding {
    /// `objectEncoding` 0 (or absent): commands on type 20, SharedObjects on
    /// type 19.
    #[default]
    Amf0,
    /// `objectEncoding` 3: commands on type 17, SharedObjects on type 16.
    Amf3,
}

impl ObjectEncoding {
    /// From the connect command object's number: 3 is AMF3, anything else AMF0.
    pub fn from_f64(value: f64) -> Self {
        if value == 3.0 {
            Self::Amf3
        } else {
            Self::Amf0
        }
    }

    /// The number echoed in the connect `_result`.
    pub fn to_f64(self) -> f64 {
        match self {
            Self::Amf0 => 0.0,
            Self::Amf3 => 3.0,
        }
    }

    /// Whether values go out as AMF3.
    pub fn is_amf3(self) -> bool {
        self == Self::Amf3
    }

    /// The command message type used for this encoding.
    pub fn command_encoding(self) -> CommandEncoding {
        match self {
            Self::Amf0 => CommandEncoding::Amf0,
            Self::Amf3 => CommandEncoding::Amf3,
        }
    }

    /// The SharedObject message type used for this encoding.
    pub fn shared_object_encoding(self) -> SharedObjectEncoding {
        match self {
            Self::Amf0 => SharedObjectEncoding::Amf0,
            Self::Amf3 => SharedObjectEncoding::Amf3,
        }
    }
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// Message type 8.
    Audio,
    /// Message type 9.
    Video,
}

impl MediaKind {
    /// The RTMP message type id.
    pub fn type_id(self) -> u8 {
        match self {
            Self::Audio => crate::protocol::message::AUDIO,
            Self::Video => crate::protocol::message::VIDEO,
        }
    }
}

/// What a message stream was doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamRole {
    /// Publishing (or asking to publish) this name.
    Publishing {
        /// The stream name as sent in `publish`.
        name: ByteString,
    },
    /// Playing (or asking to play) this name.
    Playing {
        /// The stream name as sent in `play`.
        name: ByteString,
    },
}

/// Why a stream stopped publishing or playing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// `closeStream` on the stream (Flash `NetStream.close()`).
    CloseStream,
    /// `deleteStream` for the stream id.
    DeleteStream,
    /// `FCUnpublish` for the published name (ffmpeg, OBS, FMLE).
    FcUnpublish,
    /// `publish(null)` / `play(false)`: Flash's way to stop.
    Stop,
    /// A new `play` on the same stream replaced the old one.
    Replaced,
}

/// Why a message was not acted on (the caller logs it; not fatal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IgnoreReason {
    /// The message stream id was never created (or was deleted).
    UnknownStream,
    /// Media or data on a stream that is not publishing.
    NotPublishing,
    /// `publish`/`play` on a stream that already has a request pending or
    /// is publishing; answered with an error status.
    StreamBusy,
    /// A command whose arguments could not be read; answered with `_error`
    /// when it had a transaction id.
    BadArguments,
    /// `createStream` beyond [`SessionConfig::max_streams`](super::SessionConfig).
    TooManyStreams,
    /// A message type that cannot appear inside an aggregate.
    UnsupportedInAggregate,
}

/// Something that happened on the connection, for the application to act on.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// The handshake completed; the chunk stream begins.
    HandshakeCompleted {
        /// Simple or digest.
        kind: HandshakeKind,
        /// The client's version field (zero for a simple handshake).
        peer_version: [u8; 4],
    },
    /// `connect`: answer with `accept_connect` or `reject_connect`.
    ConnectRequested {
        /// Pass back to the decision.
        request: RequestId,
        /// `app` (`""` when absent).
        app: ByteString,
        /// `tcUrl`.
        tc_url: Option<ByteString>,
        /// The client's `objectEncoding`.
        object_encoding: ObjectEncoding,
        /// The whole command object as sent.
        command_object: AmfValue,
        /// Arguments after the command object (passed to `onConnect` by FMS).
        args: Vec<AmfValue>,
    },
    /// `createStream` was answered with a new message stream id.
    StreamCreated {
        /// The new message stream id.
        stream_id: u32,
    },
    /// A call the protocol does not answer by itself (an application RPC, or
    /// a notification when `transaction_id` is 0). Answer with `call_result`
    /// or `call_error` when the transaction id is not 0.
    CallReceived {
        /// The message stream it arrived on (0 for `NetConnection.call`).
        stream_id: u32,
        /// The transaction id (0: no answer expected).
        transaction_id: f64,
        /// The method name.
        name: ByteString,
        /// The command object (normally `null`).
        command_object: AmfValue,
        /// The arguments.
        args: Vec<AmfValue>,
    },
    /// The client answered a call made with `invoke`.
    CallResult {
        /// The transaction id `invoke` returned.
        transaction_id: f64,
        /// `_result` (true) or `_error` (false).
        ok: bool,
        /// The command object of the answer (normally `null`).
        command_object: AmfValue,
        /// The returned values.
        values: Vec<AmfValue>,
    },
    /// `publish`: answer with `accept_publish` or `reject_publish`. Media may
    /// already arrive for the stream while the decision is pending.
    PublishRequested {
        /// Pass back to the decision.
        request: RequestId,
        /// The message stream.
        stream_id: u32,
        /// The stream name (with any `?query`).
        name: ByteString,
        /// live / record / append.
        publish_type: PublishType,
    },
    /// `play`: answer with `accept_play` or `reject_play`.
    PlayRequested {
        /// Pass back to the decision.
        request: RequestId,
        /// The message stream.
        stream_id: u32,
        /// The stream name.
        name: ByteString,
        /// Where to start.
        start: PlayStart,
        /// How long to play (-1: to the end).
        duration: f64,
        /// Whether the client asked for a play list reset.
        reset: bool,
    },
    /// `pause`: answer with `send_status` (`NetStream.Pause.Notify` /
    /// `NetStream.Unpause.Notify`).
    PauseRequested {
        /// The message stream.
        stream_id: u32,
        /// Pause (true), resume (false) or toggle (`None`).
        pause: Option<bool>,
        /// The position the client paused at.
        milliseconds: f64,
    },
    /// `seek`: answer with `send_status` (`NetStream.Seek.Notify` or
    /// `NetStream.Seek.Failed`).
    SeekRequested {
        /// The message stream.
        stream_id: u32,
        /// The target position.
        milliseconds: f64,
    },
    /// A stream stopped publishing or playing (or a pending request was
    /// cancelled: `accepted` false).
    StreamClosed {
        /// The message stream.
        stream_id: u32,
        /// What it was doing.
        role: StreamRole,
        /// Whether the request had been accepted.
        accepted: bool,
        /// What ended it.
        reason: CloseReason,
    },
    /// `receiveAudio` / `receiveVideo` changed the stream's flags;
    /// `send_media` skips disabled kinds by itself.
    ReceiveMediaChanged {
        /// The message stream.
        stream_id: u32,
        /// Whether the client wants audio.
        audio: bool,
        /// Whether the client wants video.
        video: bool,
    },
    /// User Control Set Buffer Length (the client's playback buffer).
    BufferLengthSet {
        /// The message stream.
        stream_id: u32,
        /// Buffer length in milliseconds.
        buffer_ms: u32,
    },
    /// `onMetaData` from a publisher (`@setDataFrame` stripped).
    MetadataReceived {
        /// The message stream.
        stream_id: u32,
        /// The message timestamp.
        timestamp: u32,
        /// The values after the name `onMetaData` (usually one ECMA array).
        values: Vec<AmfValue>,
    },
    /// Any other data message (`@setDataFrame` stripped; the first value is
    /// normally the handler name).
    DataReceived {
        /// The message stream.
        stream_id: u32,
        /// The message timestamp.
        timestamp: u32,
        /// The values.
        values: Vec<AmfValue>,
    },
    /// Audio or video from a publisher (aggregates are split into these).
    MediaReceived {
        /// The message stream.
        stream_id: u32,
        /// Audio or video.
        kind: MediaKind,
        /// The absolute message timestamp.
        timestamp: u32,
        /// The FLV tag body, shared with the receive buffer (no copy).
        payload: Bytes,
    },
    /// A SharedObject message.
    SharedObjectReceived {
        /// The message.
        message: SharedObjectMessage,
        /// The type it arrived as (16 or 19).
        encoding: SharedObjectEncoding,
    },
    /// The client acknowledged bytes we sent.
    AcknowledgementReceived {
        /// Bytes the client has received (wrapping at 2^32).
        sequence_number: u32,
    },
    /// The client answered our `ping`.
    PingResponseReceived {
        /// The timestamp echoed.
        timestamp: u32,
        /// `now_ms` minus the time of the matching `ping`, when it matches the
        /// last ping sent.
        round_trip_ms: Option<u64>,
    },
    /// The client limited our output bandwidth (Set Peer Bandwidth).
    PeerBandwidthChanged {
        /// The window in bytes.
        window: u32,
        /// Hard, soft or dynamic.
        limit_type: LimitType,
    },
    /// A message was not acted on; log it.
    Ignored {
        /// Its message stream id.
        stream_id: u32,
        /// Its message type id.
        type_id: u8,
        /// Why.
        reason: IgnoreReason,
    },
    /// A message type this server does not handle (logged, not fatal).
    UnknownMessage {
        /// Its message stream id.
        stream_id: u32,
        /// Its message type id.
        type_id: u8,
    },
}
