//! Calls across nodes (issue 5): real `ferrocast` node processes joined
//! through a real redis-server the harness starts on a free port, driven by
//! the `ferrocast::client` library. `broadcast` reaches a scope on every
//! node and counts the nodes; `callClient` finds a client on another node
//! and carries back its result, its `_error`, a timeout, or "no such
//! client"; `/api/nodes` follows heartbeats (a `kill -9`ed node disappears
//! within the TTL); a dropped subscriber connection and a Redis restart are
//! survived, and while Redis is down `/health` says so and broadcasts answer
//! an error instead of vanishing.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::node::Node;
use common::redis::RedisServer;
use ferrocast::client::{CallReply, Client, ClientError, ConnectOptions, Event, Events};
use ferrocast::protocol::amf::AmfValue;

const LIMIT: Duration = Duration::from_secs(10);
/// Short heartbeats so a dead node is noticed quickly.
const TTL_MS: u64 = 1_500;
const CALL_TIMEOUT_MS: u64 = 800;

fn s(v: &str) -> AmfValue {
    AmfValue::string(v)
}

fn n(v: f64) -> AmfValue {
    AmfValue::Number(v)
}

fn start_node(redis_url: &str, id: &str) -> Node {
    let ttl = TTL_MS.to_string();
    let timeout = CALL_TIMEOUT_MS.to_string();
    Node::start_with_args(
        &["--redis", redis_url, "--node-id", id],
        &[
            ("FERROCAST__CLUSTER__HEARTBEAT_INTERVAL_MS", "300"),
            ("FERROCAST__CLUSTER__NODE_TTL_MS", &ttl),
            ("FERROCAST__CALLS__TIMEOUT_MS", &timeout),
        ],
        None,
    )
}

async fn connect(node: &Node, path: &str, options: ConnectOptions) -> (Client, Events) {
    Client::connect(&node.url(path), options)
        .await
        .expect("connect")
}

async fn client_id(client: &Client) -> String {
    let id = client.call_one("getClientId", vec![]).await.expect("id");
    id.as_str().expect("a string id").to_string()
}

fn description(error: &ClientError) -> String {
    match error {
        ClientError::CallFailed { info, .. } => info
            .get("description")
            .and_then(AmfValue::as_str)
            .unwrap_or_default()
            .to_string(),
        other => panic!("not a call failure: {other:?}"),
    }
}

/// The next server→client call named `method` (other calls skipped).
async fn next_call_named(events: &mut Events, method: &str) -> (Vec<AmfValue>, CallReply) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(Event::Call {
                method: m,
                args,
                reply,
            })) if m == method => return (args, reply),
            Ok(Some(Event::Closed { error })) => panic!("connection closed: {error:?}"),
            Ok(Some(_)) => {}
            Ok(None) => panic!("event stream ended"),
            Err(_) => panic!("no {method:?} call within {LIMIT:?}"),
        }
    }
}

/// Broadcasts `method(k)` with k = 0, 1, … from `client` until the answer
/// says `nodes` nodes were reached (the other nodes' subscriptions are in
/// place); returns the k that did. Panics with the last answer on timeout.
async fn broadcast_until(client: &Client, method: &str, nodes: f64) -> f64 {
    let deadline = Instant::now() + LIMIT;
    let mut k = 0.0;
    loop {
        let answer = client.call_one("broadcast", vec![s(method), n(k)]).await;
        if matches!(&answer, Ok(AmfValue::Number(v)) if *v == nodes) {
            return k;
        }
        assert!(
            Instant::now() < deadline,
            "broadcast never reached {nodes} nodes; last answer {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        k += 1.0;
    }
}

/// Waits for the `method(k)` broadcast on `events` (earlier ones skipped).
async fn expect_broadcast(events: &mut Events, method: &str, k: f64) {
    loop {
        let (args, reply) = next_call_named(events, method).await;
        assert!(!reply.expects_answer(), "a broadcast expects no answer");
        if args == vec![n(k)] {
            return;
        }
    }
}

/// Answers calls: `add` sums numbers, `echo` returns its arguments, `fail`
/// answers `_error`, anything else is never answered.
fn answer_calls(mut events: Events) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Some(event) = events.next().await {
            let Event::Call {
                method,
                args,
                reply,
            } = event
            else {
                continue;
            };
            match method.as_str() {
                "add" => {
                    let sum: f64 = args.iter().filter_map(AmfValue::as_f64).sum();
                    let _ = reply.result(vec![n(sum)]).await;
                }
                "echo" => {
                    let _ = reply.result(args).await;
                }
                "fail" => {
                    let _ = reply.error("nope, not today").await;
                }
                _ => kept.push(reply),
            }
        }
    })
}

fn health(node: &Node) -> serde_json::Value {
    serde_json::from_str(&node.get("/health").1).expect("health JSON")
}

/// The node ids `/api/nodes` lists, and which one says it is `self`.
fn listed_nodes(node: &Node) -> (BTreeSet<String>, Vec<String>) {
    let (status, body) = node.get("/api/nodes");
    assert_eq!(status, 200, "{body}");
    let nodes: Vec<serde_json::Value> = serde_json::from_str(&body).expect("nodes JSON");
    let ids = nodes
        .iter()
        .map(|v| v["node_id"].as_str().expect("node_id").to_string())
        .collect();
    let selves = nodes
        .iter()
        .filter(|v| v["self"] == serde_json::Value::Bool(true))
        .map(|v| v["node_id"].as_str().unwrap_or_default().to_string())
        .collect();
    for v in &nodes {
        assert!(
            v["rtmp_addr"].is_string() && v["http_addr"].is_string(),
            "{v}"
        );
    }
    (ids, selves)
}

fn poll_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what} not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

#[tokio::test]
async fn broadcast_and_call_client_reach_clients_on_every_node() {
    let redis = RedisServer::start();
    let a = start_node(&redis.url(), "a");
    let b = start_node(&redis.url(), "b");
    let mut c = start_node(&redis.url(), "c");

    let (a1, mut a1_events) = connect(&a, "live/room", ConnectOptions::default()).await;
    let (a2, mut a2_events) = connect(&a, "live/room", ConnectOptions::amf3()).await;
    let (b1, mut b1_events) = connect(&b, "live/room", ConnectOptions::default()).await;
    let (c1, mut c1_events) = connect(&c, "live/room", ConnectOptions::amf3()).await;
    let (other, mut other_events) = connect(&b, "live/other", ConnectOptions::default()).await;

    // broadcast: every client of the scope on every node, caller included.
    let k = broadcast_until(&a1, "warmup", 3.0).await;
    for events in [
        &mut a1_events,
        &mut a2_events,
        &mut b1_events,
        &mut c1_events,
    ] {
        expect_broadcast(events, "warmup", k).await;
    }
    let reached = a1
        .call_one("broadcast", vec![s("onChat"), n(42.0)])
        .await
        .expect("broadcast");
    assert_eq!(reached, n(3.0), "three nodes reached");
    for events in [
        &mut a1_events,
        &mut a2_events,
        &mut b1_events,
        &mut c1_events,
    ] {
        expect_broadcast(events, "onChat", 42.0).await;
    }
    // Nothing reached live/other: its first call is its own mark.
    other
        .call("broadcast", vec![s("mark"), n(1.0)])
        .await
        .expect("broadcast");
    let (method, args) = loop {
        match tokio::time::timeout(LIMIT, other_events.next()).await {
            Ok(Some(Event::Call { method, args, .. })) => break (method, args),
            Ok(Some(Event::Closed { error })) => panic!("connection closed: {error:?}"),
            Ok(Some(_)) => {}
            other => panic!("expected the mark, got {other:?}"),
        }
    };
    assert_eq!((method.as_str(), args), ("mark", vec![n(1.0)]));

    // callClient across nodes: results (AMF3-only values intact), errors,
    // timeouts, unknown nodes.
    let (b1_id, c1_id) = (client_id(&b1).await, client_id(&c1).await);
    assert!(
        b1_id.starts_with("b:") && c1_id.starts_with("c:"),
        "{b1_id} {c1_id}"
    );
    let _answering = (answer_calls(b1_events), answer_calls(c1_events));
    let sum = a1
        .call_one("callClient", vec![s(&b1_id), s("add"), n(2.0), n(3.5)])
        .await
        .expect("b1 answers");
    assert_eq!(sum, n(5.5));
    let bytes = AmfValue::ByteArray(Bytes::from_static(b"\x00\x01\xfe"));
    let echoed = a2
        .call(
            "callClient",
            vec![s(&c1_id), s("echo"), bytes.clone(), AmfValue::Integer(7)],
        )
        .await
        .expect("c1 answers");
    assert_eq!(echoed, vec![bytes, AmfValue::Integer(7)]);

    let error = a1
        .call("callClient", vec![s(&b1_id), s("fail")])
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("NetConnection.Call.Failed"));
    assert!(description(&error).contains("nope, not today"), "{error}");

    let started = Instant::now();
    let error = a1
        .call("callClient", vec![s(&c1_id), s("silent")])
        .await
        .unwrap_err();
    assert!(
        description(&error).contains("did not answer \"silent\""),
        "{error}"
    );
    assert!(started.elapsed() >= Duration::from_millis(CALL_TIMEOUT_MS));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let error = a1
        .call("callClient", vec![s("nowhere:1"), s("add")])
        .await
        .unwrap_err();
    assert!(
        description(&error).contains("no client \"nowhere:1\""),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "unknown nodes fail at once"
    );
    let error = a1
        .call("callClient", vec![s("b:999999"), s("add")])
        .await
        .unwrap_err();
    assert!(
        description(&error).contains("no client \"b:999999\""),
        "{error}"
    );

    // Membership: every node lists all three, itself marked; a killed node
    // is gone within its TTL.
    let all: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
    for (node, id) in [(&a, "a"), (&b, "b"), (&c, "c")] {
        poll_until("all three nodes listed", LIMIT, || {
            listed_nodes(node).0 == all
        });
        assert_eq!(listed_nodes(node).1, vec![id.to_string()]);
    }
    c.kill();
    let gone = poll_until("the killed node gone", LIMIT, || {
        !listed_nodes(&a).0.contains("c") && !listed_nodes(&b).0.contains("c")
    });
    assert!(
        gone < Duration::from_millis(TTL_MS + 1_500),
        "gone after {gone:?}"
    );
    let error = a1
        .call("callClient", vec![s(&c1_id), s("add")])
        .await
        .unwrap_err();
    assert!(description(&error).contains("no client"), "{error}");
    assert!(a.metric("ferrocast_cluster_published_total") > 0);
    assert!(b.metric("ferrocast_cluster_broadcasts_received_total") >= 2);
    drop(redis);
}

#[tokio::test]
async fn broadcasts_survive_a_dropped_subscriber_and_a_redis_restart_and_fail_loudly_meanwhile() {
    let mut redis = RedisServer::start();
    let a = start_node(&redis.url(), "a");
    let b = start_node(&redis.url(), "b");
    let (a1, _a1_events) = connect(&a, "live", ConnectOptions::default()).await;
    let (_b1, mut b1_events) = connect(&b, "live", ConnectOptions::default()).await;
    let k = broadcast_until(&a1, "before", 2.0).await;
    expect_broadcast(&mut b1_events, "before", k).await;
    assert_eq!(health(&a)["cluster"], "connected");
    assert_eq!(health(&a)["status"], "ok");

    // Redis drops every subscriber (as it does one over its output buffer).
    assert!(redis.client_kill_pubsub() >= 2);
    let k = broadcast_until(&a1, "after-kill", 2.0).await;
    expect_broadcast(&mut b1_events, "after-kill", k).await;
    assert!(a.metric("ferrocast_cluster_resubscriptions_total") >= 2);

    // Redis down: health says so, broadcasts answer an error.
    redis.kill();
    poll_until("a degraded /health", LIMIT, || {
        let h = health(&a);
        h["cluster"] == "degraded" && h["status"] == "degraded" && h["reason"].is_string()
    });
    let deadline = Instant::now() + LIMIT;
    let error = loop {
        match a1.call("broadcast", vec![s("lost"), n(0.0)]).await {
            Err(error) => break error,
            Ok(answer) => assert!(Instant::now() < deadline, "still answered {answer:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(error.code(), Some("NetConnection.Call.Failed"));
    assert!(
        description(&error).contains("cluster is unavailable"),
        "{error}"
    );

    // Redis back: connected again, broadcasts flow.
    redis.start_again();
    for node in [&a, &b] {
        poll_until("connected again", LIMIT, || {
            health(node)["cluster"] == "connected"
        });
    }
    let k = broadcast_until(&a1, "after-restart", 2.0).await;
    expect_broadcast(&mut b1_events, "after-restart", k).await;
}

#[tokio::test]
async fn a_node_starts_while_redis_is_unreachable_and_reports_degraded() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let node = start_node(&format!("redis://127.0.0.1:{port}/"), "lonely");
    let (client, _events) = connect(&node, "live", ConnectOptions::default()).await;
    poll_until("a degraded /health", LIMIT, || {
        health(&node)["cluster"] == "degraded"
    });
    assert_eq!(health(&node)["status"], "degraded");
    let error = client.call("broadcast", vec![s("m")]).await.unwrap_err();
    assert!(
        description(&error).contains("cluster is unavailable"),
        "{error}"
    );
    // Local calls still work.
    assert_eq!(
        client.call_one("echo", vec![s("x")]).await.expect("echo"),
        s("x")
    );
    assert_eq!(node.get("/api/nodes").0, 503);
}
