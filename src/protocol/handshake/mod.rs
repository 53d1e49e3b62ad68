//! The RTMP handshake as pure state machines, server and client roles.
//!
//! RTMP spec (Adobe, 2012) §5.2 defines the "simple" handshake: C0/S0 (one
//! version byte, 3), C1/S1 (4-byte time, 4 zero bytes, 1528 random bytes) and
//! C2/S2 (an echo of the peer's C1/S1). Flash Player, FMS, ffmpeg, librtmp
//! (rtmpdump, OBS) and most servers also speak the undocumented "digest" (a.k.a.
//! "complex", FP9) handshake: C1/S1 carry a non-zero version field and an
//! HMAC-SHA256 digest at a position derived from the packet itself, and C2/S2
//! end with a signature keyed from the peer's digest. See [`digest`] for the
//! exact formulas and `docs/protocol/handshake.md` for where real peers deviate
//! from the spec and how we cope.
//!
//! # Layout
//!
//! - [`ServerHandshake`]: answers C0+C1 with S0+S1+S2 (digest when the client's
//!   digest validates, simple otherwise), then consumes C2.
//! - [`ClientHandshake`]: sends C0+C1 (digest by default), consumes S0+S1, sends
//!   C2, consumes S2.
//! - [`digest`]: the digest positions, keys and HMAC computations.
//!
//! Both machines are sans-IO: feed them whatever bytes arrived (in any
//! fragmentation, byte by byte included) with [`ServerHandshake::handle_input`] /
//! [`ClientHandshake::handle_input`]; write out [`HandshakeStep::send`]; when the
//! step is [`HandshakeStep::Done`], hand [`HandshakeOutcome::remaining`] (bytes
//! that followed C2/S2 in the same read) to the chunk decoder. Internal buffers
//! never exceed one handshake packet (1536 bytes). Time and randomness are
//! arguments.

mod buffer;
mod client;
pub mod digest;
mod error;
mod server;

#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
mod testkit;

use bytes::Bytes;

pub use client::{ClientConfig, ClientHandshake, ClientMode};
pub use digest::DigestSchema;
pub use error::HandshakeError;
pub use server::{ServerHandshake, SERVER_DIGEST_VERSION};

/// The only RTMP version we speak: plain, unencrypted RTMP (C0/S0 byte).
pub const RTMP_VERSION: u8 = 3;

/// Length of C1, S1, C2 and S2, in bytes (spec §5.2.3, §5.2.4).
pub const HANDSHAKE_PACKET_LEN: usize = 1536;

/// Length of a handshake digest or signature (HMAC-SHA256), in bytes.
pub const DIGEST_LEN: usize = 32;

/// Which handshake flavour was negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeKind {
    /// The spec's handshake: C2/S2 echo the peer's C1/S1.
    Simple,
    /// The digest ("complex", FP9) handshake, with the digest block layout that
    /// both sides used.
    Digest {
        /// Where the digest sits in C1/S1.
        schema: DigestSchema,
    },
}

/// How the peer's second packet (C2 for a server, S2 for a client) related to
/// our first one (S1, resp. C1). Informational: real peers are sloppy here, so
/// a mismatch never fails the handshake by itself (see the doc page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyCheck {
    /// The reply echoed our packet's time and random bytes (the time2 field at
    /// bytes 4..8 is not compared: peers fill it differently).
    Echoed,
    /// The reply ended with a valid digest-handshake signature keyed from our
    /// digest.
    Signed,
    /// Neither an echo nor a valid signature.
    Mismatched,
}

/// Everything learnt from a completed handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeOutcome {
    /// Simple or digest, and the digest layout.
    pub kind: HandshakeKind,
    /// The time field of the peer's C1/S1 (its epoch for chunk timestamps,
    /// spec §5.2.3; usually 0 or the peer's uptime in ms).
    pub peer_epoch: u32,
    /// Bytes 4..8 of the peer's C1/S1: zero in a simple handshake, the Flash
    /// Player / server version (e.g. `[9, 0, 124, 2]` for ffmpeg) in a digest one.
    pub peer_version: [u8; 4],
    /// How the peer's C2/S2 related to our S1/C1.
    pub reply_check: ReplyCheck,
    /// Bytes that arrived after the peer's last handshake packet in the same
    /// input: the start of the chunk stream. Never drop them.
    pub remaining: Bytes,
}

/// What the caller does after feeding bytes to a handshake machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeStep {
    /// Still in progress: write `send` to the peer (it may be empty), then feed
    /// more input when it arrives.
    Continue {
        /// Bytes to write to the peer now, in order.
        send: Bytes,
    },
    /// Complete: write `send` (it may be empty), then switch to the chunk stream,
    /// starting with `outcome.remaining`.
    Done {
        /// Bytes to write to the peer before anything else.
        send: Bytes,
        /// What was negotiated.
        outcome: HandshakeOutcome,
    },
}

impl HandshakeStep {
    /// The bytes to write to the peer now (possibly empty).
    pub fn send(&self) -> &Bytes {
        match self {
            Self::Continue { send } | Self::Done { send, .. } => send,
        }
    }

    /// The outcome, when the handshake is complete.
    pub fn outcome(&self) -> Option<&HandshakeOutcome> {
        match self {
            Self::Continue { .. } => None,
            Self::Done { outcome, .. } => Some(outcome),
        }
    }
}

/// Reads the big-endian time field (bytes 0..4) of a handshake packet.
fn packet_time(packet: &[u8; HANDSHAKE_PACKET_LEN]) -> u32 {
    let [a, b, c, d, ..] = *packet;
    u32::from_be_bytes([a, b, c, d])
}

/// Reads the version field (bytes 4..8) of a C1/S1.
fn packet_version(packet: &[u8; HANDSHAKE_PACKET_LEN]) -> [u8; 4] {
    let [_, _, _, _, a, b, c, d, ..] = *packet;
    [a, b, c, d]
}

/// Whether `reply` echoes `ours` as the spec's C2/S2 should: same time field
/// (bytes 0..4) and same random bytes (8..1536). Bytes 4..8 ("time2") are not
/// compared: the spec wants the read time there, ffmpeg sends 0, librtmp its own
/// uptime, nginx-rtmp and SRS a verbatim copy.
fn is_echo(reply: &[u8; HANDSHAKE_PACKET_LEN], ours: &[u8; HANDSHAKE_PACKET_LEN]) -> bool {
    reply.get(..4) == ours.get(..4) && reply.get(8..) == ours.get(8..)
}

/// Checks a C0/S0 version byte.
fn check_version(version: u8, packet: &'static str) -> Result<(), HandshakeError> {
    match version {
        RTMP_VERSION => Ok(()),
        // 6 = RTMPE (Diffie-Hellman + RC4), 8 = RTMPE with XTEA-wrapped
        // signatures, 9 = RTMPE with Blowfish (librtmp handshake.h, ffmpeg
        // rtmpcrypt.c). We do not implement any of them.
        6 | 8 | 9 => Err(HandshakeError::EncryptedNotSupported { version, packet }),
        _ => Err(HandshakeError::UnsupportedVersion { version, packet }),
    }
}
