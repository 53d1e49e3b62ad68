//! Input buffering: reads handed over as owned buffers are decoded in place,
//! and the session keeps no input buffer once no incomplete chunk is left.

use bytes::BytesMut;

use super::client::*;
use crate::protocol::amf::AmfValue;
use crate::protocol::session::{ConnectAccept, ServerSession, SessionConfig, SessionEvent};

fn feed_owned(session: &mut ServerSession, bytes: &[u8]) -> Vec<SessionEvent> {
    session
        .handle_input_buf(BytesMut::from(bytes), 1_000, &mut rng())
        .expect("session accepts input")
}

/// A call with a 600-byte argument: five chunks at the client's default
/// chunk size of 128.
fn long_call(client: &mut TestClient) -> (Vec<u8>, AmfValue) {
    let arg = AmfValue::string("x".repeat(600));
    let bytes = client.command(0, "echo", 5.0, AmfValue::Null, vec![arg.clone()]);
    (bytes.to_vec(), arg)
}

fn call_args(events: &[SessionEvent]) -> Vec<AmfValue> {
    match events {
        [SessionEvent::CallReceived { name, args, .. }] if &**name == "echo" => args.clone(),
        other => panic!("expected one echo call, got {other:?}"),
    }
}

#[test]
fn a_session_keeps_no_input_buffer_after_whole_messages() {
    let (mut session, mut client) = connected(None);
    let bytes = client.command(0, "createStream", 4.0, AmfValue::Null, Vec::new());
    let events = feed_owned(&mut session, &bytes);
    assert!(matches!(
        events.first(),
        Some(SessionEvent::StreamCreated { .. })
    ));
    assert_eq!(session.buffered_input(), (0, 0));
}

#[test]
fn a_message_split_anywhere_across_owned_reads_is_reassembled_and_then_released() {
    let (mut session, mut client) = connected(None);
    let (bytes, arg) = long_call(&mut client);
    for split in 1..bytes.len() {
        let (first, rest) = bytes.split_at(split);
        assert!(feed_owned(&mut session, first).is_empty(), "split {split}");
        let (len, capacity) = session.buffered_input();
        // Complete chunks went to the decoder: at most one chunk (header
        // and 128 bytes) waits, in a buffer of its own size.
        assert!(len <= 12 + 128, "split {split}: {len} bytes held");
        assert_eq!(capacity, len, "split {split}");
        let events = feed_owned(&mut session, rest);
        assert_eq!(call_args(&events), vec![arg.clone()], "split {split}");
        assert_eq!(session.buffered_input(), (0, 0), "split {split}");
    }
}

#[test]
fn owned_and_borrowed_input_mix_in_any_order() {
    let (mut session, mut client) = connected(None);
    let (bytes, arg) = long_call(&mut client);
    let (a, rest) = bytes.split_at(100);
    let (b, c) = rest.split_at(300);
    assert!(feed_owned(&mut session, a).is_empty());
    assert!(feed(&mut session, b).is_empty());
    assert_eq!(call_args(&feed_owned(&mut session, c)), vec![arg]);
    assert_eq!(session.buffered_input(), (0, 0));
}

#[test]
fn input_held_while_connect_is_decided_stays_until_the_decision() {
    let mut session = ServerSession::new(SessionConfig::default());
    let mut client = TestClient::new();
    client.handshake(&mut session);
    let mut bytes = client.connect("live", None).to_vec();
    let create = client.command(0, "createStream", 4.0, AmfValue::Null, Vec::new());
    bytes.extend_from_slice(&create);
    let events = feed_owned(&mut session, &bytes);
    let Some(SessionEvent::ConnectRequested { request, .. }) = events.first() else {
        panic!("expected ConnectRequested, got {events:?}");
    };
    assert_eq!(
        session.buffered_input().0,
        create.len(),
        "createStream held"
    );
    session
        .accept_connect(*request, &ConnectAccept::default())
        .expect("accept");
    let events = feed(&mut session, &[]);
    assert!(matches!(
        events.first(),
        Some(SessionEvent::StreamCreated { .. })
    ));
    assert_eq!(session.buffered_input(), (0, 0));
}
