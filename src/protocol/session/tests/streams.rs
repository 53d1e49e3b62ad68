//! NetStream flows: createStream, publish, play, media, metadata, close.

use bytes::Bytes;

use super::client::*;
use crate::protocol::amf::AmfValue;
use crate::protocol::command::{status, PlayStart, PublishType, StatusInfo};
use crate::protocol::message::{RtmpMessage, UserControlEvent};
use crate::protocol::session::{
    CloseReason, IgnoreReason, MediaKind, PlayAccept, SessionError, SessionEvent, StreamActivity,
    StreamRole, CSID_AUDIO, CSID_VIDEO,
};

fn publish(
    session: &mut crate::protocol::session::ServerSession,
    client: &mut TestClient,
    stream_id: u32,
    name: &str,
) -> Vec<SessionEvent> {
    let bytes = client.command(
        stream_id,
        "publish",
        5.0,
        AmfValue::Null,
        vec![AmfValue::string(name), AmfValue::string("live")],
    );
    feed(session, &bytes)
}

#[test]
fn create_stream_hands_out_the_lowest_free_ids_and_delete_frees_them() {
    let (mut session, mut client) = connected(None);
    assert_eq!(create_stream(&mut session, &mut client), 1);
    assert_eq!(create_stream(&mut session, &mut client), 2);
    let delete = client.command(
        0,
        "deleteStream",
        0.0,
        AmfValue::Null,
        vec![AmfValue::Number(1.0)],
    );
    assert!(feed(&mut session, &delete).is_empty());
    assert!(session.stream(1).is_none());
    assert_eq!(create_stream(&mut session, &mut client), 1);
    assert_eq!(create_stream(&mut session, &mut client), 3);
}

#[test]
fn create_stream_beyond_the_limit_gets_an_error() {
    let (mut session, mut client) = connected(None);
    for _ in 0..session.config.max_streams {
        create_stream(&mut session, &mut client);
    }
    let bytes = client.command(0, "createStream", 9.0, AmfValue::Null, vec![]);
    let events = feed(&mut session, &bytes);
    assert!(matches!(
        events.as_slice(),
        [SessionEvent::Ignored {
            reason: IgnoreReason::TooManyStreams,
            ..
        }]
    ));
    let error = command_of(&client.receive(&mut session)[0]);
    assert_eq!((&*error.name, error.transaction_id), ("_error", 9.0));
}

#[test]
fn accepted_publish_sends_stream_begin_then_publish_start() {
    let (mut session, mut client) = connected(None);
    let stream_id = create_stream(&mut session, &mut client);
    let events = publish(&mut session, &mut client, stream_id, "cam?key=1");
    let [SessionEvent::PublishRequested {
        request,
        stream_id: sid,
        name,
        publish_type,
    }] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        (*sid, &**name, publish_type),
        (stream_id, "cam?key=1", &PublishType::Live)
    );
    session.accept_publish(*request).unwrap();
    let out = client.receive(&mut session);
    assert_eq!(out.len(), 2);
    assert_eq!(
        control_of(&out[0]),
        RtmpMessage::UserControl(UserControlEvent::StreamBegin { stream_id })
    );
    let start = command_of(&out[1]);
    assert_eq!(
        (out[1].stream_id, &*start.name, start.transaction_id),
        (stream_id, "onStatus", 0.0)
    );
    assert_eq!(status_code(&start), status::NS_PUBLISH_START);
    assert_eq!(
        start.args[0].get("details").and_then(AmfValue::as_str),
        Some("cam?key=1")
    );
    assert!(matches!(
        session.stream(stream_id).unwrap().activity,
        StreamActivity::Publishing { .. }
    ));
    assert!(session.accept_publish(*request).is_err(), "decided once");
}

#[test]
fn rejected_publish_sends_the_error_code_and_media_is_then_ignored() {
    let (mut session, mut client) = connected(None);
    let stream_id = create_stream(&mut session, &mut client);
    let events = publish(&mut session, &mut client, stream_id, "taken");
    let Some(SessionEvent::PublishRequested { request, .. }) = events.first() else {
        panic!()
    };
    session
        .reject_publish(
            *request,
            status::NS_PUBLISH_BAD_NAME,
            "taken is already published.",
        )
        .unwrap();
    let out = client.receive(&mut session);
    let error = command_of(&out[0]);
    assert_eq!(status_code(&error), status::NS_PUBLISH_BAD_NAME);
    assert_eq!(
        error.args[0].get("level").and_then(AmfValue::as_str),
        Some("error")
    );
    let video = client.message(6, 0, 9, stream_id, Bytes::from_static(&[0x17, 0]));
    assert_eq!(
        feed(&mut session, &video),
        vec![SessionEvent::Ignored {
            stream_id,
            type_id: 9,
            reason: IgnoreReason::NotPublishing
        }]
    );
}

#[test]
fn accepted_play_follows_the_fms_sequence() {
    let (mut session, mut client) = connected(None);
    let stream_id = create_stream(&mut session, &mut client);
    let play = client.command(
        stream_id,
        "play",
        0.0,
        AmfValue::Null,
        vec![AmfValue::string("cam"), AmfValue::Number(-2000.0)],
    );
    let events = feed(&mut session, &play);
    let [SessionEvent::PlayRequested {
        request,
        name,
        start,
        duration,
        reset,
        ..
    }] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        (&**name, *start, *duration, *reset),
        ("cam", PlayStart::LiveOrRecorded, -1.0, true)
    );
    session
        .accept_play(
            *request,
            &PlayAccept {
                reset: *reset,
                ..PlayAccept::default()
            },
        )
        .unwrap();
    let out = client.receive(&mut session);
    assert_eq!(out.len(), 5, "{out:?}");
    assert_eq!(
        control_of(&out[0]),
        RtmpMessage::UserControl(UserControlEvent::StreamBegin { stream_id })
    );
    assert_eq!(status_code(&command_of(&out[1])), status::NS_PLAY_RESET);
    assert_eq!(status_code(&command_of(&out[2])), status::NS_PLAY_START);
    assert_eq!(
        data_of(&out[3]),
        vec![
            AmfValue::string("|RtmpSampleAccess"),
            AmfValue::Boolean(true),
            AmfValue::Boolean(true)
        ]
    );
    let data_start = data_of(&out[4]);
    assert_eq!(data_start[0], AmfValue::string("onStatus"));
    assert_eq!(
        data_start[1].get("code").and_then(AmfValue::as_str),
        Some(status::NS_DATA_START)
    );
    assert!(out[1..].iter().all(|m| m.stream_id == stream_id));
}

#[test]
fn play_without_reset_skips_play_reset_and_rejection_sends_not_found() {
    let (mut session, mut client) = connected(None);
    let stream_id = create_stream(&mut session, &mut client);
    let play = client.command(
        stream_id,
        "play",
        0.0,
        AmfValue::Null,
        vec![AmfValue::string("a")],
    );
    let Some(SessionEvent::PlayRequested { request, .. }) = feed(&mut session, &play).pop() else {
        panic!()
    };
    session
        .accept_play(
            request,
            &PlayAccept {
                reset: false,
                ..PlayAccept::default()
            },
        )
        .unwrap();
    let codes: Vec<String> = client
        .receive(&mut session)
        .iter()
        .filter(|m| m.type_id == 20)
        .map(|m| status_code(&command_of(m)))
        .collect();
    assert_eq!(codes, vec![status::NS_PLAY_START.to_owned()]);

    // A second play replaces the first; reject it.
    let play = client.command(
        stream_id,
        "play",
        0.0,
        AmfValue::Null,
        vec![AmfValue::string("b")],
    );
    let events = feed(&mut session, &play);
    assert!(matches!(
        &events[0],
        SessionEvent::StreamClosed {
            reason: CloseReason::Replaced,
            accepted: true,
            ..
        }
    ));
    let SessionEvent::PlayRequested { request, .. } = events[1] else {
        panic!()
    };
    session
        .reject_play(request, status::NS_PLAY_STREAM_NOT_FOUND, "No such stream.")
        .unwrap();
    let out = client.receive(&mut session);
    assert_eq!(
        status_code(&command_of(&out[0])),
        status::NS_PLAY_STREAM_NOT_FOUND
    );
}

#[test]
fn send_media_shares_the_payload_bytes_without_copying() {
    let (mut session, mut client) = connected(None);
    let stream_id = create_stream(&mut session, &mut client);
    let payload = Bytes::from(vec![0x27u8; 10_000]); // > one 4096-byte chunk
    assert!(session
        .send_media(stream_id, MediaKind::Video, 40, &payload)
        .unwrap());
    let segments = session.take_outbound();
    let range = payload.as_ptr_range();
    let shared: Vec<&Bytes> = segments
        .iter()
        .filter(|s| range.contains(&s.as_ptr()))
        .collect();
    assert_eq!(shared.iter().map(|s| s.len()).sum::<usize>(), payload.len());
    assert_eq!(shared.len(), 3);
    // And the client reads it back intact.
    let mut buf = bytes::BytesMut::from(&concat(segments)[..]);
    let raw = client.decoder.decode(&mut buf).unwrap().unwrap();
    assert_eq!(
        (raw.type_id, raw.csid, raw.timestamp, raw.stream_id),
        (9, CSID_VIDEO, 40, stream_id)
    );
    assert_eq!(raw.payload, payload);
    assert!(session
        .send_media(99, MediaKind::Audio, 0, &payload)
        .is_err());
    let _ = CSID_AUDIO;
}

#[test]
fn receive_video_false_makes_send_media_skip_video() {
    let (mut session, mut client) = connected(None);
    let stream_id = create_stream(&mut session, &mut client);
    let off = client.command(
        stream_id,
        "receiveVideo",
        0.0,
        AmfValue::Null,
        vec![AmfValue::Boolean(false)],
    );
    assert_eq!(
        feed(&mut session, &off),
        vec![SessionEvent::ReceiveMediaChanged {
            stream_id,
            audio: true,
            video: false
        }]
    );
    let frame = Bytes::from_static(&[0x17, 1]);
    assert!(!session
        .send_media(stream_id, MediaKind::Video, 0, &frame)
        .unwrap());
    assert!(session
        .send_media(stream_id, MediaKind::Audio, 0, &frame)
        .unwrap());
}

#[test]
fn published_media_and_set_data_frame_metadata_become_events() {
    let (mut session, mut client) = connected(None);
    let stream_id = create_stream(&mut session, &mut client);
    let Some(SessionEvent::PublishRequested { request, .. }) =
        publish(&mut session, &mut client, stream_id, "cam").pop()
    else {
        panic!()
    };
    // ffmpeg / OBS: @setDataFrame("onMetaData", ecma array).
    let meta = AmfValue::ecma_array([("width", AmfValue::Number(1280.0))]);
    let bytes = client.data(
        stream_id,
        0,
        &[
            AmfValue::string("@setDataFrame"),
            AmfValue::string("onMetaData"),
            meta.clone(),
        ],
    );
    assert_eq!(
        feed(&mut session, &bytes),
        vec![SessionEvent::MetadataReceived {
            stream_id,
            timestamp: 0,
            values: vec![meta.clone()]
        }]
    );
    session.accept_publish(request).unwrap();
    let payload = Bytes::from_static(&[0xAF, 0x01, 0x21, 0x10]);
    let audio = client.message(4, 23, 8, stream_id, payload.clone());
    assert_eq!(
        feed(&mut session, &audio),
        vec![SessionEvent::MediaReceived {
            stream_id,
            kind: MediaKind::Audio,
            timestamp: 23,
            payload
        }]
    );
    let cue = client.data(
        stream_id,
        50,
        &[AmfValue::string("onCuePoint"), AmfValue::Number(1.0)],
    );
    assert_eq!(
        feed(&mut session, &cue),
        vec![SessionEvent::DataReceived {
            stream_id,
            timestamp: 50,
            values: vec![AmfValue::string("onCuePoint"), AmfValue::Number(1.0)]
        }]
    );
    // Metadata goes out to a player as onMetaData on type 18.
    session
        .send_metadata(stream_id, 0, std::slice::from_ref(&meta))
        .unwrap();
    let out = client.receive(&mut session);
    assert_eq!(
        data_of(out.last().unwrap()),
        vec![AmfValue::string("onMetaData"), meta]
    );
}

#[test]
fn aggregate_messages_are_split_into_media_events() {
    let (mut session, mut client) = connected(None);
    let stream_id = create_stream(&mut session, &mut client);
    publish(&mut session, &mut client, stream_id, "cam");
    let aggregate = crate::protocol::message::Aggregate {
        parts: vec![
            crate::protocol::message::AggregatePart {
                type_id: 8,
                timestamp: 100,
                stream_id: 0,
                body: Bytes::from_static(&[0xAF, 1]),
            },
            crate::protocol::message::AggregatePart {
                type_id: 9,
                timestamp: 120,
                stream_id: 0,
                body: Bytes::from_static(&[0x27, 1]),
            },
        ],
    };
    let mut body = bytes::BytesMut::new();
    aggregate.encode(&mut body).unwrap();
    let bytes = client.message(6, 1000, 22, stream_id, body.freeze());
    let events = feed(&mut session, &bytes);
    let times: Vec<(MediaKind, u32)> = events
        .iter()
        .map(|e| match e {
            SessionEvent::MediaReceived {
                kind, timestamp, ..
            } => (*kind, *timestamp),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        times,
        vec![(MediaKind::Audio, 1000), (MediaKind::Video, 1020)]
    );
}

#[test]
fn ffmpeg_unpublish_sequence_closes_the_stream_once() {
    let (mut session, mut client) = connected(None);
    let release = client.command(
        0,
        "releaseStream",
        2.0,
        AmfValue::Null,
        vec![AmfValue::string("cam")],
    );
    let fc = client.command(
        0,
        "FCPublish",
        3.0,
        AmfValue::Null,
        vec![AmfValue::string("cam")],
    );
    assert!(feed(&mut session, &release).is_empty());
    assert!(feed(&mut session, &fc).is_empty());
    let answers: Vec<_> = client
        .receive(&mut session)
        .iter()
        .map(command_of)
        .collect();
    let names: Vec<(&str, f64)> = answers
        .iter()
        .map(|c| (&*c.name, c.transaction_id))
        .collect();
    assert_eq!(
        names,
        vec![("_result", 2.0), ("onFCPublish", 0.0), ("_result", 3.0)]
    );

    let stream_id = create_stream(&mut session, &mut client);
    let Some(SessionEvent::PublishRequested { request, .. }) =
        publish(&mut session, &mut client, stream_id, "cam").pop()
    else {
        panic!()
    };
    session.accept_publish(request).unwrap();
    client.receive(&mut session);
    let unpublish = client.command(
        0,
        "FCUnpublish",
        6.0,
        AmfValue::Null,
        vec![AmfValue::string("cam")],
    );
    assert_eq!(
        feed(&mut session, &unpublish),
        vec![SessionEvent::StreamClosed {
            stream_id,
            role: StreamRole::Publishing { name: "cam".into() },
            accepted: true,
            reason: CloseReason::FcUnpublish,
        }]
    );
    let out: Vec<_> = client
        .receive(&mut session)
        .iter()
        .map(command_of)
        .collect();
    assert_eq!(status_code(&out[0]), status::NS_UNPUBLISH_SUCCESS);
    assert_eq!(&*out[1].name, "onFCUnpublish");
    let delete = client.command(
        0,
        "deleteStream",
        7.0,
        AmfValue::Null,
        vec![AmfValue::Number(f64::from(stream_id))],
    );
    assert!(feed(&mut session, &delete).is_empty(), "already closed");
    assert_eq!(session.streams().count(), 0);
}

#[test]
fn delete_stream_cancels_a_pending_request_and_the_late_decision_is_refused() {
    let (mut session, mut client) = connected(None);
    let stream_id = create_stream(&mut session, &mut client);
    let Some(SessionEvent::PublishRequested { request, .. }) =
        publish(&mut session, &mut client, stream_id, "cam").pop()
    else {
        panic!()
    };
    let delete = client.command(
        0,
        "deleteStream",
        0.0,
        AmfValue::Null,
        vec![AmfValue::Number(f64::from(stream_id))],
    );
    assert_eq!(
        feed(&mut session, &delete),
        vec![SessionEvent::StreamClosed {
            stream_id,
            role: StreamRole::Publishing { name: "cam".into() },
            accepted: false,
            reason: CloseReason::DeleteStream,
        }]
    );
    assert_eq!(
        session.accept_publish(request),
        Err(SessionError::UnknownRequest { request })
    );
    assert!(client.receive(&mut session).is_empty());
}

#[test]
fn close_stream_and_publish_null_end_publishing() {
    let (mut session, mut client) = connected(None);
    let stream_id = create_stream(&mut session, &mut client);
    let Some(SessionEvent::PublishRequested { request, .. }) =
        publish(&mut session, &mut client, stream_id, "cam").pop()
    else {
        panic!()
    };
    session.accept_publish(request).unwrap();
    let close = client.command(stream_id, "closeStream", 0.0, AmfValue::Null, vec![]);
    let events = feed(&mut session, &close);
    assert!(matches!(
        &events[..],
        [SessionEvent::StreamClosed {
            reason: CloseReason::CloseStream,
            ..
        }]
    ));
    assert!(
        session.stream(stream_id).is_some(),
        "closeStream keeps the id"
    );
    // publish(null) on an idle stream reports nothing.
    let stop = client.command(
        stream_id,
        "publish",
        0.0,
        AmfValue::Null,
        vec![AmfValue::Null],
    );
    assert!(feed(&mut session, &stop).is_empty());
}

#[test]
fn commands_on_never_created_streams_get_an_error_status_not_a_crash() {
    let (mut session, mut client) = connected(None);
    for name in ["publish", "play"] {
        let bytes = client.command(7, name, 0.0, AmfValue::Null, vec![AmfValue::string("x")]);
        assert_eq!(
            feed(&mut session, &bytes),
            vec![SessionEvent::Ignored {
                stream_id: 7,
                type_id: 20,
                reason: IgnoreReason::UnknownStream
            }]
        );
        let out = client.receive(&mut session);
        assert_eq!(out[0].stream_id, 7);
        assert_eq!(status_code(&command_of(&out[0])), status::NS_FAILED);
    }
    let audio = client.message(4, 0, 8, 7, Bytes::from_static(&[0xAF]));
    assert!(matches!(
        feed(&mut session, &audio)[..],
        [SessionEvent::Ignored {
            reason: IgnoreReason::UnknownStream,
            ..
        }]
    ));
    assert_eq!(
        session.send_status(7, &StatusInfo::new("status", "X", "y")),
        Err(SessionError::UnknownStream { stream_id: 7 })
    );
}

#[test]
fn second_publish_on_a_busy_stream_is_refused_with_bad_name() {
    let (mut session, mut client) = connected(None);
    let stream_id = create_stream(&mut session, &mut client);
    publish(&mut session, &mut client, stream_id, "cam");
    let events = publish(&mut session, &mut client, stream_id, "cam2");
    assert!(matches!(
        events[..],
        [SessionEvent::Ignored {
            reason: IgnoreReason::StreamBusy,
            ..
        }]
    ));
    let out = client.receive(&mut session);
    assert_eq!(
        status_code(&command_of(&out[0])),
        status::NS_PUBLISH_BAD_NAME
    );
}

#[test]
fn pause_seek_and_buffer_length_are_reported() {
    let (mut session, mut client) = connected(None);
    let stream_id = create_stream(&mut session, &mut client);
    let mut body = bytes::BytesMut::new();
    UserControlEvent::SetBufferLength {
        stream_id,
        buffer_ms: 3000,
    }
    .encode(&mut body);
    let buffer = client.message(2, 0, 4, 0, body.freeze());
    assert_eq!(
        feed(&mut session, &buffer),
        vec![SessionEvent::BufferLengthSet {
            stream_id,
            buffer_ms: 3000
        }]
    );
    assert_eq!(session.stream(stream_id).unwrap().buffer_ms, Some(3000));
    let pause = client.command(
        stream_id,
        "pause",
        0.0,
        AmfValue::Null,
        vec![AmfValue::Boolean(true), AmfValue::Number(500.0)],
    );
    assert_eq!(
        feed(&mut session, &pause),
        vec![SessionEvent::PauseRequested {
            stream_id,
            pause: Some(true),
            milliseconds: 500.0
        }]
    );
    let seek = client.command(
        stream_id,
        "seek",
        0.0,
        AmfValue::Null,
        vec![AmfValue::Number(9000.0)],
    );
    assert_eq!(
        feed(&mut session, &seek),
        vec![SessionEvent::SeekRequested {
            stream_id,
            milliseconds: 9000.0
        }]
    );
    session.send_stream_eof(stream_id).unwrap();
    let out = client.receive(&mut session);
    assert_eq!(
        control_of(&out[0]),
        RtmpMessage::UserControl(UserControlEvent::StreamEof { stream_id })
    );
}
