//! Connection-level flows: handshake, connect, calls, pings, acks, AMF3,
//! SharedObjects, protocol violations.

use bytes::Bytes;

use super::client::*;
use crate::protocol::amf::AmfValue;
use crate::protocol::command::status;
use crate::protocol::handshake::HandshakeKind;
use crate::protocol::message::{LimitType, RtmpMessage, UserControlEvent};
use crate::protocol::session::{
    ConnectAccept, ObjectEncoding, ServerSession, SessionConfig, SessionError, SessionEvent,
};
use crate::protocol::shared_object::{
    SharedObjectEncoding, SharedObjectEvent, SharedObjectMessage,
};

#[test]
fn handshake_completes_with_digest_and_reports_it() {
    let mut session = ServerSession::new(SessionConfig::default());
    let (events, sent) = TestClient::new().handshake(&mut session);
    assert!(matches!(
        events.as_slice(),
        [SessionEvent::HandshakeCompleted {
            kind: HandshakeKind::Digest { .. },
            ..
        }]
    ));
    assert!(session.is_handshake_done());
    assert_eq!(session.bytes_received(), sent.len() as u64);
    assert_eq!(session.bytes_sent(), 1 + 1536 * 2);
}

#[test]
fn accepted_connect_sends_control_sequence_then_result_on_type_20() {
    let mut session = ServerSession::new(SessionConfig::default());
    let mut client = TestClient::new();
    client.handshake(&mut session);
    let connect = client.connect("live/room1", None);
    let events = feed(&mut session, &connect);
    let [SessionEvent::ConnectRequested {
        request,
        app,
        tc_url,
        object_encoding,
        args,
        ..
    }] = events.as_slice()
    else {
        panic!("{events:?}");
    };
    assert_eq!(&**app, "live/room1");
    assert_eq!(tc_url.as_deref(), Some("rtmp://localhost/live/room1"));
    assert_eq!(*object_encoding, ObjectEncoding::Amf0);
    assert!(args.is_empty());
    assert!(!session.is_connected());
    assert!(
        client.receive(&mut session).is_empty(),
        "nothing before the decision"
    );

    let accept = ConnectAccept {
        client_id: Some(AmfValue::string("abc")),
        ..ConnectAccept::default()
    };
    session.accept_connect(*request, &accept).unwrap();
    let out = client.receive(&mut session);
    let kinds: Vec<RtmpMessage> = out[..4].iter().map(control_of).collect();
    assert_eq!(
        kinds,
        vec![
            RtmpMessage::WindowAckSize(2_500_000),
            RtmpMessage::SetPeerBandwidth {
                window: 2_500_000,
                limit_type: LimitType::Dynamic
            },
            RtmpMessage::UserControl(UserControlEvent::StreamBegin { stream_id: 0 }),
            RtmpMessage::SetChunkSize(4096),
        ]
    );
    assert!(out[..4].iter().all(|m| m.csid == 2 && m.stream_id == 0));
    assert_eq!(out.len(), 5);
    assert_eq!((out[4].type_id, out[4].csid, out[4].stream_id), (20, 3, 0));
    let result = command_of(&out[4]);
    assert_eq!(&*result.name, "_result");
    assert_eq!(result.transaction_id, 1.0);
    let props = &result.command_object;
    assert_eq!(
        props.get("fmsVer").and_then(AmfValue::as_str),
        Some("FMS/3,5,7,7009")
    );
    assert_eq!(
        props.get("capabilities").and_then(AmfValue::as_f64),
        Some(31.0)
    );
    assert_eq!(props.get("mode").and_then(AmfValue::as_f64), Some(1.0));
    let info = &result.args[0];
    assert_eq!(info.get("level").and_then(AmfValue::as_str), Some("status"));
    assert_eq!(status_code(&result), status::NC_CONNECT_SUCCESS);
    assert_eq!(
        info.get("objectEncoding").and_then(AmfValue::as_f64),
        Some(0.0)
    );
    assert_eq!(info.get("clientid").and_then(AmfValue::as_str), Some("abc"));
    assert!(session.is_connected());
    assert_eq!(session.app().map(|a| &**a), Some("live/room1"));
    // The encoder now uses the announced chunk size.
    assert_eq!(session.writer.encoder().chunk_size(), 4096);
}

#[test]
fn rejected_connect_sends_error_and_refuses_further_commands() {
    let mut session = ServerSession::new(SessionConfig::default());
    let mut client = TestClient::new();
    client.handshake(&mut session);
    let connect = client.connect("secret", None);
    let events = feed(&mut session, &connect);
    let Some(SessionEvent::ConnectRequested { request, .. }) = events.first() else {
        panic!()
    };
    session.reject_connect(*request, "No entry.").unwrap();
    let out = client.receive(&mut session);
    assert_eq!(out.len(), 1);
    let error = command_of(&out[0]);
    assert_eq!(&*error.name, "_error");
    assert_eq!(error.transaction_id, 1.0);
    assert_eq!(status_code(&error), status::NC_CONNECT_REJECTED);
    assert_eq!(
        error.args[0].get("description").and_then(AmfValue::as_str),
        Some("No entry.")
    );
    // Deciding twice is a caller error, not a panic.
    assert_eq!(
        session.accept_connect(*request, &ConnectAccept::default()),
        Err(SessionError::UnknownRequest { request: *request })
    );
    let create = client.command(0, "createStream", 2.0, AmfValue::Null, vec![]);
    assert!(matches!(
        session.handle_input(&create, 0, &mut rng()),
        Err(SessionError::NotConnected { .. })
    ));
}

#[test]
fn commands_before_connect_are_protocol_violations() {
    let mut session = ServerSession::new(SessionConfig::default());
    let mut client = TestClient::new();
    client.handshake(&mut session);
    let create = client.command(0, "createStream", 2.0, AmfValue::Null, vec![]);
    let err = session.handle_input(&create, 0, &mut rng()).unwrap_err();
    assert!(matches!(&err, SessionError::NotConnected { what } if what.contains("createStream")));
    // The session is finished after an error.
    assert_eq!(
        session.handle_input(&[], 0, &mut rng()),
        Err(SessionError::Finished)
    );
}

#[test]
fn media_before_connect_is_a_protocol_violation() {
    let mut session = ServerSession::new(SessionConfig::default());
    let mut client = TestClient::new();
    client.handshake(&mut session);
    let audio = client.message(4, 0, 8, 1, Bytes::from_static(&[0xAF, 1, 2]));
    assert!(matches!(
        session.handle_input(&audio, 0, &mut rng()),
        Err(SessionError::NotConnected { .. })
    ));
}

#[test]
fn second_connect_is_a_protocol_violation() {
    let (mut session, mut client) = connected(None);
    let again = client.connect("live", None);
    assert_eq!(
        session.handle_input(&again, 0, &mut rng()),
        Err(SessionError::DuplicateConnect)
    );
}

#[test]
fn ping_request_from_client_is_answered_with_ping_response() {
    let (mut session, mut client) = connected(None);
    let mut body = bytes::BytesMut::new();
    UserControlEvent::PingRequest { timestamp: 1234 }.encode(&mut body);
    let ping = client.message(2, 0, 4, 0, body.freeze());
    assert!(feed(&mut session, &ping).is_empty());
    let out = client.receive(&mut session);
    assert_eq!(
        out.iter().map(control_of).collect::<Vec<_>>(),
        vec![RtmpMessage::UserControl(UserControlEvent::PingResponse {
            timestamp: 1234
        })]
    );
}

#[test]
fn server_ping_round_trip_is_measured_from_now_ms() {
    let (mut session, mut client) = connected(None);
    session.ping(0x1_0000_0010).unwrap();
    let out = client.receive(&mut session);
    assert_eq!(
        control_of(&out[0]),
        RtmpMessage::UserControl(UserControlEvent::PingRequest { timestamp: 0x10 })
    );
    let mut body = bytes::BytesMut::new();
    UserControlEvent::PingResponse { timestamp: 0x10 }.encode(&mut body);
    let pong = client.message(2, 0, 4, 0, body.freeze());
    let events = session
        .handle_input(&pong, 0x1_0000_0010 + 42, &mut rng())
        .unwrap();
    assert_eq!(
        events,
        vec![SessionEvent::PingResponseReceived {
            timestamp: 0x10,
            round_trip_ms: Some(42)
        }]
    );
}

#[test]
fn acknowledgement_is_sent_once_the_client_window_is_received() {
    let (mut session, mut client) = connected(None);
    let window = client.message(2, 0, 5, 0, Bytes::from_static(&[0, 0, 0x10, 0]));
    feed(&mut session, &window); // 4096-byte window
    let stream_id = create_stream(&mut session, &mut client);
    let publish = client.command(
        stream_id,
        "publish",
        5.0,
        AmfValue::Null,
        vec![AmfValue::string("cam")],
    );
    feed(&mut session, &publish);
    client.receive(&mut session);
    let mut acks = Vec::new();
    for i in 0..10u32 {
        let frame = client.message(6, i * 40, 9, stream_id, Bytes::from(vec![0x17; 1000]));
        feed(&mut session, &frame);
        for raw in client.receive(&mut session) {
            if let RtmpMessage::Acknowledgement { sequence_number } = control_of(&raw) {
                acks.push(sequence_number);
            }
        }
    }
    assert_eq!(
        acks.len(),
        2,
        "about 10 KB received with a 4 KB window: {acks:?}"
    );
    assert!(acks[0] >= 4096 && acks[1] - acks[0] >= 4096);
    assert!(u64::from(acks[1]) <= session.bytes_received());
}

#[test]
fn client_acknowledgement_is_reported_and_tracked() {
    let (mut session, mut client) = connected(None);
    let sent = session.bytes_sent();
    let ack = client.message(
        2,
        0,
        3,
        0,
        Bytes::copy_from_slice(&(sent as u32 - 10).to_be_bytes()),
    );
    let events = feed(&mut session, &ack);
    assert_eq!(
        events,
        vec![SessionEvent::AcknowledgementReceived {
            sequence_number: sent as u32 - 10
        }]
    );
    assert_eq!(session.unacknowledged_bytes(), 10);
}

#[test]
fn set_peer_bandwidth_from_client_is_answered_with_window_ack_size() {
    let (mut session, mut client) = connected(None);
    let spb = client.message(2, 0, 6, 0, Bytes::from_static(&[0, 1, 0, 0, 2]));
    let events = feed(&mut session, &spb);
    assert_eq!(
        events,
        vec![SessionEvent::PeerBandwidthChanged {
            window: 65536,
            limit_type: LimitType::Dynamic
        }]
    );
    let out = client.receive(&mut session);
    assert_eq!(control_of(&out[0]), RtmpMessage::WindowAckSize(65536));
}

#[test]
fn client_calls_are_events_and_answers_go_back_with_the_transaction_id() {
    let (mut session, mut client) = connected(None);
    let call = client.command(0, "echo", 7.0, AmfValue::Null, vec![AmfValue::Number(5.0)]);
    let events = feed(&mut session, &call);
    assert_eq!(
        events,
        vec![SessionEvent::CallReceived {
            stream_id: 0,
            transaction_id: 7.0,
            name: "echo".into(),
            command_object: AmfValue::Null,
            args: vec![AmfValue::Number(5.0)],
        }]
    );
    session
        .call_result(7.0, vec![AmfValue::Number(5.0)])
        .unwrap();
    session.call_error(8.0, "", "no such method").unwrap();
    session.call_result(0.0, vec![]).unwrap(); // notifications get no answer
    let out = client.receive(&mut session);
    assert_eq!(out.len(), 2);
    let (ok, err) = (command_of(&out[0]), command_of(&out[1]));
    assert_eq!(
        (&*ok.name, ok.transaction_id, ok.args.clone()),
        ("_result", 7.0, vec![AmfValue::Number(5.0)])
    );
    assert_eq!((&*err.name, err.transaction_id), ("_error", 8.0));
    assert_eq!(status_code(&err), status::NC_CALL_FAILED);
}

#[test]
fn server_invoke_results_come_back_correlated_by_transaction_id() {
    let (mut session, mut client) = connected(None);
    let first = session.invoke("ask", vec![AmfValue::string("q1")]).unwrap();
    let second = session.invoke("ask", vec![AmfValue::string("q2")]).unwrap();
    assert_ne!(first, second);
    session.notify("tick", vec![]).unwrap();
    let out = client.receive(&mut session);
    let calls: Vec<_> = out.iter().map(command_of).collect();
    assert_eq!((&*calls[0].name, calls[0].transaction_id), ("ask", first));
    assert_eq!((&*calls[1].name, calls[1].transaction_id), ("ask", second));
    assert_eq!((&*calls[2].name, calls[2].transaction_id), ("tick", 0.0));
    let answer = client.command(
        0,
        "_error",
        second,
        AmfValue::Null,
        vec![AmfValue::string("no")],
    );
    let answer2 = client.command(
        0,
        "_result",
        first,
        AmfValue::Null,
        vec![AmfValue::string("yes")],
    );
    let mut both = answer.to_vec();
    both.extend_from_slice(&answer2);
    let events = feed(&mut session, &both);
    assert_eq!(
        events,
        vec![
            SessionEvent::CallResult {
                transaction_id: second,
                ok: false,
                command_object: AmfValue::Null,
                values: vec![AmfValue::string("no")]
            },
            SessionEvent::CallResult {
                transaction_id: first,
                ok: true,
                command_object: AmfValue::Null,
                values: vec![AmfValue::string("yes")]
            },
        ]
    );
}

#[test]
fn amf3_client_gets_connect_result_on_type_20_and_everything_else_on_type_17() {
    let (mut session, mut client) = connected(Some(3.0));
    assert_eq!(session.object_encoding(), ObjectEncoding::Amf3);
    // The connect _result itself (checked in `connected`'s drain) went on
    // type 20; re-run the connect to look at it.
    let mut fresh = ServerSession::new(SessionConfig::default());
    let mut c2 = TestClient::new();
    c2.handshake(&mut fresh);
    let connect = c2.connect("live", Some(3.0));
    let Some(SessionEvent::ConnectRequested {
        request,
        object_encoding,
        ..
    }) = feed(&mut fresh, &connect).into_iter().next()
    else {
        panic!()
    };
    assert_eq!(object_encoding, ObjectEncoding::Amf3);
    fresh
        .accept_connect(request, &ConnectAccept::default())
        .unwrap();
    let out = c2.receive(&mut fresh);
    let result = out.last().unwrap();
    assert_eq!(result.type_id, 20);
    assert_eq!(result.args_encoding(), 3.0);

    // A type 17 call with an AMF3-only value, answered on type 17.
    let vector = AmfValue::VectorInt(std::sync::Arc::new(crate::protocol::amf::AmfVector {
        fixed: false,
        items: vec![1, 2, 3],
    }));
    let call = client.command(0, "echo", 2.0, AmfValue::Null, vec![vector.clone()]);
    let events = feed(&mut session, &call);
    let Some(SessionEvent::CallReceived { args, .. }) = events.first() else {
        panic!()
    };
    assert_eq!(args, &vec![vector.clone()]);
    session.call_result(2.0, vec![vector.clone()]).unwrap();
    let out = client.receive(&mut session);
    assert_eq!(out[0].type_id, 17);
    assert_eq!(command_of(&out[0]).args, vec![vector]);
    let stream_id = create_stream(&mut session, &mut client);
    let play = client.command(
        stream_id,
        "play",
        0.0,
        AmfValue::Null,
        vec![AmfValue::string("cam")],
    );
    let events = feed(&mut session, &play);
    let Some(SessionEvent::PlayRequested { request, .. }) = events.first() else {
        panic!()
    };
    session.accept_play(*request, &Default::default()).unwrap();
    let out = client.receive(&mut session);
    let commands: Vec<_> = out
        .iter()
        .filter(|m| m.type_id == 17 || m.type_id == 20)
        .collect();
    assert!(
        commands.iter().all(|m| m.type_id == 17),
        "AMF3 client gets type 17"
    );
    assert!(out
        .iter()
        .filter(|m| m.type_id == 15 || m.type_id == 18)
        .all(|m| m.type_id == 18));
}

trait ObjectEncodingOf {
    fn args_encoding(&self) -> f64;
}

impl ObjectEncodingOf for crate::protocol::chunk::RawMessage {
    fn args_encoding(&self) -> f64 {
        command_of(self).args[0]
            .get("objectEncoding")
            .and_then(AmfValue::as_f64)
            .unwrap()
    }
}

#[test]
fn shared_object_messages_round_trip_in_the_clients_encoding() {
    for (object_encoding, type_id) in [(None, 19u8), (Some(3.0), 16u8)] {
        let (mut session, mut client) = connected(object_encoding);
        let encoding = SharedObjectEncoding::from_message_type(type_id).unwrap();
        let mut message = SharedObjectMessage::new("chat", 0, false);
        message.events.push(SharedObjectEvent::Use);
        message.events.push(SharedObjectEvent::RequestChange(vec![(
            "topic".into(),
            AmfValue::string("rust"),
        )]));
        let mut body = bytes::BytesMut::new();
        message.encode(encoding, &mut body).unwrap();
        let bytes = client.message(3, 0, type_id, 0, body.freeze());
        let events = feed(&mut session, &bytes);
        assert_eq!(
            events,
            vec![SessionEvent::SharedObjectReceived {
                message: message.clone(),
                encoding
            }]
        );
        let mut reply = SharedObjectMessage::new("chat", 1, false);
        reply.events.push(SharedObjectEvent::UseSuccess);
        reply.events.push(SharedObjectEvent::Change(vec![(
            "topic".into(),
            AmfValue::string("rust"),
        )]));
        session.send_shared_object(&reply).unwrap();
        let out = client.receive(&mut session);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].type_id, type_id);
        let decoded = SharedObjectMessage::decode(
            out[0].payload.clone(),
            encoding,
            Default::default(),
            Default::default(),
        )
        .unwrap();
        assert_eq!(decoded, reply);
    }
}

#[test]
fn unknown_message_types_are_reported_not_fatal() {
    let (mut session, mut client) = connected(None);
    let odd = client.message(3, 0, 0x42, 0, Bytes::from_static(b"??"));
    assert_eq!(
        feed(&mut session, &odd),
        vec![SessionEvent::UnknownMessage {
            stream_id: 0,
            type_id: 0x42
        }]
    );
}

#[test]
fn malformed_command_arguments_after_connect_get_an_error_answer() {
    let (mut session, mut client) = connected(None);
    // seek without its required position.
    let seek = client.command(0, "seek", 9.0, AmfValue::Null, vec![]);
    let events = feed(&mut session, &seek);
    assert!(matches!(events.as_slice(), [SessionEvent::Ignored { .. }]));
    let out = client.receive(&mut session);
    let error = command_of(&out[0]);
    assert_eq!((&*error.name, error.transaction_id), ("_error", 9.0));
}

#[test]
fn malformed_amf_in_a_command_is_a_protocol_violation() {
    let (mut session, mut client) = connected(None);
    let bad = client.message(3, 0, 20, 0, Bytes::from_static(&[0x02, 0x00, 0x09, b'x']));
    assert!(matches!(
        session.handle_input(&bad, 0, &mut rng()),
        Err(SessionError::Command { type_id: 20, .. })
    ));
}

#[test]
fn captured_ffmpeg_and_rtmpdump_c0c1_complete_the_handshake_and_reach_connect() {
    // Provenance: tests/vectors/handshake, captured from ffmpeg 5.1 and
    // rtmpdump 2.4 on this machine (see docs/protocol/handshake.md).
    let vectors: [(&str, &[u8]); 3] = [
        (
            "ffmpeg",
            include_bytes!("../../../../tests/vectors/handshake/ffmpeg_c0c1.bin"),
        ),
        (
            "rtmpdump",
            include_bytes!("../../../../tests/vectors/handshake/rtmpdump_c0c1.bin"),
        ),
        (
            "rtmpdump fp9",
            include_bytes!("../../../../tests/vectors/handshake/rtmpdump_fp9_c0c1.bin"),
        ),
    ];
    for (name, c0c1) in vectors {
        let mut session = ServerSession::new(SessionConfig::default());
        assert!(feed(&mut session, c0c1).is_empty(), "{name}");
        assert_eq!(
            concat(session.take_outbound()).len(),
            1 + 2 * 1536,
            "{name}"
        );
        // C2 content is never a reason to refuse; the connect rides in the
        // same read as C2, as ffmpeg sends it.
        let mut input = vec![0u8; 1536];
        input.extend_from_slice(&TestClient::new().connect("live", None));
        let events = feed(&mut session, &input);
        assert!(
            matches!(events[0], SessionEvent::HandshakeCompleted { .. }),
            "{name}"
        );
        assert!(
            matches!(events[1], SessionEvent::ConnectRequested { .. }),
            "{name}"
        );
    }
    let mut session = ServerSession::new(SessionConfig::default());
    let rtmpe = include_bytes!("../../../../tests/vectors/handshake/rtmpdump_rtmpe_c0c1.bin");
    assert!(matches!(
        session.handle_input(rtmpe, 0, &mut rng()),
        Err(SessionError::Handshake(_))
    ));
}

#[test]
fn commands_pipelined_after_connect_wait_for_the_decision() {
    let mut session = ServerSession::new(SessionConfig::default());
    let mut client = TestClient::new();
    client.handshake(&mut session);
    let mut input = client.connect("live", None).to_vec();
    input.extend_from_slice(&client.command(0, "createStream", 2.0, AmfValue::Null, vec![]));
    let events = feed(&mut session, &input);
    let [SessionEvent::ConnectRequested { request, .. }] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert!(feed(&mut session, &[]).is_empty(), "still held");
    session
        .accept_connect(*request, &ConnectAccept::default())
        .unwrap();
    assert_eq!(
        feed(&mut session, &[]),
        vec![SessionEvent::StreamCreated { stream_id: 1 }]
    );
}

#[test]
fn too_much_input_while_connect_is_pending_is_refused() {
    let config = SessionConfig {
        max_held_input: 1000,
        ..SessionConfig::default()
    };
    let mut session = ServerSession::new(config);
    let mut client = TestClient::new();
    client.handshake(&mut session);
    let mut input = client.connect("live", None).to_vec();
    input.extend_from_slice(&client.message(3, 0, 20, 0, Bytes::from(vec![2u8; 2000])));
    assert!(matches!(
        session.handle_input(&input, 0, &mut rng()),
        Err(SessionError::TooMuchInputBeforeConnect { limit: 1000, .. })
    ));
}
