//! Streams across nodes (issue 5): real `ferrocast` node processes joined
//! through a real redis-server the harness starts on a free port, real
//! ffmpeg and rtmpdump peers. Players on other nodes get the publisher's
//! packets byte for byte; a late joiner on another node starts at a
//! keyframe with metadata and sequence headers (from that node's relay, and
//! from the owner's GOP burst); two publishers racing for one name on two
//! nodes: exactly one wins; a `kill -9`ed owner's remote players get
//! `NetStream.Play.UnpublishNotify` within the lease time, and a republish
//! on another node resumes them.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::media::{
    assert_same_payloads as assert_same, ffmpeg_player, ffmpeg_publisher, payloads, read_flv,
    rtmpdump_player,
};
use common::node::Node;
use common::process::{make_test_flv, TempDir};
use common::raw_client::{Seen, Watcher};
use common::redis::RedisServer;
use ferrocast::protocol::flv::{FlvTag, FlvTagType, ScriptTag};
use ferrocast::protocol::limits::AmfLimits;
use ferrocast::protocol::media::{AudioTagInfo, VideoTagInfo};

const PEER_LIMIT: Duration = Duration::from_secs(40);
const HEARTBEAT_MS: u64 = 300;
/// Node heartbeat and stream lease TTL.
const TTL_MS: u64 = 1_500;

fn start_node(redis: &RedisServer, id: &str) -> Node {
    let interval = HEARTBEAT_MS.to_string();
    let ttl = TTL_MS.to_string();
    Node::start_with_args(
        &["--redis", &redis.url(), "--node-id", id],
        &[
            ("FERROCAST__CLUSTER__HEARTBEAT_INTERVAL_MS", &interval),
            ("FERROCAST__CLUSTER__NODE_TTL_MS", &ttl),
        ],
        None,
    )
}

/// Waits until `node` logged `needle` at least `count` times.
fn wait_for_logs(node: &Node, needle: &str, count: usize, limit: Duration) {
    let deadline = Instant::now() + limit;
    while node.log().matches(needle).count() < count {
        assert!(
            Instant::now() < deadline,
            "{needle:?} not logged {count} times:\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts a late joiner's file starts with metadata, then the sequence
/// headers, then a keyframe, and carries the source's video without a gap
/// from that keyframe on.
fn assert_starts_at_a_keyframe(got: &[FlvTag], source: &Path, what: &str) {
    let first = got.first().unwrap_or_else(|| panic!("{what}: no tags"));
    assert_eq!(
        first.tag_type,
        FlvTagType::ScriptData,
        "{what}: metadata first"
    );
    let script = ScriptTag::parse(first.data.clone(), AmfLimits::default()).expect("script tag");
    assert!(script.is_metadata(), "{what}: onMetaData first: {script:?}");
    let video: Vec<&FlvTag> = got
        .iter()
        .filter(|t| t.tag_type == FlvTagType::Video)
        .collect();
    let audio: Vec<&FlvTag> = got
        .iter()
        .filter(|t| t.tag_type == FlvTagType::Audio)
        .collect();
    assert!(video.len() > 2 && !audio.is_empty(), "{what}: media");
    assert!(
        VideoTagInfo::parse(&video[0].data)
            .unwrap()
            .is_sequence_header(),
        "{what}: video sequence header first"
    );
    assert!(
        AudioTagInfo::parse(&audio[0].data)
            .unwrap()
            .is_sequence_header(),
        "{what}: audio sequence header first"
    );
    assert!(
        VideoTagInfo::parse(&video[1].data).unwrap().is_keyframe(),
        "{what}: then a keyframe"
    );
    let source_video = payloads(&read_flv(source), FlvTagType::Video, 5);
    let got_video: Vec<Bytes> = video[1..]
        .iter()
        .map(|t| t.data.clone())
        .filter(|d| d.len() > 5)
        .collect();
    let start = source_video
        .iter()
        .position(|p| *p == got_video[0])
        .unwrap_or_else(|| panic!("{what}: the keyframe is in the source"));
    assert!(
        start > 0,
        "{what}: a late joiner does not start at the beginning"
    );
    assert_same(&got_video, &source_video[start..], what);
}

#[test]
fn players_on_two_other_nodes_get_every_packet_and_a_late_joiner_starts_at_a_keyframe() {
    let redis = RedisServer::start();
    let nodes = [
        start_node(&redis, "a"),
        start_node(&redis, "b"),
        start_node(&redis, "c"),
    ];
    let dir = TempDir::new("cluster-relay");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 5, 25);

    // Players on B and C before the publish: they wait for it anywhere.
    let outs = [dir.0.join("b.flv"), dir.0.join("c.flv")];
    let players = [
        ffmpeg_player(&nodes[1].url("live/cam"), &outs[0]),
        ffmpeg_player(&nodes[2].url("live/cam"), &outs[1]),
    ];
    wait_for_logs(&nodes[1], "playing", 1, Duration::from_secs(20));
    wait_for_logs(&nodes[2], "playing", 1, Duration::from_secs(20));

    let publisher = ffmpeg_publisher(&nodes[0].url("live/cam"), &source);
    // Halfway through, a late joiner on C (served by C's relay).
    wait_for_logs(&nodes[2], "relaying a stream", 1, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(2300));
    let late_out = dir.0.join("late.flv");
    let late = rtmpdump_player(&nodes[2].url("live/cam"), &late_out);

    let (status, output) = publisher.finish(PEER_LIMIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "publisher failed: {output}\n{}",
        nodes[0].log()
    );
    for (i, player) in players.into_iter().enumerate() {
        let (status, output) = player.finish(PEER_LIMIT);
        assert!(
            status.is_some(),
            "player {i} did not stop after the publisher left: {output}\n{}",
            nodes[i + 1].log()
        );
    }
    let (status, output) = late.finish(PEER_LIMIT);
    assert!(status.is_some(), "late player did not stop: {output}");

    let tags = read_flv(&source);
    for (out, what) in outs.iter().zip(["player on B", "player on C"]) {
        let got = read_flv(out);
        assert_same(
            &payloads(&got, FlvTagType::Video, 0),
            &payloads(&tags, FlvTagType::Video, 0),
            &format!("{what} video"),
        );
        assert_same(
            &payloads(&got, FlvTagType::Audio, 0),
            &payloads(&tags, FlvTagType::Audio, 0),
            &format!("{what} audio"),
        );
    }
    assert_starts_at_a_keyframe(&read_flv(&late_out), &source, "late joiner on C");
    // A published frames for B and C through Redis, and only for them.
    assert!(nodes[0].metric("ferrocast_cluster_media_sent_total") > 100);
    assert!(nodes[1].metric("ferrocast_cluster_media_received_total") > 100);
}

#[test]
fn two_publishers_racing_on_two_nodes_one_wins_and_a_late_joiner_elsewhere_gets_the_owners_cache() {
    let redis = RedisServer::start();
    let nodes = [
        start_node(&redis, "a"),
        start_node(&redis, "b"),
        start_node(&redis, "c"),
    ];
    let dir = TempDir::new("cluster-race");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 5, 25);

    let racers = [
        ffmpeg_publisher(&nodes[0].url("live/race"), &source),
        ffmpeg_publisher(&nodes[1].url("live/race"), &source),
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    while !nodes[..2]
        .iter()
        .any(|n| n.log().contains("stream published"))
    {
        assert!(Instant::now() < deadline, "nobody published");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A node that has never seen the stream joins late: the owner sends it
    // its GOP cache.
    std::thread::sleep(Duration::from_millis(2300));
    let late_out = dir.0.join("late.flv");
    let late = rtmpdump_player(&nodes[2].url("live/race"), &late_out);

    let results: Vec<(bool, String)> = racers
        .into_iter()
        .map(|p| {
            let (status, output) = p.finish(PEER_LIMIT);
            (status.is_some_and(|s| s.success()), output)
        })
        .collect();
    let winners = results.iter().filter(|(ok, _)| *ok).count();
    assert_eq!(winners, 1, "exactly one publisher wins: {results:?}");
    let (_, loser) = results.iter().find(|(ok, _)| !ok).expect("a loser");
    assert!(
        loser.contains("already being published"),
        "the loser got BadName: {loser}"
    );
    let published: usize = nodes[..2]
        .iter()
        .map(|n| n.log().matches("stream published").count())
        .sum();
    assert_eq!(published, 1, "one stream was published in the cluster");

    let (status, output) = late.finish(PEER_LIMIT);
    assert!(status.is_some(), "late player did not stop: {output}");
    assert_starts_at_a_keyframe(&read_flv(&late_out), &source, "late joiner on C");
}

#[test]
fn a_killed_owners_remote_players_get_unpublish_notify_and_a_republish_elsewhere_resumes_them() {
    const UNPUBLISH: &str = "NetStream.Play.UnpublishNotify";
    const PUBLISH: &str = "NetStream.Play.PublishNotify";
    let redis = RedisServer::start();
    let mut a = start_node(&redis, "a");
    let b = start_node(&redis, "b");
    let c = start_node(&redis, "c");
    let dir = TempDir::new("cluster-kill");
    let long = dir.0.join("long.flv");
    make_test_flv(&long, 30, 25);
    let short = dir.0.join("short.flv");
    make_test_flv(&short, 4, 25);

    let _publisher = ffmpeg_publisher(&a.url("live/kill"), &long);
    let mut on_b = Watcher::play(&b.rtmp, "live", "kill");
    let mut on_c = Watcher::play(&c.rtmp, "live", "kill");
    for (w, node) in [(&mut on_b, &b), (&mut on_c, &c)] {
        assert!(
            w.until(Duration::from_secs(20), video_after_slice),
            "remote player gets video: {:?}\n{}",
            w.seen,
            node.log()
        );
    }

    a.kill();
    let killed = Instant::now();
    let limit = Duration::from_millis(TTL_MS) + Duration::from_secs(4);
    for (w, node) in [(&mut on_b, &b), (&mut on_c, &c)] {
        assert!(
            w.until(limit, |s| s.contains(&Seen::Status(UNPUBLISH.into()))),
            "UnpublishNotify after the owner died: {:?}\n{}",
            w.seen,
            node.log()
        );
    }
    let noticed = killed.elapsed();
    assert!(
        noticed <= limit,
        "noticed within the lease time and a check: {noticed:?}"
    );

    let from_b = on_b.seen.len();
    let from_c = on_c.seen.len();
    let republisher = ffmpeg_publisher(&b.url("live/kill"), &short);
    for (w, from, node) in [(&mut on_b, from_b, &b), (&mut on_c, from_c, &c)] {
        assert!(
            w.until(Duration::from_secs(20), |s| {
                s[from..].contains(&Seen::Status(PUBLISH.into())) && video_after_slice(&s[from..])
            }),
            "resumed after the republish: {:?}\n{}",
            &w.seen[from..],
            node.log()
        );
    }
    let (status, output) = republisher.finish(PEER_LIMIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "republisher failed: {output}\n{}",
        b.log()
    );
}

fn video_after_slice(seen: &[Seen]) -> bool {
    seen.iter()
        .any(|s| matches!(s, Seen::Video { keyframe: true, .. }))
}

#[test]
fn a_publisher_whose_lease_was_taken_over_is_unpublished_with_a_logged_reason() {
    let redis = RedisServer::start();
    let a = start_node(&redis, "a");
    let b = start_node(&redis, "b");
    let dir = TempDir::new("cluster-steal");
    let long = dir.0.join("long.flv");
    make_test_flv(&long, 30, 25);
    let _publisher = ffmpeg_publisher(&a.url("live/steal"), &long);
    let mut on_b = Watcher::play(&b.rtmp, "live", "steal");
    assert!(
        on_b.until(Duration::from_secs(20), video_after_slice),
        "remote player gets video: {:?}\n{}",
        on_b.seen,
        b.log()
    );
    let key = "ferrocast:lease:stream%3Alive%3Asteal";
    let mut conn = redis.connection().expect("redis");
    let owner: String = redis::cmd("GET").arg(key).query(&mut conn).expect("GET");
    assert!(
        owner.starts_with("a/"),
        "the publisher's node owns it: {owner}"
    );
    // Someone else holds the name now (as after an expiry and a takeover).
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg("intruder/1")
        .arg("PX")
        .arg(60_000)
        .query(&mut conn)
        .expect("SET");
    a.wait_for_log("lease was taken over", Duration::from_secs(5));
    assert!(
        on_b.until(Duration::from_secs(5), |s| s
            .contains(&Seen::Status("NetStream.Play.UnpublishNotify".into()))),
        "the remote player is told: {:?}\n{}",
        on_b.seen,
        b.log()
    );
    let owner: String = redis::cmd("GET").arg(key).query(&mut conn).expect("GET");
    assert_eq!(
        owner, "intruder/1",
        "the old owner did not delete the new lease"
    );
}
