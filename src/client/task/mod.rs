//! The one tokio task that drives a connection: it owns the socket and the
//! [`ClientSession`], takes [`Request`]s from the handles, and turns the
//! session's events into answers, [`Event`]s and SharedObject updates.
//!
//! Per connection: one task, one 16 KiB read buffer, a bounded request
//! queue, a bounded event queue and one bounded queue per SharedObject.
//! Media is never decoded beyond the chunk layer.

use std::collections::HashMap;
use std::io::IoSlice;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

mod inbound;
mod requests;

use super::error::ClientError;
use super::events::Event;
use super::shared_object::SoShared;
use super::ConnectInfo;
use crate::protocol::amf::AmfValue;
use crate::protocol::client::{ClientSession, ConnectRequest, SoEvent, TransactionId};
use crate::protocol::session::MediaKind;

/// Bytes read from the socket at a time.
const READ_BUFFER_LEN: usize = 16 * 1024;
/// Waiters beyond this many are swept for abandoned (timed out) calls.
const SWEEP_ABOVE: usize = 64;
/// Most segments handed to one vectored write.
const MAX_IO_SLICES: usize = 64;

/// Where an operation's outcome goes.
pub(super) type Reply<T> = oneshot::Sender<Result<T, ClientError>>;

/// State shared by the task and every handle.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Events dropped because the [`Events`](super::Events) queue was full.
    pub(super) dropped_events: AtomicU64,
    /// Why the connection ended, once it has.
    pub(super) end: Mutex<Option<ClientError>>,
}

impl Shared {
    /// The error to report for an operation on an ended connection.
    pub(super) fn ended(&self) -> ClientError {
        self.end
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .unwrap_or(ClientError::Closed)
    }
}

/// A SharedObject operation.
#[derive(Debug)]
pub(super) enum SoOp {
    Set(Vec<(String, AmfValue)>),
    Remove(Vec<String>),
    Send { method: String, args: Vec<AmfValue> },
}

/// What a handle asks the task to do.
#[derive(Debug)]
pub(super) enum Request {
    Call {
        method: String,
        args: Vec<AmfValue>,
        reply: Reply<Vec<AmfValue>>,
    },
    Notify {
        method: String,
        args: Vec<AmfValue>,
        reply: Reply<()>,
    },
    CreateStream {
        reply: Reply<u32>,
    },
    Publish {
        stream_id: u32,
        name: String,
        reply: Reply<()>,
    },
    Play {
        stream_id: u32,
        name: String,
        reply: Reply<()>,
    },
    CloseStream {
        stream_id: u32,
        reply: Reply<()>,
    },
    DeleteStream {
        stream_id: u32,
        reply: Reply<()>,
    },
    Media {
        stream_id: u32,
        kind: MediaKind,
        timestamp: u32,
        payload: Bytes,
    },
    Data {
        stream_id: u32,
        values: Vec<AmfValue>,
        metadata: bool,
        reply: Reply<()>,
    },
    Reply {
        transaction_id: f64,
        result: Result<Vec<AmfValue>, String>,
    },
    SoUse {
        shared: Arc<SoShared>,
        events: mpsc::Sender<SoEvent>,
        reply: Reply<()>,
    },
    SoWrite {
        name: String,
        op: SoOp,
        reply: Reply<()>,
    },
    SoRelease {
        name: String,
    },
    Close {
        reply: oneshot::Sender<()>,
    },
}

/// A request awaiting `_result` / `_error`.
enum Waiter {
    Call {
        method: String,
        reply: Reply<Vec<AmfValue>>,
    },
    CreateStream(Reply<u32>),
}

impl Waiter {
    fn is_abandoned(&self) -> bool {
        match self {
            Self::Call { reply, .. } => reply.is_closed(),
            Self::CreateStream(reply) => reply.is_closed(),
        }
    }

    fn fail(self, error: ClientError) {
        match self {
            Self::Call { reply, .. } => drop(reply.send(Err(error))),
            Self::CreateStream(reply) => drop(reply.send(Err(error))),
        }
    }
}

/// A `publish` or `play` awaiting its start status.
struct StreamWaiter {
    success_code: &'static str,
    reply: Reply<()>,
}

/// A SharedObject in use.
struct SoEntry {
    shared: Arc<SoShared>,
    events: mpsc::Sender<SoEvent>,
    /// Until the message carrying `UseSuccess` is applied.
    use_reply: Option<Reply<()>>,
}

/// Everything the task owns.
pub(super) struct Driver {
    pub(super) session: ClientSession,
    pub(super) stream: TcpStream,
    pub(super) connect: ConnectRequest,
    pub(super) connect_reply: Option<Reply<ConnectInfo>>,
    pub(super) requests: mpsc::Receiver<Request>,
    pub(super) weak: mpsc::WeakSender<Request>,
    pub(super) events: Option<mpsc::Sender<Event>>,
    pub(super) shared: Arc<Shared>,
    pub(super) started: Instant,
    pub(super) rng: StdRng,
    calls: HashMap<TransactionId, Waiter>,
    streams: HashMap<u32, StreamWaiter>,
    sos: HashMap<String, SoEntry>,
}

/// How the serve loop ended without an error.
enum Ending {
    /// [`Request::Close`].
    Closed(oneshot::Sender<()>),
    /// Every handle was dropped.
    Abandoned,
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        session: ClientSession,
        stream: TcpStream,
        connect: ConnectRequest,
        connect_reply: Reply<ConnectInfo>,
        requests: mpsc::Receiver<Request>,
        weak: mpsc::WeakSender<Request>,
        events: mpsc::Sender<Event>,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            session,
            stream,
            connect,
            connect_reply: Some(connect_reply),
            requests,
            weak,
            events: Some(events),
            shared,
            started: Instant::now(),
            rng: StdRng::from_rng(&mut rand::rng()),
            calls: HashMap::new(),
            streams: HashMap::new(),
            sos: HashMap::new(),
        }
    }

    /// Runs the connection to its end.
    pub(super) async fn run(mut self) {
        let ending = self.serve().await;
        self.finish(ending).await;
    }

    async fn serve(&mut self) -> Result<Ending, ClientError> {
        self.flush().await?;
        let mut buf = BytesMut::with_capacity(READ_BUFFER_LEN);
        loop {
            tokio::select! {
                read = self.stream.read_buf(&mut buf) => {
                    let n = read.map_err(|e| ClientError::io("reading from the server", e))?;
                    if n == 0 {
                        return Err(ClientError::Disconnected {
                            reason: "the server closed the connection".into(),
                        });
                    }
                    let now_ms = self.started.elapsed().as_millis() as u64;
                    let events = self.session.handle_input(&buf, now_ms, &mut self.rng)?;
                    buf.clear();
                    for event in events {
                        self.on_event(event)?;
                    }
                }
                request = self.requests.recv() => match request {
                    None => return Ok(Ending::Abandoned),
                    Some(Request::Close { reply }) => return Ok(Ending::Closed(reply)),
                    Some(request) => self.on_request(request),
                },
            }
            self.flush().await?;
        }
    }

    async fn flush(&mut self) -> Result<(), ClientError> {
        let segments = self.session.take_outbound();
        write_segments(&mut self.stream, segments)
            .await
            .map_err(|e| ClientError::io("writing to the server", e))
    }

    async fn finish(mut self, ending: Result<Ending, ClientError>) {
        let (error, close_reply) = match ending {
            Ok(Ending::Closed(reply)) => (None, Some(reply)),
            Ok(Ending::Abandoned) => (None, None),
            Err(error) => {
                tracing::debug!(%error, "client connection ended");
                (Some(error), None)
            }
        };
        if error.is_none() {
            let _ = self.flush().await;
            let _ = self.stream.shutdown().await;
        }
        let report = error.clone().unwrap_or(ClientError::Closed);
        *self
            .shared
            .end
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(report.clone());
        if let Some(reply) = self.connect_reply.take() {
            let _ = reply.send(Err(report.clone()));
        }
        for (_, waiter) in self.calls.drain() {
            waiter.fail(report.clone());
        }
        for (_, waiter) in self.streams.drain() {
            let _ = waiter.reply.send(Err(report.clone()));
        }
        for (_, entry) in self.sos.drain() {
            entry.shared.close();
            if let Some(reply) = entry.use_reply {
                let _ = reply.send(Err(report.clone()));
            }
        }
        if let Some(tx) = self.events.take() {
            let _ = tx.try_send(Event::Closed { error });
        }
        if let Some(reply) = close_reply {
            let _ = reply.send(());
        }
    }
}

/// Writes every segment, in order, with vectored writes.
async fn write_segments(stream: &mut TcpStream, mut segments: Vec<Bytes>) -> std::io::Result<()> {
    let mut first = 0;
    while first < segments.len() {
        if segments[first].is_empty() {
            first += 1;
            continue;
        }
        let slices: Vec<IoSlice<'_>> = segments[first..]
            .iter()
            .take(MAX_IO_SLICES)
            .map(|s| IoSlice::new(s))
            .collect();
        let mut written = stream.write_vectored(&slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let Some(segment) = segments.get_mut(first) else {
                break;
            };
            if written >= segment.len() {
                written -= segment.len();
                first += 1;
            } else {
                segment.advance(written);
                written = 0;
            }
        }
    }
    Ok(())
}
