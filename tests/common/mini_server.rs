//! A one-connection RTMP server for interop tests: a blocking socket loop around
//! the protocol core's `ServerSession`, with an application that accepts every
//! request and, on play, serves a list of FLV tags. The point is to show that
//! real clients accept what the core writes and that the core reads what real
//! clients send; the actor server is a separate, larger thing.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use ferrocast::protocol::command::{status, StatusInfo};
use ferrocast::protocol::flv::{FlvTag, FlvTagType};
use ferrocast::protocol::handshake::HandshakeKind;
use ferrocast::protocol::session::{
    ConnectAccept, MediaKind, PlayAccept, ServerSession, SessionConfig, SessionEvent,
};

/// What the server does when a client plays.
pub enum OnPlay {
    /// Send these tags as the stream, then StreamEOF + Play.Stop, then close.
    Serve(Vec<FlvTag>),
}

/// The result of one session.
pub struct Session {
    /// Which handshake the client did.
    pub handshake: Option<HandshakeKind>,
    /// Every event the session raised, in order.
    pub events: Vec<SessionEvent>,
    /// Why the session ended ("eof", "served", or an error).
    pub ended: String,
}

impl Session {
    /// The media messages of one kind, in order: (timestamp, payload).
    pub fn media(&self, kind: MediaKind) -> Vec<(u32, bytes::Bytes)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::MediaReceived {
                    kind: k,
                    timestamp,
                    payload,
                    ..
                } if *k == kind => Some((*timestamp, payload.clone())),
                _ => None,
            })
            .collect()
    }

    /// A one-line summary of the events, for failure messages.
    pub fn describe(&self) -> String {
        let names: Vec<String> = self
            .events
            .iter()
            .filter(|e| !matches!(e, SessionEvent::MediaReceived { .. }))
            .map(|e| format!("{e:?}").chars().take(60).collect())
            .collect();
        format!("events {names:?}, ended: {}", self.ended)
    }
}

/// Accepts one connection on `listener` and runs it to the end (client close,
/// stream served, or `limit`).
pub fn serve_one(listener: &TcpListener, on_play: OnPlay, limit: Duration) -> Session {
    let (mut sock, _) = listener.accept().expect("accept");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    sock.set_nodelay(true).expect("nodelay");
    let started = Instant::now();
    let mut session = ServerSession::new(SessionConfig::default());
    let mut rng = rand::rng();
    let mut tags = match on_play {
        OnPlay::Serve(tags) => Some(tags),
    };
    let mut record = Session {
        handshake: None,
        events: Vec::new(),
        ended: String::new(),
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut input: &[u8] = &[];
    let mut n;
    record.ended = loop {
        if started.elapsed() >= limit {
            break "time limit".to_string();
        }
        let now_ms = started.elapsed().as_millis() as u64;
        let events = session
            .handle_input(input, now_ms, &mut rng)
            .expect("the client speaks valid RTMP");
        let served = react(
            &mut session,
            events,
            &mut record,
            &mut tags,
            now_ms,
            &mut rng,
        );
        flush(&mut sock, &mut session);
        if served {
            // Let the client drain what it was sent before the socket closes.
            std::thread::sleep(Duration::from_millis(300));
            break "served".to_string();
        }
        n = match sock.read(&mut buf) {
            Ok(0) => break "eof".to_string(),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => 0,
            Err(e) => break format!("read error: {e}"),
        };
        input = &buf[..n];
    };
    record
}

fn flush(sock: &mut TcpStream, session: &mut ServerSession) {
    for segment in session.take_outbound() {
        sock.write_all(&segment).expect("write to the client");
    }
}

/// The application: accept everything; on play, serve the tags. Returns true
/// once a play has been served.
fn react(
    session: &mut ServerSession,
    events: Vec<SessionEvent>,
    record: &mut Session,
    tags: &mut Option<Vec<FlvTag>>,
    now_ms: u64,
    rng: &mut impl rand::RngCore,
) -> bool {
    let mut pending = events;
    let mut served = false;
    while !pending.is_empty() {
        let mut resume = false;
        for event in std::mem::take(&mut pending) {
            match &event {
                SessionEvent::HandshakeCompleted { kind, .. } => record.handshake = Some(*kind),
                SessionEvent::ConnectRequested { request, .. } => {
                    session
                        .accept_connect(*request, &ConnectAccept::default())
                        .expect("accept connect");
                    // Messages that followed connect were held until now.
                    resume = true;
                }
                SessionEvent::PublishRequested { request, .. } => {
                    session.accept_publish(*request).expect("accept publish");
                }
                SessionEvent::PlayRequested {
                    request,
                    stream_id,
                    reset,
                    ..
                } => {
                    let accept = PlayAccept {
                        reset: *reset,
                        ..PlayAccept::default()
                    };
                    session.accept_play(*request, &accept).expect("accept play");
                    if let Some(tags) = tags.take() {
                        serve(session, *stream_id, &tags);
                        served = true;
                    }
                }
                _ => {}
            }
            record.events.push(event);
        }
        if resume {
            pending = session
                .handle_input(&[], now_ms, rng)
                .expect("held input is valid");
        }
    }
    served
}

fn serve(session: &mut ServerSession, stream_id: u32, tags: &[FlvTag]) {
    for tag in tags {
        let sent = match tag.tag_type {
            FlvTagType::Audio => {
                session.send_media(stream_id, MediaKind::Audio, tag.timestamp, &tag.data)
            }
            FlvTagType::Video => {
                session.send_media(stream_id, MediaKind::Video, tag.timestamp, &tag.data)
            }
            FlvTagType::ScriptData => session
                .send_data_raw(stream_id, tag.timestamp, &tag.data)
                .map(|()| true),
            FlvTagType::Other(_) => Ok(true),
        };
        sent.expect("media goes out");
    }
    session.send_stream_eof(stream_id).expect("stream EOF");
    let stop = StatusInfo::new(
        status::LEVEL_STATUS,
        status::NS_PLAY_STOP,
        "Stopped playing cam.",
    );
    session.send_status(stream_id, &stop).expect("Play.Stop");
}
