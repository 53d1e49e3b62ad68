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
                        return Ok(HandshakeStep::Continue {
                            send: send.freeze(),
                        });
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
                        return Ok(HandshakeStep::Continue {
                            send: send.freeze(),
                        });
                    };
                    let awaiting = answer_c1(c1_packet, now_ms, rng, &mut send);
                    self.state = State::AwaitC2(Box::new(awaiting));
                }
                State::AwaitC2(mut awaiting) => {
                    let Some(c2) = awaiting.c2.fill(&mut input) else {
                        self.state = State::AwaitC2(awaiting);
                        return Ok(HandshakeStep::Continue {
                            send: send.freeze(),
                        });
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

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::protocol::handshake::DigestSchema;

    /// Feeds `input` in one go to a fresh server.
    fn serve(input: &[u8]) -> Result<HandshakeStep, HandshakeError> {
        ServerHandshake::new().handle_input(input, 500, &mut rng(1))
    }

    /// Feeds C0+C1 and returns (S0, S1, S2) plus the machine, waiting for C2.
    fn answer(c0c1: &[u8]) -> (ServerHandshake, Vec<u8>) {
        let mut server = ServerHandshake::new();
        let step = server.handle_input(c0c1, 500, &mut rng(1)).unwrap();
        assert!(step.outcome().is_none());
        (server, step.send().to_vec())
    }

    fn with_c0(c1: &[u8; HANDSHAKE_PACKET_LEN]) -> Vec<u8> {
        let mut v = vec![RTMP_VERSION];
        v.extend_from_slice(c1);
        v
    }

    #[test]
    fn rejects_rtmpe_versions_on_the_first_byte() {
        for version in [6u8, 8, 9] {
            assert_eq!(
                serve(&[version]),
                Err(HandshakeError::EncryptedNotSupported {
                    version,
                    packet: "C0"
                })
            );
        }
    }

    #[test]
    fn rejects_every_other_version_but_3() {
        // 0x16 is a TLS ClientHello (RTMPS to the plain port), b'G' an HTTP GET.
        for version in [0u8, 1, 2, 4, 5, 7, 10, 31, 32, 0x16, b'G', 255] {
            assert_eq!(
                serve(&[version, 0, 0]),
                Err(HandshakeError::UnsupportedVersion {
                    version,
                    packet: "C0"
                })
            );
        }
    }

    #[test]
    fn refuses_more_input_after_an_error() {
        let mut server = ServerHandshake::new();
        assert!(server.handle_input(&[6], 0, &mut rng(1)).is_err());
        assert_eq!(
            server.handle_input(&[3], 0, &mut rng(1)),
            Err(HandshakeError::Finished)
        );
    }

    #[test]
    fn rejects_captured_rtmpe_c0_from_rtmpdump() {
        assert_eq!(
            serve(RTMPDUMP_RTMPE_C0C1),
            Err(HandshakeError::EncryptedNotSupported {
                version: 6,
                packet: "C0"
            })
        );
    }

    #[test]
    fn sends_nothing_until_c1_is_complete() {
        let step = serve(&FFMPEG_C0C1[..HANDSHAKE_PACKET_LEN]).unwrap();
        assert_eq!(step, HandshakeStep::Continue { send: Bytes::new() });
    }

    #[test]
    fn answers_captured_ffmpeg_c1_with_a_digest_s1_and_signed_s2_as_ffmpeg_checks_them() {
        let (_, out) = answer(FFMPEG_C0C1);
        assert_eq!(out.len(), 1 + 2 * HANDSHAKE_PACKET_LEN);
        assert_eq!(out[0], 3);
        let (s1, s2) = out[1..].split_at(HANDSHAKE_PACKET_LEN);
        assert_eq!(&s1[..4], &500u32.to_be_bytes());
        // ffmpeg (playing) validates S1 only when byte 4 is >= 3, tries the
        // 772 layout, then 8; we answer in the client's layout (8).
        assert!(s1[4] >= 3);
        assert!(naive_has_digest(s1, 8, FMS_TEXT));
        // ffmpeg: digest = HMAC(68-byte FMS key, C1 digest), signature =
        // HMAC(digest, S2[..1504]) must equal S2[1504..].
        let c1 = c1_of(FFMPEG_C0C1);
        assert!(naive_has_signature(s2, &c1[494..526], FMS_TEXT));
    }

    #[test]
    fn answers_captured_rtmpdump_fp9_c1_with_a_digest_handshake() {
        let (_, out) = answer(RTMPDUMP_FP9_C0C1);
        let s1 = &out[1..1 + HANDSHAKE_PACKET_LEN];
        assert_ne!(s1[4], 0, "librtmp treats a zero version byte as simple");
        assert!(naive_has_digest(s1, 8, FMS_TEXT));
    }

    #[test]
    fn answers_captured_simple_rtmpdump_c1_with_zero_version_s1_and_verbatim_s2() {
        let (_, out) = answer(RTMPDUMP_C0C1);
        let (s1, s2) = out[1..].split_at(HANDSHAKE_PACKET_LEN);
        assert_eq!(&s1[4..8], &[0; 4]);
        // librtmp compares all 1536 bytes of S2 with its C1.
        assert_eq!(s2, &RTMPDUMP_C0C1[1..]);
    }

    #[test]
    fn validates_hand_built_digest_c1_in_either_layout_and_answers_in_the_same_one() {
        for (field, bytes, pos, schema) in [
            (8, [1, 2, 3, 4], 22, DigestSchema::DigestFirst),
            (772, [200; 4], 848, DigestSchema::KeyFirst),
        ] {
            let c1 = hand_built_digest_c1(field, bytes, pos);
            let (mut server, out) = answer(&with_c0(&c1));
            let (s1, s2) = out[1..].split_at(HANDSHAKE_PACKET_LEN);
            assert!(naive_has_digest(s1, field, FMS_TEXT));
            assert!(naive_has_signature(s2, &c1[pos..pos + 32], FMS_TEXT));
            let step = server.handle_input(s1, 0, &mut rng(2)).unwrap();
            let outcome = step.outcome().unwrap();
            assert_eq!(outcome.kind, HandshakeKind::Digest { schema });
            assert_eq!(outcome.peer_version, [9, 0, 124, 2]);
            assert_eq!(outcome.peer_epoch, 0x1234);
        }
    }

    #[test]
    fn falls_back_to_simple_when_the_digest_is_corrupted() {
        let mut c1 = hand_built_digest_c1(8, [1, 2, 3, 4], 22);
        c1[1000] ^= 0x80;
        let (mut server, out) = answer(&with_c0(&c1));
        let (s1, s2) = out[1..].split_at(HANDSHAKE_PACKET_LEN);
        assert_eq!(&s1[4..8], &[0; 4], "simple S1 has a zero version");
        assert_eq!(s2, &c1[..]);
        let step = server.handle_input(s1, 0, &mut rng(2)).unwrap();
        let outcome = step.outcome().unwrap();
        assert_eq!(outcome.kind, HandshakeKind::Simple);
        assert_eq!(outcome.peer_version, [9, 0, 124, 2]);
        assert_eq!(outcome.reply_check, ReplyCheck::Echoed);
    }

    #[test]
    fn accepts_an_s1_echo_as_c2_after_a_digest_c1_like_ffmpeg_publishing() {
        let (mut server, out) = answer(FFMPEG_C0C1);
        let s1 = &out[1..1 + HANDSHAKE_PACKET_LEN];
        let outcome = server.handle_input(s1, 0, &mut rng(2)).unwrap();
        let outcome = outcome.outcome().unwrap();
        assert_eq!(
            outcome.kind,
            HandshakeKind::Digest {
                schema: DigestSchema::DigestFirst
            }
        );
        assert_eq!(outcome.reply_check, ReplyCheck::Echoed);
    }

    #[test]
    fn ignores_time2_when_checking_an_echoed_c2() {
        let (mut server, out) = answer(RTMPDUMP_C0C1);
        let mut c2 = out[1..1 + HANDSHAKE_PACKET_LEN].to_vec();
        // librtmp puts its own uptime into bytes 4..8 of C2.
        c2[4..8].copy_from_slice(&[1, 2, 3, 4]);
        let step = server.handle_input(&c2, 0, &mut rng(2)).unwrap();
        assert_eq!(step.outcome().unwrap().reply_check, ReplyCheck::Echoed);
    }

    #[test]
    fn completes_with_a_garbage_c2_and_reports_the_mismatch() {
        let (mut server, _) = answer(FFMPEG_C0C1);
        let step = server
            .handle_input(&[0xAB; HANDSHAKE_PACKET_LEN], 0, &mut rng(2))
            .unwrap();
        assert_eq!(step.outcome().unwrap().reply_check, ReplyCheck::Mismatched);
    }

    #[test]
    fn keeps_bytes_after_c2_that_arrive_in_the_same_input() {
        // Same seed and time as `serve`, so this is the S1 that `serve` sends.
        let (_, out) = answer(RTMPDUMP_C0C1);
        let mut all = RTMPDUMP_C0C1.to_vec();
        all.extend_from_slice(&out[1..1 + HANDSHAKE_PACKET_LEN]); // C2 = S1 echo
        all.extend_from_slice(b"\x02chunk stream starts here");
        let step = serve(&all).unwrap();
        let HandshakeStep::Done { send, outcome } = step else {
            panic!("not done")
        };
        assert_eq!(send.len(), 1 + 2 * HANDSHAKE_PACKET_LEN);
        assert_eq!(&outcome.remaining[..], b"\x02chunk stream starts here");
        assert_eq!(outcome.reply_check, ReplyCheck::Echoed);
    }

    #[test]
    fn refuses_input_after_completion() {
        let (mut server, out) = answer(RTMPDUMP_C0C1);
        server
            .handle_input(&out[1..1 + HANDSHAKE_PACKET_LEN], 0, &mut rng(1))
            .unwrap();
        assert_eq!(
            server.handle_input(b"x", 0, &mut rng(1)),
            Err(HandshakeError::Finished)
        );
    }

    #[test]
    fn every_prefix_of_every_captured_vector_needs_more_or_fails_cleanly() {
        for (name, vector) in CAPTURED {
            for len in 0..=vector.len() {
                match serve(&vector[..len]) {
                    Ok(step) => assert!(step.outcome().is_none(), "{name} {len}"),
                    Err(e) => assert!(name.ends_with("rtmpe"), "{name} {len}: {e}"),
                }
            }
        }
    }

    #[test]
    fn random_corruptions_of_captured_transcripts_never_panic() {
        let mut r = rng(99);
        for (_, vector) in CAPTURED {
            let mut transcript = vector.to_vec();
            transcript.extend_from_slice(&vector[1..]); // a C2-sized tail
            transcript.extend_from_slice(b"tail");
            for _ in 0..64 {
                let mut t = transcript.clone();
                for _ in 0..1 + rand::Rng::random_range(&mut r, 0..8) {
                    let i = rand::Rng::random_range(&mut r, 0..t.len());
                    t[i] = rand::Rng::random(&mut r);
                }
                let cut = rand::Rng::random_range(&mut r, 0..=t.len());
                let mut server = ServerHandshake::new();
                let _ = server.handle_input(&t[..cut], 0, &mut r);
                let _ = server.handle_input(&t[cut..], 0, &mut r);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_in_arbitrary_pieces_never_panics(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..4000),
            cuts in proptest::collection::vec(0usize..4000, 0..6),
        ) {
            let mut data = data;
            if let Some(first) = data.first_mut() { *first = 3; }
            let mut server = ServerHandshake::new();
            let mut r = rng(5);
            let mut cuts = cuts;
            cuts.push(data.len());
            cuts.sort_unstable();
            let mut at = 0;
            for cut in cuts {
                let cut = cut.min(data.len()).max(at);
                let _ = server.handle_input(&data[at..cut], 0, &mut r);
                at = cut;
            }
        }
    }
}
