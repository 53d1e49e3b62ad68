//! SharedObjects under load over the real `ferrocast` binary: a subscriber
//! that stops reading its socket while others write many megabytes (the
//! server's memory stays bounded, the others keep converging, and the slow
//! one converges once it reads again); idle persistent objects unloaded and
//! reloaded from the store; a refused write answered with the server's
//! value.

mod common;

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::node::Node;
use ferrocast::client::{Client, ConnectOptions, RemoteSharedObject, SoEvent};
use ferrocast::protocol::amf::AmfValue;
use ferrocast::protocol::client::{
    ClientEvent, ClientSession, ClientSessionConfig, ConnectRequest, SharedObjectReplica,
};
use ferrocast::protocol::shared_object::SharedObjectMessage;

const LIMIT: Duration = Duration::from_secs(30);

/// A blocking client over the pure [`ClientSession`]: it reads only when
/// told to, so a test can make it stop reading.
struct BlockingClient {
    sock: TcpStream,
    session: ClientSession,
}

impl BlockingClient {
    fn connect(node: &Node, app: &str) -> Self {
        let mut rng = rand::rng();
        let session = ClientSession::new(ClientSessionConfig::default(), 0, &mut rng);
        let sock = TcpStream::connect(&node.rtmp).expect("connect");
        let mut client = Self { sock, session };
        client.flush();
        client.read_until(|e| matches!(e, ClientEvent::HandshakeCompleted));
        let request = ConnectRequest::new(app, node.url(app));
        client.session.connect(&request).expect("connect request");
        client.flush();
        client.read_until(|e| matches!(e, ClientEvent::Connected { .. }));
        client
    }

    fn flush(&mut self) {
        for segment in self.session.take_outbound() {
            self.sock.write_all(&segment).expect("write");
        }
    }

    /// Reads for at most `wait`; returns the events.
    fn read(&mut self, wait: Duration) -> Vec<ClientEvent> {
        self.sock.set_read_timeout(Some(wait)).unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let events = match self.sock.read(&mut buf) {
            Ok(0) => panic!("the server closed the connection"),
            Ok(n) => self
                .session
                .handle_input(&buf[..n], 0, &mut rand::rng())
                .expect("valid server bytes"),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Vec::new(),
            Err(e) => panic!("read: {e}"),
        };
        self.flush();
        events
    }

    fn read_until(&mut self, done: impl Fn(&ClientEvent) -> bool) {
        let deadline = Instant::now() + LIMIT;
        while Instant::now() < deadline {
            if self.read(Duration::from_millis(100)).iter().any(&done) {
                return;
            }
        }
        panic!("the expected event never came");
    }

    fn send(&mut self, message: &SharedObjectMessage) {
        self.session
            .send_shared_object(message)
            .expect("send SharedObject message");
        self.flush();
    }

    /// Reads and applies SharedObject messages to `replica` until `done`.
    /// Reads and applies SharedObject messages to `replica` until `done`;
    /// returns what the replica reported.
    fn apply_until(
        &mut self,
        replica: &mut SharedObjectReplica,
        what: &str,
        done: impl Fn(&SharedObjectReplica) -> bool,
    ) -> Vec<SoEvent> {
        let deadline = Instant::now() + LIMIT;
        let mut seen = Vec::new();
        while !done(replica) {
            assert!(Instant::now() < deadline, "never {what}");
            for event in self.read(Duration::from_millis(50)) {
                if let ClientEvent::SharedObject(m) = event {
                    seen.extend(replica.apply(&m));
                }
            }
        }
        seen
    }
}

async fn client(node: &Node) -> Client {
    Client::connect(&node.url("live/room1"), ConnectOptions::amf3())
        .await
        .expect("connect")
        .0
}

/// `GET /api/shared-objects/live%2Froom1/{name}`: (status, version, slots).
fn admin(node: &Node, name: &str, persistent: bool) -> (u16, u64, serde_json::Value) {
    let (status, body) = node.get(&format!(
        "/api/shared-objects/live%2Froom1/{name}?persistent={persistent}"
    ));
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    (
        status,
        json["version"].as_u64().unwrap_or(0),
        json["slots"].clone(),
    )
}

/// Each slot as its round prefix and length (values are 40 KiB).
fn digest(slots: &BTreeMap<String, AmfValue>) -> BTreeMap<String, (String, usize)> {
    slots
        .iter()
        .map(|(k, v)| match v {
            AmfValue::String(s) => (k.clone(), (s[..4].to_string(), s.len())),
            other => panic!("unexpected value {other:?}"),
        })
        .collect()
}

fn digest_json(slots: &serde_json::Value) -> BTreeMap<String, (String, usize)> {
    slots
        .as_object()
        .expect("slots object")
        .iter()
        .map(|(k, v)| {
            let s = v.as_str().expect("string slot");
            (k.clone(), (s[..4].to_string(), s.len()))
        })
        .collect()
}

const SLOTS: usize = 40;
const VALUE_BYTES: usize = 40 * 1024;
const ROUNDS: usize = 50;

#[tokio::test]
async fn a_subscriber_that_stops_reading_costs_bounded_memory_and_converges_when_it_reads_again() {
    let node = Node::start_with_env(&[("FERROCAST__SHARED_OBJECTS__HISTORY", "16")]);
    let mut slow = BlockingClient::connect(&node, "live/room1");
    let mut slow_replica = SharedObjectReplica::new("big", false);
    slow.send(&slow_replica.use_message());
    slow.apply_until(&mut slow_replica, "synced", SharedObjectReplica::is_synced);

    let writer = client(&node).await;
    let reader = client(&node).await;
    let w = writer.shared_object("big", false).await.expect("use");
    let r = reader.shared_object("big", false).await.expect("use");
    let baseline = node.rss_bytes();
    let mut peak = baseline;
    // ROUNDS × SLOTS × 40 KiB = 80 MiB written while `slow` reads nothing.
    for round in 0..ROUNDS {
        for slot in 0..SLOTS {
            let value = format!("{round:04}{}", "x".repeat(VALUE_BYTES));
            w.set(&format!("s{slot}"), AmfValue::string(value))
                .await
                .unwrap();
        }
        // Pace on the others' progress: they keep converging.
        let last = format!("{round:04}");
        let fresh = |so: &ferrocast::protocol::client::SharedObjectReplica| {
            so.get(&format!("s{}", SLOTS - 1))
                .is_some_and(|v| matches!(v, AmfValue::String(s) if s.starts_with(&last)))
        };
        r.wait_until(fresh, LIMIT).await.expect("reader keeps up");
        peak = peak.max(node.rss_bytes());
    }
    w.wait_until(|so| so.pending_writes() == 0, LIMIT)
        .await
        .unwrap();
    let growth = peak.saturating_sub(baseline);
    eprintln!("server RSS growth: {} KiB", growth / 1024);
    assert!(
        growth < 48 * 1024 * 1024,
        "server RSS grew by {} MiB while 80 MiB went to a stalled subscriber",
        growth / (1024 * 1024)
    );

    // The others converge to the server's state (a fast reader may itself
    // have lagged and be mid-resync: a resync spans several messages).
    let (status, version, slots) = admin(&node, "big", false);
    assert_eq!(status, 200);
    let want = digest_json(&slots);
    r.wait_until(
        |so| so.version() as u64 == version && digest(so.slots()) == want,
        LIMIT,
    )
    .await
    .expect("the reader converges");

    // It reads again: deltas or a full resync bring it to the server's state.
    let seen = slow.apply_until(&mut slow_replica, "caught up", |so| {
        so.version() as u64 == version && digest(so.slots()) == want
    });
    // Far past the history: it was resynced, not sent every change.
    let changes = seen
        .iter()
        .filter(|e| matches!(e, SoEvent::Changed { .. }))
        .count();
    assert!(seen.contains(&SoEvent::Cleared), "no resync");
    assert!(changes < ROUNDS * SLOTS / 2, "{changes} changes delivered");
    assert!(node.metric("ferrocast_shared_object_resyncs_total") >= 1);
}

async fn wait_metric(node: &Node, name: &str, want: impl Fn(u64) -> bool) -> u64 {
    let deadline = Instant::now() + LIMIT;
    loop {
        let value = node.metric(name);
        if want(value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{name} stuck at {value}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn idle_persistent_objects_are_unloaded_and_reload_from_the_store_on_next_use() {
    const OBJECTS: usize = 30;
    let dir = common::process::TempDir::new("so-unload");
    let node = Node::start_with_env(&[("FERROCAST__STORE__DATA_DIR", dir.0.to_str().unwrap())]);
    let c = client(&node).await;
    let mut used = Vec::new();
    for i in 0..OBJECTS {
        let so = c.shared_object(&format!("p{i}"), true).await.expect("use");
        so.set("n", AmfValue::Number(i as f64)).await.unwrap();
        used.push(so);
    }
    for so in &used {
        so.wait_until(|r| r.pending_writes() == 0 && r.get("n").is_some(), LIMIT)
            .await
            .unwrap();
    }
    assert!(node.metric("ferrocast_shared_objects") >= OBJECTS as u64);
    for so in used {
        so.release().await.unwrap();
    }
    // Unloaded after the grace: no actor left, every object still listed
    // (from the store, without a slot count).
    wait_metric(&node, "ferrocast_shared_objects", |v| v == 0).await;
    let (_, list) = node.get("/api/shared-objects");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&list).unwrap();
    let unloaded = rows
        .iter()
        .filter(|r| r["persistent"] == true && r["slots"].is_null() && r["version"] == 1)
        .count();
    assert_eq!(unloaded, OBJECTS, "{list}");

    // The admin API reads an unloaded object from the store.
    let (status, version, slots) = admin(&node, "p7", true);
    assert_eq!((status, version), (200, 1));
    assert_eq!(slots["n"], 7.0);
    // It is unloaded again afterwards.
    wait_metric(&node, "ferrocast_shared_objects", |v| v == 0).await;

    // The next Use reloads it with its data and version; writes go on.
    let so = c.shared_object("p3", true).await.expect("use again");
    assert_eq!(so.get("n"), Some(AmfValue::Number(3.0)));
    assert_eq!(so.version(), 1);
    so.set("m", AmfValue::Boolean(true)).await.unwrap();
    so.wait_until(|r| r.version() == 2, LIMIT).await.unwrap();
    assert_eq!(admin(&node, "p3", true).1, 2);
}

#[tokio::test]
async fn a_refused_write_gives_the_writer_the_servers_value_back() {
    let node = Node::start_with_env(&[("FERROCAST__SHARED_OBJECTS__MAX_SLOT_BYTES", "64")]);
    let (a, b) = (client(&node).await, client(&node).await);
    let mut sa: RemoteSharedObject = a.shared_object("rej", false).await.unwrap();
    let sb = b.shared_object("rej", false).await.unwrap();
    sb.set("k", AmfValue::string("server")).await.unwrap();
    sa.wait_until(|r| r.get("k").is_some(), LIMIT)
        .await
        .unwrap();
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(10), sa.next_event()).await {
    }
    sa.set("k", AmfValue::string("y".repeat(200)))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|e| matches!(e, SoEvent::Changed { slot, .. } if slot == "k"))
    {
        match tokio::time::timeout(LIMIT, sa.next_event()).await {
            Ok(Some(event)) => seen.push(event),
            other => panic!("no correction after {seen:?}: {other:?}"),
        }
    }
    assert!(
        matches!(&seen[0], SoEvent::Status { code, .. } if code == "SharedObject.BadValue"),
        "{seen:?}"
    );
    assert_eq!(
        seen.last(),
        Some(&SoEvent::Changed {
            slot: "k".into(),
            value: AmfValue::string("server")
        })
    );
    assert_eq!(sa.get("k"), Some(AmfValue::string("server")));
    assert_eq!(sa.pending_writes(), 0);
}
