//! `ferrocast bench fanout|idle|connect` run as processes against a real
//! node, briefly and with small N, so the load tool cannot rot. The JSON
//! line's figures must make sense; no speed is asserted (numbers belong in
//! docs/BENCHMARKS.md).

mod common;

use std::process::Command;

use common::node::Node;
use common::process::{make_test_flv, TempDir};
use serde_json::Value;

/// Runs `ferrocast bench --json ARGS...`; returns (exit success, the JSON
/// line when there is one, stderr).
fn bench(args: &[&str]) -> (bool, Option<Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrocast"))
        .arg("bench")
        .arg("--json")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ferrocast bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok());
    (out.status.success(), json, stderr)
}

/// Runs a scenario that must succeed and returns its figures.
fn figures(args: &[&str]) -> Value {
    let (ok, json, stderr) = bench(args);
    assert!(ok, "ferrocast bench {args:?} failed: {stderr}");
    json.unwrap_or_else(|| panic!("no JSON line from {args:?}: {stderr}"))
}

fn int(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a count in {v}"))
}

fn float(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

/// A node tagged through its environment, so that its pid can be found
/// among this process's children.
fn tagged_node() -> (Node, u32) {
    let tag = format!("bench-test-{}", rand::random::<u64>());
    let node = Node::start_with_env(&[("BENCH_TEST_NODE_TAG", tag.as_str())]);
    let needle = format!("BENCH_TEST_NODE_TAG={tag}");
    let pid = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|kv| kv == needle.as_bytes()))
        })
        .expect("the node's pid");
    (node, pid)
}

#[test]
fn fanout_players_all_join_get_a_keyframe_and_the_whole_stream() {
    let (node, pid) = tagged_node();
    let url = node.url("live");
    let metrics = format!("http://{}/metrics", node.http);
    let pid = pid.to_string();
    let v = figures(&[
        "fanout",
        "--url",
        &url,
        "--players",
        "6",
        "--join-rate",
        "100",
        "--duration",
        "2",
        "--settle",
        "0.3",
        "--bitrate-kbps",
        "800",
        "--gop",
        "0.5",
        "--metrics-url",
        &metrics,
        "--server-pid",
        &pid,
    ]);
    assert_eq!(v["scenario"], "fanout");
    assert_eq!(int(&v, "players"), 6);
    assert_eq!(int(&v, "joined"), 6, "{v}");
    assert_eq!(int(&v, "connect_failures"), 0);
    assert_eq!(int(&v, "disconnects"), 0);
    assert_eq!(int(&v, "keyframes"), 6, "every player got a keyframe: {v}");
    assert_eq!(v["publisher_ok"], true);
    let publish = float(&v, "publish_kbps");
    assert!(publish > 400.0, "the publisher sent about 800 kbit/s: {v}");
    let min = float(&v, "delivered_min_kbps");
    assert!(min > 0.0 && min <= float(&v, "delivered_median_kbps"));
    assert!(
        min >= 0.9 * publish,
        "with six players each gets the stream: {v}"
    );
    assert_eq!(int(&v, "served_players"), 6, "{v}");
    assert!(int(&v, "window_bytes") > 0);
    assert!(int(&v, "total_bytes") >= int(&v, "window_bytes"));
    let p50 = float(&v, "first_keyframe_p50_ms");
    assert!(p50 <= float(&v, "first_keyframe_p99_ms"));
    // Keyframes every 0.5 s: each player gets live ones in the 2 s window,
    // each timed against the keyframe the publisher sent.
    assert!(int(&v, "live_keyframes") >= 6, "{v}");
    let live = float(&v, "live_keyframe_p50_ms");
    assert!(
        live >= 0.0 && live <= float(&v, "live_keyframe_p99_ms"),
        "{v}"
    );
    assert_eq!(int(&v, "server_dropped_frames"), 0, "{v}");
    assert_eq!(int(&v, "server_evicted_players"), 0);
    assert!(float(&v, "server_cpu_pct") >= 0.0);
    assert!(int(&v, "server_rss_bytes") > 0);
    assert!(float(&v, "tool_cpu_pct") >= 0.0);
}

#[test]
fn fanout_replays_an_flv_file_to_players_reading_continuously() {
    let dir = TempDir::new("bench-flv");
    let flv = dir.0.join("clip.flv");
    make_test_flv(&flv, 2, 25);
    let node = Node::start();
    let url = node.url("live/room");
    let v = figures(&[
        "fanout",
        "--url",
        &url,
        "--stream",
        "clip",
        "--flv",
        flv.to_str().unwrap(),
        "--players",
        "3",
        "--duration",
        "2",
        "--settle",
        "0.2",
        "--read-interval-ms",
        "0",
    ]);
    assert_eq!(int(&v, "joined"), 3, "{v}");
    assert_eq!(int(&v, "keyframes"), 3, "{v}");
    assert_eq!(int(&v, "read_interval_ms"), 0);
    assert!(float(&v, "publish_kbps") > 0.0);
    assert!(float(&v, "delivered_min_kbps") > 0.0, "{v}");
    // No metrics URL, no pid: those figures are null, not made up.
    assert!(v["server_dropped_frames"].is_null());
    assert!(v["server_cpu_pct"].is_null());
}

#[test]
fn idle_connections_are_counted_and_the_server_memory_is_read() {
    let (node, pid) = tagged_node();
    let url = node.url("live");
    let pid = pid.to_string();
    let v = figures(&[
        "idle",
        "--url",
        &url,
        "--connections",
        "40",
        "--connect-rate",
        "400",
        "--hold",
        "0.5",
        "--server-pid",
        &pid,
    ]);
    assert_eq!(v["scenario"], "idle");
    assert_eq!(int(&v, "connected"), 40, "{v}");
    assert_eq!(int(&v, "held_at_end"), 40, "{v}");
    assert_eq!(int(&v, "connect_failures"), 0);
    assert!(int(&v, "server_rss_before_bytes") > 0);
    assert!(int(&v, "server_rss_after_bytes") > 0);
    assert!(v["server_rss_per_connection_bytes"].is_u64(), "{v}");
    assert!(v["tool_rss_per_connection_bytes"].is_u64(), "{v}");
    drop(node);
}

#[test]
fn connect_completes_setups_up_to_play_start() {
    let node = Node::start();
    let url = node.url("live");
    for handshake in [&[][..], &["--digest-handshake"][..]] {
        let mut args = vec![
            "connect",
            "--url",
            &url,
            "--concurrency",
            "4",
            "--duration",
            "1",
        ];
        args.extend_from_slice(handshake);
        let v = figures(&args);
        assert!(int(&v, "setups") > 0, "{v}");
        assert_eq!(int(&v, "failures"), 0, "{v}");
        assert!(float(&v, "setups_per_s") > 0.0);
        assert!(float(&v, "setup_p50_ms") <= float(&v, "setup_p99_ms"));
        assert!(float(&v, "setup_p99_ms") <= float(&v, "setup_max_ms"));
    }
}

#[test]
fn a_run_where_nothing_connects_fails_with_a_reason() {
    // A port nobody listens on: taken, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("rtmp://127.0.0.1:{port}/live");
    for args in [
        vec!["idle", "--url", &url, "--connections", "3", "--hold", "0.1"],
        vec!["connect", "--url", &url, "--duration", "0.5"],
        vec![
            "fanout",
            "--url",
            &url,
            "--players",
            "2",
            "--duration",
            "0.5",
        ],
    ] {
        let (ok, json, stderr) = bench(&args);
        assert!(!ok, "{args:?} must fail");
        assert!(json.is_none());
        assert!(
            stderr.contains("ferrocast bench:") && stderr.contains("onnect"),
            "{args:?}: {stderr}"
        );
    }
}
