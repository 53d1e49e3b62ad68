//! The one error type of the client library.

use std::sync::Arc;
use std::time::Duration;

use crate::protocol::amf::AmfValue;
use crate::protocol::client::ClientSessionError;
use crate::protocol::command::StatusInfo;

/// Why a client operation failed. Cloneable: a connection failure is
/// reported to every pending operation and on the event stream.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not `rtmp://host[:port]/app[/room…]`.
    #[error("invalid RTMP URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The IO error.
        source: Arc<std::io::Error>,
    },
    /// The server broke the protocol (or a value could not be encoded); a
    /// protocol violation closes the connection.
    #[error("protocol: {0}")]
    Protocol(#[from] ClientSessionError),
    /// The server refused `connect`; `info` is its information object
    /// (`code` `NetConnection.Connect.Rejected`, `description`, …).
    #[error("connect rejected: {}", describe(info))]
    ConnectRejected {
        /// The server's information object.
        info: AmfValue,
    },
    /// A call was answered with `_error`; `info` is the error value (an
    /// info object with `level`, `code`, `description` from Ferrocast).
    #[error("call {method:?} failed: {}", describe(info))]
    CallFailed {
        /// The method called.
        method: String,
        /// The `_error` value.
        info: AmfValue,
    },
    /// `publish` or `play` got an error status (e.g.
    /// `NetStream.Publish.BadName`).
    #[error("stream {stream_id}: {} ({})", info.code, info.description)]
    StreamFailed {
        /// The message stream.
        stream_id: u32,
        /// The status.
        info: StatusInfo,
    },
    /// The server refused to let us use a SharedObject (a `Status` error
    /// before `UseSuccess`).
    #[error("SharedObject {name:?} refused: {code} ({level})")]
    SharedObjectRefused {
        /// The SharedObject's name.
        name: String,
        /// The status code (e.g. `SharedObject.NoReadAccess`).
        code: String,
        /// The status level.
        level: String,
    },
    /// This connection already uses a SharedObject of that name.
    #[error("SharedObject {name:?} is already in use on this connection")]
    SharedObjectInUse {
        /// The SharedObject's name.
        name: String,
    },
    /// No answer in time.
    #[error("{what}: no answer within {after:?}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The limit.
        after: Duration,
    },
    /// The connection was closed with [`Client::close`](super::Client::close)
    /// (or every handle was dropped).
    #[error("the connection is closed")]
    Closed,
    /// The server closed the connection.
    #[error("disconnected: {reason}")]
    Disconnected {
        /// What happened.
        reason: String,
    },
}

impl ClientError {
    /// The status `code` carried by the error, if any
    /// (`NetConnection.Call.Failed`, `NetStream.Publish.BadName`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::ConnectRejected { info } | Self::CallFailed { info, .. } => {
                info.get("code").and_then(AmfValue::as_str)
            }
            Self::StreamFailed { info, .. } => Some(&info.code),
            Self::SharedObjectRefused { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(super) fn io(context: &'static str, source: std::io::Error) -> Self {
        Self::Io {
            context,
            source: Arc::new(source),
        }
    }
}

fn describe(info: &AmfValue) -> String {
    match (
        info.get("code").and_then(AmfValue::as_str),
        info.get("description").and_then(AmfValue::as_str),
    ) {
        (Some(code), Some(description)) => format!("{code} ({description})"),
        (Some(code), None) => code.to_owned(),
        _ => format!("{info:?}"),
    }
}
