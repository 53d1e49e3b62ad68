//! The write-coalescing window (`[rtmp] write_coalesce_ms`) on the real
//! `ferrocast` binary with real ffmpeg, rtmpdump and a raw player: media is
//! unchanged by it, and joins and commands do not wait for it.

mod common;

use std::time::Duration;

use common::media::{
    assert_same_payloads as assert_same, ffmpeg_player, payloads, read_flv, rtmpdump_player,
};
use common::node::Node;
use common::process::{make_test_flv, TempDir};
use common::raw_client::{Seen, Watcher};
use ferrocast::protocol::flv::FlvTagType;

const PEER_LIMIT: Duration = Duration::from_secs(60);

#[test]
fn players_get_every_packet_byte_for_byte_through_a_200_ms_window() {
    let node = Node::start_with_env(&[("FERROCAST__RTMP__WRITE_COALESCE_MS", "200")]);
    let dir = TempDir::new("coalesce-all");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 3, 25);
    let url = node.url("live/cam");

    let outs = [
        dir.0.join("p1.flv"),
        dir.0.join("p2.flv"),
        dir.0.join("p3.flv"),
    ];
    let players = [
        ffmpeg_player(&url, &outs[0]),
        ffmpeg_player(&url, &outs[1]),
        rtmpdump_player(&url, &outs[2]),
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while node.log().matches("playing").count() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "three players did not start:\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let (status, output) = common::media::ffmpeg_publisher(&url, &source).finish(PEER_LIMIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "publisher failed: {output}\n{}",
        node.log()
    );
    for (i, player) in players.into_iter().enumerate() {
        let (status, output) = player.finish(PEER_LIMIT);
        assert!(
            status.is_some(),
            "player {i} did not stop after the publisher left: {output}"
        );
    }

    // The same comparison as without a window (server_live.rs): every
    // packet of the source, in order, including the last window's worth
    // that was still queued when the publisher left.
    let tags = read_flv(&source);
    for (i, out) in outs.iter().enumerate() {
        let got = read_flv(out);
        // librtmp (rtmpdump) drops video payloads of <= 5 bytes and audio of
        // <= 1 byte when writing its file; ffmpeg keeps everything.
        let (min_video, min_audio) = if i == 2 { (5, 1) } else { (0, 0) };
        let what = |k: &str| format!("player {i} {k}");
        assert_same(
            &payloads(&got, FlvTagType::Video, min_video),
            &payloads(&tags, FlvTagType::Video, min_video),
            &what("video"),
        );
        assert_same(
            &payloads(&got, FlvTagType::Audio, min_audio),
            &payloads(&tags, FlvTagType::Audio, min_audio),
            &what("audio"),
        );
    }
}

#[test]
fn a_late_joiner_gets_its_burst_and_statuses_without_waiting_for_the_window() {
    // A 30 s window (the queues' span budget raised to allow it): live
    // frames wait up to 30 s, but the joiner's burst must not.
    let node = Node::start_with_env(&[
        ("FERROCAST__RTMP__WRITE_COALESCE_MS", "30000"),
        ("FERROCAST__FANOUT__PLAYER_QUEUE_MAX_SPAN_MS", "60000"),
    ]);
    let dir = TempDir::new("coalesce-join");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 20, 25);
    let url = node.url("live/join");
    let publisher = common::media::ffmpeg_publisher(&url, &source);
    node.wait_for_log("publishing", Duration::from_secs(20));
    // Let the GOP cache fill past the first keyframe (1 s GOPs).
    std::thread::sleep(Duration::from_millis(2300));

    let mut watcher = Watcher::play(&node.rtmp, "live", "join");
    let got_keyframe = watcher.until(Duration::from_secs(15), |seen| {
        seen.iter()
            .any(|s| matches!(s, Seen::Video { keyframe: true, .. }))
    });
    assert!(
        got_keyframe,
        "the join burst waited for the 30 s window: {:?}\n{}",
        watcher.seen,
        node.log()
    );
    let start = watcher
        .status_at("NetStream.Play.Start", 0)
        .expect("NetStream.Play.Start arrives at once");
    let video: Vec<&Seen> = watcher.seen[start..]
        .iter()
        .filter(|s| matches!(s, Seen::Video { .. }))
        .collect();
    assert_eq!(
        video.first(),
        Some(&&Seen::Video {
            keyframe: false,
            header: true
        }),
        "the sequence header comes first: {:?}",
        watcher.seen
    );
    assert_eq!(
        video.get(1),
        Some(&&Seen::Video {
            keyframe: true,
            header: false
        }),
        "then the keyframe: {:?}",
        watcher.seen
    );
    assert!(
        watcher.seen[start..].contains(&Seen::Audio),
        "the burst carries audio too: {:?}",
        watcher.seen
    );
    // The publisher is killed on drop.
    drop(publisher);
}
