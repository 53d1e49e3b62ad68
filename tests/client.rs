//! `ferrocast::client` against the real `ferrocast` binary over real TCP:
//! connect in AMF0 and AMF3, calls, publish and play byte for byte, a second
//! publisher refused, clean close.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::media::{assert_same_payloads, payloads, read_flv};
use common::node::Node;
use common::process::{make_test_flv, TempDir};
use ferrocast::client::{Client, ClientError, ConnectOptions, Event, MediaKind, ObjectEncoding};
use ferrocast::protocol::amf::AmfValue;
use ferrocast::protocol::flv::FlvTagType;

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn connects_with_amf0_and_with_amf3() {
    let node = Node::start();
    for (options, encoding, number) in [
        (ConnectOptions::default(), ObjectEncoding::Amf0, 0.0),
        (ConnectOptions::amf3(), ObjectEncoding::Amf3, 3.0),
    ] {
        let (client, _events) = Client::connect(&node.url("chat/room1"), options)
            .await
            .expect("connect");
        let info = client.connect_info();
        assert_eq!(info.object_encoding, encoding);
        assert_eq!(
            info.info.get("code").and_then(AmfValue::as_str),
            Some("NetConnection.Connect.Success")
        );
        assert_eq!(
            info.info.get("objectEncoding").and_then(AmfValue::as_f64),
            Some(number)
        );
        client.close().await.expect("close");
        assert!(client.is_closed());
    }
}

#[tokio::test]
async fn calling_an_unknown_method_fails_with_call_failed_in_both_encodings() {
    let node = Node::start();
    for options in [ConnectOptions::default(), ConnectOptions::amf3()] {
        let (client, _events) = Client::connect(&node.url("chat"), options)
            .await
            .expect("connect");
        let error = client
            .call("noSuchMethod", vec![AmfValue::Number(1.0)])
            .await
            .expect_err("unknown methods fail");
        assert!(
            matches!(&error, ClientError::CallFailed { method, .. } if method == "noSuchMethod"),
            "{error:?}"
        );
        assert_eq!(error.code(), Some("NetConnection.Call.Failed"));
        // The connection stays usable after a failed call.
        assert!(client.create_stream().await.expect("createStream") >= 1);
    }
}

#[tokio::test]
async fn a_player_receives_what_a_publisher_sends_byte_for_byte() {
    let node = Node::start();
    let dir = TempDir::new("client-live");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 2, 25);
    let tags = read_flv(&source);
    let url = node.url("live");

    let (player, mut events) = Client::connect(&url, ConnectOptions::amf3())
        .await
        .expect("player connects");
    let play_id = player.create_stream().await.expect("createStream");
    player.play(play_id, "cam").await.expect("play starts");

    let (publisher, _events) = Client::connect(&url, ConnectOptions::default())
        .await
        .expect("publisher connects");
    let id = publisher.create_stream().await.expect("createStream");
    publisher.publish(id, "cam").await.expect("publish starts");
    for tag in &tags {
        let payload = tag.data.clone();
        match tag.tag_type {
            FlvTagType::Audio => publisher.send_audio(id, tag.timestamp, payload).await,
            FlvTagType::Video => publisher.send_video(id, tag.timestamp, payload).await,
            _ => Ok(()),
        }
        .expect("media sent");
    }

    let want_video = payloads(&tags, FlvTagType::Video, 0);
    let want_audio = payloads(&tags, FlvTagType::Audio, 0);
    let (mut video, mut audio) = (Vec::<Bytes>::new(), Vec::<Bytes>::new());
    let deadline = tokio::time::Instant::now() + LIMIT;
    while video.len() < want_video.len() || audio.len() < want_audio.len() {
        let event = tokio::time::timeout_at(deadline, events.next())
            .await
            .expect("every frame arrives in time")
            .expect("events go on");
        if let Event::Media {
            stream_id,
            kind,
            payload,
            ..
        } = event
        {
            assert_eq!(stream_id, play_id);
            match kind {
                MediaKind::Video => video.push(payload),
                MediaKind::Audio => audio.push(payload),
            }
        }
    }
    assert_same_payloads(&video, &want_video, "video");
    assert_same_payloads(&audio, &want_audio, "audio");
    assert_eq!(events.dropped(), 0);
    publisher.close().await.expect("close");
    player.close().await.expect("close");
}

#[tokio::test]
async fn a_second_publisher_of_the_same_name_is_refused_with_bad_name() {
    let node = Node::start();
    let url = node.url("live");
    let (first, _e1) = Client::connect(&url, ConnectOptions::default())
        .await
        .expect("connect");
    let id = first.create_stream().await.expect("createStream");
    first.publish(id, "taken").await.expect("first publish");

    let (second, _e2) = Client::connect(&url, ConnectOptions::default())
        .await
        .expect("connect");
    let id2 = second.create_stream().await.expect("createStream");
    let error = second
        .publish(id2, "taken")
        .await
        .expect_err("second publisher refused");
    assert!(
        matches!(error, ClientError::StreamFailed { .. }),
        "{error:?}"
    );
    assert_eq!(error.code(), Some("NetStream.Publish.BadName"));
}

#[tokio::test]
async fn close_ends_the_event_stream_and_fails_later_operations() {
    let node = Node::start();
    let (client, mut events) = Client::connect(&node.url("chat"), ConnectOptions::default())
        .await
        .expect("connect");
    let other = client.clone();
    client.close().await.expect("close");
    let last = tokio::time::timeout(LIMIT, async {
        let mut last = None;
        while let Some(event) = events.next().await {
            last = Some(event);
        }
        last
    })
    .await
    .expect("the stream ends");
    assert!(
        matches!(last, Some(Event::Closed { error: None })),
        "{last:?}"
    );
    let error = other
        .call("echo", vec![])
        .await
        .expect_err("closed connection");
    assert!(matches!(error, ClientError::Closed), "{error:?}");
    client.close().await.expect("closing twice is fine");
}

#[tokio::test]
async fn a_bad_url_is_refused_before_connecting() {
    let error = Client::connect("http://localhost/app", ConnectOptions::default())
        .await
        .expect_err("not rtmp");
    assert!(matches!(error, ClientError::InvalidUrl { .. }), "{error:?}");
}
