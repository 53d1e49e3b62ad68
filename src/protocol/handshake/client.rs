//! The client side of the handshake: C0+C1 out, S0+S1 in, C2 out, S2 in.
//!
//! Spec §5.2.5: the client sends C0+C1 together, waits for S1 before sending C2
//! and for S2 before sending anything else. We send C2 as soon as S1 is in (the
//! server may hold S2 until then).

use bytes::{BufMut, Bytes, BytesMut};
use rand::RngCore;

use super::buffer::PacketBuf;
use super::digest::{self, DigestSchema, FMS_KEY, FP_KEY, FP_KEY_DIGEST_LEN};
use super::{
    check_version, is_echo, packet_time, packet_version, HandshakeError, HandshakeKind,
    HandshakeOutcome, HandshakeStep, ReplyCheck, DIGEST_LEN, HANDSHAKE_PACKET_LEN, RTMP_VERSION,
};

/// Which handshake the client offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientMode {
    /// The spec's handshake: C1 with a zero version field, C2 echoing S1.
    Simple,
    /// The digest handshake, as Flash Player and ffmpeg offer it. Servers that do
    /// not speak it (or answer with a zero S1 version) get a simple C2.
    Digest {
        /// Where our C1 puts its digest.
        schema: DigestSchema,
        /// The version field of C1 (the claimed Flash Player version). Must be
        /// non-zero, or servers treat the C1 as simple.
        flash_version: [u8; 4],
    },
}

impl Default for ClientMode {
    /// Digest, laid out as ffmpeg does it (digest first, version 9.0.124.2).
    fn default() -> Self {
        Self::Digest {
            schema: DigestSchema::DigestFirst,
            flash_version: [9, 0, 124, 2],
        }
    }
}

/// Client handshake options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientConfig {
    /// Simple or digest.
    pub mode: ClientMode,
    /// When the server answers a digest C1 with a digest S1 (non-zero version),
    /// require its S1 digest and its S2 signature to be valid, as ffmpeg does
    /// when playing and librtmp always does. Off by default: then an invalid
    /// server digest falls back to a simple C2 (what ffmpeg does when
    /// publishing) and a bad S2 is only reported. A server that answers with a
    /// simple S1 (zero version) is accepted either way; check
    /// [`HandshakeOutcome::kind`] if digest is required.
    pub verify_server: bool,
}

/// The client handshake state machine. Created together with C0+C1 by
/// [`ClientHandshake::start`]; feed it every byte read until it returns
/// [`HandshakeStep::Done`].
#[derive(Debug)]
pub struct ClientHandshake {
    config: ClientConfig,
    /// The C1 we sent, kept to check S2 against.
    c1: Box<[u8; HANDSHAKE_PACKET_LEN]>,
    /// Our C1 digest and its layout, in digest mode.
    c1_digest: Option<(DigestSchema, [u8; DIGEST_LEN])>,
    /// Where we are; `Finished` after completion or any error.
    state: State,
}

#[derive(Debug)]
enum State {
    /// C0+C1 sent; waiting for S0.
    AwaitS0,
    /// S0 was 3; collecting S1.
    AwaitS1 { s1: PacketBuf },
    /// C2 produced; collecting S2.
    AwaitS2 {
        s2: PacketBuf,
        kind: HandshakeKind,
        peer_epoch: u32,
        peer_version: [u8; 4],
    },
    /// Completed or failed.
    Finished,
}

impl ClientHandshake {
    /// Builds C0+C1 and the machine that waits for the server's answer. Write
    /// the returned bytes to the server first.
    ///
    /// `now_ms` becomes the time field of C1 (our epoch); `rng` fills C1.
    pub fn start<R: RngCore + ?Sized>(
        config: ClientConfig,
        now_ms: u32,
        rng: &mut R,
    ) -> (Self, Bytes) {
        let mut c1 = Box::new([0u8; HANDSHAKE_PACKET_LEN]);
        rng.fill_bytes(&mut c1[..]);
        c1[..4].copy_from_slice(&now_ms.to_be_bytes());
        let c1_digest = match config.mode {
            ClientMode::Simple => {
                // Spec §5.2.3: C1 bytes 4..8 "MUST be all 0s".
                c1[4..8].fill(0);
                None
            }
            ClientMode::Digest {
                schema,
                flash_version,
            } => {
                c1[4..8].copy_from_slice(&flash_version);
                let d =
                    digest::imprint_packet_digest(&mut c1, schema, &FP_KEY[..FP_KEY_DIGEST_LEN]);
                Some((schema, d))
            }
        };
        let mut send = BytesMut::with_capacity(1 + HANDSHAKE_PACKET_LEN);
        send.put_u8(RTMP_VERSION);
        send.put_slice(&c1[..]);
        let machine = Self {
            config,
            c1,
            c1_digest,
            state: State::AwaitS0,
        };
        (machine, send.freeze())
    }

    /// Feeds bytes read from the server. Returns C2 once S1 is in and, once S2
    /// is in, the outcome with any bytes that followed S2.
    ///
    /// `rng` fills a digest C2 (random bytes plus a signature). `now_ms` is
    /// taken for symmetry with the server and is unused today: a simple C2 is a
    /// verbatim echo of S1, time2 included (see the doc page).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::EncryptedNotSupported`] or
    /// [`HandshakeError::UnsupportedVersion`] when S0 is not 3;
    /// [`HandshakeError::ServerDigestInvalid`] and
    /// [`HandshakeError::ServerSignatureInvalid`] only with
    /// [`ClientConfig::verify_server`]; [`HandshakeError::Finished`] when called
    /// after completion or an error.
    pub fn handle_input<R: RngCore + ?Sized>(
        &mut self,
        mut input: &[u8],
        now_ms: u32,
        rng: &mut R,
    ) -> Result<HandshakeStep, HandshakeError> {
        let _ = now_ms;
        let mut send = BytesMut::new();
        loop {
            // Any early return below leaves `Finished` behind unless the arm
            // restores a state, so an error ends the machine.
            match std::mem::replace(&mut self.state, State::Finished) {
                State::AwaitS0 => {
                    let Some((&version, rest)) = input.split_first() else {
                        self.state = State::AwaitS0;
                        return Ok(HandshakeStep::Continue {
                            send: send.freeze(),
                        });
                    };
                    // librtmp only warns when S0 differs from C0; we asked for 3,
                    // and anything else (RTMPE) could not be read past S2.
                    check_version(version, "S0")?;
                    input = rest;
                    self.state = State::AwaitS1 {
                        s1: PacketBuf::new(),
                    };
                }
                State::AwaitS1 { mut s1 } => {
                    let Some(s1_packet) = s1.fill(&mut input) else {
                        self.state = State::AwaitS1 { s1 };
                        return Ok(HandshakeStep::Continue {
                            send: send.freeze(),
                        });
                    };
                    let (kind, c2) = self.answer_s1(s1_packet, rng)?;
                    send.put_slice(&c2);
                    self.state = State::AwaitS2 {
                        s2: PacketBuf::new(),
                        kind,
                        peer_epoch: packet_time(s1_packet),
                        peer_version: packet_version(s1_packet),
                    };
                }
                State::AwaitS2 {
                    mut s2,
                    kind,
                    peer_epoch,
                    peer_version,
                } => {
                    let Some(s2_packet) = s2.fill(&mut input) else {
                        self.state = State::AwaitS2 {
                            s2,
                            kind,
                            peer_epoch,
                            peer_version,
                        };
                        return Ok(HandshakeStep::Continue {
                            send: send.freeze(),
                        });
                    };
                    let reply_check = self.check_s2(s2_packet, kind)?;
                    let outcome = HandshakeOutcome {
                        kind,
                        peer_epoch,
                        peer_version,
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

    /// Decides the handshake kind from S1 and builds C2.
    ///
    /// Like librtmp, a zero first version byte in S1 means the server chose the
    /// simple handshake. Otherwise we look for the server digest (our layout
    /// first, like ffmpeg and librtmp try both); without one we fall back to
    /// simple unless told to verify the server.
    fn answer_s1<R: RngCore + ?Sized>(
        &self,
        s1: &[u8; HANDSHAKE_PACKET_LEN],
        rng: &mut R,
    ) -> Result<(HandshakeKind, [u8; HANDSHAKE_PACKET_LEN]), HandshakeError> {
        let server_digest = match self.c1_digest {
            Some((schema, _)) if packet_version(s1)[0] != 0 => {
                match digest::find_server_digest(s1, schema) {
                    Some(found) => Some(found),
                    None if self.config.verify_server => {
                        return Err(HandshakeError::ServerDigestInvalid {
                            version: packet_version(s1),
                        })
                    }
                    None => None,
                }
            }
            _ => None,
        };
        match server_digest {
            Some((schema, s1_digest)) => {
                let mut c2 = [0u8; HANDSHAKE_PACKET_LEN];
                rng.fill_bytes(&mut c2);
                digest::sign_reply(&mut c2, &s1_digest, &FP_KEY);
                Ok((HandshakeKind::Digest { schema }, c2))
            }
            // A verbatim echo of S1 (time2 included), as ffmpeg sends it; it
            // satisfies librtmp's full-packet compare and ffmpeg's server check
            // (time and random bytes).
            None => Ok((HandshakeKind::Simple, *s1)),
        }
    }

    /// Classifies S2 and, when verifying a digest server, insists on its
    /// signature (ffmpeg and librtmp fail with "Signature mismatch" / "Server not
    /// genuine Adobe!" there).
    fn check_s2(
        &self,
        s2: &[u8; HANDSHAKE_PACKET_LEN],
        kind: HandshakeKind,
    ) -> Result<ReplyCheck, HandshakeError> {
        let signed = self
            .c1_digest
            .is_some_and(|(_, d)| digest::verify_reply_signature(s2, &d, &FMS_KEY));
        if signed {
            return Ok(ReplyCheck::Signed);
        }
        if let (HandshakeKind::Digest { schema }, true) = (kind, self.config.verify_server) {
            return Err(HandshakeError::ServerSignatureInvalid { schema });
        }
        Ok(if is_echo(s2, &self.c1) {
            ReplyCheck::Echoed
        } else {
            ReplyCheck::Mismatched
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    const DIGEST_FIRST: ClientMode = ClientMode::Digest {
        schema: DigestSchema::DigestFirst,
        flash_version: [9, 0, 124, 2],
    };

    fn config(mode: ClientMode, verify_server: bool) -> ClientConfig {
        ClientConfig {
            mode,
            verify_server,
        }
    }

    fn start(config: ClientConfig) -> (ClientHandshake, Vec<u8>) {
        let (client, c0c1) = ClientHandshake::start(config, 0x0102_0304, &mut rng(3));
        (client, c0c1.to_vec())
    }

    /// S0+S1+S2 as ffmpeg's listen mode answers: S1 with a zero version, S2 =
    /// C1 with time2 zeroed (`rtmp_server_handshake`).
    fn ffmpeg_style_simple_answer(c1: &[u8]) -> (Vec<u8>, [u8; HANDSHAKE_PACKET_LEN]) {
        let mut s1 = [0x42u8; HANDSHAKE_PACKET_LEN];
        s1[..4].copy_from_slice(&[0, 0, 0, 9]);
        s1[4..8].fill(0);
        let mut out = vec![3];
        out.extend_from_slice(&s1);
        out.extend_from_slice(&c1[..4]);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&c1[8..]);
        (out, s1)
    }

    #[test]
    fn simple_c1_has_our_time_and_a_zero_version() {
        let (_, c0c1) = start(config(ClientMode::Simple, false));
        assert_eq!(c0c1.len(), 1 + HANDSHAKE_PACKET_LEN);
        assert_eq!(&c0c1[..9], &[3, 1, 2, 3, 4, 0, 0, 0, 0]);
    }

    #[test]
    fn digest_c1_carries_the_flash_version_and_a_valid_digest_in_the_chosen_layout() {
        for (schema, field) in [
            (DigestSchema::DigestFirst, 8),
            (DigestSchema::KeyFirst, 772),
        ] {
            let mode = ClientMode::Digest {
                schema,
                flash_version: [11, 2, 202, 235],
            };
            let (_, c0c1) = start(config(mode, false));
            assert_eq!(&c0c1[5..9], &[11, 2, 202, 235]);
            assert!(naive_has_digest(&c0c1[1..], field, FP_TEXT));
            assert!(!naive_has_digest(&c0c1[1..], 780 - field, FP_TEXT));
        }
    }

    #[test]
    fn completes_a_simple_handshake_against_an_ffmpeg_style_server() {
        for mode in [ClientMode::Simple, DIGEST_FIRST] {
            let (mut client, c0c1) = start(config(mode, true));
            let (answer, s1) = ffmpeg_style_simple_answer(&c0c1[1..]);
            let step = client.handle_input(&answer, 0, &mut rng(4)).unwrap();
            let HandshakeStep::Done { send, outcome } = step else {
                panic!("not done")
            };
            assert_eq!(&send[..], &s1[..], "C2 echoes S1 verbatim");
            assert_eq!(outcome.kind, HandshakeKind::Simple);
            assert_eq!(outcome.peer_epoch, 9);
            assert_eq!(outcome.reply_check, ReplyCheck::Echoed);
            assert!(outcome.remaining.is_empty());
        }
    }

    #[test]
    fn sends_a_signed_c2_as_soon_as_a_digest_s1_is_in() {
        let (mut client, _) = start(config(DIGEST_FIRST, true));
        let s1 = hand_built_digest_s1(8, [1, 2, 3, 4], 22);
        let mut input = vec![3];
        input.extend_from_slice(&s1);
        let step = client.handle_input(&input, 0, &mut rng(4)).unwrap();
        let HandshakeStep::Continue { send: c2 } = step else {
            panic!("done too early")
        };
        assert_eq!(c2.len(), HANDSHAKE_PACKET_LEN);
        // ffmpeg: C2 signature keyed with HMAC(62-byte player key, S1 digest).
        assert!(naive_has_signature(&c2, &s1[22..54], FP_TEXT));
    }

    #[test]
    fn finds_the_server_digest_in_the_other_layout_too() {
        let (mut client, c0c1) = start(config(DIGEST_FIRST, true));
        let s1 = hand_built_digest_s1(772, [200; 4], 848);
        let mut s2 = [0x33u8; HANDSHAKE_PACKET_LEN];
        let client_digest_pos = naive_digest_pos(&c0c1[1..], 8);
        naive_sign(&mut s2, &c0c1[1 + client_digest_pos..][..32], FMS_TEXT);
        let mut input = vec![3];
        input.extend_from_slice(&s1);
        input.extend_from_slice(&s2);
        input.extend_from_slice(b"after");
        let step = client.handle_input(&input, 0, &mut rng(4)).unwrap();
        let outcome = step.outcome().unwrap();
        assert_eq!(
            outcome.kind,
            HandshakeKind::Digest {
                schema: DigestSchema::KeyFirst
            }
        );
        assert_eq!(outcome.peer_version, [3, 5, 1, 1]);
        assert_eq!(outcome.reply_check, ReplyCheck::Signed);
        assert_eq!(&outcome.remaining[..], b"after");
    }

    #[test]
    fn a_versioned_s1_without_digest_falls_back_to_simple_unless_verifying() {
        let mut s1 = hand_built_digest_s1(8, [1, 2, 3, 4], 22);
        s1[100] ^= 1;
        let mut input = vec![3];
        input.extend_from_slice(&s1);

        let (mut lenient, _) = start(config(DIGEST_FIRST, false));
        let step = lenient.handle_input(&input, 0, &mut rng(4)).unwrap();
        assert_eq!(
            &step.send()[..],
            &s1[..],
            "C2 echoes S1, as ffmpeg publishing does"
        );

        let (mut strict, _) = start(config(DIGEST_FIRST, true));
        assert_eq!(
            strict.handle_input(&input, 0, &mut rng(4)),
            Err(HandshakeError::ServerDigestInvalid {
                version: [3, 5, 1, 1]
            })
        );
        assert_eq!(
            strict.handle_input(&[], 0, &mut rng(4)),
            Err(HandshakeError::Finished)
        );
    }

    #[test]
    fn a_bad_s2_signature_is_reported_or_refused_when_verifying() {
        let s1 = hand_built_digest_s1(8, [1, 2, 3, 4], 22);
        let mut input = vec![3];
        input.extend_from_slice(&s1);
        input.extend_from_slice(&[0x77; HANDSHAKE_PACKET_LEN]);

        let (mut lenient, _) = start(config(DIGEST_FIRST, false));
        let step = lenient.handle_input(&input, 0, &mut rng(4)).unwrap();
        assert_eq!(step.outcome().unwrap().reply_check, ReplyCheck::Mismatched);

        let (mut strict, _) = start(config(DIGEST_FIRST, true));
        assert_eq!(
            strict.handle_input(&input, 0, &mut rng(4)),
            Err(HandshakeError::ServerSignatureInvalid {
                schema: DigestSchema::DigestFirst
            })
        );
    }

    #[test]
    fn refuses_an_encrypted_or_unknown_s0() {
        let (mut client, _) = start(ClientConfig::default());
        assert_eq!(
            client.handle_input(&[6], 0, &mut rng(4)),
            Err(HandshakeError::EncryptedNotSupported {
                version: 6,
                packet: "S0"
            })
        );
        let (mut client, _) = start(ClientConfig::default());
        assert_eq!(
            client.handle_input(&[0x16], 0, &mut rng(4)),
            Err(HandshakeError::UnsupportedVersion {
                version: 0x16,
                packet: "S0"
            })
        );
    }

    #[test]
    fn every_prefix_and_random_corruption_of_a_server_answer_never_panics() {
        let (_, c0c1) = start(config(DIGEST_FIRST, false));
        let (mut answer, _) = ffmpeg_style_simple_answer(&c0c1[1..]);
        answer.extend_from_slice(b"rest");
        for verify_server in [false, true] {
            for len in 0..=answer.len() {
                let (mut client, _) = start(config(DIGEST_FIRST, verify_server));
                let step = client.handle_input(&answer[..len], 0, &mut rng(4)).unwrap();
                assert_eq!(step.outcome().is_some(), len > 2 * HANDSHAKE_PACKET_LEN);
            }
        }
        let mut r = rng(17);
        for round in 0..256 {
            let mut a = answer.clone();
            for _ in 0..1 + rand::Rng::random_range(&mut r, 0..8) {
                let i = rand::Rng::random_range(&mut r, 0..a.len());
                a[i] = rand::Rng::random(&mut r);
            }
            let (mut client, _) = start(config(DIGEST_FIRST, round % 2 == 0));
            let cut = rand::Rng::random_range(&mut r, 0..=a.len());
            let _ = client.handle_input(&a[..cut], 0, &mut r);
            let _ = client.handle_input(&a[cut..], 0, &mut r);
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_server_bytes_never_panic(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..4000),
            cut in 0usize..4000,
            verify_server: bool,
        ) {
            let mut data = data;
            if let Some(first) = data.first_mut() { *first = 3; }
            let (mut client, _) = start(config(DIGEST_FIRST, verify_server));
            let cut = cut.min(data.len());
            let mut r = rng(6);
            let _ = client.handle_input(&data[..cut], 0, &mut r);
            let _ = client.handle_input(&data[cut..], 0, &mut r);
        }
    }
}
