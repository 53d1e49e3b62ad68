//! An async RTMP client: connect, calls both ways, streams and remote
//! SharedObjects, built on the pure [`ClientSession`].
//!
//! One connection is one tokio task (spawned by [`Client::connect`] on the
//! current runtime) that owns the socket; [`Client`] is a cheap, cloneable
//! handle to it. Everything is bounded:
//!
//! - requests from the handles go through a bounded queue
//!   ([`ConnectOptions::request_capacity`]): callers wait when it is full,
//!   which is also the backpressure for [`Client::send_video`] and friends;
//! - [`Events`] (server→client calls, statuses, played media) and each
//!   [`RemoteSharedObject`]'s events are bounded queues
//!   ([`ConnectOptions::event_capacity`]): when one is full, new events are
//!   dropped and counted, never buffered without bound, and the connection
//!   never stalls on a slow reader. A server→client call that cannot be
//!   delivered is answered `_error`.
//!
//! The connection lives while any [`Client`] or [`RemoteSharedObject`]
//! exists; dropping them all closes it.
//!
//! # Layout
//!
//! - `mod.rs`: [`Client`]; `options.rs`: [`ConnectOptions`], [`ConnectInfo`].
//! - `events.rs`: [`Event`], [`Events`], [`CallReply`].
//! - `shared_object.rs`: [`RemoteSharedObject`].
//! - `task/`: the connection task (`inbound.rs`: server events,
//!   `requests.rs`: handle requests).
//! - `error.rs`: [`ClientError`]; `url.rs`: `rtmp://` URLs.
//!
//! # Example: a bot
//!
//! ```no_run
//! use std::time::Duration;
//! use ferrocast::client::{Client, ConnectOptions, Event};
//! use ferrocast::protocol::amf::AmfValue;
//!
//! # async fn bot() -> Result<(), ferrocast::client::ClientError> {
//! let (client, mut events) = Client::connect("rtmp://localhost/chat/lobby", ConnectOptions::default()).await?;
//! let room = client.shared_object("room", false).await?;
//! room.set("bot", AmfValue::string("online")).await?;
//! room.wait_until(|so| so.get("bot").is_some(), Duration::from_secs(5)).await?;
//! client.call("broadcast", vec![AmfValue::string("say"), AmfValue::string("hello")]).await?;
//! while let Some(Event::Call { method, args, reply }) = events.next().await {
//!     println!("{method}({args:?})");
//!     reply.result(vec![AmfValue::Boolean(true)]).await?;
//! }
//! # Ok(())
//! # }
//! ```

mod error;
mod events;
mod options;
mod shared_object;
mod task;
mod url;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

pub use error::ClientError;
pub use events::{CallReply, Event, Events};
pub use options::{ConnectInfo, ConnectOptions};
pub use shared_object::RemoteSharedObject;
pub use url::{RtmpUrl, DEFAULT_RTMP_PORT};

pub use crate::protocol::client::{SharedObjectReplica, SoEvent};
pub use crate::protocol::session::{MediaKind, ObjectEncoding};

use self::task::{Driver, Reply, Request, Shared};
use crate::protocol::amf::AmfValue;
use crate::protocol::chunk::MAX_MESSAGE_LEN;
use crate::protocol::client::{ClientSession, ClientSessionConfig, ConnectRequest};

/// A handle to one RTMP connection. Cloneable; see the module docs.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tx: mpsc::Sender<Request>,
    shared: Arc<Shared>,
    info: ConnectInfo,
    call_timeout: Duration,
    event_capacity: usize,
}

impl Client {
    /// Connects to `rtmp://host[:port]/app[/room…]` (port 1935 by default;
    /// the whole path is the `app`), completes the handshake and `connect`,
    /// and returns the handle with its event stream.
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidUrl`]; [`ClientError::Io`] when the TCP
    /// connection fails; [`ClientError::ConnectRejected`] with the server's
    /// information object; [`ClientError::Timeout`] after
    /// [`ConnectOptions::connect_timeout`]; [`ClientError::Protocol`].
    pub async fn connect(
        url: &str,
        options: ConnectOptions,
    ) -> Result<(Self, Events), ClientError> {
        let url = RtmpUrl::parse(url)?;
        let timeout = options.connect_timeout;
        let timed_out = || ClientError::Timeout {
            what: format!("connect to {}", url.tc_url),
            after: timeout,
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let stream = tokio::time::timeout_at(deadline, TcpStream::connect(&url.address))
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| ClientError::io("connecting", e))?;
        let _ = stream.set_nodelay(true);
        let config = ClientSessionConfig {
            limits: options.limits,
            handshake: options.handshake,
            chunk_size: options.chunk_size,
            max_pending_calls: options.max_pending_calls,
        };
        let session = ClientSession::new(config, 0, &mut StdRng::from_rng(&mut rand::rng()));
        let mut request = ConnectRequest::new(url.app.clone(), url.tc_url.clone());
        request.object_encoding = options.object_encoding;
        request.args = options.args.clone();

        let (tx, requests) = mpsc::channel(options.request_capacity.max(1));
        let (events_tx, events_rx) = mpsc::channel(options.event_capacity.max(1));
        let (connect_tx, connect_rx) = oneshot::channel();
        let shared = Arc::new(Shared::default());
        let driver = Driver::new(
            session,
            stream,
            request,
            connect_tx,
            requests,
            tx.downgrade(),
            events_tx,
            shared.clone(),
        );
        tokio::spawn(driver.run());
        let info = tokio::time::timeout_at(deadline, connect_rx)
            .await
            .map_err(|_| timed_out())?
            .map_err(|_| shared.ended())??;
        let events = Events {
            rx: events_rx,
            shared: shared.clone(),
        };
        let inner = Inner {
            tx,
            shared,
            info,
            call_timeout: options.call_timeout,
            event_capacity: options.event_capacity.max(1),
        };
        Ok((
            Self {
                inner: Arc::new(inner),
            },
            events,
        ))
    }

    /// What the server answered to `connect`.
    pub fn connect_info(&self) -> &ConnectInfo {
        &self.inner.info
    }

    /// The object encoding in use.
    pub fn object_encoding(&self) -> ObjectEncoding {
        self.inner.info.object_encoding
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.inner.tx.is_closed()
    }

    /// Calls `method(args...)` on the server and returns the `_result`
    /// values (usually one).
    ///
    /// # Errors
    ///
    /// [`ClientError::CallFailed`] with the `_error` info (see
    /// [`ClientError::code`]); [`ClientError::Timeout`] after
    /// [`ConnectOptions::call_timeout`]; the connection's error.
    pub async fn call(
        &self,
        method: &str,
        args: Vec<AmfValue>,
    ) -> Result<Vec<AmfValue>, ClientError> {
        let method = method.to_owned();
        let what = format!("call {method:?}");
        self.ask(&what, |reply| Request::Call {
            method,
            args,
            reply,
        })
        .await
    }

    /// [`call`](Self::call) returning the first value (`undefined` when
    /// the server returned none).
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub async fn call_one(
        &self,
        method: &str,
        args: Vec<AmfValue>,
    ) -> Result<AmfValue, ClientError> {
        let values = self.call(method, args).await?;
        Ok(values.into_iter().next().unwrap_or(AmfValue::Undefined))
    }

    /// Calls `method(args...)` with transaction id 0: no answer expected.
    ///
    /// # Errors
    ///
    /// The connection's error; encoding errors.
    pub async fn notify(&self, method: &str, args: Vec<AmfValue>) -> Result<(), ClientError> {
        let method = method.to_owned();
        self.ask("notify", |reply| Request::Notify {
            method,
            args,
            reply,
        })
        .await
    }

    /// `createStream`: a new message stream id.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub async fn create_stream(&self) -> Result<u32, ClientError> {
        self.ask("createStream", |reply| Request::CreateStream { reply })
            .await
    }

    /// Publishes live stream `name` on `stream_id`; resolves on
    /// `NetStream.Publish.Start`.
    ///
    /// # Errors
    ///
    /// [`ClientError::StreamFailed`] on an error status (e.g.
    /// `NetStream.Publish.BadName`); timeout and connection errors.
    pub async fn publish(&self, stream_id: u32, name: &str) -> Result<(), ClientError> {
        let name = name.to_owned();
        self.ask("publish", |reply| Request::Publish {
            stream_id,
            name,
            reply,
        })
        .await
    }

    /// Plays `name` on `stream_id`; resolves on `NetStream.Play.Start`.
    /// Media, data and further statuses arrive on [`Events`].
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish).
    pub async fn play(&self, stream_id: u32, name: &str) -> Result<(), ClientError> {
        let name = name.to_owned();
        self.ask("play", |reply| Request::Play {
            stream_id,
            name,
            reply,
        })
        .await
    }

    /// Sends one audio frame (an FLV audio tag body) on a publishing stream.
    /// Waits only when the request queue is full.
    ///
    /// # Errors
    ///
    /// [`ClientError::Protocol`] for a payload over 16 MiB; the connection's
    /// error.
    pub async fn send_audio(
        &self,
        stream_id: u32,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<(), ClientError> {
        self.send_media(stream_id, MediaKind::Audio, timestamp, payload)
            .await
    }

    /// Sends one video frame (an FLV video tag body) on a publishing stream.
    ///
    /// # Errors
    ///
    /// As [`send_audio`](Self::send_audio).
    pub async fn send_video(
        &self,
        stream_id: u32,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<(), ClientError> {
        self.send_media(stream_id, MediaKind::Video, timestamp, payload)
            .await
    }

    /// Sends `@setDataFrame("onMetaData", metadata)` on a publishing stream.
    ///
    /// # Errors
    ///
    /// The connection's error; encoding errors.
    pub async fn send_metadata(
        &self,
        stream_id: u32,
        metadata: AmfValue,
    ) -> Result<(), ClientError> {
        self.ask("metadata", |reply| Request::Data {
            stream_id,
            values: vec![metadata],
            metadata: true,
            reply,
        })
        .await
    }

    /// Sends an AMF0 data message (`NetStream.send(handler, args...)`:
    /// the first value is the handler name).
    ///
    /// # Errors
    ///
    /// As [`send_metadata`](Self::send_metadata).
    pub async fn send_data(
        &self,
        stream_id: u32,
        values: Vec<AmfValue>,
    ) -> Result<(), ClientError> {
        self.ask("data", |reply| Request::Data {
            stream_id,
            values,
            metadata: false,
            reply,
        })
        .await
    }

    /// `closeStream` on `stream_id`: stops publishing or playing.
    ///
    /// # Errors
    ///
    /// The connection's error.
    pub async fn close_stream(&self, stream_id: u32) -> Result<(), ClientError> {
        self.ask("closeStream", |reply| Request::CloseStream {
            stream_id,
            reply,
        })
        .await
    }

    /// `deleteStream(stream_id)`.
    ///
    /// # Errors
    ///
    /// The connection's error.
    pub async fn delete_stream(&self, stream_id: u32) -> Result<(), ClientError> {
        self.ask("deleteStream", |reply| Request::DeleteStream {
            stream_id,
            reply,
        })
        .await
    }

    /// Starts using SharedObject `name` (persistent or not: two distinct
    /// objects) and resolves once the server's message carrying
    /// `UseSuccess` (with the initial sync) is applied to the replica.
    ///
    /// # Errors
    ///
    /// [`ClientError::SharedObjectRefused`] on a Status error first;
    /// [`ClientError::SharedObjectInUse`] when this connection already uses
    /// `name`; [`ClientError::Timeout`]; the connection's error.
    pub async fn shared_object(
        &self,
        name: &str,
        persistent: bool,
    ) -> Result<RemoteSharedObject, ClientError> {
        let shared = Arc::new(shared_object::SoShared::new(name, persistent));
        let (events_tx, events_rx) = mpsc::channel(self.inner.event_capacity);
        let used = {
            let shared = shared.clone();
            self.ask(&format!("use SharedObject {name:?}"), |reply| {
                Request::SoUse {
                    shared,
                    events: events_tx,
                    reply,
                }
            })
            .await
        };
        let object = RemoteSharedObject::new(self.clone(), shared, events_rx);
        // On failure the handle's drop releases whatever the server holds.
        used.map(|()| object)
    }

    /// Closes the connection (flushing what is queued); every pending
    /// operation fails with [`ClientError::Closed`] and [`Events`] ends with
    /// [`Event::Closed`]. Closing twice is fine.
    ///
    /// # Errors
    ///
    /// None today; kept fallible for a future graceful close.
    pub async fn close(&self) -> Result<(), ClientError> {
        let (reply, done) = oneshot::channel();
        if self.inner.tx.send(Request::Close { reply }).await.is_ok() {
            let _ = done.await;
        }
        Ok(())
    }

    async fn send_media(
        &self,
        stream_id: u32,
        kind: MediaKind,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<(), ClientError> {
        if payload.len() > MAX_MESSAGE_LEN as usize {
            return Err(ClientError::Protocol(
                crate::protocol::client::ClientSessionError::EncodeChunk {
                    type_id: kind.type_id(),
                    source: crate::protocol::chunk::ChunkError::PayloadTooLong {
                        length: payload.len(),
                    },
                },
            ));
        }
        self.send(Request::Media {
            stream_id,
            kind,
            timestamp,
            payload,
        })
        .await
    }

    async fn send(&self, request: Request) -> Result<(), ClientError> {
        self.inner
            .tx
            .send(request)
            .await
            .map_err(|_| self.inner.shared.ended())
    }

    async fn ask<T>(
        &self,
        what: &str,
        make: impl FnOnce(Reply<T>) -> Request,
    ) -> Result<T, ClientError> {
        let (reply, answer) = oneshot::channel();
        self.send(make(reply)).await?;
        let timeout = self.inner.call_timeout;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(self.inner.shared.ended()),
            Err(_) => Err(ClientError::Timeout {
                what: what.to_owned(),
                after: timeout,
            }),
        }
    }
}
