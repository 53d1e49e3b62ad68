//! The one tokio task that drives a connection: it owns the socket and the
//! [`ClientSession`], takes [`Request`]s from the handles, and turns the
//! session's events into answers, [`Event`]s and SharedObject updates.
//!
//! Per connection: one task, one 16 KiB read buffer, a bounded request
//! queue, a bounded event queue and one bounded queue per SharedObject.
//! Media is never decoded beyond the chunk layer.

use std::collections::HashMap;
use std::io::IoSlice;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::error::ClientError;
use super::events::{CallReply, Event};
use super::shared_object::SoShared;
use super::ConnectInfo;
use crate::protocol::amf::AmfValue;
use crate::protocol::client::{ClientEvent, ClientSession, ConnectRequest, SoEvent, TransactionId};
use crate::protocol::command::status::{LEVEL_ERROR, NS_PLAY_START, NS_PUBLISH_START};
use crate::protocol::command::StatusInfo;
use crate::protocol::session::MediaKind;
use crate::protocol::shared_object::SharedObjectMessage;

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

    fn on_event(&mut self, event: ClientEvent) -> Result<(), ClientError> {
        match event {
            ClientEvent::HandshakeCompleted => {
                self.session.connect(&self.connect)?;
            }
            ClientEvent::Connected {
                properties,
                info,
                object_encoding,
            } => {
                if let Some(reply) = self.connect_reply.take() {
                    let _ = reply.send(Ok(ConnectInfo {
                        properties,
                        info,
                        object_encoding,
                    }));
                }
            }
            ClientEvent::ConnectRejected { info } => {
                return Err(ClientError::ConnectRejected { info });
            }
            ClientEvent::CallResult {
                transaction_id,
                ok,
                values,
                ..
            } => self.on_call_result(transaction_id, ok, values),
            ClientEvent::CallReceived {
                transaction_id,
                method,
                args,
                ..
            } => {
                let reply = CallReply::new(transaction_id, self.weak.clone());
                self.emit(Event::Call {
                    method: method.to_string(),
                    args,
                    reply,
                });
            }
            ClientEvent::Status { stream_id, info } => {
                self.on_status(stream_id, &info);
                self.emit(Event::Status { stream_id, info });
            }
            ClientEvent::StreamBegin { stream_id } => self.emit(Event::StreamBegin { stream_id }),
            ClientEvent::StreamEof { stream_id } => self.emit(Event::StreamEof { stream_id }),
            ClientEvent::Media {
                stream_id,
                kind,
                timestamp,
                payload,
            } => self.emit(Event::Media {
                stream_id,
                kind,
                timestamp,
                payload,
            }),
            ClientEvent::Data {
                stream_id,
                timestamp,
                values,
            } => self.emit(Event::Data {
                stream_id,
                timestamp,
                values,
            }),
            ClientEvent::SharedObject(message) => self.on_shared_object(&message),
            ClientEvent::Ignored {
                stream_id,
                type_id,
                reason,
            } => tracing::trace!(stream_id, type_id, reason, "ignored a server message"),
        }
        Ok(())
    }

    fn on_call_result(&mut self, transaction_id: TransactionId, ok: bool, values: Vec<AmfValue>) {
        let Some(waiter) = self.calls.remove(&transaction_id) else {
            return;
        };
        match waiter {
            Waiter::Call { method, reply } => {
                let result = if ok {
                    Ok(values)
                } else {
                    let info = values.into_iter().next().unwrap_or(AmfValue::Null);
                    Err(ClientError::CallFailed { method, info })
                };
                let _ = reply.send(result);
            }
            Waiter::CreateStream(reply) => {
                let id = values
                    .iter()
                    .find_map(AmfValue::as_f64)
                    .filter(|id| *id >= 1.0 && *id <= f64::from(u32::MAX));
                let result = match (ok, id) {
                    (true, Some(id)) => Ok(id as u32),
                    _ => Err(ClientError::CallFailed {
                        method: "createStream".into(),
                        info: values.into_iter().next().unwrap_or(AmfValue::Null),
                    }),
                };
                let _ = reply.send(result);
            }
        }
    }

    fn on_status(&mut self, stream_id: u32, info: &StatusInfo) {
        let Some(waiter) = self.streams.get(&stream_id) else {
            return;
        };
        let result = if &*info.level == LEVEL_ERROR {
            Err(ClientError::StreamFailed {
                stream_id,
                info: info.clone(),
            })
        } else if &*info.code == waiter.success_code {
            Ok(())
        } else {
            return;
        };
        if let Some(waiter) = self.streams.remove(&stream_id) {
            let _ = waiter.reply.send(result);
        }
    }

    fn on_shared_object(&mut self, message: &SharedObjectMessage) {
        let Some(entry) = self.sos.get_mut(&*message.name) else {
            tracing::trace!(name = %message.name, "SharedObject message for an object not in use");
            return;
        };
        let events = entry.shared.apply(message);
        let mut refused = None;
        for event in events {
            match &event {
                SoEvent::Synced => {
                    if let Some(reply) = entry.use_reply.take() {
                        let _ = reply.send(Ok(()));
                    }
                }
                SoEvent::Status { code, level } if level == LEVEL_ERROR => {
                    if entry.use_reply.is_some() {
                        refused = Some(ClientError::SharedObjectRefused {
                            name: message.name.to_string(),
                            code: code.clone(),
                            level: level.clone(),
                        });
                    }
                }
                _ => {}
            }
            if entry.events.try_send(event).is_err() {
                entry.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(error) = refused {
            if let Some(entry) = self.sos.remove(&*message.name) {
                entry.shared.close();
                if let Some(reply) = entry.use_reply {
                    let _ = reply.send(Err(error));
                }
            }
        }
    }

    /// Queues an event for the user; see [`Events`](super::Events) for the
    /// policy when the queue is full.
    fn emit(&mut self, event: Event) {
        let Some(tx) = &self.events else {
            return self.unanswered(event);
        };
        match tx.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(event)) => {
                self.shared.dropped_events.fetch_add(1, Ordering::Relaxed);
                self.unanswered(event);
            }
            Err(mpsc::error::TrySendError::Closed(event)) => {
                self.events = None;
                self.unanswered(event);
            }
        }
    }

    /// Answers a call nobody will see with `_error`.
    fn unanswered(&mut self, event: Event) {
        if let Event::Call { mut reply, .. } = event {
            reply.disarm();
            let _ = self.session.reply_error(
                reply.transaction_id(),
                "",
                "the client does not handle calls",
            );
        }
    }

    fn on_request(&mut self, request: Request) {
        match request {
            Request::Call {
                method,
                args,
                reply,
            } => match self.session.call(&method, args) {
                Ok(id) => self.wait(id, Waiter::Call { method, reply }),
                Err(e) => drop(reply.send(Err(e.into()))),
            },
            Request::Notify {
                method,
                args,
                reply,
            } => {
                let _ = reply.send(self.session.notify(&method, args).map_err(Into::into));
            }
            Request::CreateStream { reply } => match self.session.create_stream() {
                Ok(id) => self.wait(id, Waiter::CreateStream(reply)),
                Err(e) => drop(reply.send(Err(e.into()))),
            },
            Request::Publish {
                stream_id,
                name,
                reply,
            } => match self.session.publish(stream_id, &name, "live") {
                Ok(()) => self.wait_stream(stream_id, NS_PUBLISH_START, reply),
                Err(e) => drop(reply.send(Err(e.into()))),
            },
            Request::Play {
                stream_id,
                name,
                reply,
            } => match self.session.play(stream_id, &name) {
                Ok(()) => self.wait_stream(stream_id, NS_PLAY_START, reply),
                Err(e) => drop(reply.send(Err(e.into()))),
            },
            Request::CloseStream { stream_id, reply } => {
                self.streams.remove(&stream_id);
                let _ = reply.send(self.session.close_stream(stream_id).map_err(Into::into));
            }
            Request::DeleteStream { stream_id, reply } => {
                self.streams.remove(&stream_id);
                let _ = reply.send(self.session.delete_stream(stream_id).map_err(Into::into));
            }
            Request::Media {
                stream_id,
                kind,
                timestamp,
                payload,
            } => {
                if let Err(error) = self
                    .session
                    .send_media(stream_id, kind, timestamp, &payload)
                {
                    tracing::debug!(%error, stream_id, "media not sent");
                }
            }
            Request::Data {
                stream_id,
                values,
                metadata,
                reply,
            } => {
                let sent = if metadata {
                    self.session.send_metadata(stream_id, &values)
                } else {
                    self.session.send_data(stream_id, 0, &values)
                };
                let _ = reply.send(sent.map_err(Into::into));
            }
            Request::Reply {
                transaction_id,
                result,
            } => {
                let sent = match result {
                    Ok(values) => self.session.reply_result(transaction_id, values),
                    Err(description) => self.session.reply_error(transaction_id, "", &description),
                };
                if let Err(error) = sent {
                    tracing::debug!(%error, transaction_id, "call answer not sent");
                }
            }
            Request::SoUse {
                shared,
                events,
                reply,
            } => self.so_use(shared, events, reply),
            Request::SoWrite { name, op, reply } => {
                let Some(entry) = self.sos.get(&name) else {
                    let _ = reply.send(Err(ClientError::Closed));
                    return;
                };
                let message = entry.shared.write_message(op);
                let _ = reply.send(
                    self.session
                        .send_shared_object(&message)
                        .map_err(Into::into),
                );
            }
            Request::SoRelease { name } => {
                if let Some(entry) = self.sos.remove(&name) {
                    entry.shared.close();
                    let message = entry.shared.release_message();
                    let _ = self.session.send_shared_object(&message);
                }
            }
            // Handled by the serve loop.
            Request::Close { reply } => drop(reply.send(())),
        }
    }

    fn so_use(&mut self, shared: Arc<SoShared>, events: mpsc::Sender<SoEvent>, reply: Reply<()>) {
        let name = shared.name().to_owned();
        if self.sos.contains_key(&name) {
            let _ = reply.send(Err(ClientError::SharedObjectInUse { name }));
            return;
        }
        let message = shared.use_message();
        if let Err(e) = self.session.send_shared_object(&message) {
            let _ = reply.send(Err(e.into()));
            return;
        }
        self.sos.insert(
            name,
            SoEntry {
                shared,
                events,
                use_reply: Some(reply),
            },
        );
    }

    fn wait(&mut self, id: TransactionId, waiter: Waiter) {
        if self.calls.len() > SWEEP_ABOVE {
            let session = &mut self.session;
            self.calls.retain(|id, waiter| {
                let keep = !waiter.is_abandoned();
                if !keep {
                    session.forget(*id);
                }
                keep
            });
        }
        self.calls.insert(id, waiter);
    }

    fn wait_stream(&mut self, stream_id: u32, success_code: &'static str, reply: Reply<()>) {
        let waiter = StreamWaiter {
            success_code,
            reply,
        };
        if let Some(old) = self.streams.insert(stream_id, waiter) {
            let _ = old.reply.send(Err(ClientError::StreamFailed {
                stream_id,
                info: StatusInfo::new(LEVEL_ERROR, "", "replaced by a later publish or play"),
            }));
        }
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
