//! The whole server session after a valid handshake, driven by an application
//! that accepts every request, so the fuzzer reaches connected, publishing and
//! playing states.

use super::XorShift;
use crate::protocol::session::{
    ConnectAccept, PlayAccept, ServerSession, SessionConfig, SessionEvent,
};

/// Simple-handshake prelude: C0, a C1 with a zero version (no digest), a C2.
fn prelude() -> Vec<u8> {
    let mut bytes = vec![3u8];
    bytes.extend(std::iter::repeat_n(0u8, 2 * 1536));
    bytes
}

/// Byte 0 picks the piece size the input is fed in (0 = all at once); the rest
/// follows a fixed valid handshake as the client's chunk stream. Every request
/// is accepted and media is echoed back to the client on its stream, so the
/// outbound side (chunk encoder, AMF encoders) runs too.
pub fn session(data: &[u8]) {
    let Some((&piece, rest)) = data.split_first() else {
        return;
    };
    let piece = if piece == 0 {
        usize::MAX
    } else {
        usize::from(piece)
    };
    let mut session = ServerSession::new(SessionConfig::default());
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    if session.handle_input(&prelude(), 0, &mut rng).is_err() {
        return;
    }
    let mut now = 0u64;
    for chunk in rest.chunks(piece.min(rest.len()).max(1)) {
        now += 10;
        let Ok(events) = session.handle_input(chunk, now, &mut rng) else {
            return;
        };
        if !react(&mut session, events, now, &mut rng) {
            return;
        }
        let _ = session.take_outbound();
    }
}

/// Accepts every request (and feeds held input through after a connect);
/// false once the session failed.
fn react(
    session: &mut ServerSession,
    events: Vec<SessionEvent>,
    now: u64,
    rng: &mut XorShift,
) -> bool {
    let mut pending = events;
    // Each accepted connect may release held input, which yields more events.
    for _round in 0..4 {
        let mut again = false;
        for event in std::mem::take(&mut pending) {
            match event {
                SessionEvent::ConnectRequested { request, .. } => {
                    let _ = session.accept_connect(request, &ConnectAccept::default());
                    again = true;
                }
                SessionEvent::PublishRequested { request, .. } => {
                    let _ = session.accept_publish(request);
                }
                SessionEvent::PlayRequested { request, .. } => {
                    let _ = session.accept_play(request, &PlayAccept::default());
                }
                SessionEvent::MediaReceived {
                    stream_id,
                    kind,
                    timestamp,
                    payload,
                } => {
                    let _ = session.send_media(stream_id, kind, timestamp, &payload);
                }
                _ => {}
            }
        }
        if !again {
            return true;
        }
        match session.handle_input(&[], now, rng) {
            Ok(events) => pending = events,
            Err(_) => return false,
        }
    }
    true
}
