//! Real RTMP clients (ffmpeg's own RTMP code and librtmp's rtmpdump) against a
//! tiny server made only of the protocol core (tests/common/mini_server.rs).
//!
//! Each test proves both directions: the client accepted what the core wrote
//! (it went on past the handshake and the connect exchange), and the core
//! decoded what the client sent, byte for byte against the source file.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::media::{assert_same_payloads, payloads as payloads_over, read_flv};
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

/// Serves `tags` to one player and returns the session and the file it wrote.
fn play_with(
    program: &str,
    args: impl Fn(&str, &str) -> Vec<String>,
    tags: Vec<FlvTag>,
) -> (Session, Vec<FlvTag>) {
    let dir = TempDir::new("interop-play");
    let out = dir.0.join("out.flv");
    let (listener, port) = listener();
    let url = format!("rtmp://127.0.0.1:{port}/live/cam");
    let argv = args(&url, out.to_str().unwrap());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let player = Peer::spawn(program, &argv);
    let session = serve_one(&listener, OnPlay::Serve(tags), SESSION_LIMIT);
    drop(listener);
    let (status, output) = player.finish(Duration::from_secs(30));
    assert!(
        status.is_some(),
        "{program} did not exit: {output}\n{}",
        session.describe()
    );
    assert_eq!(
        session.ended,
        "served",
        "{program}: {output}\n{}",
        session.describe()
    );
    assert!(out.exists(), "{program} wrote no file: {output}");
    (session, read_flv(&out))
}

#[test]
fn ffmpeg_player_accepts_the_digest_handshake_and_connect_and_receives_every_packet() {
    let dir = TempDir::new("interop-src");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 2, 25);
    let tags = read_flv(&source);
    let (session, got) = play_with(
        "ffmpeg",
        |url, out| {
            [
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-i",
                url,
                "-c",
                "copy",
                "-f",
                "flv",
                out,
            ]
            .map(String::from)
            .to_vec()
        },
        tags.clone(),
    );
    assert!(matches!(
        session.handshake,
        Some(HandshakeKind::Digest { .. })
    ));
    assert!(
        session
            .events
            .iter()
            .any(|e| matches!(e, SessionEvent::PlayRequested { name, .. } if name == "cam")),
        "{}",
        session.describe()
    );
    assert_same_payloads(
        &payloads(&got, FlvTagType::Video),
        &payloads(&tags, FlvTagType::Video),
        "video",
    );
    assert_same_payloads(
        &payloads(&got, FlvTagType::Audio),
        &payloads(&tags, FlvTagType::Audio),
        "audio",
    );
}

#[test]
fn rtmpdump_player_accepts_the_simple_handshake_and_connect_and_receives_every_packet() {
    let dir = TempDir::new("interop-src");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 2, 25);
    let tags = read_flv(&source);
    let (session, got) = play_with(
        "rtmpdump",
        |url, out| {
            ["-q", "--live", "-r", url, "-o", out]
                .map(String::from)
                .to_vec()
        },
        tags.clone(),
    );
    // librtmp only does the digest handshake for RTMPE or SWF verification.
    assert_eq!(session.handshake, Some(HandshakeKind::Simple));
    assert!(
        session
            .events
            .iter()
            .any(|e| matches!(e, SessionEvent::PlayRequested { name, .. } if name == "cam")),
        "{}",
        session.describe()
    );
    // rtmpdump writes what it receives, except that librtmp's reader drops video
    // packets of 5 bytes or less (here: the AVC end-of-sequence) and audio
    // packets of 1 byte or less, on purpose.
    let kept = |kind: FlvTagType, min: usize| -> Vec<bytes::Bytes> {
        payloads(&tags, kind)
            .into_iter()
            .filter(|p| p.len() > min)
            .collect()
    };
    assert_same_payloads(
        &payloads(&got, FlvTagType::Video),
        &kept(FlvTagType::Video, 5),
        "video",
    );
    assert_same_payloads(
        &payloads(&got, FlvTagType::Audio),
        &kept(FlvTagType::Audio, 1),
        "audio",
    );
}
