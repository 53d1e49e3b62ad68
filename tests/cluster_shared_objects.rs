//! SharedObjects across nodes (issue 5): three real `ferrocast` node
//! processes joined through a real redis-server, driven by
//! `ferrocast::client`. Concurrent writers on every node converge to one
//! state — every client's replica, every node's admin API and Redis (slots
//! and version) — with every acknowledged write present; `send` reaches
//! other nodes in order relative to changes; a persistent object survives
//! restarting every node and Redis (AOF); a non-persistent object leaves
//! Redis with its last client, or once its last node died; a killed
//! subscriber connection and a Redis restart are resynced; a write while
//! Redis is down answers a Status error; a killed node's objects stay
//! identical and writable on the survivors; an admin GET reads a
//! non-persistent object used only on another node from Redis.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::node::Node;
use common::redis::RedisServer;
use ferrocast::client::{Client, ConnectOptions, RemoteSharedObject, SoEvent};
use ferrocast::protocol::amf::AmfValue;

const LIMIT: Duration = Duration::from_secs(20);
const SCOPE_KEY: &str = "ferrocast:so";

fn start_node(redis_url: &str, id: &str) -> Node {
    Node::start_with_args(
        &["--redis", redis_url, "--node-id", id],
        &[
            ("FERROCAST__CLUSTER__HEARTBEAT_INTERVAL_MS", "300"),
            ("FERROCAST__CLUSTER__NODE_TTL_MS", "1500"),
        ],
        None,
    )
}

fn three_nodes(redis: &RedisServer) -> Vec<Node> {
    ["a", "b", "c"]
        .iter()
        .map(|id| start_node(&redis.url(), id))
        .collect()
}

async fn client(node: &Node, amf3: bool) -> Client {
    let options = if amf3 {
        ConnectOptions::amf3()
    } else {
        ConnectOptions::default()
    };
    Client::connect(&node.url("live/room1"), options)
        .await
        .expect("connect")
        .0
}

fn admin_object(node: &Node, name: &str, persistent: bool) -> (u16, serde_json::Value) {
    let (status, body) = node.get(&format!(
        "/api/shared-objects/live%2Froom1/{name}?persistent={persistent}"
    ));
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

fn redis_key(name: &str, persistent: bool, part: &str) -> String {
    let kind = if persistent { "P" } else { "T" };
    format!("{SCOPE_KEY}:{kind}:live/room1:{name}:{part}")
}

/// (version, slot count) as Redis holds them.
fn redis_state(redis: &RedisServer, name: &str, persistent: bool) -> (u32, usize) {
    let mut conn = redis.connection().expect("connect to redis");
    let version: Option<u32> = redis::cmd("GET")
        .arg(redis_key(name, persistent, "ver"))
        .query(&mut conn)
        .expect("GET");
    let slots: BTreeMap<String, Vec<u8>> = redis::cmd("HGETALL")
        .arg(redis_key(name, persistent, "slots"))
        .query(&mut conn)
        .expect("HGETALL");
    (version.unwrap_or(0), slots.len())
}

fn redis_exists(redis: &RedisServer, name: &str, persistent: bool) -> bool {
    let mut conn = redis.connection().expect("connect to redis");
    let n: u32 = redis::cmd("EXISTS")
        .arg(redis_key(name, persistent, "ver"))
        .arg(redis_key(name, persistent, "slots"))
        .arg(redis_key(name, persistent, "members"))
        .query(&mut conn)
        .expect("EXISTS");
    n > 0
}

async fn wait_for(mut condition: impl FnMut() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn next_status(so: &mut RemoteSharedObject) -> String {
    loop {
        match tokio::time::timeout(LIMIT, so.next_event()).await {
            Ok(Some(SoEvent::Status { code, .. })) => return code,
            Ok(Some(_)) => {}
            other => panic!("no status: {other:?}"),
        }
    }
}

/// Every writer on every node; returns the replicas once they all hold
/// `want_slots` slots and one version, checked against the admin API of
/// every node and Redis.
async fn converge(
    redis: &RedisServer,
    nodes: &[Node],
    objects: &[RemoteSharedObject],
    name: &str,
    want_slots: usize,
) {
    for (i, so) in objects.iter().enumerate() {
        so.wait_until(|r| r.slots().len() == want_slots, LIMIT)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "client {i}: every acknowledged write arrives everywhere ({} of {want_slots} slots, v{}, Redis {:?}): {e}",
                    so.slots().len(),
                    so.version(),
                    redis_state(redis, name, true)
                )
            });
    }
    let (version, count) = redis_state(redis, name, true);
    assert_eq!(count, want_slots);
    for so in objects {
        so.wait_until(|r| r.version() == version, LIMIT)
            .await
            .unwrap_or_else(|e| panic!("replica never reached v{version}: {e}"));
        assert_eq!(so.slots(), objects[0].slots());
    }
    for node in nodes {
        let (status, json) = admin_object(node, name, true);
        assert_eq!(status, 200, "{json}");
        assert_eq!(json["version"].as_u64(), Some(u64::from(version)));
        let slots = json["slots"].as_object().expect("slots");
        assert_eq!(slots.len(), want_slots);
        assert_eq!(
            slots["shared"].as_str(),
            objects[0].get("shared").as_ref().and_then(AmfValue::as_str)
        );
    }
}

#[tokio::test]
async fn concurrent_writers_on_three_nodes_converge_to_what_redis_holds() {
    let redis = RedisServer::start();
    let nodes = three_nodes(&redis);
    let mut clients = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        for j in 0..3 {
            clients.push(client(node, (i + j) % 2 == 1).await);
        }
    }
    let mut objects = Vec::new();
    for c in &clients {
        objects.push(c.shared_object("race", true).await.expect("use"));
    }
    const WRITES: usize = 50;
    let mut tasks = Vec::new();
    for (i, so) in objects.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for j in 0..WRITES {
                let slot = if j % 2 == 0 {
                    format!("c{i}_{j}")
                } else {
                    "shared".to_string()
                };
                so.set(&slot, AmfValue::string(format!("{i}:{j}")))
                    .await
                    .unwrap();
            }
            so.wait_until(|r| r.pending_writes() == 0, LIMIT)
                .await
                .unwrap();
            so
        }));
    }
    let mut objects = Vec::new();
    for t in tasks {
        objects.push(t.await.unwrap());
    }
    let want = 9 * WRITES.div_ceil(2) + 1;
    converge(&redis, &nodes, &objects, "race", want).await;
}

#[tokio::test]
async fn a_send_on_one_node_reaches_the_others_in_order_with_the_changes() {
    let redis = RedisServer::start();
    let nodes = three_nodes(&redis);
    let a = client(&nodes[0], false).await;
    let b = client(&nodes[1], true).await;
    let c = client(&nodes[2], false).await;
    let sa = a.shared_object("chat", false).await.unwrap();
    let mut sb = b.shared_object("chat", false).await.unwrap();
    let mut sc = c.shared_object("chat", false).await.unwrap();
    for i in 0..10 {
        sa.set("k", AmfValue::Number(f64::from(i))).await.unwrap();
        sa.send("say", vec![AmfValue::Number(f64::from(i))])
            .await
            .unwrap();
    }
    for so in [&mut sb, &mut sc] {
        // The change before each send arrives before it.
        let (mut got, mut k) = (Vec::new(), None);
        while got.len() < 10 {
            match tokio::time::timeout(LIMIT, so.next_event()).await {
                Ok(Some(SoEvent::Message { method, args })) => {
                    assert_eq!(method, "say");
                    let i = args[0].as_f64().unwrap();
                    assert_eq!(k, Some(i), "the change k={i} comes before send {i}");
                    got.push(i);
                }
                Ok(Some(SoEvent::Changed { slot, value })) if slot == "k" => k = value.as_f64(),
                Ok(Some(_)) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, (0..10).map(f64::from).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn a_non_persistent_object_leaves_redis_with_its_last_client_in_the_cluster() {
    let redis = RedisServer::start();
    let nodes = three_nodes(&redis);
    let a = client(&nodes[0], false).await;
    let b = client(&nodes[1], false).await;
    let sa = a.shared_object("temp", false).await.unwrap();
    let sb = b.shared_object("temp", false).await.unwrap();
    sa.set("x", AmfValue::Number(1.0)).await.unwrap();
    sb.wait_until(|r| r.get("x").is_some(), LIMIT)
        .await
        .unwrap();
    assert!(redis_exists(&redis, "temp", false));
    sa.release().await.unwrap();
    // b still uses it: it stays.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(redis_exists(&redis, "temp", false));
    sb.release().await.unwrap();
    wait_for(
        || !redis_exists(&redis, "temp", false),
        "the object is deleted",
    )
    .await;
}

#[tokio::test]
async fn a_persistent_object_survives_restarting_every_node_and_redis() {
    let mut redis = RedisServer::start_with_aof();
    let mut nodes = three_nodes(&redis);
    let a = client(&nodes[0], false).await;
    let so = a.shared_object("keep", true).await.unwrap();
    for i in 0..20 {
        so.set(&format!("s{i}"), AmfValue::Number(f64::from(i)))
            .await
            .unwrap();
    }
    so.wait_until(|r| r.pending_writes() == 0, LIMIT)
        .await
        .unwrap();
    let version = so.version();
    drop(so);
    a.close().await.unwrap();
    for node in &mut nodes {
        node.kill();
    }
    redis.restart();
    let nodes = three_nodes(&redis);
    let c = client(&nodes[2], true).await;
    let so = c.shared_object("keep", true).await.unwrap();
    assert_eq!(so.version(), version);
    assert_eq!(so.slots().len(), 20);
    assert_eq!(so.get("s19"), Some(AmfValue::Number(19.0)));
}

/// Every object writes 10 own slots and 10 times "shared", concurrently.
async fn write_round(objects: &[RemoteSharedObject], round: usize) {
    let writes = objects.iter().enumerate().map(|(i, so)| async move {
        for j in 0..10 {
            so.set(&format!("r{round}_n{i}_{j}"), AmfValue::Number(j as f64))
                .await
                .expect("queued");
            so.set("shared", AmfValue::string(format!("{round}:{i}:{j}")))
                .await
                .expect("queued");
        }
    });
    futures_util::future::join_all(writes).await;
}

#[tokio::test]
async fn nodes_resync_after_a_pubsub_kill_and_a_redis_restart_and_lose_nothing_acknowledged() {
    let mut redis = RedisServer::start_with_aof();
    let nodes = three_nodes(&redis);
    let mut clients = Vec::new();
    for node in &nodes {
        clients.push(client(node, false).await);
    }
    let mut objects = Vec::new();
    for c in &clients {
        objects.push(c.shared_object("faults", true).await.expect("use"));
    }
    write_round(&objects, 0).await;
    let before_kill: Vec<u64> = nodes
        .iter()
        .map(|n| n.metric("ferrocast_cluster_resubscriptions_total"))
        .collect();
    // The subscriber connections drop while round 1 is being written.
    let kill = async {
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(redis.client_kill_pubsub() > 0);
    };
    tokio::join!(write_round(&objects, 1), kill);
    // Every node notices, resubscribes and reloads its live objects (an
    // object that is loading at that moment reads Redis anyway).
    for (node, before) in nodes.iter().zip(before_kill) {
        wait_for(
            || node.metric("ferrocast_cluster_resubscriptions_total") > before,
            "every node resubscribes after the pubsub kill",
        )
        .await;
    }
    for so in &objects {
        so.wait_until(|r| r.pending_writes() == 0, LIMIT)
            .await
            .unwrap();
    }
    let resubscribed: Vec<u64> = nodes
        .iter()
        .map(|n| n.metric("ferrocast_cluster_resubscriptions_total"))
        .collect();
    redis.restart();
    // After the restart every node resubscribes and resyncs; writes go on.
    for (node, before) in nodes.iter().zip(resubscribed) {
        wait_for(
            || node.metric("ferrocast_cluster_resubscriptions_total") > before,
            "the node resubscribes",
        )
        .await;
    }
    write_round(&objects, 2).await;
    for so in &objects {
        so.wait_until(|r| r.pending_writes() == 0, LIMIT)
            .await
            .unwrap();
    }
    let want = 3 * 3 * 10 + 1;
    converge(&redis, &nodes, &objects, "faults", want).await;
}

#[tokio::test]
async fn a_write_while_redis_is_down_answers_a_status_error_and_the_connection_stays() {
    let mut redis = RedisServer::start();
    let node = start_node(&redis.url(), "a");
    let a = client(&node, false).await;
    let mut so = a.shared_object("down", true).await.unwrap();
    so.set("x", AmfValue::Number(1.0)).await.unwrap();
    so.wait_until(|r| r.pending_writes() == 0, LIMIT)
        .await
        .unwrap();
    redis.kill();
    so.set("x", AmfValue::Number(2.0)).await.unwrap();
    assert_eq!(next_status(&mut so).await, "SharedObject.Flush.Failed");
    // The replica is put back on the server's value, the connection lives.
    so.wait_until(|r| r.get("x") == Some(&AmfValue::Number(1.0)), LIMIT)
        .await
        .unwrap();
    let id = a.call_one("getClientId", vec![]).await;
    assert!(id.is_ok(), "{id:?}");
}

#[tokio::test]
async fn a_dead_nodes_non_persistent_object_is_removed_by_the_survivors() {
    let redis = RedisServer::start();
    let mut nodes = three_nodes(&redis);
    let a = client(&nodes[0], false).await;
    let so = a.shared_object("orphan", false).await.unwrap();
    so.set("x", AmfValue::Number(1.0)).await.unwrap();
    so.wait_until(|r| r.pending_writes() == 0, LIMIT)
        .await
        .unwrap();
    assert!(redis_exists(&redis, "orphan", false));
    nodes[0].kill();
    // The survivors see its heartbeat expire and take it out of the set.
    wait_for(
        || !redis_exists(&redis, "orphan", false),
        "the dead node's object is deleted",
    )
    .await;
}

/// The node ids in a non-persistent object's member set in Redis.
fn redis_members(redis: &RedisServer, name: &str) -> std::collections::BTreeSet<String> {
    let mut conn = redis.connection().expect("connect to redis");
    redis::cmd("SMEMBERS")
        .arg(redis_key(name, false, "members"))
        .query(&mut conn)
        .expect("SMEMBERS")
}

/// Every replica holds `want` (slot, number) pairs and nothing else, at one
/// version, and so does the admin API of every node.
async fn identical_everywhere(
    nodes: &[&Node],
    objects: &[&RemoteSharedObject],
    name: &str,
    persistent: bool,
    want: &[(String, f64)],
) {
    for so in objects {
        so.wait_until(
            |r| {
                r.pending_writes() == 0
                    && r.slots().len() == want.len()
                    && want
                        .iter()
                        .all(|(k, v)| r.get(k) == Some(&AmfValue::Number(*v)))
            },
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: replica never held {want:?}: {e}"));
    }
    let version = objects.iter().map(|so| so.version()).max().unwrap_or(0);
    for so in objects {
        so.wait_until(|r| r.version() == version, LIMIT)
            .await
            .unwrap_or_else(|e| panic!("{name}: replica never reached v{version}: {e}"));
        assert_eq!(so.slots(), objects[0].slots());
    }
    for node in nodes {
        let (status, json) = admin_object(node, name, persistent);
        assert_eq!(status, 200, "{name}: {json}");
        assert_eq!(json["version"].as_u64(), Some(u64::from(version)), "{json}");
        let slots = json["slots"].as_object().expect("slots");
        assert_eq!(slots.len(), want.len(), "{json}");
        for (k, v) in want {
            assert_eq!(slots[k.as_str()].as_f64(), Some(*v), "{name}/{k}: {json}");
        }
    }
}

#[tokio::test]
async fn a_killed_nodes_objects_stay_intact_and_writable_on_the_survivors() {
    let redis = RedisServer::start();
    let mut nodes = three_nodes(&redis);
    let clients = [
        client(&nodes[0], false).await,
        client(&nodes[1], true).await,
        client(&nodes[2], false).await,
    ];
    let mut temp = Vec::new();
    let mut keep = Vec::new();
    for c in &clients {
        temp.push(c.shared_object("survive", false).await.expect("use"));
        keep.push(c.shared_object("survive_p", true).await.expect("use"));
    }
    let mut want: Vec<(String, f64)> = Vec::new();
    for (i, (t, k)) in temp.iter().zip(&keep).enumerate() {
        let value = i as f64;
        t.set(&format!("n{i}"), AmfValue::Number(value))
            .await
            .unwrap();
        k.set(&format!("n{i}"), AmfValue::Number(value))
            .await
            .unwrap();
        want.push((format!("n{i}"), value));
    }
    let all: Vec<&Node> = nodes.iter().collect();
    for (name, persistent, objects) in [("survive", false, &temp), ("survive_p", true, &keep)] {
        let objects: Vec<&RemoteSharedObject> = objects.iter().collect();
        identical_everywhere(&all, &objects, name, persistent, &want).await;
    }
    assert_eq!(
        redis_members(&redis, "survive"),
        ["a", "b", "c"].map(String::from).into()
    );

    nodes[2].kill();
    // The survivors keep writing and see each other's writes.
    for (i, (t, k)) in temp.iter().zip(&keep).take(2).enumerate() {
        let value = 10.0 + i as f64;
        t.set(&format!("after{i}"), AmfValue::Number(value))
            .await
            .unwrap();
        k.set(&format!("after{i}"), AmfValue::Number(value))
            .await
            .unwrap();
        want.push((format!("after{i}"), value));
    }
    let survivors: Vec<&Node> = nodes.iter().take(2).collect();
    for (name, persistent, objects) in [("survive", false, &temp), ("survive_p", true, &keep)] {
        let objects: Vec<&RemoteSharedObject> = objects.iter().take(2).collect();
        identical_everywhere(&survivors, &objects, name, persistent, &want).await;
    }
    // The dead node leaves the member set; the object stays while A and B
    // use it.
    wait_for(
        || redis_members(&redis, "survive") == ["a", "b"].map(String::from).into(),
        "the dead node leaves the member set",
    )
    .await;
    assert!(redis_exists(&redis, "survive", false));
    let (status, json) = admin_object(&nodes[1], "survive", false);
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["slots"].as_object().map(serde_json::Map::len), Some(5));
}

#[tokio::test]
async fn an_admin_get_answers_a_non_persistent_object_used_only_on_another_node() {
    let redis = RedisServer::start();
    let nodes = three_nodes(&redis);
    let a = client(&nodes[0], false).await;
    let so = a.shared_object("elsewhere", false).await.unwrap();
    so.set("x", AmfValue::Number(7.0)).await.unwrap();
    so.wait_until(|r| r.pending_writes() == 0, LIMIT)
        .await
        .unwrap();
    let (status, json) = admin_object(&nodes[1], "elsewhere", false);
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["version"].as_u64(), Some(u64::from(so.version())));
    assert_eq!(json["slots"]["x"].as_f64(), Some(7.0), "{json}");
    assert_eq!(json["subscribers"].as_u64(), Some(0), "{json}");
    // Reading it did not make B a member: A's release deletes it.
    assert_eq!(
        redis_members(&redis, "elsewhere"),
        ["a"].map(String::from).into()
    );
    so.release().await.unwrap();
    wait_for(
        || !redis_exists(&redis, "elsewhere", false),
        "the object is deleted",
    )
    .await;
    let (status, json) = admin_object(&nodes[1], "elsewhere", false);
    assert_eq!(status, 404, "{json}");
}
