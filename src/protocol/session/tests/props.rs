//! Property tests: input split anywhere gives the same result; random bytes
//! after a valid handshake never panic.

use proptest::prelude::*;

use super::client::*;
use crate::protocol::amf::AmfValue;
use crate::protocol::session::{ServerSession, SessionConfig, SessionEvent};

/// A whole ffmpeg-like publish session as the client's bytes: handshake,
/// connect, releaseStream, FCPublish, createStream, publish, metadata, media.
fn publish_script() -> Vec<u8> {
    let mut session = ServerSession::new(SessionConfig::default());
    let mut client = TestClient::new();
    let (_, mut bytes) = client.handshake(&mut session);
    bytes.extend_from_slice(&client.connect("live", None));
    for (name, tx) in [("releaseStream", 2.0), ("FCPublish", 3.0)] {
        bytes.extend_from_slice(&client.command(
            0,
            name,
            tx,
            AmfValue::Null,
            vec![AmfValue::string("cam")],
        ));
    }
    bytes.extend_from_slice(&client.command(0, "createStream", 4.0, AmfValue::Null, vec![]));
    bytes.extend_from_slice(&client.command(
        1,
        "publish",
        5.0,
        AmfValue::Null,
        vec![AmfValue::string("cam")],
    ));
    bytes.extend_from_slice(&client.data(
        1,
        0,
        &[
            AmfValue::string("@setDataFrame"),
            AmfValue::string("onMetaData"),
            AmfValue::ecma_array([("a", AmfValue::Number(1.0))]),
        ],
    ));
    for i in 0..4u32 {
        bytes.extend_from_slice(&client.message(
            6,
            i * 33,
            9,
            1,
            bytes::Bytes::from(vec![i as u8; 300]),
        ));
    }
    bytes
}

/// Runs `chunks` through a fresh session, accepting the connect as soon as
/// it is requested. Returns events and everything sent.
fn run(chunks: &[&[u8]]) -> (Vec<SessionEvent>, Vec<u8>) {
    let mut session = ServerSession::new(SessionConfig::default());
    let mut rng = rng();
    let mut events = Vec::new();
    let mut sent = Vec::new();
    for chunk in chunks {
        let new = session
            .handle_input(chunk, 5, &mut rng)
            .expect("valid input");
        let mut resumed = Vec::new();
        for event in &new {
            if let SessionEvent::ConnectRequested { request, .. } = event {
                session
                    .accept_connect(*request, &Default::default())
                    .unwrap();
                resumed = session.handle_input(&[], 5, &mut rng).expect("held input");
            }
        }
        events.extend(new);
        events.extend(resumed);
        sent.extend(concat(session.take_outbound()));
    }
    (events, sent)
}

#[test]
fn input_fed_byte_by_byte_equals_input_fed_at_once() {
    let script = publish_script();
    let whole = run(&[&script]);
    let bytes: Vec<&[u8]> = script.chunks(1).collect();
    assert_eq!(run(&bytes), whole);
    assert!(whole
        .0
        .iter()
        .any(|e| matches!(e, SessionEvent::MediaReceived { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn input_split_anywhere_gives_the_same_events_and_output(
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12)
    ) {
        let script = publish_script();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(script.len() + 1)).collect();
        points.sort_unstable();
        points.dedup();
        let mut pieces = Vec::new();
        let mut last = 0;
        for p in points {
            pieces.push(&script[last..p]);
            last = p;
        }
        pieces.push(&script[last..]);
        prop_assert_eq!(run(&pieces), run(&[&script]));
    }

    #[test]
    fn random_bytes_after_a_valid_handshake_never_panic(
        garbage in proptest::collection::vec(any::<u8>(), 0..2048)
    ) {
        let mut session = ServerSession::new(SessionConfig::default());
        let mut client = TestClient::new();
        client.handshake(&mut session);
        let _ = session.handle_input(&garbage, 0, &mut rng());
        let _ = session.handle_input(&garbage, 0, &mut rng());
    }

    #[test]
    fn corrupted_publish_scripts_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
    ) {
        let mut script = publish_script();
        let len = script.len();
        for (index, byte) in flips {
            // Keep C0 valid so the corruption reaches later layers too.
            let i = 1 + index.index(len - 1);
            script[i] = byte;
        }
        let mut session = ServerSession::new(SessionConfig::default());
        let mut rng = rng();
        for piece in script.chunks(700) {
            match session.handle_input(piece, 0, &mut rng) {
                Ok(events) => {
                    for event in events {
                        if let SessionEvent::ConnectRequested { request, .. } = event {
                            let _ = session.accept_connect(request, &Default::default());
                            let _ = session.handle_input(&[], 0, &mut rng);
                        }
                    }
                }
                Err(_) => break,
            }
            let _ = session.take_outbound();
        }
    }
}

#[test]
fn every_prefix_of_the_publish_script_is_accepted_without_panic() {
    let script = publish_script();
    for end in (0..=script.len()).step_by(7) {
        let (_, _) = run(&[&script[..end]]);
    }
}
