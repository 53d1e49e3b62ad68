//! Per-connection and per-stream state (the NetConnection and NetStream
//! objects of RTMP spec §7.2).

use bytestring::ByteString;

use super::events::{ObjectEncoding, RequestId, StreamRole};
use crate::protocol::command::{CommandEncoding, PublishType};

/// The NetConnection's state.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Connection {
    /// Handshake done (or not yet); no `connect` seen.
    AwaitingConnect,
    /// `connect` received; the application is deciding.
    Requested {
        request: RequestId,
        app: ByteString,
        transaction_id: f64,
        /// The message type the `connect` arrived on: its answer uses it.
        reply_encoding: CommandEncoding,
        object_encoding: ObjectEncoding,
    },
    /// `connect` accepted.
    Connected {
        app: ByteString,
        object_encoding: ObjectEncoding,
    },
    /// `connect` rejected: the caller closes the connection.
    Rejected,
}

/// What a message stream is doing.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum StreamActivity {
    /// Created, neither publishing nor playing.
    #[default]
    Idle,
    /// `publish` received, waiting for the application.
    PublishRequested {
        /// The pending request.
        request: RequestId,
        /// The stream name.
        name: ByteString,
        /// live / record / append.
        publish_type: PublishType,
    },
    /// Publishing accepted.
    Publishing {
        /// The stream name.
        name: ByteString,
        /// live / record / append.
        publish_type: PublishType,
    },
    /// `play` received, waiting for the application.
    PlayRequested {
        /// The pending request.
        request: RequestId,
        /// The stream name.
        name: ByteString,
    },
    /// Playing accepted.
    Playing {
        /// The stream name.
        name: ByteString,
    },
}

impl StreamActivity {
    /// The pending request, if any.
    pub fn request(&self) -> Option<RequestId> {
        match self {
            Self::PublishRequested { request, .. } | Self::PlayRequested { request, .. } => {
                Some(*request)
            }
            _ => None,
        }
    }

    /// Whether the stream publishes or asked to (media from the client is
    /// accepted then).
    pub fn is_publishing(&self) -> bool {
        matches!(
            self,
            Self::PublishRequested { .. } | Self::Publishing { .. }
        )
    }

    /// The role and whether it was accepted; `None` when idle.
    pub(super) fn role(&self) -> Option<(StreamRole, bool)> {
        Some(match self {
            Self::Idle => return None,
            Self::PublishRequested { name, .. } => {
                (StreamRole::Publishing { name: name.clone() }, false)
            }
            Self::Publishing { name, .. } => (StreamRole::Publishing { name: name.clone() }, true),
            Self::PlayRequested { name, .. } => (StreamRole::Playing { name: name.clone() }, false),
            Self::Playing { name } => (StreamRole::Playing { name: name.clone() }, true),
        })
    }
}

/// One message stream created with `createStream`.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// What it is doing.
    pub activity: StreamActivity,
    /// `receiveAudio` (true unless the client said false).
    pub receive_audio: bool,
    /// `receiveVideo` (true unless the client said false).
    pub receive_video: bool,
    /// The client's playback buffer (User Control Set Buffer Length), if sent.
    pub buffer_ms: Option<u32>,
}

impl Default for StreamInfo {
    fn default() -> Self {
        Self {
            activity: StreamActivity::Idle,
            receive_audio: true,
            receive_video: true,
            buffer_ms: None,
        }
    }
}
