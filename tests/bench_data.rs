//! The load tool's data scenarios (issue 6), run as `ferrocast bench --json
//! so|rpc ...` processes against real `ferrocast` nodes — one node, and two
//! nodes joined through a real redis-server — briefly and at low rates: the
//! JSON line parses, and its figures make sense (samples counted, replicas
//! converged, other-node latencies present across nodes, no errors). No
//! speed is asserted; measured figures live in docs/BENCHMARKS.md.

mod common;

use std::time::Duration;

use common::node::Node;
use common::process::Peer;
use common::redis::RedisServer;
use serde_json::Value;

/// A bench run of ~2 s plus connect and settle never takes this long.
const RUN_LIMIT: Duration = Duration::from_secs(30);

fn start_cluster_node(redis: &RedisServer, id: &str) -> Node {
    Node::start_with_args(&["--redis", &redis.url(), "--node-id", id], &[], None)
}

/// Runs `ferrocast bench --json ARGS...` and returns its JSON line.
fn bench(args: &[&str]) -> Value {
    let mut all = vec!["bench", "--json"];
    all.extend_from_slice(args);
    let (status, output) = Peer::spawn(env!("CARGO_BIN_EXE_ferrocast"), &all).finish(RUN_LIMIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "ferrocast {all:?} failed ({status:?}):\n{output}"
    );
    let line = output
        .lines()
        .find(|l| l.starts_with("{\"scenario\""))
        .unwrap_or_else(|| panic!("no JSON line in:\n{output}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON line {line:?}: {e}"))
}

fn int(report: &Value, key: &str) -> u64 {
    report[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a count in {report}"))
}

/// The latency figures under `prefix` are present and ordered.
fn assert_latencies(report: &Value, prefix: &str) {
    assert!(int(report, &format!("{prefix}_samples")) > 0, "{report}");
    let p50 = int(report, &format!("{prefix}_p50_us"));
    let p99 = int(report, &format!("{prefix}_p99_us"));
    let p999 = int(report, &format!("{prefix}_p99_9_us"));
    let max = int(report, &format!("{prefix}_max_us"));
    assert!(p50 <= p99 && p99 <= p999 && p999 <= max, "{report}");
}

/// What every converged `so` run shows.
fn assert_so_run(report: &Value, clients: u64) {
    assert_eq!(report["scenario"], "so");
    assert_eq!(report["converged"], true, "{report}");
    assert!(report["final_version"].as_u64().is_some(), "{report}");
    assert_eq!(int(report, "errors"), 0, "{report}");
    assert_eq!(int(report, "events_dropped"), 0, "{report}");
    assert_eq!(int(report, "resyncs"), 0, "{report}");
    assert_eq!(int(report, "repeated_values"), 0, "{report}");
    let applied = int(report, "changes_applied");
    assert!(applied > 0, "{report}");
    assert_eq!(applied, int(report, "changes_sent"), "{report}");
    assert_eq!(
        int(report, "notifications_expected"),
        applied * (clients - 1),
        "{report}"
    );
    // Every change reaches every other client (nothing is lagging at these
    // rates, so no resync skips one).
    assert_eq!(
        int(report, "notifications"),
        int(report, "notifications_expected"),
        "{report}"
    );
}

#[test]
fn so_on_one_node_times_every_notification_and_converges() {
    let node = Node::start();
    let url = node.url("live/bench");
    let report = bench(&[
        "so",
        "--url",
        &url,
        "--clients",
        "3",
        "--rate",
        "300",
        "--duration",
        "2",
        "--persistent",
    ]);
    assert_so_run(&report, 3);
    assert_eq!(report["persistent"], true);
    assert_eq!(int(&report, "nodes"), 1);
    assert_latencies(&report, "latency_same_node");
    assert_eq!(int(&report, "latency_other_node_samples"), 0, "{report}");
    assert!(report["latency_other_node_p99_us"].is_null(), "{report}");
}

#[test]
fn so_across_two_nodes_with_batching_times_other_node_notifications() {
    let redis = RedisServer::start();
    let a = start_cluster_node(&redis, "a");
    let b = start_cluster_node(&redis, "b");
    let urls = format!("{},{}", a.url("live/bench"), b.url("live/bench"));
    let report = bench(&[
        "so",
        "--url",
        &urls,
        "--clients",
        "4",
        "--rate",
        "1000",
        "--batch",
        "10",
        "--duration",
        "2",
    ]);
    assert_so_run(&report, 4);
    assert_eq!(int(&report, "nodes"), 2);
    assert_eq!(int(&report, "batch"), 10);
    assert_eq!(int(&report, "changes_applied") % 10, 0, "{report}");
    // Each change reaches one client on its own node and two on the other.
    assert_latencies(&report, "latency_same_node");
    assert_latencies(&report, "latency_other_node");
    assert_eq!(
        int(&report, "latency_other_node_samples"),
        2 * int(&report, "latency_same_node_samples"),
        "{report}"
    );
}

#[test]
fn rpc_echo_counts_calls_and_round_trips() {
    let node = Node::start();
    let report = bench(&[
        "rpc",
        "--url",
        &node.url("live"),
        "--clients",
        "2",
        "--rate",
        "500",
        "--duration",
        "2",
    ]);
    assert_eq!(report["mode"], "echo");
    assert_eq!(int(&report, "errors"), 0, "{report}");
    let calls = int(&report, "calls");
    assert!(calls > 0, "{report}");
    assert_eq!(int(&report, "rtt_samples"), calls, "{report}");
    assert_latencies(&report, "rtt");
    assert!(report["calls_per_s"].as_f64().is_some_and(|r| r > 0.0));
}

#[test]
fn rpc_call_client_across_two_nodes_is_answered_by_the_called_client() {
    let redis = RedisServer::start();
    let a = start_cluster_node(&redis, "a");
    let b = start_cluster_node(&redis, "b");
    let report = bench(&[
        "rpc",
        "--url",
        &a.url("live"),
        "--peer-url",
        &b.url("live"),
        "--clients",
        "2",
        "--rate",
        "300",
        "--duration",
        "2",
    ]);
    assert_eq!(report["mode"], "callClient");
    assert_eq!(int(&report, "errors"), 0, "{report}");
    let calls = int(&report, "calls");
    assert!(calls > 0, "{report}");
    assert_eq!(int(&report, "peer_answered"), calls, "{report}");
    assert_latencies(&report, "rtt");
}
