//! The one error type of the handshake layer.
//!
//! Any of these closes the connection: the handshake cannot be resumed. After
//! an error the machine answers every further input with
//! [`HandshakeError::Finished`].

/// A handshake failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The peer asked for encrypted RTMP (RTMPE: version byte 6, 8 or 9), which
    /// is not supported. Plain RTMP (3) over TLS (RTMPS) is the way to encrypt.
    #[error(
        "peer requested encrypted RTMP (RTMPE, version byte {version} in {packet}); \
         only plain RTMP (version 3) is supported"
    )]
    EncryptedNotSupported {
        /// The version byte received.
        version: u8,
        /// Which packet carried it: `"C0"` or `"S0"`.
        packet: &'static str,
    },
    /// The version byte is neither 3 nor an RTMPE version. A printable byte (e.g.
    /// `b'G'`) usually means an HTTP client; `0x16` a TLS ClientHello (RTMPS sent
    /// to a plain RTMP port).
    #[error("unsupported RTMP version byte {version:#04x} in {packet} (expected 3)")]
    UnsupportedVersion {
        /// The version byte received.
        version: u8,
        /// Which packet carried it: `"C0"` or `"S0"`.
        packet: &'static str,
    },
    /// The client was asked to verify the server and the server's S1 claims a
    /// digest handshake (non-zero version) but carries no valid digest at either
    /// position.
    #[error(
        "server S1 (version {}.{}.{}.{}) has no valid digest at either position",
        version[0], version[1], version[2], version[3]
    )]
    ServerDigestInvalid {
        /// The version field of the server's S1.
        version: [u8; 4],
    },
    /// The client was asked to verify the server and the server's S2 does not end
    /// with the signature keyed from our C1 digest.
    #[error("server S2 signature does not match our C1 digest ({schema:?} schema)")]
    ServerSignatureInvalid {
        /// The digest layout negotiated from S1.
        schema: super::DigestSchema,
    },
    /// Input was fed after the handshake had already completed or failed.
    #[error("handshake already finished (completed or failed); no more input accepted")]
    Finished,
}
