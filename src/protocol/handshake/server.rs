//! The server side of the handshake: C0+C1 in, S0+S1+S2 out, C2 in.
//!
//! Spec §5.2.5: the server waits for C0 before sending S0 and S1 (it may) and for
//! C1 before sending S2; it waits for C2 before sending anything else. We wait
//! for C1 before sending anything, because a digest S1 must use the client's
//! digest layout, then send S0+S1+S2 in one write (ffmpeg reads S0, S1 and S2
//! before it writes C2, so S2 must not wait for C2).

use bytes::{BufMut, Bytes, BytesMut};
use rand::RngCore;

use super::buffer::PacketBuf;
use super::digest::{self, FMS_KEY, FMS_KEY_DIGEST_LEN, FP_KEY};
use super::{
    check_version, is_echo, packet_time, packet_version, HandshakeError, HandshakeKind,
    HandshakeOutcome, HandshakeStep, ReplyCheck, DIGEST_LEN, HANDSHAKE_PACKET_LEN, RTMP_VERSION,
};

/// The version field of a digest S1. Its first byte must be at least 3: ffmpeg,
/// when playing, only looks for a server digest (and then insists on it) when
/// S1 byte 4 is >= 3, and librtmp treats a zero first byte as "simple".
pub const SERVER_DIGEST_VERSION: [u8; 4] = [5, 0, 3, 1];

/// The server handshake state machine. Create one per accepted connection and
/// feed it every byte read until it returns [`HandshakeStep::Done`].
#[derive(Debug)]
pub struct ServerHandshake {
    /// Where we are; `Finished` after completion or any error.
    state: State,
}

#[derive(Debug)]
enum State {
    /// Nothing received yet.
    AwaitC0,
    /// C0 was 3; collecting C1.
    AwaitC1 { c1: PacketBuf },
    /// S0+S1+S2 were produced; collecting C2.
    AwaitC2(Box<AwaitingC2>),
    /// Completed or failed.
    Finished,
}

/// What the C2 check and the outcome need once S1 is out.
#[derive(Debug)]
struct AwaitingC2 {
    c2: PacketBuf,
    /// The S1 we sent, to check C2 against.
    s1: [u8; HANDSHAKE_PACKET_LEN],
    /// Our S1 digest, when we answered with a digest handshake: a signed C2 is
    /// keyed from it.
    s1_digest: Option<[u8; DIGEST_LEN]>,
    kind: HandshakeKind,
    peer_epoch: u32,
    peer_version: [u8; 4],
}

impl Default for ServerHandshake {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerHandshake {
    /// A machine waiting for C0.
    pub fn new() -> Self {
        Self {
            state: State::AwaitC0,
        }
    }

    /// Feeds bytes read from the client. Returns the bytes to write back and,
    /// once C2 is in, the outcome with any bytes that followed C2.
    ///
    /// `now_ms` becomes the time field of S1 (our epoch); `rng` fills S1 and, for
    /// a digest handshake, S2.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::EncryptedNotSupported`] for an RTMPE C0 (6, 8, 9),
    /// [`HandshakeError::UnsupportedVersion`] for any other C0 but 3, both as
    /// soon as the first byte arrives; [`HandshakeError::Finished`] when called
    /// after completion or an error. A bad digest or a bad C2 is never an error:
    /// the first falls back to the simple handshake, the second is reported in
    /// [`HandshakeOutcome::reply_check`].
    pub fn handle_input<R: RngCore + ?Sized>(
        &mut self,
        mut input: &[u8],
        now_ms: u32,
        rng: &mut R,
    ) -> Result<HandshakeStep, HandshakeError> {
        let mut send = BytesMut::new();
        loop {
            // Any early return below leaves `Finished` behind unless the arm
            // restores a state, so an error ends the machine.
            match std::mem::replace(&mut self.state, State::Finished) {
                State::AwaitC0 => {
                    let Some((&version, rest)) = input.split_first() else {
                        self.state = State::AwaitC0;
                        return Ok(HandshakeStep::Continue { send: send.freeze() });
                    };
                    // Spec §5.2.2: "A server that does not recognize the client's
                    // requested version SHOULD respond with 3"; we close instead,
                    // since everything after an RTMPE C0 is encrypted.
                    check_version(version, "C0")?;
                    input = rest;
                    self.state = State::AwaitC1 {
                        c1: PacketBuf::new(),
                    };
                }
                State::AwaitC1 { mut c1 } => {
                    let Some(c1_packet) = c1.fill(&mut input) else {
                        self.state = State::AwaitC1 { c1 };
                        return Ok(HandshakeStep::Continue { send: send.freeze() });
                    };
                    let awaiting = answer_c1(c1_packet, now_ms, rng, &mut send);
                    self.state = State::AwaitC2(Box::new(awaiting));
                }
                State::AwaitC2(mut awaiting) => {
                    let Some(c2) = awaiting.c2.fill(&mut input) else {
                        self.state = State::AwaitC2(awaiting);
                        return Ok(HandshakeStep::Continue { send: send.freeze() });
                    };
                    let reply_check = check_c2(c2, &awaiting.s1, awaiting.s1_digest.as_ref());
                    let outcome = HandshakeOutcome {
                        kind: awaiting.kind,
                        peer_epoch: awaiting.peer_epoch,
                        peer_version: awaiting.peer_version,
                        reply_check,
                        remaining: Bytes::copy_from_slice(input),
                    };
                    return Ok(HandshakeStep::Done {
                        send: send.freeze(),
                        outcome,
                    });
                }
                State::Finished => return Err(HandshakeError::Finished),
            }
        }
    }
}

/// Builds S0+S1+S2 for `c1` into `send` and returns the state for C2.
///
/// A C1 with a zero version field is a simple handshake (like nginx-rtmp and
/// SRS, we do not look for a digest there). Otherwise the client digest is
/// looked for at both positions; when neither validates we fall back to the
/// simple handshake, whose S1 carries a zero version so that ffmpeg and librtmp
/// do not look for a server digest either.
fn answer_c1<R: RngCore + ?Sized>(
    c1: &[u8; HANDSHAKE_PACKET_LEN],
    now_ms: u32,
    rng: &mut R,
    send: &mut BytesMut,
) -> AwaitingC2 {
    let peer_version = packet_version(c1);
    let client_digest = if peer_version == [0; 4] {
        None
    } else {
        digest::find_client_digest(c1)
    };

    let mut s1 = [0u8; HANDSHAKE_PACKET_LEN];
    rng.fill_bytes(&mut s1);
    s1[..4].copy_from_slice(&now_ms.to_be_bytes());
    let (kind, s1_digest, s2) = match client_digest {
        Some((schema, c1_digest)) => {
            s1[4..8].copy_from_slice(&SERVER_DIGEST_VERSION);
            let s1_digest =
                digest::imprint_packet_digest(&mut s1, schema, &FMS_KEY[..FMS_KEY_DIGEST_LEN]);
            let mut s2 = [0u8; HANDSHAKE_PACKET_LEN];
            rng.fill_bytes(&mut s2);
            digest::sign_reply(&mut s2, &c1_digest, &FMS_KEY);
            (HandshakeKind::Digest { schema }, Some(s1_digest), s2)
        }
        None => {
            // Spec §5.2.3: S1 bytes 4..8 "MUST be all 0s".
            s1[4..8].fill(0);
            // S2 is a verbatim copy of C1, time2 included: the spec wants the
            // time C1 was read in bytes 4..8, but librtmp (rtmpdump, OBS)
            // compares all 1536 bytes of S2 with its C1 and logs a warning on any
            // difference, and nothing reads time2.
            (HandshakeKind::Simple, None, *c1)
        }
    };

    send.reserve(1 + 2 * HANDSHAKE_PACKET_LEN);
    send.put_u8(RTMP_VERSION);
    send.put_slice(&s1);
    send.put_slice(&s2);
    AwaitingC2 {
        c2: PacketBuf::new(),
        s1,
        s1_digest,
        kind,
        peer_epoch: packet_time(c1),
        peer_version,
    }
}

/// Classifies C2. Flash Player, ffmpeg (when playing) and librtmp (FP9 mode)
/// sign it; ffmpeg when publishing echoes S1 even after a digest C1; the simple
/// handshake echoes. Nothing is refused: ffmpeg's own server only warns, and
/// nginx-rtmp and SRS do not look at C2 at all.
fn check_c2(
    c2: &[u8; HANDSHAKE_PACKET_LEN],
    s1: &[u8; HANDSHAKE_PACKET_LEN],
    s1_digest: Option<&[u8; DIGEST_LEN]>,
) -> ReplyCheck {
    if s1_digest.is_some_and(|d| digest::verify_reply_signature(c2, d, &FP_KEY)) {
        ReplyCheck::Signed
    } else if is_echo(c2, s1) {
        ReplyCheck::Echoed
    } else {
        ReplyCheck::Mismatched
    }
}
