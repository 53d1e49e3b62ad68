//! One actor per TCP connection: owns the socket and one protocol
//! `ServerSession`, turns session events into actor messages and actor
//! messages into session decisions. No protocol logic lives here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix::prelude::*;
use bytes::BytesMut;
use tracing::{debug, info, warn};

use super::messages::{
    Ingest, Play, PlayerRef, Publish, PublishRefused, RemovePlayer, Shutdown, StopWaiting,
    StreamKey, Unpublish,
};
use super::registry::RegistryActor;
use super::stream::StreamActor;
use crate::app::{Application, Applications, ClientInfo, Server};
use crate::directory::Directory;
use crate::settings::CallSettings;

mod authorize;
mod calls;
mod pending;
mod playback;
mod reader;
mod shared_objects;
mod timers;
mod writer;

use crate::fanout::{FanoutLimits, Frame, PlayerQueue};
use crate::metrics::Metrics;
use crate::protocol::amf::{amf0, AmfValue};
use crate::protocol::command::{status, StatusInfo};
use crate::protocol::session::{
    MediaKind, PlayAccept, RequestId, ServerSession, SessionConfig, SessionError, SessionEvent,
};
pub use shared_objects::SharedObjectDeps;
pub use timers::ConnectionTiming;
use timers::TIMER_TICK;
use writer::Outbox;

/// What a connection needs from the node.
#[derive(Clone)]
pub struct ConnectionDeps {
    /// The node's registry.
    pub registry: Addr<RegistryActor>,
    /// Node-wide counters.
    pub metrics: Arc<Metrics>,
    /// Session settings (limits, chunk size, windows).
    pub session: Arc<SessionConfig>,
    /// Fan-out bounds for this connection's players.
    pub fanout: FanoutLimits,
    /// Handshake, keepalive and idle timing.
    pub timing: ConnectionTiming,
    /// What the admin API lists.
    pub directory: Arc<Directory>,
    /// Which application serves which name (unknown names are rejected).
    pub applications: Arc<Applications>,
    /// Server → client call timeout and cap.
    pub calls: CallSettings,
    /// Every open connection of the node (for shutdown); each connection adds
    /// itself when it starts and removes itself when it stops.
    pub live: LiveConnections,
    /// The handle application hooks get (calls, broadcasts, SharedObjects).
    pub server: Server,
    /// The SharedObject registry and per-connection bound.
    pub shared_objects: SharedObjectDeps,
}

/// The node's open connections by id.
pub type LiveConnections = Arc<Mutex<HashMap<u64, Addr<ConnectionActor>>>>;

struct Playing {
    key: StreamKey,
    player: PlayerRef,
    stream: Option<Addr<StreamActor>>,
    /// The client paused: detached from the stream until it resumes.
    paused: bool,
}

/// One RTMP connection.
pub struct ConnectionActor {
    id: u64,
    peer: SocketAddr,
    session: ServerSession,
    outbox: Outbox,
    /// Shared by every connection of the node.
    deps: Arc<ConnectionDeps>,
    started: Instant,
    /// `conn{conn_id, peer, app}`: entered around everything this actor does,
    /// so every log line of the connection carries them.
    span: tracing::Span,
    /// When bytes last arrived from the peer.
    last_input: Instant,
    /// When the last PingRequest went out.
    last_ping: Instant,
    scope: String,
    publishing: HashMap<u32, (StreamKey, Addr<StreamActor>)>,
    playing: HashMap<u32, Playing>,
    /// The application serving this connection (set when connect is accepted).
    application: Option<Arc<dyn Application>>,
    /// Who this client is (set when connect is accepted).
    client: Option<Arc<ClientInfo>>,
    shared_objects: shared_objects::SharedObjectUses,
    /// Pending server → client calls and client calls in progress.
    calls: calls::CallState,
    /// When and how player queues are drained (write coalescing).
    drainer: playback::Drainer,
}

impl ConnectionActor {
    /// Starts the actor for an accepted socket on the current arbiter.
    pub fn start_for(
        id: u64,
        peer: SocketAddr,
        socket: tokio::net::TcpStream,
        deps: Arc<ConnectionDeps>,
    ) -> Addr<Self> {
        let _ = socket.set_nodelay(deps.timing.tcp_nodelay);
        let (read, write) = socket.into_split();
        let calls = calls::CallState::new(&deps.calls);
        let drainer = playback::Drainer::new(deps.timing.write_coalesce);
        ConnectionActor::create(move |ctx| {
            ctx.add_stream(reader::SocketReader::new(read));
            let outbox = Outbox::new(write, ctx.address(), deps.timing.max_unwritten_bytes);
            ConnectionActor {
                id,
                peer,
                session: ServerSession::with_shared_config(deps.session.clone()),
                outbox,
                deps,
                started: Instant::now(),
                span: tracing::info_span!("conn", conn_id = id, peer = %peer, app = tracing::field::Empty),
                last_input: Instant::now(),
                last_ping: Instant::now(),
                scope: String::new(),
                publishing: HashMap::new(),
                playing: HashMap::new(),
                application: None,
                client: None,
                shared_objects: Default::default(),
                calls,
                drainer,
            }
        })
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn flush(&mut self) {
        let segments = self.session.take_outbound();
        let bytes = segments.iter().map(bytes::Bytes::len).sum::<usize>();
        self.deps.metrics.bytes_out.add(bytes as u64);
        self.outbox.send(segments, bytes);
    }

    fn fail(&mut self, error: &SessionError, ctx: &mut Context<Self>) {
        if self.session.is_handshake_done() {
            self.deps.metrics.protocol_error(error_kind(error));
        } else {
            self.deps.metrics.handshake_failures.add(1);
        }
        warn!(conn_id = self.id, peer = %self.peer, error = %error, "closing connection: protocol error");
        self.flush();
        ctx.stop();
    }

    fn input(&mut self, bytes: BytesMut, ctx: &mut Context<Self>) {
        let now = self.now_ms();
        // The thread's generator (ChaCha, seeded from the OS): only the
        // handshake draws from it, so no connection keeps one of its own.
        match self.session.handle_input_buf(bytes, now, &mut rand::rng()) {
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
            event @ SessionEvent::ConnectRequested { .. } => {
                self.on_connect_requested(event, ctx)?;
            }
            SessionEvent::PublishRequested {
                request,
                stream_id,
                name,
                ..
            } => self.authorize_publish(request, stream_id, name, ctx),
            SessionEvent::PlayRequested {
                request,
                stream_id,
                name,
                reset,
                ..
            } => self.authorize_play(request, stream_id, name, reset, ctx),
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
            SessionEvent::PauseRequested {
                stream_id, pause, ..
            } => self.pause(stream_id, pause),
            SessionEvent::SeekRequested { stream_id, .. } => {
                let info = StatusInfo::new(
                    status::LEVEL_ERROR,
                    status::NS_SEEK_FAILED,
                    "Live streams cannot seek.",
                );
                self.session.send_status(stream_id, &info)?;
            }
            SessionEvent::SharedObjectReceived { message, .. } => {
                self.on_shared_object(message, ctx)?;
            }
            event @ (SessionEvent::CallReceived { .. } | SessionEvent::CallResult { .. }) => {
                self.on_call_event(event, ctx);
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

    /// Publishes `name` through the registry (the application said yes).
    fn publish(&mut self, request: RequestId, stream_id: u32, name: &str, ctx: &mut Context<Self>) {
        let key = self.key(name);
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
                    Ok(Err(PublishRefused::BadName)) | Err(_) => act.session.reject_publish(
                        request,
                        status::NS_PUBLISH_BAD_NAME,
                        &format!("{key} is already being published."),
                    ),
                    Ok(Err(PublishRefused::ClusterUnavailable)) => act.session.reject_publish(
                        request,
                        status::NS_PUBLISH_BAD_NAME,
                        &format!("{key} cannot be published: the cluster is unavailable."),
                    ),
                };
                if let Err(e) = decided {
                    debug!(conn_id = act.id, error = %e, "publish decision dropped");
                }
                act.flush();
            })
            .wait(ctx);
    }

    /// Plays `name` (the application said yes).
    fn play(
        &mut self,
        request: RequestId,
        stream_id: u32,
        name: &str,
        reset: bool,
        ctx: &mut Context<Self>,
    ) -> Result<(), SessionError> {
        let key = self.key(name);
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
                paused: false,
            },
        );
        Ok(())
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

    fn status(&mut self, stream_id: u32, code: &str, description: String) {
        let info = StatusInfo::new(status::LEVEL_STATUS, code, &description);
        if let Err(e) = self.session.send_status(stream_id, &info) {
            debug!(conn_id = self.id, error = %e, "status not sent");
        }
    }
}

/// The metrics label of a session error: the layer that found it.
fn error_kind(error: &SessionError) -> &'static str {
    match error {
        SessionError::Handshake(_) => "handshake",
        SessionError::Chunk(_) | SessionError::EncodeChunk { .. } => "chunk",
        SessionError::Message { .. } => "message",
        SessionError::Command { .. } | SessionError::EncodeCommand { .. } => "command",
        SessionError::Data { .. } => "data",
        SessionError::SharedObject { .. } | SessionError::EncodeSharedObject(_) => "shared_object",
        _ => "session",
    }
}

impl Actor for ConnectionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(TIMER_TICK, |act, ctx| act.tick(ctx));
        self.deps.directory.connection_opened(self.id, self.peer);
        self.deps
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(self.id, ctx.address());
        self.deps.metrics.connections.inc();
        self.deps.metrics.connections_total.add(1);
        debug!(conn_id = self.id, peer = %self.peer, "accepted");
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        let ids: Vec<u32> = self
            .publishing
            .keys()
            .chain(self.playing.keys())
            .copied()
            .collect();
        for stream_id in ids {
            self.stop_stream(stream_id);
        }
        self.release_all_shared_objects();
        self.calls_stopped();
        self.deps.metrics.connections.dec();
        self.deps.directory.connection_closed(self.id);
        self.deps
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
        info!(conn_id = self.id, peer = %self.peer, "closed");
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
