//! Real RTMP clients (ffmpeg's own RTMP code and librtmp's rtmpdump) against a
//! tiny server made only of the protocol core (tests/common/mini_server.rs).
//!
//! Each test proves both directions: the client accepted what the core wrote
//! (it went on past the handshake and the connect exchange), and the core
//! decoded what the client sent, byte for byte against the source file.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::media::{
    assert_same_payloads, ffmpeg_player, payloads as payloads_over, read_flv, rtmpdump_player,
};
use common::mini_server::{serve_one, OnPlay, Session};
use common::process::{make_test_flv, Peer, TempDir};
use ferrocast::protocol::flv::{FlvTag, FlvTagType};
use ferrocast::protocol::handshake::HandshakeKind;
use ferrocast::protocol::media::{AudioTagInfo, VideoTagInfo};
use ferrocast::protocol::session::{MediaKind, SessionEvent};

const SESSION_LIMIT: Duration = Duration::from_secs(60);

fn payloads(tags: &[FlvTag], kind: FlvTagType) -> Vec<bytes::Bytes> {
    payloads_over(tags, kind, 0)
}

fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = l.local_addr().expect("addr").port();
    (l, port)
}

#[test]
fn ffmpeg_publisher_completes_digest_handshake_connect_and_publish_and_its_media_arrives_intact() {
    let dir = TempDir::new("interop-publish");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 2, 25);
    let tags = read_flv(&source);
    let (listener, port) = listener();

    let url = format!("rtmp://127.0.0.1:{port}/live/cam");
    let publisher = Peer::spawn(
        "ffmpeg",
        &[
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            source.to_str().unwrap(),
            "-c",
            "copy",
            "-f",
            "flv",
            &url,
        ],
    );
    let session = serve_one(&listener, OnPlay::Serve(Vec::new()), SESSION_LIMIT);
    let (status, output) = publisher.finish(Duration::from_secs(30));
    assert!(
        status.is_some_and(|s| s.success()),
        "ffmpeg failed: {output}\n{}",
        session.describe()
    );

    assert!(
        matches!(session.handshake, Some(HandshakeKind::Digest { .. })),
        "ffmpeg uses the digest handshake"
    );
    let Some(SessionEvent::ConnectRequested { app, tc_url, .. }) = session
        .events
        .iter()
        .find(|e| !matches!(e, SessionEvent::HandshakeCompleted { .. }))
    else {
        panic!("connect comes first: {}", session.describe());
    };
    assert_eq!(app, "live");
    assert_eq!(
        tc_url.as_deref(),
        Some(format!("rtmp://127.0.0.1:{port}/live").as_str())
    );
    assert!(
        session
            .events
            .iter()
            .any(|e| matches!(e, SessionEvent::StreamCreated { .. })),
        "{}",
        session.describe()
    );
    assert!(
        session
            .events
            .iter()
            .any(|e| matches!(e, SessionEvent::PublishRequested { name, .. } if name == "cam")),
        "{}",
        session.describe()
    );

    // ffmpeg sends @setDataFrame onMetaData {…} before the media; the session
    // strips @setDataFrame and hands over the values after onMetaData.
    let metadata = session.events.iter().find_map(|e| match e {
        SessionEvent::MetadataReceived { values, .. } => Some(values.clone()),
        _ => None,
    });
    let metadata = metadata.expect("metadata from ffmpeg");
    assert!(
        metadata.first().and_then(|m| m.get("width")).is_some(),
        "metadata has width: {metadata:?}"
    );

    // Every audio and video payload arrives byte for byte, in order.
    let video: Vec<_> = session
        .media(MediaKind::Video)
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let audio: Vec<_> = session
        .media(MediaKind::Audio)
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert_same_payloads(&video, &payloads(&tags, FlvTagType::Video), "video");
    assert_same_payloads(&audio, &payloads(&tags, FlvTagType::Audio), "audio");

    let first_video = VideoTagInfo::parse(&video[0]).expect("sniffable");
    assert!(
        first_video.is_sequence_header(),
        "AVC sequence header first"
    );
    let first_audio = AudioTagInfo::parse(&audio[0]).expect("sniffable");
    assert!(
        first_audio.is_sequence_header(),
        "AAC sequence header first"
    );
    let keyframes = video
        .iter()
        .filter(|p| VideoTagInfo::parse(p).is_ok_and(|i| i.is_keyframe()))
        .count();
    assert!(
        keyframes >= 2,
        "a 2 s clip with a 1 s GOP has at least 2 keyframes, saw {keyframes}"
    );
}

/// Serves a 2 s ffmpeg-made clip to one player started by `start(url, out)`,
/// checks that it asked to play `cam` and that the file it wrote holds every
/// video and audio payload longer than the given sizes, byte for byte; returns
/// the session.
fn play_with(
    start: fn(&str, &std::path::Path) -> Peer,
    min_video: usize,
    min_audio: usize,
) -> Session {
    let dir = TempDir::new("interop-play");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 2, 25);
    let tags = read_flv(&source);
    let out = dir.0.join("out.flv");
    let (listener, port) = listener();
    let player = start(&format!("rtmp://127.0.0.1:{port}/live/cam"), &out);
    let session = serve_one(&listener, OnPlay::Serve(tags.clone()), SESSION_LIMIT);
    drop(listener);
    let (status, output) = player.finish(Duration::from_secs(30));
    assert!(
        status.is_some(),
        "the player did not exit: {output}\n{}",
        session.describe()
    );
    assert_eq!(session.ended, "served", "{output}\n{}", session.describe());
    assert!(
        session
            .events
            .iter()
            .any(|e| matches!(e, SessionEvent::PlayRequested { name, .. } if name == "cam")),
        "{}",
        session.describe()
    );
    let got = read_flv(&out);
    for (kind, min, what) in [
        (FlvTagType::Video, min_video, "video"),
        (FlvTagType::Audio, min_audio, "audio"),
    ] {
        assert_same_payloads(
            &payloads_over(&got, kind, min),
            &payloads_over(&tags, kind, min),
            what,
        );
    }
    session
}

#[test]
fn ffmpeg_player_accepts_the_digest_handshake_and_connect_and_receives_every_packet() {
    let session = play_with(ffmpeg_player, 0, 0);
    assert!(matches!(
        session.handshake,
        Some(HandshakeKind::Digest { .. })
    ));
}

#[test]
fn rtmpdump_player_accepts_the_simple_handshake_and_connect_and_receives_every_packet() {
    // rtmpdump writes what it receives, except that librtmp's reader drops video
    // packets of 5 bytes or less (here: the AVC end-of-sequence) and audio
    // packets of 1 byte or less, on purpose.
    let session = play_with(rtmpdump_player, 5, 1);
    // librtmp only does the digest handshake for RTMPE or SWF verification.
    assert_eq!(session.handshake, Some(HandshakeKind::Simple));
}
