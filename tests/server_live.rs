//! The real `ferrocast` binary as a live server, driven by real ffmpeg and
//! rtmpdump: every test starts its own node on 127.0.0.1 port 0.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::media::{
    assert_same_payloads as assert_same, ffmpeg_player, payloads, read_flv, rtmpdump_player,
};
use common::node::Node;
use common::process::{make_test_flv, TempDir};
use ferrocast::protocol::flv::{FlvTag, FlvTagType, ScriptTag};
use ferrocast::protocol::limits::AmfLimits;
use ferrocast::protocol::media::{AudioTagInfo, VideoTagInfo};

const PEER_LIMIT: Duration = Duration::from_secs(60);

#[test]
fn players_waiting_before_the_publish_receive_every_packet_byte_for_byte() {
    let node = Node::start();
    common::media::three_players_get_the_source_byte_for_byte(&node, "live-all");
}

#[test]
fn a_late_joiner_starts_with_metadata_then_sequence_headers_then_a_keyframe() {
    let node = Node::start();
    let dir = TempDir::new("live-late");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 5, 25);
    let url = node.url("live/late");
    let publisher = common::media::ffmpeg_publisher(&url, &source);
    node.wait_for_log("publishing", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(2300));

    let out = dir.0.join("late.flv");
    let (status, output) = rtmpdump_player(&url, &out).finish(PEER_LIMIT);
    assert!(status.is_some(), "late player did not stop: {output}");
    let (status, output) = publisher.finish(PEER_LIMIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "publisher failed: {output}"
    );

    let got = read_flv(&out);
    let first = got.first().expect("the late joiner received tags");
    assert_eq!(
        first.tag_type,
        FlvTagType::ScriptData,
        "metadata comes first"
    );
    let script = ScriptTag::parse(first.data.clone(), AmfLimits::default()).expect("script tag");
    assert!(
        script.is_metadata(),
        "the first tag is onMetaData: {script:?}"
    );

    let video: Vec<&FlvTag> = got
        .iter()
        .filter(|t| t.tag_type == FlvTagType::Video)
        .collect();
    let audio: Vec<&FlvTag> = got
        .iter()
        .filter(|t| t.tag_type == FlvTagType::Audio)
        .collect();
    assert!(
        VideoTagInfo::parse(&video[0].data)
            .unwrap()
            .is_sequence_header(),
        "video sequence header first"
    );
    assert!(
        AudioTagInfo::parse(&audio[0].data)
            .unwrap()
            .is_sequence_header(),
        "audio sequence header first"
    );
    assert!(
        VideoTagInfo::parse(&video[1].data).unwrap().is_keyframe(),
        "then a keyframe"
    );

    // From the keyframe on, the joiner got the source's video without a gap.
    let source_video = payloads(&read_flv(&source), FlvTagType::Video, 5);
    let got_video: Vec<Bytes> = video[1..]
        .iter()
        .map(|t| t.data.clone())
        .filter(|d| d.len() > 5)
        .collect();
    let start = source_video
        .iter()
        .position(|p| *p == got_video[0])
        .expect("the keyframe is in the source");
    assert!(
        start > 0,
        "a late joiner does not start at the very beginning"
    );
    assert_same(
        &got_video,
        &source_video[start..],
        "late joiner video from its keyframe on",
    );
}

#[test]
fn a_second_publisher_of_the_same_name_is_refused_and_the_first_is_unaffected() {
    let node = Node::start();
    let dir = TempDir::new("live-badname");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 3, 25);
    let url = node.url("live/taken");
    let first = common::media::ffmpeg_publisher(&url, &source);
    node.wait_for_log("publishing", Duration::from_secs(20));

    let (status, output) = common::media::ffmpeg_publisher(&url, &source).finish(PEER_LIMIT);
    assert!(
        status.is_some_and(|s| !s.success()),
        "the second publisher must fail: {output}"
    );
    assert!(
        output.contains("already being published"),
        "ffmpeg shows our reason: {output}"
    );
    let (status, output) = first.finish(PEER_LIMIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "the first publisher completes: {output}\n{}",
        node.log()
    );
}

#[test]
fn health_reports_the_bound_addresses_and_metrics_count_connections() {
    let node = Node::start();
    let (status, body) = node.get("/health");
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).expect("JSON health");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["cluster"], "single");
    assert_eq!(health["rtmp_addr"], node.rtmp.as_str());
    assert_eq!(health["http_addr"], node.http.as_str());
    assert!(health["node_id"].as_str().is_some_and(|id| !id.is_empty()));

    let dir = TempDir::new("live-metrics");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 1, 25);
    let (status, output) =
        common::media::ffmpeg_publisher(&node.url("live/m"), &source).finish(PEER_LIMIT);
    assert!(status.is_some_and(|s| s.success()), "{output}");
    let (status, metrics) = node.get("/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("# TYPE ferrocast_connections_total counter"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l == "ferrocast_connections_total 1"),
        "{metrics}"
    );
    let bytes_in: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ferrocast_bytes_in_total "))
        .and_then(|v| v.parse().ok())
        .expect("bytes in");
    assert!(
        bytes_in > std::fs::metadata(&source).unwrap().len() / 2,
        "counted what ffmpeg sent"
    );
}

#[test]
fn sigterm_stops_the_node_cleanly_with_a_player_attached() {
    let mut node = Node::start();
    let dir = TempDir::new("live-term");
    let _player = ffmpeg_player(&node.url("live/none"), &dir.0.join("x.flv"));
    node.wait_for_log("playing", Duration::from_secs(20));
    assert!(
        node.terminate(Duration::from_secs(10)),
        "exit 0 after SIGTERM:\n{}",
        node.log()
    );
    assert!(node.log().contains("shutting down"), "{}", node.log());
}

#[test]
fn a_stalled_player_is_evicted_with_bounded_memory_and_does_not_slow_the_others() {
    // Bounds a real-time reader of this ~12 Mbps stream fits in even on a
    // loaded machine (4 MiB is over two seconds of it) but far below what is
    // published (~30 MB), so the stall shows within seconds.
    let node = Node::start_with_env(&[
        ("FERROCAST__FANOUT__GOP_MAX_BYTES", "2097152"),
        ("FERROCAST__FANOUT__PLAYER_QUEUE_MAX_BYTES", "4194304"),
        ("FERROCAST__FANOUT__PLAYER_QUEUE_MAX_SPAN_MS", "4000"),
        ("FERROCAST__FANOUT__PLAYER_MAX_LAG_MS", "3000"),
        ("FERROCAST__FANOUT__PLAYER_HARD_CAP_BYTES", "10485760"),
    ]);
    let dir = TempDir::new("live-stall");
    let source = dir.0.join("heavy.flv");
    common::process::make_heavy_flv(&source, 20);
    let url = node.url("live/heavy");

    let _stalled = common::raw_client::stalled_player(&node.rtmp, "live", "heavy");
    let out = dir.0.join("normal.flv");
    let normal = ffmpeg_player(&url, &out);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while node.log().matches("playing").count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "players did not start:\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let baseline = node.rss_bytes();

    let publisher = common::media::ffmpeg_publisher(&url, &source);
    let mut peak = baseline;
    while publisher_running(&node) {
        peak = peak.max(node.rss_bytes());
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, output) = publisher.finish(PEER_LIMIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "publisher failed: {output}"
    );
    let (status, output) = normal.finish(PEER_LIMIT);
    assert!(status.is_some(), "normal player did not stop: {output}");

    let source_size = std::fs::metadata(&source).unwrap().len();
    assert!(
        node.log().contains("fell too far behind"),
        "the stalled player was evicted:\n{}",
        node.log()
    );
    assert!(node.metric("ferrocast_evicted_players_total") >= 1);
    // The stalled player's backlog is bounded by its queue caps, not by what
    // was published (the file is several times larger than the bound).
    let growth = peak.saturating_sub(baseline);
    assert!(
        growth < 48 * 1024 * 1024,
        "RSS grew {growth} bytes for a {source_size}-byte stream"
    );
    let tags = read_flv(&source);
    let got = read_flv(&out);
    assert_same(
        &payloads(&got, FlvTagType::Video, 0),
        &payloads(&tags, FlvTagType::Video, 0),
        "normal player video",
    );
    assert_same(
        &payloads(&got, FlvTagType::Audio, 0),
        &payloads(&tags, FlvTagType::Audio, 0),
        "normal player audio",
    );
}

/// Whether the publisher is still publishing (until the node logs the unpublish).
fn publisher_running(node: &Node) -> bool {
    !node.log().contains("stream unpublished")
}

#[test]
fn the_admin_api_lists_the_live_stream_and_the_connections() {
    let node = Node::start();
    let dir = TempDir::new("live-api");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 4, 25);
    let url = node.url("live/api");
    let publisher = common::media::ffmpeg_publisher(&url, &source);
    let player = ffmpeg_player(&url, &dir.0.join("p.flv"));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let streams = loop {
        let (status, body) = node.get("/api/streams");
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        if v[0]["players"] == 1 && v[0]["video_codec"].is_string() {
            break v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "stream never listed with its player: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(streams.as_array().map(Vec::len), Some(1));
    assert_eq!(streams[0]["scope"], "live");
    assert_eq!(streams[0]["name"], "api");
    assert_eq!(streams[0]["video_codec"], "avc");
    assert_eq!(streams[0]["audio_codec"], "aac");
    assert!(streams[0]["bytes_in"].as_u64().is_some_and(|b| b > 0));

    let (_, body) = node.get("/api/connections");
    let conns: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let conns = conns.as_array().expect("a list");
    assert_eq!(conns.len(), 2, "{body}");
    assert!(
        conns.iter().any(|c| c["publishing"][0] == "live/api"),
        "{body}"
    );
    assert!(
        conns.iter().any(|c| c["playing"][0] == "live/api"),
        "{body}"
    );
    assert!(conns.iter().all(|c| c["app"] == "live"), "{body}");

    let (status, output) = publisher.finish(PEER_LIMIT);
    assert!(status.is_some_and(|s| s.success()), "{output}");
    let _ = player.finish(PEER_LIMIT);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while node.get("/api/streams").1 != "[]" {
        assert!(
            std::time::Instant::now() < deadline,
            "the stream is removed after unpublish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_player_follows_unpublish_and_republish_and_can_pause_and_resume() {
    use common::raw_client::{Seen, Watcher};
    use ferrocast::protocol::amf::AmfValue;
    use ferrocast::protocol::command::status;
    let videos_after = |seen: &[Seen], from: usize| {
        seen.iter()
            .skip(from)
            .filter(|s| matches!(s, Seen::Video { .. }))
            .count()
    };
    let first_video_after = |seen: &[Seen], from: usize| {
        seen.iter()
            .skip(from)
            .find(|s| matches!(s, Seen::Video { header: false, .. }))
            .cloned()
    };

    let node = Node::start();
    let dir = TempDir::new("live-re");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 3, 25);
    let url = node.url("live/re");
    let mut w = Watcher::play(&node.rtmp, "live", "re");
    node.wait_for_log("stream=live/re", Duration::from_secs(20));

    // First publisher: the waiting player is notified and gets media.
    let first = common::media::ffmpeg_publisher(&url, &source);
    assert!(
        w.until(Duration::from_secs(20), |s| videos_after(s, 0) >= 20),
        "media from the first publish: {:?}",
        w.seen
    );
    assert!(
        w.status_at(status::NS_PLAY_PUBLISH_NOTIFY, 0).is_some(),
        "{:?}",
        w.seen
    );
    let (ok, output) = first.finish(PEER_LIMIT);
    assert!(ok.is_some_and(|s| s.success()), "{output}");
    assert!(
        w.until(Duration::from_secs(10), |s| s.contains(&Seen::Status(
            status::NS_PLAY_UNPUBLISH_NOTIFY.into()
        ))),
        "UnpublishNotify: {:?}",
        w.seen
    );
    let gone = w.status_at(status::NS_PLAY_UNPUBLISH_NOTIFY, 0).unwrap();
    assert!(
        w.seen[..gone].contains(&Seen::UserControl(1)),
        "StreamEOF before UnpublishNotify"
    );

    // Republish: the same player is notified again and resumes at a keyframe.
    let second = common::media::ffmpeg_publisher(&url, &source);
    assert!(
        w.until(Duration::from_secs(20), |s| {
            let back = s
                .iter()
                .skip(gone)
                .position(|x| *x == Seen::Status(status::NS_PLAY_PUBLISH_NOTIFY.into()));
            back.is_some_and(|b| videos_after(s, gone + b) >= 10)
        }),
        "media after the republish: {:?}",
        w.seen
    );
    let back = w.status_at(status::NS_PLAY_PUBLISH_NOTIFY, gone).unwrap();
    assert_eq!(
        first_video_after(&w.seen, back),
        Some(Seen::Video {
            keyframe: true,
            header: false
        }),
        "resumes at a keyframe"
    );

    // Pause: no media until resumed; resume restarts at a keyframe.
    w.send(
        "pause",
        vec![AmfValue::Boolean(true), AmfValue::Number(0.0)],
    );
    assert!(w.until(Duration::from_secs(5), |s| s
        .contains(&Seen::Status(status::NS_PAUSE_NOTIFY.into()))));
    let paused = w.status_at(status::NS_PAUSE_NOTIFY, 0).unwrap();
    w.until(Duration::from_millis(800), |_| false);
    assert_eq!(
        videos_after(&w.seen, paused),
        0,
        "no media while paused: {:?}",
        &w.seen[paused..]
    );
    w.send(
        "pause",
        vec![AmfValue::Boolean(false), AmfValue::Number(0.0)],
    );
    assert!(
        w.until(Duration::from_secs(5), |s| s
            .iter()
            .position(|x| *x == Seen::Status(status::NS_UNPAUSE_NOTIFY.into()))
            .is_some_and(|u| videos_after(s, u) >= 3)),
        "media after unpause: {:?}",
        &w.seen[paused..]
    );
    let resumed = w.status_at(status::NS_UNPAUSE_NOTIFY, 0).unwrap();
    assert_eq!(
        first_video_after(&w.seen, resumed),
        Some(Seen::Video {
            keyframe: true,
            header: false
        }),
        "unpause resumes at a keyframe"
    );
    let _ = second.finish(PEER_LIMIT);
}

#[test]
fn a_connect_to_an_application_not_configured_is_rejected_with_a_reason() {
    let node = Node::start_with(&[], Some("[rtmp]\napplications = [\"live\"]\n"));
    let dir = TempDir::new("live-apps");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 1, 25);
    let (status, output) =
        common::media::ffmpeg_publisher(&node.url("other/cam"), &source).finish(PEER_LIMIT);
    assert!(
        status.is_some_and(|s| !s.success()),
        "a connect to `other` fails: {output}"
    );
    assert!(
        output.contains("not served here"),
        "ffmpeg shows our reason: {output}"
    );
    node.wait_for_log("connect rejected", Duration::from_secs(5));
    let (status, output) =
        common::media::ffmpeg_publisher(&node.url("live/cam"), &source).finish(PEER_LIMIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "`live` is served: {output}\n{}",
        node.log()
    );
}
