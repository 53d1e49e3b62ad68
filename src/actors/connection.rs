//! One actor per TCP connection: owns the socket and one protocol
//! `ServerSession`, turns session events into actor messages and actor
//! messages into session decisions. No protocol logic lives here.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use rand::SeedableRng;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::messages::{
    AddPlayer, Ingest, Play, PlayerEvicted, PlayerRef, Publish, PublishRefused, PublisherLeft,
    QueueReady, RemovePlayer, Shutdown, StopWaiting, StreamAttached, StreamKey, Unpublish,
};
use super::registry::RegistryActor;
use super::stream::StreamActor;
use crate::directory::Directory;
use crate::fanout::{FanoutLimits, Frame, FrameKind, PlayerQueue};
use crate::metrics::Metrics;
use crate::protocol::amf::{amf0, AmfValue};
use crate::protocol::command::{status, StatusInfo};
use crate::protocol::session::{
    ConnectAccept, MediaKind, PlayAccept, ServerSession, SessionConfig, SessionError, SessionEvent,
};

/// Bytes drained from a player's queue per turn, so one player's backlog does
/// not monopolise the actor.
const DRAIN_BATCH_BYTES: usize = 256 * 1024;
/// Bytes handed to the write task but not yet written: above the high mark the
/// actor stops draining player queues (frames then wait in the bounded queues,
/// where the drop policy applies); the write task wakes it below the low mark.
const WRITE_LOW_WATERMARK: usize = 64 * 1024;
const WRITE_HIGH_WATERMARK: usize = 512 * 1024;
/// Segments the write task takes per turn.
const WRITE_BATCH_SEGMENTS: usize = 64;

/// What a connection needs from the node.
#[derive(Clone)]
pub struct ConnectionDeps {
    /// The node's registry.
    pub registry: Addr<RegistryActor>,
    /// Node-wide counters.
    pub metrics: Arc<Metrics>,
    /// Session settings (limits, chunk size, windows).
    pub session: SessionConfig,
    /// Fan-out bounds for this connection's players.
    pub fanout: FanoutLimits,
    /// Handshake, keepalive and idle timing.
    pub timing: ConnectionTiming,
    /// What the admin API lists.
    pub directory: Arc<Directory>,
}

/// When a connection is pinged or given up on (from `[rtmp]` settings).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionTiming {
    /// Close if the handshake is not done this long after accept.
    pub handshake_timeout: Duration,
    /// Send a PingRequest this often (`None` = never).
    pub ping_interval: Option<Duration>,
    /// Close when nothing arrived for this long (`None` = never).
    pub idle_timeout: Option<Duration>,
}

/// How often the timers above are checked.
const TIMER_TICK: Duration = Duration::from_millis(250);

/// The socket's write side: a task on this arbiter writes what the actor
/// queues, so the actor itself never waits on the socket.
struct Outbox {
    tx: mpsc::UnboundedSender<Bytes>,
    /// Bytes queued for the write task and not yet written.
    in_flight: Arc<AtomicUsize>,
    /// Set by the actor when it stopped draining players; the write task
    /// clears it and sends `WriterDrained` once below the low mark.
    paused: Arc<AtomicBool>,
}

impl Outbox {
    fn send(&self, segment: Bytes) {
        self.in_flight.fetch_add(segment.len(), Ordering::AcqRel);
        // A closed channel means the write task ended (socket error): the
        // actor learns it from `WriteFailed`.
        let _ = self.tx.send(segment);
    }

    /// Whether media may be drained now; if not, arranges a `WriterDrained`.
    fn ready_for_media(&self) -> bool {
        if self.in_flight.load(Ordering::Acquire) < WRITE_HIGH_WATERMARK {
            return true;
        }
        self.paused.store(true, Ordering::Release);
        // The write task may have drained in between: check again.
        if self.in_flight.load(Ordering::Acquire) < WRITE_HIGH_WATERMARK {
            self.paused.store(false, Ordering::Release);
            return true;
        }
        false
    }
}

/// Writes queued segments in order until the actor drops its sender or the
/// socket fails, then shuts the socket down.
async fn write_loop(
    mut socket: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
    in_flight: Arc<AtomicUsize>,
    paused: Arc<AtomicBool>,
    conn: Addr<ConnectionActor>,
) {
    let mut batch = Vec::with_capacity(WRITE_BATCH_SEGMENTS);
    while rx.recv_many(&mut batch, WRITE_BATCH_SEGMENTS).await > 0 {
        let mut written = 0;
        for segment in batch.drain(..) {
            if let Err(e) = socket.write_all(&segment).await {
                conn.do_send(WriteFailed {
                    error: e.to_string(),
                });
                return;
            }
            written += segment.len();
        }
        let left = in_flight.fetch_sub(written, Ordering::AcqRel) - written;
        if left < WRITE_LOW_WATERMARK && paused.swap(false, Ordering::AcqRel) {
            conn.do_send(WriterDrained);
        }
    }
    let _ = socket.shutdown().await;
}

/// The write task could not write: the peer is gone.
#[derive(Message)]
#[rtype(result = "()")]
struct WriteFailed {
    error: String,
}

/// The write task drained below the low mark: resume draining players.
#[derive(Message)]
#[rtype(result = "()")]
struct WriterDrained;

struct Playing {
    key: StreamKey,
    player: PlayerRef,
    stream: Option<Addr<StreamActor>>,
}

/// One RTMP connection.
pub struct ConnectionActor {
    id: u64,
    peer: SocketAddr,
    session: ServerSession,
    outbox: Outbox,
    deps: ConnectionDeps,
    started: Instant,
    /// When bytes last arrived from the peer.
    last_input: Instant,
    /// When the last PingRequest went out.
    last_ping: Instant,
    rng: rand::rngs::StdRng,
    scope: String,
    publishing: HashMap<u32, (StreamKey, Addr<StreamActor>)>,
    playing: HashMap<u32, Playing>,
}

impl ConnectionActor {
    /// Starts the actor for an accepted socket on the current arbiter.
    pub fn start_for(
        id: u64,
        peer: SocketAddr,
        socket: tokio::net::TcpStream,
        deps: ConnectionDeps,
    ) -> Addr<Self> {
        let _ = socket.set_nodelay(true);
        let (read, write) = socket.into_split();
        ConnectionActor::create(move |ctx| {
            ctx.add_stream(tokio_util::codec::FramedRead::new(
                read,
                tokio_util::codec::BytesCodec::new(),
            ));
            let (tx, rx) = mpsc::unbounded_channel();
            let outbox = Outbox {
                tx,
                in_flight: Arc::default(),
                paused: Arc::default(),
            };
            let (in_flight, paused) = (outbox.in_flight.clone(), outbox.paused.clone());
            actix_rt::spawn(write_loop(write, rx, in_flight, paused, ctx.address()));
            ConnectionActor {
                id,
                peer,
                session: ServerSession::new(deps.session.clone()),
                outbox,
                deps,
                started: Instant::now(),
                last_input: Instant::now(),
                last_ping: Instant::now(),
                rng: rand::rngs::StdRng::from_os_rng(),
                scope: String::new(),
                publishing: HashMap::new(),
                playing: HashMap::new(),
            }
        })
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn flush(&mut self) {
        for segment in self.session.take_outbound() {
            self.deps.metrics.bytes_out.add(segment.len() as u64);
            self.outbox.send(segment);
        }
    }

    fn fail(&mut self, error: &SessionError, ctx: &mut Context<Self>) {
        if self.session.is_handshake_done() {
            self.deps.metrics.protocol_errors.add(1);
        } else {
            self.deps.metrics.handshake_failures.add(1);
        }
        warn!(conn_id = self.id, peer = %self.peer, error = %error, "closing connection: protocol error");
        self.flush();
        ctx.stop();
    }

    fn input(&mut self, bytes: &[u8], ctx: &mut Context<Self>) {
        let now = self.now_ms();
        match self.session.handle_input(bytes, now, &mut self.rng) {
            Ok(events) => self.on_events(events, ctx),
            Err(e) => return self.fail(&e, ctx),
        }
        self.flush();
    }

    fn on_events(&mut self, events: Vec<SessionEvent>, ctx: &mut Context<Self>) {
        for event in events {
            if let Err(e) = self.on_event(event, ctx) {
                return self.fail(&e, ctx);
            }
        }
    }

    fn on_event(
        &mut self,
        event: SessionEvent,
        ctx: &mut Context<Self>,
    ) -> Result<(), SessionError> {
        match event {
            SessionEvent::ConnectRequested { request, app, .. } => {
                self.scope = app.trim_matches('/').to_string();
                let scope = self.scope.clone();
                self.deps
                    .directory
                    .update_connection(self.id, |c| c.app = scope);
                info!(conn_id = self.id, peer = %self.peer, app = %self.scope, "connected");
                self.session
                    .accept_connect(request, &ConnectAccept::default())?;
                // Commands that followed connect were held until this decision.
                let now = self.now_ms();
                let more = self.session.handle_input(&[], now, &mut self.rng)?;
                self.on_events(more, ctx);
            }
            SessionEvent::PublishRequested {
                request,
                stream_id,
                name,
                ..
            } => {
                let key = self.key(&name);
                let publish = Publish {
                    key: key.clone(),
                    conn_id: self.id,
                    arbiter: Arbiter::current(),
                };
                self.deps
                    .registry
                    .send(publish)
                    .into_actor(self)
                    .map(move |answer, act, _ctx| {
                        let decided = match answer {
                            Ok(Ok(stream)) => {
                                info!(conn_id = act.id, stream = %key, "publishing");
                                let name = key.to_string();
                                act.deps
                                    .directory
                                    .update_connection(act.id, |c| c.publishing.push(name));
                                act.publishing.insert(stream_id, (key, stream));
                                act.session.accept_publish(request)
                            }
                            Ok(Err(PublishRefused::BadName)) | Err(_) => {
                                act.session.reject_publish(
                                    request,
                                    status::NS_PUBLISH_BAD_NAME,
                                    &format!("{key} is already being published."),
                                )
                            }
                        };
                        if let Err(e) = decided {
                            debug!(conn_id = act.id, error = %e, "publish decision dropped");
                        }
                        act.flush();
                    })
                    .wait(ctx);
            }
            SessionEvent::PlayRequested {
                request,
                stream_id,
                name,
                reset,
                ..
            } => {
                let key = self.key(&name);
                self.session.accept_play(
                    request,
                    &PlayAccept {
                        reset,
                        ..PlayAccept::default()
                    },
                )?;
                let player = PlayerRef {
                    player_id: (self.id << 16) | u64::from(stream_id & 0xFFFF),
                    conn: ctx.address(),
                    stream_id,
                    queue: Arc::new(Mutex::new(PlayerQueue::new(self.deps.fanout))),
                };
                info!(conn_id = self.id, stream = %key, "playing");
                let name = key.to_string();
                self.deps
                    .directory
                    .update_connection(self.id, |c| c.playing.push(name));
                self.deps.registry.do_send(Play {
                    key: key.clone(),
                    player: player.clone(),
                });
                self.playing.insert(
                    stream_id,
                    Playing {
                        key,
                        player,
                        stream: None,
                    },
                );
            }
            SessionEvent::MediaReceived {
                stream_id,
                kind,
                timestamp,
                payload,
            } => {
                self.ingest(
                    stream_id,
                    match kind {
                        MediaKind::Audio => Frame::audio(timestamp, payload),
                        MediaKind::Video => Frame::video(timestamp, payload),
                    },
                );
            }
            SessionEvent::MetadataReceived {
                stream_id,
                timestamp,
                values,
            } => {
                let mut all = vec![AmfValue::string("onMetaData")];
                all.extend(values);
                self.ingest_data(stream_id, timestamp, &all);
            }
            SessionEvent::DataReceived {
                stream_id,
                timestamp,
                values,
            } => {
                self.ingest_data(stream_id, timestamp, &values);
            }
            SessionEvent::StreamClosed { stream_id, .. } => self.stop_stream(stream_id),
            SessionEvent::CallReceived {
                transaction_id,
                name,
                ..
            } => {
                let description = format!("Method not found ({name}).");
                self.session
                    .call_error(transaction_id, status::NC_CALL_FAILED, &description)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The stream key for a name given to publish/play: the query string
    /// (e.g. `?token=...`) is not part of the name.
    fn key(&self, name: &str) -> StreamKey {
        let name = name.split('?').next().unwrap_or_default();
        StreamKey {
            scope: self.scope.clone(),
            name: name.to_string(),
        }
    }

    fn ingest(&self, stream_id: u32, frame: Frame) {
        if let Some((_, stream)) = self.publishing.get(&stream_id) {
            stream.do_send(Ingest(frame));
        }
    }

    fn ingest_data(&self, stream_id: u32, timestamp: u32, values: &[AmfValue]) {
        let mut body = BytesMut::new();
        if amf0::encode_all(values, &mut body).is_ok() {
            self.ingest(stream_id, Frame::data(timestamp, body.freeze()));
        }
    }

    fn stop_stream(&mut self, stream_id: u32) {
        if let Some((key, stream)) = self.publishing.remove(&stream_id) {
            info!(conn_id = self.id, stream = %key, "unpublishing");
            let name = key.to_string();
            self.deps
                .directory
                .update_connection(self.id, |c| c.publishing.retain(|n| *n != name));
            stream.do_send(Unpublish);
        }
        if let Some(playing) = self.playing.remove(&stream_id) {
            let player_id = playing.player.player_id;
            let name = playing.key.to_string();
            self.deps
                .directory
                .update_connection(self.id, |c| c.playing.retain(|n| *n != name));
            match playing.stream {
                Some(stream) => stream.do_send(RemovePlayer { player_id }),
                None => self.deps.registry.do_send(StopWaiting {
                    key: playing.key,
                    player_id,
                }),
            }
        }
    }

    /// Handshake and idle timeouts, keepalive pings.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        let timing = self.deps.timing;
        if !self.session.is_handshake_done() {
            if self.started.elapsed() >= timing.handshake_timeout {
                self.deps.metrics.handshake_failures.add(1);
                warn!(conn_id = self.id, peer = %self.peer, "closing connection: handshake timeout");
                ctx.stop();
            }
            return;
        }
        if timing
            .idle_timeout
            .is_some_and(|t| self.last_input.elapsed() >= t)
        {
            warn!(conn_id = self.id, peer = %self.peer, "closing connection: idle timeout");
            ctx.stop();
            return;
        }
        if timing
            .ping_interval
            .is_some_and(|t| self.last_ping.elapsed() >= t)
            && self.session.is_connected()
        {
            self.last_ping = Instant::now();
            let now = self.now_ms();
            if self.session.ping(now).is_ok() {
                self.flush();
            }
        }
    }

    fn status(&mut self, stream_id: u32, code: &str, description: String) {
        let info = StatusInfo::new(status::LEVEL_STATUS, code, &description);
        if let Err(e) = self.session.send_status(stream_id, &info) {
            debug!(conn_id = self.id, error = %e, "status not sent");
        }
    }
}

impl Actor for ConnectionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(TIMER_TICK, |act, ctx| act.tick(ctx));
        self.deps.directory.connection_opened(self.id, self.peer);
        self.deps.metrics.connections.inc();
        self.deps.metrics.connections_total.add(1);
        debug!(conn_id = self.id, peer = %self.peer, "accepted");
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        let ids: Vec<u32> = self
            .publishing
            .keys()
            .chain(self.playing.keys())
            .copied()
            .collect();
        for stream_id in ids {
            self.stop_stream(stream_id);
        }
        self.deps.metrics.connections.dec();
        self.deps.directory.connection_closed(self.id);
        info!(conn_id = self.id, peer = %self.peer, "closed");
    }
}

impl Handler<WriteFailed> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: WriteFailed, ctx: &mut Context<Self>) {
        debug!(conn_id = self.id, error = %msg.error, "write failed");
        ctx.stop();
    }
}

impl Handler<WriterDrained> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, _: WriterDrained, ctx: &mut Context<Self>) {
        for &stream_id in self.playing.keys() {
            ctx.notify(QueueReady { stream_id });
        }
    }
}

impl StreamHandler<Result<BytesMut, io::Error>> for ConnectionActor {
    fn handle(&mut self, item: Result<BytesMut, io::Error>, ctx: &mut Context<Self>) {
        match item {
            Ok(bytes) => {
                self.last_input = Instant::now();
                self.deps.metrics.bytes_in.add(bytes.len() as u64);
                self.input(&bytes, ctx);
            }
            Err(e) => {
                debug!(conn_id = self.id, error = %e, "read failed");
                ctx.stop();
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<QueueReady> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: QueueReady, ctx: &mut Context<Self>) {
        let Some(playing) = self.playing.get(&msg.stream_id) else {
            return;
        };
        if !self.outbox.ready_for_media() {
            // `WriterDrained` re-sends this once the socket has caught up.
            return;
        }
        let (frames, more) = {
            let mut queue = playing
                .player
                .queue
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let frames = queue.pop_batch(DRAIN_BATCH_BYTES);
            (frames, !queue.is_empty())
        };
        for frame in frames {
            let (stream_id, ts, payload): (u32, u32, &Bytes) =
                (msg.stream_id, frame.timestamp(), frame.payload());
            let sent = match frame.kind() {
                FrameKind::Audio => self
                    .session
                    .send_media(stream_id, MediaKind::Audio, ts, payload)
                    .map(|_| ()),
                FrameKind::Video => self
                    .session
                    .send_media(stream_id, MediaKind::Video, ts, payload)
                    .map(|_| ()),
                FrameKind::Data => self.session.send_data_raw(stream_id, ts, payload),
            };
            if let Err(e) = sent {
                debug!(conn_id = self.id, error = %e, "frame not sent");
            }
        }
        self.flush();
        if more {
            ctx.notify(msg);
        }
    }
}

impl Handler<StreamAttached> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: StreamAttached, _: &mut Context<Self>) {
        let Some(playing) = self.playing.get_mut(&msg.stream_id) else {
            return;
        };
        playing.stream = Some(msg.stream.clone());
        let player = playing.player.clone();
        let description = format!("{} is now published.", playing.key);
        if msg.notify {
            self.status(msg.stream_id, status::NS_PLAY_PUBLISH_NOTIFY, description);
            self.flush();
        }
        msg.stream.do_send(AddPlayer(player));
    }
}

impl Handler<PublisherLeft> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: PublisherLeft, _: &mut Context<Self>) {
        let Some(playing) = self.playing.get_mut(&msg.stream_id) else {
            return;
        };
        playing.stream = None;
        // A republished stream starts afresh: wait for its first keyframe.
        *playing
            .player
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = PlayerQueue::new(self.deps.fanout);
        let (key, player) = (playing.key.clone(), playing.player.clone());
        self.status(
            msg.stream_id,
            status::NS_PLAY_UNPUBLISH_NOTIFY,
            format!("{key} is now unpublished."),
        );
        self.flush();
        self.deps.registry.do_send(Play { key, player });
    }
}

impl Handler<PlayerEvicted> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: PlayerEvicted, ctx: &mut Context<Self>) {
        warn!(conn_id = self.id, peer = %self.peer, reason = %msg.reason, "closing a player that fell too far behind");
        ctx.stop();
    }
}

impl Handler<Shutdown> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        let ids: Vec<u32> = self.playing.keys().copied().collect();
        for stream_id in ids {
            self.status(
                stream_id,
                status::NS_PLAY_STOP,
                "The server is shutting down.".to_string(),
            );
        }
        self.flush();
        ctx.stop();
    }
}
