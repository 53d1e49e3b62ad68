//! The client session against an in-process [`ServerSession`]: bytes go
//! back and forth through both state machines, no sockets.

use bytes::{Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::protocol::amf::AmfValue;
use crate::protocol::chunk::RawMessage;
use crate::protocol::command::status;
use crate::protocol::session::{
    ConnectAccept, MediaKind, ServerSession, SessionConfig, SessionEvent,
};
use crate::protocol::shared_object::{
    SharedObjectEncoding, SharedObjectEvent, SharedObjectMessage,
};

/// A client and a server session wired back to back.
struct Pair {
    client: ClientSession,
    server: ServerSession,
    rng: StdRng,
}

impl Pair {
    fn new(server_config: SessionConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(11);
        let client = ClientSession::new(ClientSessionConfig::default(), 0, &mut rng);
        Self {
            client,
            server: ServerSession::new(server_config),
            rng,
        }
    }

    /// Moves bytes both ways until neither side has anything to send.
    fn pump(&mut self) -> (Vec<ClientEvent>, Vec<SessionEvent>) {
        let (mut client_events, mut server_events) = (Vec::new(), Vec::new());
        loop {
            let to_server = concat(self.client.take_outbound());
            let to_client = concat(self.server.take_outbound());
            if to_server.is_empty() && to_client.is_empty() {
                return (client_events, server_events);
            }
            if !to_server.is_empty() {
                let events = self.server.handle_input(&to_server, 5, &mut self.rng);
                server_events.extend(events.expect("the server accepts the client's bytes"));
            }
            if !to_client.is_empty() {
                let events = self.client.handle_input(&to_client, 5, &mut self.rng);
                client_events.extend(events.expect("the client accepts the server's bytes"));
            }
        }
    }

    /// Handshake, `connect` with `encoding`, accepted by the server.
    fn connected(encoding: ObjectEncoding) -> Self {
        let mut pair = Self::new(SessionConfig::default());
        let (events, _) = pair.pump();
        assert_eq!(events, vec![ClientEvent::HandshakeCompleted]);
        let mut request = ConnectRequest::new("chat/room", "rtmp://localhost/chat/room");
        request.object_encoding = encoding;
        pair.client.connect(&request).expect("connect sent");
        let (_, server_events) = pair.pump();
        let Some(SessionEvent::ConnectRequested {
            request,
            app,
            object_encoding,
            ..
        }) = server_events.first()
        else {
            panic!("expected ConnectRequested, got {server_events:?}");
        };
        assert_eq!((&**app, *object_encoding), ("chat/room", encoding));
        pair.server
            .accept_connect(*request, &ConnectAccept::default())
            .expect("accept");
        let (client_events, _) = pair.pump();
        let connected = client_events
            .iter()
            .find_map(|e| match e {
                ClientEvent::Connected {
                    info,
                    object_encoding,
                    ..
                } => Some((info.clone(), *object_encoding)),
                _ => None,
            })
            .expect("Connected");
        assert_eq!(connected.1, encoding);
        assert_eq!(
            connected.0.get("code").and_then(AmfValue::as_str),
            Some(status::NC_CONNECT_SUCCESS)
        );
        assert!(pair.client.is_connected());
        pair
    }
}

fn concat(segments: Vec<Bytes>) -> Vec<u8> {
    segments.iter().flat_map(|s| s.iter().copied()).collect()
}

fn both_encodings() -> [ObjectEncoding; 2] {
    [ObjectEncoding::Amf0, ObjectEncoding::Amf3]
}

#[test]
fn connects_in_amf0_and_amf3_and_the_server_sees_the_encoding() {
    for encoding in both_encodings() {
        let pair = Pair::connected(encoding);
        assert_eq!(pair.client.object_encoding(), encoding);
        assert_eq!(pair.server.object_encoding(), encoding);
    }
}

#[test]
fn a_rejected_connect_reports_the_servers_information_object() {
    let mut pair = Pair::new(SessionConfig::default());
    pair.pump();
    pair.client
        .connect(&ConnectRequest::new("nope", "rtmp://h/nope"))
        .unwrap();
    let (_, events) = pair.pump();
    let Some(SessionEvent::ConnectRequested { request, .. }) = events.first() else {
        panic!("{events:?}");
    };
    pair.server.reject_connect(*request, "go away").unwrap();
    let (events, _) = pair.pump();
    let Some(ClientEvent::ConnectRejected { info }) = events.first() else {
        panic!("{events:?}");
    };
    assert_eq!(
        info.get("code").and_then(AmfValue::as_str),
        Some(status::NC_CONNECT_REJECTED)
    );
    assert_eq!(
        info.get("description").and_then(AmfValue::as_str),
        Some("go away")
    );
    assert!(!pair.client.is_connected());
}

#[test]
fn calls_are_answered_with_result_or_error_by_transaction_id() {
    for encoding in both_encodings() {
        let mut pair = Pair::connected(encoding);
        let value = AmfValue::object([("a", AmfValue::strict_array([AmfValue::Number(1.5)]))]);
        let first = pair.client.call("echo", vec![value.clone()]).unwrap();
        let second = pair.client.call("nope", vec![]).unwrap();
        assert_ne!(first, second);
        let (_, events) = pair.pump();
        let calls: Vec<(f64, String, Vec<AmfValue>)> = events
            .into_iter()
            .filter_map(|e| match e {
                SessionEvent::CallReceived {
                    transaction_id,
                    name,
                    args,
                    ..
                } => Some((transaction_id, name.to_string(), args)),
                _ => None,
            })
            .collect();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            (calls[0].1.as_str(), &calls[0].2),
            ("echo", &vec![value.clone()])
        );
        // Answer out of order: correlation is by transaction id.
        pair.server
            .call_error(calls[1].0, "", "no such method")
            .unwrap();
        pair.server
            .call_result(calls[0].0, calls[0].2.clone())
            .unwrap();
        let (events, _) = pair.pump();
        assert_eq!(
            events,
            vec![
                ClientEvent::CallResult {
                    transaction_id: second,
                    ok: false,
                    command_object: AmfValue::Null,
                    values: vec![AmfValue::object([
                        ("level", AmfValue::string("error")),
                        ("code", AmfValue::string(status::NC_CALL_FAILED)),
                        ("description", AmfValue::string("no such method")),
                    ])],
                },
                ClientEvent::CallResult {
                    transaction_id: first,
                    ok: true,
                    command_object: AmfValue::Null,
                    values: vec![value],
                },
            ]
        );
        assert_eq!(pair.client.pending_calls(), 0);
    }
}

#[test]
fn an_answer_to_an_unknown_or_forgotten_transaction_is_ignored() {
    let mut pair = Pair::connected(ObjectEncoding::Amf0);
    let id = pair.client.call("slow", vec![]).unwrap();
    let (_, events) = pair.pump();
    let Some(SessionEvent::CallReceived { transaction_id, .. }) = events.last() else {
        panic!("{events:?}");
    };
    pair.client.forget(id);
    pair.server.call_result(*transaction_id, vec![]).unwrap();
    pair.server.call_result(999.0, vec![]).unwrap();
    let (events, _) = pair.pump();
    assert_eq!(events.len(), 2);
    assert!(events
        .iter()
        .all(|e| matches!(e, ClientEvent::Ignored { type_id: 20, .. })));
}

#[test]
fn server_to_client_calls_are_reported_and_answered() {
    for encoding in both_encodings() {
        let mut pair = Pair::connected(encoding);
        let id = pair
            .server
            .invoke("whoAreYou", vec![AmfValue::string("?")])
            .unwrap();
        pair.server
            .notify("news", vec![AmfValue::Number(1.0)])
            .unwrap();
        let (events, _) = pair.pump();
        assert_eq!(
            events,
            vec![
                ClientEvent::CallReceived {
                    stream_id: 0,
                    transaction_id: id,
                    method: "whoAreYou".into(),
                    args: vec![AmfValue::string("?")],
                },
                ClientEvent::CallReceived {
                    stream_id: 0,
                    transaction_id: 0.0,
                    method: "news".into(),
                    args: vec![AmfValue::Number(1.0)],
                },
            ]
        );
        pair.client
            .reply_result(id, vec![AmfValue::string("a bot")])
            .unwrap();
        // A notification gets no answer.
        pair.client.reply_result(0.0, vec![]).unwrap();
        let (_, events) = pair.pump();
        assert_eq!(
            events,
            vec![SessionEvent::CallResult {
                transaction_id: id,
                ok: true,
                command_object: AmfValue::Null,
                values: vec![AmfValue::string("a bot")],
            }]
        );
        let id = pair.server.invoke("fail", vec![]).unwrap();
        pair.pump();
        pair.client.reply_error(id, "", "cannot").unwrap();
        let (_, events) = pair.pump();
        let Some(SessionEvent::CallResult { ok, values, .. }) = events.first() else {
            panic!("{events:?}");
        };
        assert!(!ok);
        assert_eq!(
            values[0].get("code").and_then(AmfValue::as_str),
            Some(status::NC_CALL_FAILED)
        );
    }
}

/// `createStream` through both sides; returns the new id.
fn create_stream(pair: &mut Pair) -> u32 {
    let id = pair.client.create_stream().unwrap();
    let (events, _) = pair.pump();
    let Some(ClientEvent::CallResult {
        transaction_id,
        ok: true,
        values,
        ..
    }) = events.first()
    else {
        panic!("{events:?}");
    };
    assert_eq!(*transaction_id, id);
    values[0].as_f64().expect("a stream id") as u32
}

#[test]
fn publish_and_play_get_their_statuses_and_media_flows() {
    for encoding in both_encodings() {
        let mut publisher = Pair::connected(encoding);
        let stream = create_stream(&mut publisher);
        publisher.client.publish(stream, "cam", "live").unwrap();
        let (_, events) = publisher.pump();
        let Some(SessionEvent::PublishRequested { request, name, .. }) = events.first() else {
            panic!("{events:?}");
        };
        assert_eq!(&**name, "cam");
        publisher.server.accept_publish(*request).unwrap();
        let (events, _) = publisher.pump();
        assert_eq!(events[0], ClientEvent::StreamBegin { stream_id: stream });
        let ClientEvent::Status { stream_id, info } = &events[1] else {
            panic!("{events:?}");
        };
        assert_eq!(
            (*stream_id, &*info.code),
            (stream, status::NS_PUBLISH_START)
        );

        let frame = Bytes::from(vec![0x17; 10_000]);
        publisher
            .client
            .send_media(stream, MediaKind::Video, 40, &frame)
            .unwrap();
        publisher
            .client
            .send_metadata(
                stream,
                &[AmfValue::ecma_array([("width", AmfValue::Number(320.0))])],
            )
            .unwrap();
        let (_, events) = publisher.pump();
        assert_eq!(
            events[0],
            SessionEvent::MediaReceived {
                stream_id: stream,
                kind: MediaKind::Video,
                timestamp: 40,
                payload: frame.clone(),
            }
        );
        assert!(
            matches!(&events[1], SessionEvent::MetadataReceived { values, .. }
            if values[0].get("width").and_then(AmfValue::as_f64) == Some(320.0))
        );

        // A second stream is refused with BadName.
        let other = create_stream(&mut publisher);
        publisher.client.publish(other, "cam", "live").unwrap();
        let (_, events) = publisher.pump();
        let Some(SessionEvent::PublishRequested { request, .. }) = events.first() else {
            panic!("{events:?}");
        };
        publisher
            .server
            .reject_publish(*request, status::NS_PUBLISH_BAD_NAME, "taken")
            .unwrap();
        let (events, _) = publisher.pump();
        let Some(ClientEvent::Status { info, .. }) = events.first() else {
            panic!("{events:?}");
        };
        assert_eq!(
            (&*info.level, &*info.code),
            ("error", status::NS_PUBLISH_BAD_NAME)
        );

        let mut player = Pair::connected(encoding);
        let stream = create_stream(&mut player);
        player.client.play(stream, "cam").unwrap();
        let (_, events) = player.pump();
        let Some(SessionEvent::PlayRequested { request, name, .. }) = events.first() else {
            panic!("{events:?}");
        };
        assert_eq!(&**name, "cam");
        player
            .server
            .accept_play(*request, &Default::default())
            .unwrap();
        player
            .server
            .send_media(stream, MediaKind::Video, 80, &frame)
            .unwrap();
        let (events, _) = player.pump();
        let codes: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Status { info, .. } => Some(&*info.code),
                _ => None,
            })
            .collect();
        assert_eq!(codes, [status::NS_PLAY_RESET, status::NS_PLAY_START]);
        assert_eq!(
            events.last(),
            Some(&ClientEvent::Media {
                stream_id: stream,
                kind: MediaKind::Video,
                timestamp: 80,
                payload: frame.clone(),
            })
        );
        player.client.delete_stream(stream).unwrap();
        let (_, events) = player.pump();
        assert!(
            matches!(events.first(), Some(SessionEvent::StreamClosed { stream_id, .. }) if *stream_id == stream),
            "{events:?}"
        );
    }
}

#[test]
fn shared_object_messages_travel_both_ways_in_the_connections_encoding() {
    for (encoding, so_encoding) in [
        (ObjectEncoding::Amf0, SharedObjectEncoding::Amf0),
        (ObjectEncoding::Amf3, SharedObjectEncoding::Amf3),
    ] {
        let mut pair = Pair::connected(encoding);
        let mut replica = SharedObjectReplica::new("room", true);
        pair.client
            .send_shared_object(&replica.use_message())
            .unwrap();
        let (_, events) = pair.pump();
        let Some(SessionEvent::SharedObjectReceived { message, encoding }) = events.first() else {
            panic!("{events:?}");
        };
        assert_eq!(*encoding, so_encoding);
        assert_eq!(message.events, vec![SharedObjectEvent::Use]);
        assert!(message.is_persistent());

        let mut sync = SharedObjectMessage::new("room", 7, true);
        sync.events = vec![
            SharedObjectEvent::UseSuccess,
            SharedObjectEvent::Clear,
            SharedObjectEvent::Change(vec![("topic".into(), AmfValue::string("rust"))]),
        ];
        pair.server.send_shared_object(&sync).unwrap();
        let (events, _) = pair.pump();
        assert_eq!(events, vec![ClientEvent::SharedObject(sync.clone())]);
        let so_events = replica.apply(&sync);
        assert_eq!(
            so_events,
            vec![
                SoEvent::Cleared,
                SoEvent::Changed {
                    slot: "topic".into(),
                    value: AmfValue::string("rust"),
                },
                SoEvent::Synced,
            ]
        );
        assert_eq!(replica.version(), 7);

        let change = replica.change_message(vec![
            ("a".into(), AmfValue::Number(1.0)),
            (
                "b".into(),
                AmfValue::object([("x", AmfValue::Boolean(true))]),
            ),
        ]);
        pair.client.send_shared_object(&change).unwrap();
        let (_, events) = pair.pump();
        let Some(SessionEvent::SharedObjectReceived { message, .. }) = events.first() else {
            panic!("{events:?}");
        };
        assert_eq!(message, &change);
        assert_eq!(message.version, 7, "requests carry the replica's version");
    }
}

#[test]
fn the_client_answers_pings_and_acknowledges_the_servers_window() {
    let config = SessionConfig {
        window_ack_size: 4096,
        ..SessionConfig::default()
    };
    let mut pair = Pair::new(config);
    pair.pump();
    pair.client
        .connect(&ConnectRequest::new("live", "rtmp://h/live"))
        .unwrap();
    let (_, events) = pair.pump();
    let Some(SessionEvent::ConnectRequested { request, .. }) = events.first() else {
        panic!("{events:?}");
    };
    pair.server
        .accept_connect(*request, &ConnectAccept::default())
        .unwrap();
    let (_, events) = pair.pump();
    // Set Peer Bandwidth is answered with Window Acknowledgement Size; no
    // event reports it, but nothing fails either.
    assert!(events.is_empty(), "{events:?}");

    pair.server.ping(1234).unwrap();
    let (_, events) = pair.pump();
    assert!(matches!(
        events.as_slice(),
        [SessionEvent::PingResponseReceived {
            timestamp: 1234,
            ..
        }]
    ));

    for _ in 0..3 {
        pair.server
            .notify("filler", vec![AmfValue::string("x".repeat(3000))])
            .unwrap();
    }
    let (_, events) = pair.pump();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::AcknowledgementReceived { .. })),
        "{events:?}"
    );
}

#[test]
fn requests_before_connect_are_refused_without_breaking_the_session() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut client = ClientSession::new(ClientSessionConfig::default(), 0, &mut rng);
    assert_eq!(
        client.connect(&ConnectRequest::new("a", "rtmp://h/a")),
        Err(ClientSessionError::HandshakeIncomplete)
    );
    let mut pair = Pair::new(SessionConfig::default());
    pair.pump();
    assert!(matches!(
        pair.client.call("x", vec![]),
        Err(ClientSessionError::NotConnectedYet { .. })
    ));
    pair.client
        .connect(&ConnectRequest::new("a", "rtmp://h/a"))
        .unwrap();
    assert_eq!(
        pair.client.connect(&ConnectRequest::new("a", "rtmp://h/a")),
        Err(ClientSessionError::AlreadyConnecting)
    );
}

#[test]
fn a_malformed_command_from_the_server_fails_the_session_for_good() {
    let mut pair = Pair::connected(ObjectEncoding::Amf0);
    let raw = RawMessage {
        csid: 9,
        timestamp: 0,
        type_id: 20,
        stream_id: 0,
        // An AMF0 string announcing 255 bytes and holding none.
        payload: Bytes::from_static(&[0x02, 0x00, 0xff]),
    };
    let mut wire = BytesMut::new();
    crate::protocol::chunk::ChunkEncoder::new()
        .encode(&raw, &mut wire)
        .unwrap();
    let error = pair
        .client
        .handle_input(&wire, 0, &mut pair.rng)
        .expect_err("malformed command");
    assert!(
        matches!(error, ClientSessionError::Command { type_id: 20, .. }),
        "{error}"
    );
    assert_eq!(
        pair.client.handle_input(&[], 0, &mut pair.rng),
        Err(ClientSessionError::Finished)
    );
}

#[test]
fn too_many_pending_calls_are_refused() {
    let mut pair = Pair::connected(ObjectEncoding::Amf0);
    pair.client.config.max_pending_calls = 2;
    pair.client.call("a", vec![]).unwrap();
    pair.client.call("b", vec![]).unwrap();
    assert!(matches!(
        pair.client.call("c", vec![]),
        Err(ClientSessionError::TooManyPendingCalls {
            pending: 2,
            limit: 2
        })
    ));
}
