//! [`ConnectOptions`] and what the server answered to `connect`.

use std::time::Duration;

use crate::protocol::amf::AmfValue;
use crate::protocol::client::{DEFAULT_CLIENT_CHUNK_SIZE, DEFAULT_MAX_PENDING_CALLS};
use crate::protocol::handshake::ClientConfig;
use crate::protocol::limits::ProtocolLimits;
use crate::protocol::session::ObjectEncoding;

/// How to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `objectEncoding`: AMF0 (default) or AMF3.
    pub object_encoding: ObjectEncoding,
    /// Arguments after the connect command object.
    pub args: Vec<AmfValue>,
    /// TCP connect + handshake + `connect` answer.
    pub connect_timeout: Duration,
    /// How long calls, `createStream`, `publish`, `play` and SharedObject
    /// `Use` wait for the server.
    pub call_timeout: Duration,
    /// Bounds on what the server can make us allocate.
    pub limits: ProtocolLimits,
    /// Simple or digest handshake (digest, as ffmpeg, by default).
    pub handshake: ClientConfig,
    /// The chunk size we announce.
    pub chunk_size: u32,
    /// Capacity of the [`Events`] queue and of each SharedObject's queue.
    pub event_capacity: usize,
    /// Capacity of the queue from the handles to the connection task.
    pub request_capacity: usize,
    /// Most calls awaiting an answer at once.
    pub max_pending_calls: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            object_encoding: ObjectEncoding::Amf0,
            args: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(10),
            limits: ProtocolLimits::default(),
            handshake: ClientConfig::default(),
            chunk_size: DEFAULT_CLIENT_CHUNK_SIZE,
            event_capacity: 1024,
            request_capacity: 256,
            max_pending_calls: DEFAULT_MAX_PENDING_CALLS,
        }
    }
}

impl ConnectOptions {
    /// The defaults with AMF3 object encoding.
    pub fn amf3() -> Self {
        Self {
            object_encoding: ObjectEncoding::Amf3,
            ..Self::default()
        }
    }
}

/// What the server said when it accepted `connect`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectInfo {
    /// The `_result` command object (`fmsVer`, `capabilities`, `mode`).
    pub properties: AmfValue,
    /// The information object (`code` `NetConnection.Connect.Success`,
    /// `objectEncoding`, …).
    pub info: AmfValue,
    /// The object encoding in use.
    pub object_encoding: ObjectEncoding,
}
