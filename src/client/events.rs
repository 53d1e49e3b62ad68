//! What a connection reports to its user: [`Event`]s on the bounded
//! [`Events`] stream, and [`CallReply`] to answer server→client calls.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::error::ClientError;
use super::task::{Request, Shared};
use crate::protocol::amf::AmfValue;
use crate::protocol::command::StatusInfo;
use crate::protocol::session::MediaKind;

/// Something the server did on this connection.
#[derive(Debug)]
pub enum Event {
    /// The server invoked `method(args...)` on us. Answer with
    /// [`CallReply::result`] or [`CallReply::error`]; a reply dropped
    /// unanswered answers `_error` by itself.
    Call {
        /// The method name.
        method: String,
        /// The arguments.
        args: Vec<AmfValue>,
        /// How to answer.
        reply: CallReply,
    },
    /// An `onStatus` on a message stream (0: the connection).
    Status {
        /// The message stream.
        stream_id: u32,
        /// The status.
        info: StatusInfo,
    },
    /// Audio or video on a played stream, as the chunk layer reassembled it.
    Media {
        /// The message stream.
        stream_id: u32,
        /// Audio or video.
        kind: MediaKind,
        /// The message timestamp.
        timestamp: u32,
        /// The FLV tag body.
        payload: Bytes,
    },
    /// A data message on a played stream (`onMetaData`,
    /// `|RtmpSampleAccess`, …); the first value is normally the handler name.
    Data {
        /// The message stream.
        stream_id: u32,
        /// The message timestamp.
        timestamp: u32,
        /// The values.
        values: Vec<AmfValue>,
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
    /// The connection ended: `None` after [`Client::close`](super::Client::close),
    /// else why. Always the last event.
    Closed {
        /// Why, when it was not our own close.
        error: Option<ClientError>,
    },
}

/// The stream of a connection's [`Event`]s.
///
/// Bounded (capacity [`ConnectOptions::event_capacity`](super::ConnectOptions)):
/// when it is full, new events are dropped and counted in
/// [`dropped`](Self::dropped) — a dropped [`Event::Call`] is answered with
/// `_error` — so a consumer that stops reading never stalls the connection
/// or grows memory. Drop the `Events` if you do not need them: nothing is
/// queued then.
#[derive(Debug)]
pub struct Events {
    pub(super) rx: mpsc::Receiver<Event>,
    pub(super) shared: Arc<Shared>,
}

impl Events {
    /// The next event; `None` after [`Event::Closed`].
    pub async fn next(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is queued.
    pub fn try_next(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }

    /// Events dropped so far because this stream was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped_events.load(Ordering::Relaxed)
    }
}

/// The answer to one server→client call. Dropping it unanswered answers
/// `_error` (`NetConnection.Call.Failed`, "no answer").
#[derive(Debug)]
pub struct CallReply {
    transaction_id: f64,
    tx: Option<mpsc::WeakSender<Request>>,
}

impl CallReply {
    pub(super) fn new(transaction_id: f64, tx: mpsc::WeakSender<Request>) -> Self {
        Self {
            transaction_id,
            tx: Some(tx),
        }
    }

    /// Makes dropping it answer nothing (the caller answered another way).
    pub(super) fn disarm(&mut self) {
        self.tx = None;
    }

    /// The server's transaction id.
    pub(super) fn transaction_id(&self) -> f64 {
        self.transaction_id
    }

    /// Whether the server awaits an answer (transaction id not 0).
    pub fn expects_answer(&self) -> bool {
        self.transaction_id != 0.0
    }

    /// Answers `_result(values...)`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Closed`] when the connection is gone.
    pub async fn result(mut self, values: Vec<AmfValue>) -> Result<(), ClientError> {
        self.send(Ok(values)).await
    }

    /// Answers `_error` with `NetConnection.Call.Failed` and `description`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Closed`] when the connection is gone.
    pub async fn error(mut self, description: &str) -> Result<(), ClientError> {
        self.send(Err(description.to_owned())).await
    }

    async fn send(&mut self, result: Result<Vec<AmfValue>, String>) -> Result<(), ClientError> {
        let Some(tx) = self.tx.take() else {
            return Ok(());
        };
        if self.transaction_id == 0.0 {
            return Ok(());
        }
        let tx = tx.upgrade().ok_or(ClientError::Closed)?;
        tx.send(Request::Reply {
            transaction_id: self.transaction_id,
            result,
        })
        .await
        .map_err(|_| ClientError::Closed)
    }
}

impl Drop for CallReply {
    fn drop(&mut self) {
        if self.transaction_id == 0.0 {
            return;
        }
        if let Some(tx) = self.tx.take().and_then(|tx| tx.upgrade()) {
            // Best effort: with the request queue full the server's own
            // call timeout answers for us.
            let _ = tx.try_send(Request::Reply {
                transaction_id: self.transaction_id,
                result: Err("no answer".to_owned()),
            });
        }
    }
}
