//! The write-coalescing window (`[rtmp] write_coalesce_ms`) on the real
//! `ferrocast` binary with real ffmpeg, rtmpdump and a raw player: media is
//! unchanged by it, and joins and commands do not wait for it.

mod common;

use std::time::Duration;

use common::node::Node;
use common::process::{make_test_flv, TempDir};
use common::raw_client::{Seen, Watcher};

#[test]
fn players_get_every_packet_byte_for_byte_through_a_200_ms_window() {
    let node = Node::start_with_env(&[("FERROCAST__RTMP__WRITE_COALESCE_MS", "200")]);
    // The same comparison as without a window (server_live.rs): every
    // packet of the source, in order, including the last window's worth
    // that was still queued when the publisher left.
    common::media::three_players_get_the_source_byte_for_byte(&node, "coalesce-all");
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
