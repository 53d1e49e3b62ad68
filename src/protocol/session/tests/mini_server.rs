//! The logic of `tests/common/mini_server.rs` (the interop tests' one-
//! connection server) expressed on `ServerSession`: an application that
//! accepts everything, answers like a live server, and serves a stream on
//! play. Driven here by in-memory ffmpeg-like scripts.

use bytes::Bytes;

use super::client::*;
use crate::protocol::amf::AmfValue;
use crate::protocol::command::status;
use crate::protocol::session::{MediaKind, PlayAccept, ServerSession, SessionConfig, SessionEvent};

/// What the mini server does for each event: its whole application logic.
fn mini_app(session: &mut ServerSession, event: &SessionEvent, tags: &[(MediaKind, u32, Bytes)]) {
    match event {
        SessionEvent::ConnectRequested { request, .. } => {
            session
                .accept_connect(*request, &Default::default())
                .unwrap();
        }
        SessionEvent::PublishRequested { request, .. } => session.accept_publish(*request).unwrap(),
        SessionEvent::PlayRequested {
            request,
            stream_id,
            reset,
            ..
        } => {
            session
                .accept_play(
                    *request,
                    &PlayAccept {
                        reset: *reset,
                        ..Default::default()
                    },
                )
                .unwrap();
            for (kind, timestamp, payload) in tags {
                session
                    .send_media(*stream_id, *kind, *timestamp, payload)
                    .unwrap();
            }
            session.send_stream_eof(*stream_id).unwrap();
            let stop = crate::protocol::command::StatusInfo::new(
                status::LEVEL_STATUS,
                status::NS_PLAY_STOP,
                "Stopped playing.",
            );
            session.send_status(*stream_id, &stop).unwrap();
        }
        SessionEvent::CallReceived { transaction_id, .. } => {
            session
                .call_error(*transaction_id, "", "Unknown method.")
                .unwrap();
        }
        _ => {}
    }
}

#[test]
fn ffmpeg_like_player_gets_every_frame_byte_for_byte() {
    let tags: Vec<(MediaKind, u32, Bytes)> = (0..6u32)
        .map(|i| {
            let kind = if i % 2 == 0 {
                MediaKind::Video
            } else {
                MediaKind::Audio
            };
            (kind, i * 20, Bytes::from(vec![i as u8; 5000 + i as usize]))
        })
        .collect();
    let mut session = ServerSession::new(SessionConfig::default());
    let mut client = TestClient::new();
    client.handshake(&mut session);
    let mut input = client.connect("live", None).to_vec();
    input.extend_from_slice(&client.command(0, "createStream", 2.0, AmfValue::Null, vec![]));
    input.extend_from_slice(&client.command(
        0,
        "getStreamLength",
        3.0,
        AmfValue::Null,
        vec![AmfValue::string("cam")],
    ));
    input.extend_from_slice(&client.command(
        1,
        "play",
        4.0,
        AmfValue::Null,
        vec![AmfValue::string("cam"), AmfValue::Number(-2000.0)],
    ));
    // Everything in one read: the session holds the messages after connect
    // until the decision, and `drive` resumes it.
    drive(&mut session, &input, &tags);
    let received = client.receive(&mut session);
    let media: Vec<(u8, u32, Bytes)> = received
        .iter()
        .filter(|m| m.type_id == 8 || m.type_id == 9)
        .map(|m| (m.type_id, m.timestamp, m.payload.clone()))
        .collect();
    let expected: Vec<(u8, u32, Bytes)> = tags
        .iter()
        .map(|(k, t, p)| (k.type_id(), *t, p.clone()))
        .collect();
    assert_eq!(media, expected);
    let codes: Vec<String> = received
        .iter()
        .filter(|m| m.type_id == 20 && m.stream_id == 1)
        .map(|m| status_code(&command_of(m)))
        .collect();
    assert_eq!(
        codes,
        [
            status::NS_PLAY_RESET,
            status::NS_PLAY_START,
            status::NS_PLAY_STOP
        ]
    );
    let unknown = received
        .iter()
        .filter(|m| m.type_id == 20 && m.stream_id == 0)
        .map(command_of)
        .find(|c| c.transaction_id == 3.0)
        .expect("getStreamLength answered");
    assert_eq!(&*unknown.name, "_error");
}

/// Feeds `input` and lets the mini app answer every event, resuming held
/// input after each decision; returns every event.
fn drive(
    session: &mut ServerSession,
    input: &[u8],
    tags: &[(MediaKind, u32, Bytes)],
) -> Vec<SessionEvent> {
    let mut all = Vec::new();
    let mut events = feed(session, input);
    while !events.is_empty() {
        for event in &events {
            mini_app(session, event, tags);
        }
        all.append(&mut events);
        events = feed(session, &[]);
    }
    all
}

#[test]
fn ffmpeg_like_publisher_is_received_frame_for_frame() {
    let mut session = ServerSession::new(SessionConfig::default());
    let mut client = TestClient::new();
    client.handshake(&mut session);
    let mut input = client.connect("live", None).to_vec();
    input.extend_from_slice(&client.command(
        0,
        "releaseStream",
        2.0,
        AmfValue::Null,
        vec![AmfValue::string("cam")],
    ));
    input.extend_from_slice(&client.command(
        0,
        "FCPublish",
        3.0,
        AmfValue::Null,
        vec![AmfValue::string("cam")],
    ));
    input.extend_from_slice(&client.command(0, "createStream", 4.0, AmfValue::Null, vec![]));
    input.extend_from_slice(&client.command(
        1,
        "publish",
        5.0,
        AmfValue::Null,
        vec![AmfValue::string("cam"), AmfValue::string("live")],
    ));
    let frames: Vec<Bytes> = (0..5)
        .map(|i| Bytes::from(vec![0x17; 100 * (i + 1)]))
        .collect();
    for (i, frame) in frames.iter().enumerate() {
        input.extend_from_slice(&client.message(6, i as u32 * 40, 9, 1, frame.clone()));
    }
    let got: Vec<Bytes> = drive(&mut session, &input, &[])
        .into_iter()
        .filter_map(|event| match event {
            SessionEvent::MediaReceived { payload, .. } => Some(payload),
            _ => None,
        })
        .collect();
    assert_eq!(got, frames);
    let out = client.receive(&mut session);
    assert!(out
        .iter()
        .filter(|m| m.type_id == 20)
        .any(|m| status_code(&command_of(m)) == status::NS_PUBLISH_START));
}
