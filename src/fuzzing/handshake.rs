//! Both handshake machines with arbitrary peer bytes in arbitrary pieces.

use super::XorShift;
use crate::protocol::handshake::{
    ClientConfig, ClientHandshake, ClientMode, DigestSchema, HandshakeStep, ServerHandshake,
};

/// Byte 0 picks the role and options, byte 1 the piece size (0 = everything at
/// once); the rest is what the peer sends. Neither machine may panic, whatever
/// arrives.
pub fn handshake(data: &[u8]) {
    let [options, piece, peer @ ..] = data else {
        return;
    };
    let piece = if *piece == 0 {
        usize::MAX
    } else {
        usize::from(*piece)
    };
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);

    // Mostly start with a valid version byte so the fuzzer reaches C1/S1.
    let mut bytes = Vec::with_capacity(peer.len() + 1);
    if options & 0x80 == 0 {
        bytes.push(3);
    }
    bytes.extend_from_slice(peer);

    // Feeds the pieces until the machine finishes or fails.
    let feed = |f: &mut dyn FnMut(&[u8]) -> bool| {
        for chunk in bytes.chunks(piece.min(bytes.len()).max(1)) {
            if !f(chunk) {
                break;
            }
        }
    };

    if options & 1 == 0 {
        let mut server = ServerHandshake::new();
        feed(&mut |chunk| {
            matches!(
                server.handle_input(chunk, 7, &mut rng),
                Ok(HandshakeStep::Continue { .. })
            )
        });
    } else {
        let mode = match (options >> 1) & 3 {
            0 => ClientMode::Simple,
            1 => ClientMode::Digest {
                schema: DigestSchema::KeyFirst,
                flash_version: [128, 0, 3, 2],
            },
            _ => ClientMode::default(),
        };
        let config = ClientConfig {
            mode,
            verify_server: options & 8 != 0,
        };
        let (mut client, _c0c1) = ClientHandshake::start(config, 7, &mut rng);
        feed(&mut |chunk| {
            matches!(
                client.handle_input(chunk, 7, &mut rng),
                Ok(HandshakeStep::Continue { .. })
            )
        });
    }
}
