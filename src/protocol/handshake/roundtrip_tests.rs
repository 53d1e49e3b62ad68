//! Our client against our server, in memory, in every fragmentation.

use proptest::prelude::*;

use super::testkit::*;
use super::*;

/// Bytes the chunk stream starts with after each side's last handshake packet.
const AFTER_C2: &[u8] = b"\x03\x00\x00\x00\x00\x00\x3e\x14connect...";
const AFTER_S2: &[u8] = b"\x02\x00\x00\x00\x00\x00\x04\x05window";

/// What feeding one direction produced.
#[derive(Default)]
struct Fed {
    /// Everything the receiving machine asked to send back, in order.
    sent: Vec<u8>,
    /// The outcome, once done.
    outcome: Option<HandshakeOutcome>,
    /// `outcome.remaining` plus every fragment fed after completion: what the
    /// chunk decoder would see.
    after: Vec<u8>,
}

/// Cuts `bytes` into pieces of the sizes `sizes` yields (0 allowed: empty
/// reads must be harmless), the last piece taking the rest.
fn pieces<'a>(bytes: &'a [u8], sizes: &mut dyn FnMut() -> usize) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (head, tail) = rest.split_at(sizes().min(rest.len()));
        out.push(head);
        rest = tail;
    }
    out
}

/// Feeds `pieces` to a machine through `feed`; after completion the pieces go
/// to `after`, as a connection would hand them to the chunk decoder.
fn feed_all(
    pieces: Vec<&[u8]>,
    feed: &mut dyn FnMut(&[u8]) -> Result<HandshakeStep, HandshakeError>,
) -> Fed {
    let mut fed = Fed::default();
    for piece in pieces {
        if fed.outcome.is_some() {
            fed.after.extend_from_slice(piece);
            continue;
        }
        let step = feed(piece).expect("handshake step");
        fed.sent.extend_from_slice(step.send());
        if let HandshakeStep::Done { outcome, .. } = step {
            fed.after.extend_from_slice(&outcome.remaining);
            fed.outcome = Some(outcome);
        }
    }
    fed
}

/// Runs a whole handshake, every transfer cut by `sizes`. Returns the server's
/// and the client's outcomes after checking what both must agree on.
fn run(
    config: ClientConfig,
    sizes: &mut dyn FnMut() -> usize,
) -> (HandshakeOutcome, HandshakeOutcome) {
    let mut r = rng(11);
    let mut server = ServerHandshake::new();
    let (mut client, c0c1) = ClientHandshake::start(config, 1111, &mut r);

    let mut server_rng = rng(12);
    let mut to_server = |b: &[u8]| server.handle_input(b, 2222, &mut server_rng);
    let s0s1s2 = feed_all(pieces(&c0c1, sizes), &mut to_server);
    assert!(s0s1s2.outcome.is_none());
    assert_eq!(s0s1s2.sent.len(), 1 + 2 * HANDSHAKE_PACKET_LEN);

    let mut answer = s0s1s2.sent;
    answer.extend_from_slice(AFTER_S2);
    let mut client_rng = rng(13);
    let mut to_client = |b: &[u8]| client.handle_input(b, 3333, &mut client_rng);
    let from_client = feed_all(pieces(&answer, sizes), &mut to_client);
    assert_eq!(
        from_client.sent.len(),
        HANDSHAKE_PACKET_LEN,
        "exactly one C2"
    );
    assert_eq!(from_client.after, AFTER_S2, "bytes after S2 preserved");

    let mut c2 = from_client.sent;
    c2.extend_from_slice(AFTER_C2);
    let from_server = feed_all(pieces(&c2, sizes), &mut to_server);
    assert!(from_server.sent.is_empty());
    assert_eq!(from_server.after, AFTER_C2, "bytes after C2 preserved");

    let server_outcome = from_server.outcome.expect("server done");
    let client_outcome = from_client.outcome.expect("client done");
    assert_eq!(server_outcome.kind, client_outcome.kind);
    assert_eq!(server_outcome.peer_epoch, 1111);
    assert_eq!(client_outcome.peer_epoch, 2222);
    (server_outcome, client_outcome)
}

const MODES: [ClientMode; 3] = [
    ClientMode::Simple,
    ClientMode::Digest {
        schema: DigestSchema::DigestFirst,
        flash_version: [9, 0, 124, 2],
    },
    ClientMode::Digest {
        schema: DigestSchema::KeyFirst,
        flash_version: [128, 0, 3, 2],
    },
];

fn expected_kind(mode: ClientMode) -> HandshakeKind {
    match mode {
        ClientMode::Simple => HandshakeKind::Simple,
        ClientMode::Digest { schema, .. } => HandshakeKind::Digest { schema },
    }
}

fn expected_check(mode: ClientMode) -> ReplyCheck {
    match mode {
        ClientMode::Simple => ReplyCheck::Echoed,
        ClientMode::Digest { .. } => ReplyCheck::Signed,
    }
}

#[test]
fn client_and_server_agree_in_every_mode_when_each_side_arrives_whole() {
    for mode in MODES {
        for verify_server in [false, true] {
            let config = ClientConfig {
                mode,
                verify_server,
            };
            let (server, client) = run(config, &mut || usize::MAX);
            assert_eq!(server.kind, expected_kind(mode));
            assert_eq!(server.reply_check, expected_check(mode));
            assert_eq!(client.reply_check, expected_check(mode));
            let expected_version = match mode {
                ClientMode::Simple => [0; 4],
                ClientMode::Digest { flash_version, .. } => flash_version,
            };
            assert_eq!(server.peer_version, expected_version);
        }
    }
}

#[test]
fn client_and_server_agree_in_every_mode_fed_byte_by_byte() {
    for mode in MODES {
        let config = ClientConfig {
            mode,
            verify_server: true,
        };
        let (server, client) = run(config, &mut || 1);
        assert_eq!(server.kind, expected_kind(mode));
        assert_eq!(client.reply_check, expected_check(mode));
        assert_eq!(server.reply_check, expected_check(mode));
    }
}

#[test]
fn empty_reads_between_fragments_are_harmless() {
    let mut toggle = false;
    let mut sizes = move || {
        toggle = !toggle;
        if toggle {
            0
        } else {
            700
        }
    };
    let (server, _) = run(ClientConfig::default(), &mut sizes);
    assert_eq!(server.reply_check, ReplyCheck::Signed);
}

proptest! {
    #[test]
    fn client_and_server_agree_in_every_mode_under_random_splits(
        mode_index in 0usize..3,
        sizes in proptest::collection::vec(0usize..2000, 1..40),
    ) {
        let mode = MODES[mode_index];
        let mut cycle = sizes.into_iter().cycle();
        let mut next = move || cycle.next().unwrap_or(1);
        let (server, client) = run(ClientConfig { mode, verify_server: true }, &mut next);
        prop_assert_eq!(server.kind, expected_kind(mode));
        prop_assert_eq!(server.reply_check, expected_check(mode));
        prop_assert_eq!(client.reply_check, expected_check(mode));
    }
}

#[test]
fn every_prefix_of_a_full_conversation_is_handled_without_panic() {
    // Build one real transcript per mode, then replay prefixes of the client's
    // bytes into a fresh server and of the server's into a fresh client: every
    // prefix for the digest mode (the one with the most code behind it), every
    // 17th plus those around packet boundaries for the others, to keep the
    // suite fast (each prefix past C1/S1 costs several HMACs in a debug build).
    for (index, mode) in MODES.into_iter().enumerate() {
        let wanted = |len: usize| {
            let near_boundary = [0, 1, 1 + HANDSHAKE_PACKET_LEN, 1 + 2 * HANDSHAKE_PACKET_LEN]
                .iter()
                .any(|b| len.abs_diff(*b) <= 2);
            index == 1 || len % 17 == 0 || near_boundary
        };
        let config = ClientConfig {
            mode,
            verify_server: false,
        };
        let mut server = ServerHandshake::new();
        let (mut client, c0c1) = ClientHandshake::start(config, 5, &mut rng(21));
        let answer = server.handle_input(&c0c1, 6, &mut rng(22)).unwrap();
        let c2 = client.handle_input(answer.send(), 7, &mut rng(23)).unwrap();
        let mut from_client = c0c1.to_vec();
        from_client.extend_from_slice(c2.send());
        from_client.extend_from_slice(AFTER_C2);
        let mut from_server = answer.send().to_vec();
        from_server.extend_from_slice(AFTER_S2);

        for len in (0..=from_client.len()).filter(|&l| wanted(l)) {
            let mut s = ServerHandshake::new();
            let step = s
                .handle_input(&from_client[..len], 6, &mut rng(22))
                .unwrap();
            let done = len > 2 * HANDSHAKE_PACKET_LEN;
            assert_eq!(step.outcome().is_some(), done, "{mode:?} {len}");
        }
        for len in (0..=from_server.len()).filter(|&l| wanted(l)) {
            let (mut c, _) = ClientHandshake::start(config, 5, &mut rng(21));
            let step = c
                .handle_input(&from_server[..len], 7, &mut rng(23))
                .unwrap();
            let done = len > 2 * HANDSHAKE_PACKET_LEN;
            assert_eq!(step.outcome().is_some(), done, "{mode:?} {len}");
        }
    }
}
