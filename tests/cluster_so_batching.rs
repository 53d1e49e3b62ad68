//! Batched SharedObject writes in the cluster: a node sends every message
//! queued for an object in one apply-script call. Checked against a real
//! redis-server: the store's batch gives each message its own version, log
//! entry and published envelopes, byte for byte what a single call gives,
//! and survives a `SCRIPT FLUSH`; bursts from several clients on two real
//! node processes converge with every acknowledged write present and the
//! op log's versions contiguous; Redis killed mid-burst answers
//! `SharedObject.Flush.Failed` for what it did not acknowledge and
//! everything converges once it is back.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use common::node::Node;
use common::redis::RedisServer;
use ferrocast::client::{Client, ConnectOptions, RemoteSharedObject, SoEvent};
use ferrocast::cluster::envelope::{AmfEncoding, ObjectKey, SlotChange};
use ferrocast::cluster::{ClusterEvent, Envelope, KeySpace, NodeId};
use ferrocast::protocol::amf::AmfValue;
use ferrocast::store::redis::{RedisMessage, RedisOp, RedisSoStore, VersionedEnvelope};
use futures_util::StreamExt;

const LIMIT: Duration = Duration::from_secs(20);
const PREFIX: &str = "ferrocast";

fn object(name: &str) -> ObjectKey {
    ObjectKey {
        scope: "live/room1".into(),
        name: name.into(),
        persistent: true,
    }
}

fn key(name: &str, part: &str) -> String {
    KeySpace::new(PREFIX).shared_object_key("live/room1", name, true, part)
}

fn delta(name: &str, slot: &str, value: Option<&'static [u8]>) -> impl Fn(u32) -> ClusterEvent {
    let (object, slot) = (object(name), slot.to_string());
    move |version| ClusterEvent::SharedObjectDelta {
        object: object.clone(),
        version,
        encoding: AmfEncoding::Amf3,
        changes: vec![SlotChange {
            slot: slot.clone(),
            value: value.map(Bytes::from_static),
        }],
    }
}

fn send(name: &str) -> impl Fn(u32) -> ClusterEvent {
    let object = object(name);
    move |version| ClusterEvent::SharedObjectSend {
        object: object.clone(),
        version,
        handler: "ping".into(),
        encoding: AmfEncoding::Amf0,
        args: Bytes::from_static(b"\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"),
    }
}

/// `(version, envelope)` of every op log entry.
fn log_entries(redis: &RedisServer, name: &str) -> Vec<(u32, Vec<u8>)> {
    let mut conn = redis.connection().expect("connect to redis");
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(key(name, "log"))
        .arg("-")
        .arg("+")
        .query(&mut conn)
        .expect("XRANGE");
    reply
        .ids
        .iter()
        .map(|entry| {
            let version = entry
                .id
                .split('-')
                .next()
                .and_then(|v| v.parse().ok())
                .expect("a {version}-0 id");
            (version, entry.get("e").expect("field e"))
        })
        .collect()
}

fn redis_version(redis: &RedisServer, name: &str) -> u32 {
    let mut conn = redis.connection().expect("connect to redis");
    let version: Option<u32> = redis::cmd("GET")
        .arg(key(name, "ver"))
        .query(&mut conn)
        .expect("GET");
    version.unwrap_or(0)
}

fn redis_slot_count(redis: &RedisServer, name: &str) -> usize {
    let mut conn = redis.connection().expect("connect to redis");
    redis::cmd("HLEN")
        .arg(key(name, "slots"))
        .query(&mut conn)
        .expect("HLEN")
}

#[tokio::test]
async fn a_batch_gives_each_message_its_own_version_log_entry_and_envelopes_as_single_calls_do() {
    let redis = RedisServer::start();
    let store = RedisSoStore::connect(&redis.url(), KeySpace::new(PREFIX), 100).expect("store");
    let node = NodeId::from("node-a");
    let name = "batch";
    let channel = store.channel(&object(name));
    let mut pubsub = redis::Client::open(redis.url())
        .expect("client")
        .get_async_pubsub()
        .await
        .expect("pubsub");
    pubsub.subscribe(&channel).await.expect("subscribe");

    let split = |seq: u64, event: &dyn Fn(u32) -> ClusterEvent, logged: bool| {
        VersionedEnvelope::split(&node, seq, event, logged).expect("splits")
    };
    let set_a = delta(name, "a", Some(b"\x04\x01"));
    let remove_b = delta(name, "b", None);
    let ping = send(name);
    let messages = vec![
        // A change, then a message of only a send (no bump), then a
        // change with a send: versions 1, 1, 2.
        RedisMessage {
            ops: vec![RedisOp::Set("a".into(), Bytes::from_static(b"\x04\x01"))],
            envelopes: vec![split(1, &set_a, true)],
        },
        RedisMessage {
            ops: vec![],
            envelopes: vec![split(2, &ping, false)],
        },
        RedisMessage {
            ops: vec![RedisOp::Remove("b".into())],
            envelopes: vec![split(3, &remove_b, true), split(4, &ping, false)],
        },
    ];
    let versions = store
        .apply_batch(&object(name), messages)
        .await
        .expect("applied");
    assert_eq!(versions, vec![1, 1, 2]);
    // A single call after the batch continues the order.
    let single = store
        .apply(
            &object(name),
            vec![RedisOp::Set("c".into(), Bytes::from_static(b"\x04\x02"))],
            vec![split(5, &delta(name, "c", Some(b"\x04\x02")), true)],
        )
        .await
        .expect("applied");
    assert_eq!(single, 3);

    let encode =
        |seq, event: ClusterEvent| Envelope::new(node.clone(), seq, event).encode().unwrap();
    let expected = [
        encode(1, set_a(1)),
        encode(2, ping(1)),
        encode(3, remove_b(2)),
        encode(4, ping(2)),
        encode(5, delta(name, "c", Some(b"\x04\x02"))(3)),
    ];
    let mut stream = pubsub.on_message();
    for (i, want) in expected.iter().enumerate() {
        let msg = tokio::time::timeout(LIMIT, stream.next())
            .await
            .expect("published in time")
            .expect("a message");
        assert_eq!(msg.get_payload_bytes(), &want[..], "published envelope {i}");
    }
    let log = log_entries(&redis, name);
    let want_log = vec![
        (1, expected[0].to_vec()),
        (2, expected[2].to_vec()),
        (3, expected[4].to_vec()),
    ];
    assert_eq!(log, want_log);
    assert_eq!(redis_version(&redis, name), 3);
    assert_eq!(redis_slot_count(&redis, name), 2);
}

#[tokio::test]
async fn a_batch_after_the_scripts_were_flushed_is_applied_exactly_once() {
    let redis = RedisServer::start();
    let store = RedisSoStore::connect(&redis.url(), KeySpace::new(PREFIX), 100).expect("store");
    let node = NodeId::from("node-a");
    let name = "flushed";
    let message = |i: u64| {
        let slot = format!("s{i}");
        RedisMessage {
            ops: vec![RedisOp::Set(slot.clone(), Bytes::from_static(b"\x04\x01"))],
            envelopes: vec![VersionedEnvelope::split(
                &node,
                i,
                delta(name, &slot, Some(b"\x04\x01")),
                true,
            )
            .expect("splits")],
        }
    };
    let first = store
        .apply_batch(&object(name), (0..3).map(message).collect())
        .await
        .expect("applied");
    assert_eq!(first, vec![1, 2, 3]);
    // As after a Redis restart: EVALSHA answers NOSCRIPT, nothing ran.
    let mut conn = redis.connection().expect("connect");
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query(&mut conn)
        .expect("SCRIPT FLUSH");
    let second = store
        .apply_batch(&object(name), (3..8).map(message).collect())
        .await
        .expect("applied after reloading the script");
    assert_eq!(second, vec![4, 5, 6, 7, 8]);
    let versions: Vec<u32> = log_entries(&redis, name).iter().map(|(v, _)| *v).collect();
    assert_eq!(versions, (1..=8).collect::<Vec<_>>());
    assert_eq!(redis_version(&redis, name), 8);
    assert_eq!(redis_slot_count(&redis, name), 8);
}

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

/// Three clients on each of two nodes, each using `name`.
async fn writers(nodes: &[Node], name: &str) -> (Vec<Client>, Vec<RemoteSharedObject>) {
    let mut clients = Vec::new();
    let mut objects = Vec::new();
    for node in nodes {
        for _ in 0..3 {
            let options = ConnectOptions {
                event_capacity: 100_000,
                ..ConnectOptions::amf3()
            };
            let (client, _events) = Client::connect(&node.url("live/room1"), options)
                .await
                .expect("connect");
            objects.push(client.shared_object(name, true).await.expect("use"));
            clients.push(client);
        }
    }
    (clients, objects)
}

/// Writes slots `c{i}_{from}..c{i}_{to}` (one message each, without waiting
/// for answers) from every client `i`, then one `shared` slot each.
async fn burst(objects: &[RemoteSharedObject], from: usize, to: usize) {
    let writes = objects.iter().enumerate().map(|(i, so)| async move {
        for j in from..to {
            so.set(&format!("c{i}_{j}"), AmfValue::Number(j as f64))
                .await
                .expect("queued");
        }
    });
    futures_util::future::join_all(writes).await;
}

/// The answers a client got: the slots acknowledged, and how many
/// messages were refused with `SharedObject.Flush.Failed`.
#[derive(Debug, Default)]
struct Answers {
    acknowledged: BTreeSet<String>,
    failed: usize,
}

/// Reads `so`'s events until `expected` of its own write messages were
/// answered (each writes one slot of its own).
async fn answers(so: &mut RemoteSharedObject, expected: usize) -> Answers {
    let mut out = Answers::default();
    while out.acknowledged.len() + out.failed < expected {
        let event = tokio::time::timeout(LIMIT, so.next_event()).await;
        match event {
            Ok(Some(SoEvent::Success { slots })) => out.acknowledged.extend(slots),
            Ok(Some(SoEvent::Status { code, .. })) => {
                assert_eq!(code, "SharedObject.Flush.Failed");
                out.failed += 1;
            }
            Ok(Some(_)) => {}
            other => panic!("answers missing ({out:?} of {expected}): {other:?}"),
        }
    }
    out
}

/// Every replica reaches Redis's version and slot count and all hold the
/// same slots; the op log's versions are contiguous up to that version.
async fn converged(redis: &RedisServer, objects: &[RemoteSharedObject], name: &str) {
    for so in objects {
        so.wait_until(|r| r.pending_writes() == 0, LIMIT)
            .await
            .expect("every write answered");
    }
    let version = redis_version(redis, name);
    let count = redis_slot_count(redis, name);
    for (i, so) in objects.iter().enumerate() {
        so.wait_until(
            |r| r.version() == version && r.slots().len() == count,
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "client {i} at v{} with {} slots, Redis at v{version} with {count}: {e}",
                so.version(),
                so.slots().len()
            )
        });
        assert_eq!(so.slots(), objects[0].slots(), "client {i}");
    }
    let log: Vec<u32> = log_entries(redis, name).iter().map(|(v, _)| *v).collect();
    let first = *log.first().expect("a log");
    assert_eq!(
        log,
        (first..=version).collect::<Vec<_>>(),
        "contiguous log versions"
    );
}

#[tokio::test]
async fn bursts_from_clients_on_two_nodes_converge_with_every_write_acknowledged_and_versions_contiguous(
) {
    let redis = RedisServer::start();
    let nodes = [start_node(&redis.url(), "a"), start_node(&redis.url(), "b")];
    let (_clients, mut objects) = writers(&nodes, "burst").await;
    const WRITES: usize = 300;
    burst(&objects, 0, WRITES).await;
    for (i, so) in objects.iter_mut().enumerate() {
        let got = answers(so, WRITES).await;
        assert_eq!(got.failed, 0, "client {i}");
        let want: BTreeSet<String> = (0..WRITES).map(|j| format!("c{i}_{j}")).collect();
        assert_eq!(got.acknowledged, want, "client {i}");
    }
    converged(&redis, &objects, "burst").await;
    // Every message bumped the version once: 6 × WRITES versions, all in
    // the log (history 1024 keeps at least the last 1024).
    assert_eq!(redis_slot_count(&redis, "burst"), 6 * WRITES);
    assert_eq!(redis_version(&redis, "burst") as usize, 6 * WRITES);
}

#[tokio::test]
async fn redis_killed_mid_burst_fails_what_it_did_not_acknowledge_and_everything_converges_after() {
    let mut redis = RedisServer::start_with_aof();
    let nodes = [start_node(&redis.url(), "a"), start_node(&redis.url(), "b")];
    let (_clients, mut objects) = writers(&nodes, "killed").await;
    // Full resyncs after the restart are split at
    // `max_events_per_message` (sharedobject::sync); the sizes here only
    // keep the test short.
    const FIRST: usize = 120;
    const DOWN: usize = 20;
    const AFTER: usize = 20;
    burst(&objects, 0, FIRST).await;
    // Killed while the burst is being applied (a sixth of it is), then
    // written to while down.
    objects[0]
        .wait_until(|r| r.version() as usize >= FIRST, LIMIT)
        .await
        .expect("some writes applied");
    redis.kill();
    burst(&objects, FIRST, FIRST + DOWN).await;
    let mut acknowledged = Vec::new();
    for (i, so) in objects.iter_mut().enumerate() {
        let got = answers(so, FIRST + DOWN).await;
        assert!(got.failed >= DOWN, "client {i}: {} failed", got.failed);
        acknowledged.push(got.acknowledged);
    }
    let before: Vec<u64> = nodes
        .iter()
        .map(|n| n.metric("ferrocast_cluster_resubscriptions_total"))
        .collect();
    redis.start_again();
    for (node, before) in nodes.iter().zip(before) {
        let deadline = tokio::time::Instant::now() + LIMIT;
        while node.metric("ferrocast_cluster_resubscriptions_total") <= before {
            assert!(tokio::time::Instant::now() < deadline, "no resubscription");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Writes go on once Redis is back.
    burst(&objects, FIRST + DOWN, FIRST + DOWN + AFTER).await;
    for (i, so) in objects.iter_mut().enumerate() {
        let got = answers(so, AFTER).await;
        assert_eq!(got.failed, 0, "client {i}");
        acknowledged[i].extend(got.acknowledged);
    }
    converged(&redis, &objects, "killed").await;
    // Every acknowledged write is there, with its value.
    let slots: BTreeMap<String, AmfValue> = objects[0].slots();
    for (i, acked) in acknowledged.iter().enumerate() {
        for slot in acked {
            let j: f64 = slot
                .rsplit('_')
                .next()
                .and_then(|j| j.parse().ok())
                .expect("c{i}_{j}");
            assert_eq!(slots.get(slot), Some(&AmfValue::Number(j)), "client {i}");
        }
    }
}
