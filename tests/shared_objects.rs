//! Remote SharedObjects over the real `ferrocast` binary with
//! `ferrocast::client`: sync on Use, convergence of concurrent AMF0 and AMF3
//! writers (checked against the admin API), send order, removes, atomic
//! multi-slot writes, limits, malformed messages, non-persistent lifetime,
//! persistence across a graceful restart and `kill -9`, the admin API.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use bytes::BytesMut;
use common::node::Node;
use common::process::TempDir;
use common::raw_client;
use ferrocast::client::{Client, ConnectOptions, RemoteSharedObject, SoEvent};
use ferrocast::protocol::amf::AmfValue;
use ferrocast::protocol::chunk::{ChunkEncoder, RawMessage};
use ferrocast::protocol::shared_object::{
    SharedObjectEncoding, SharedObjectEvent, SharedObjectMessage,
};

const LIMIT: Duration = Duration::from_secs(20);

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

/// An HTTP request on the admin API; returns (status, body).
fn http(node: &Node, method: &str, path: &str, body: &str) -> (u16, String) {
    node.request(method, path, body)
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

async fn wait_slot(so: &RemoteSharedObject, slot: &str, value: AmfValue) {
    so.wait_until(|r| r.get(slot) == Some(&value), LIMIT)
        .await
        .unwrap_or_else(|e| panic!("slot {slot} never became {value:?}: {e}"));
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

#[tokio::test]
async fn use_gets_the_current_slots_and_amf0_and_amf3_clients_share_one_object() {
    let node = Node::start();
    let a0 = client(&node, false).await;
    let a3 = client(&node, true).await;
    let so0 = a0.shared_object("shared", false).await.expect("use");
    so0.set("n", AmfValue::Number(1.5)).await.unwrap();
    so0.set("s", AmfValue::string("hé")).await.unwrap();
    wait_slot(&so0, "s", AmfValue::string("hé")).await;
    let so3 = a3.shared_object("shared", false).await.expect("use");
    assert_eq!(so3.get("n"), Some(AmfValue::Number(1.5)));
    assert_eq!(so3.version(), so0.version());
    so3.set(
        "b",
        AmfValue::ByteArray(bytes::Bytes::from_static(b"\x01\x02")),
    )
    .await
    .unwrap();
    wait_slot(
        &so0,
        "b",
        AmfValue::strict_array([AmfValue::Number(1.0), AmfValue::Number(2.0)]),
    )
    .await;
    so3.wait_until(|r| r.get("b").is_some(), LIMIT)
        .await
        .unwrap();
    assert_eq!(
        so3.get("b"),
        Some(AmfValue::ByteArray(bytes::Bytes::from_static(b"\x01\x02")))
    );
}

#[tokio::test]
async fn eight_concurrent_writers_converge_to_the_state_the_admin_api_shows() {
    let node = Node::start();
    let mut clients = Vec::new();
    for i in 0..8 {
        clients.push(client(&node, i % 2 == 1).await);
    }
    let mut objects = Vec::new();
    for c in &clients {
        objects.push(c.shared_object("race", true).await.expect("use"));
    }
    const WRITES: usize = 20;
    let mut tasks = Vec::new();
    for (i, so) in objects.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for j in 0..WRITES {
                so.set(&format!("c{i}_{j}"), AmfValue::Number(j as f64))
                    .await
                    .unwrap();
                so.set("shared", AmfValue::string(format!("{i}:{j}")))
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
    let want_slots = 8 * WRITES + 1;
    for so in &objects {
        so.wait_until(|r| r.slots().len() == want_slots, LIMIT)
            .await
            .expect("every acknowledged write arrives");
    }
    let (status, json) = admin_object(&node, "race", true);
    assert_eq!(status, 200, "{json}");
    let version = json["version"].as_u64().unwrap() as u32;
    assert_eq!(version, (8 * WRITES * 2) as u32);
    for so in &objects {
        so.wait_until(|r| r.version() == version, LIMIT)
            .await
            .unwrap();
        assert_eq!(so.slots(), objects[0].slots());
    }
    assert_eq!(
        json["slots"]["shared"].as_str(),
        objects[0].get("shared").as_ref().and_then(AmfValue::as_str)
    );
    assert_eq!(json["slots"].as_object().unwrap().len(), want_slots);
}

#[tokio::test]
async fn send_reaches_every_subscriber_including_the_sender_in_order() {
    let node = Node::start();
    let (a, b) = (client(&node, false).await, client(&node, true).await);
    let mut sa = a.shared_object("chat", false).await.unwrap();
    let mut sb = b.shared_object("chat", false).await.unwrap();
    for i in 0..10 {
        sa.send("say", vec![AmfValue::Number(f64::from(i))])
            .await
            .unwrap();
    }
    for so in [&mut sa, &mut sb] {
        let mut got = Vec::new();
        while got.len() < 10 {
            match tokio::time::timeout(LIMIT, so.next_event()).await {
                Ok(Some(SoEvent::Message { method, args })) => {
                    assert_eq!(method, "say");
                    got.push(args[0].as_f64().unwrap());
                }
                Ok(Some(_)) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, (0..10).map(f64::from).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn remove_set_many_atomicity_and_limits_give_status_errors_and_the_connection_stays_usable() {
    let node = Node::start_with_env(&[
        ("FERROCAST__SHARED_OBJECTS__MAX_SLOTS", "4"),
        ("FERROCAST__SHARED_OBJECTS__MAX_SLOT_BYTES", "64"),
        ("FERROCAST__SHARED_OBJECTS__MAX_PER_CONNECTION", "2"),
    ]);
    let (a, b) = (client(&node, false).await, client(&node, true).await);
    let mut sa = a.shared_object("lim", false).await.unwrap();
    let sb = b.shared_object("lim", false).await.unwrap();
    sa.set_many(vec![
        ("x".into(), AmfValue::Number(1.0)),
        ("y".into(), AmfValue::Number(2.0)),
    ])
    .await
    .unwrap();
    wait_slot(&sb, "y", AmfValue::Number(2.0)).await;
    sa.remove("x").await.unwrap();
    sb.wait_until(|r| r.get("x").is_none(), LIMIT)
        .await
        .unwrap();

    // One slot too large: the whole message is refused, nothing applied.
    let big = AmfValue::string("z".repeat(200));
    sa.set_many(vec![
        ("ok".into(), AmfValue::Number(1.0)),
        ("big".into(), big),
    ])
    .await
    .unwrap();
    assert_eq!(next_status(&mut sa).await, "SharedObject.BadValue");
    let many: Vec<(String, AmfValue)> = (0..5).map(|i| (format!("m{i}"), AmfValue::Null)).collect();
    sa.set_many(many).await.unwrap();
    assert_eq!(next_status(&mut sa).await, "SharedObject.SlotLimit");
    let _other = a.shared_object("two", false).await.unwrap();
    assert!(a.shared_object("three", false).await.is_err());

    // Still usable.
    sa.set("after", AmfValue::Boolean(true)).await.unwrap();
    wait_slot(&sb, "after", AmfValue::Boolean(true)).await;
    assert!(sb.get("ok").is_none() && sb.get("m0").is_none());
}

#[tokio::test]
async fn a_malformed_shared_object_message_closes_only_the_offender() {
    let node = Node::start();
    let good = client(&node, false).await;
    let so = good.shared_object("mal", false).await.unwrap();

    let (mut sock, mut wire) = raw_client::handshake(&node.rtmp);
    let mut encoder = ChunkEncoder::new();
    raw_client::command(
        &mut encoder,
        &mut wire,
        0,
        raw_client::connect(&node.rtmp, "live/room1"),
    );
    // Name "mal", header, then an event that declares 100 bytes but has 2.
    let mut body = BytesMut::new();
    body.extend_from_slice(&[0, 3, b'm', b'a', b'l']);
    body.extend_from_slice(&[0; 12]);
    body.extend_from_slice(&[3, 0, 0, 0, 100, 0, 1]);
    let raw = RawMessage {
        csid: 3,
        timestamp: 0,
        type_id: 19,
        stream_id: 0,
        payload: body.freeze(),
    };
    encoder.encode(&raw, &mut wire).unwrap();
    sock.write_all(&wire).unwrap();
    assert!(
        raw_client::closed_within(&mut sock, LIMIT),
        "offender not closed"
    );

    so.set("still", AmfValue::Number(1.0)).await.unwrap();
    wait_slot(&so, "still", AmfValue::Number(1.0)).await;
}

#[tokio::test]
async fn a_non_persistent_object_vanishes_after_the_last_release_and_a_persistent_one_stays() {
    let node = Node::start();
    // (The client library uses one name once per connection.)
    let (c1, c2) = (client(&node, false).await, client(&node, true).await);
    let temp = c1.shared_object("same", false).await.unwrap();
    let kept = c2.shared_object("same", true).await.unwrap();
    temp.set("k", AmfValue::string("temp")).await.unwrap();
    kept.set("k", AmfValue::string("kept")).await.unwrap();
    wait_slot(&temp, "k", AmfValue::string("temp")).await;
    wait_slot(&kept, "k", AmfValue::string("kept")).await;
    // Distinct objects of one name.
    assert_eq!(admin_object(&node, "same", false).1["slots"]["k"], "temp");
    assert_eq!(admin_object(&node, "same", true).1["slots"]["k"], "kept");
    temp.release().await.unwrap();
    kept.release().await.unwrap();
    let deadline = std::time::Instant::now() + LIMIT;
    while admin_object(&node, "same", false).0 != 404 {
        assert!(
            std::time::Instant::now() < deadline,
            "non-persistent object still there"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(admin_object(&node, "same", true).1["slots"]["k"], "kept");
    let (status, list) = node.get("/api/shared-objects");
    assert_eq!(status, 200);
    assert!(list.contains("\"name\":\"same\""), "{list}");
}

#[tokio::test]
async fn admin_put_delete_clear_and_send_reach_subscribers() {
    let node = Node::start();
    let c = client(&node, true).await;
    let mut so = c.shared_object("adm", true).await.unwrap();
    let path = "/api/shared-objects/live%2Froom1/adm";
    assert_eq!(
        http(&node, "PUT", &format!("{path}/a"), r#"{"x": [1, 2]}"#).0,
        200
    );
    so.wait_until(|r| r.get("a").is_some(), LIMIT)
        .await
        .unwrap();
    assert!(so.get("a").unwrap().get("x").is_some());
    assert_eq!(http(&node, "PUT", &format!("{path}/b"), "7").0, 200);
    wait_slot(&so, "b", AmfValue::Number(7.0)).await;
    assert_eq!(http(&node, "DELETE", &format!("{path}/b"), "").0, 200);
    so.wait_until(|r| r.get("b").is_none(), LIMIT)
        .await
        .unwrap();
    assert_eq!(http(&node, "PUT", &format!("{path}/c"), "{bad").0, 400);
    let (status, body) = http(
        &node,
        "POST",
        &format!("{path}/send"),
        r#"{"method": "hello", "args": ["w"]}"#,
    );
    assert_eq!(status, 200, "{body}");
    loop {
        match tokio::time::timeout(LIMIT, so.next_event()).await {
            Ok(Some(SoEvent::Message { method, .. })) => {
                assert_eq!(method, "hello");
                break;
            }
            Ok(Some(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(http(&node, "DELETE", path, "").0, 200);
    so.wait_until(|r| r.slots().is_empty(), LIMIT)
        .await
        .unwrap();
    assert_eq!(
        node.get("/api/shared-objects/live%2Froom1/nothing?persistent=false")
            .0,
        404
    );
    assert_eq!(node.get("/api/shared-objects/live%2Froom1/nothing").0, 404);
}

async fn write_acknowledged(node: &Node, n: usize) {
    let c = client(node, false).await;
    let so = c.shared_object("durable", true).await.unwrap();
    for i in 0..n {
        so.set(&format!("k{i}"), AmfValue::Number(i as f64))
            .await
            .unwrap();
    }
    so.wait_until(|r| r.pending_writes() == 0, LIMIT)
        .await
        .unwrap();
}

async fn check_present(node: &Node, n: usize) {
    let c = client(node, true).await;
    let so = c.shared_object("durable", true).await.unwrap();
    for i in 0..n {
        assert_eq!(
            so.get(&format!("k{i}")),
            Some(AmfValue::Number(i as f64)),
            "k{i}"
        );
    }
}

#[tokio::test]
async fn persistent_objects_survive_a_graceful_restart_and_a_kill_9() {
    let dir = TempDir::new("so-persist");
    let env = [("FERROCAST__STORE__DATA_DIR", dir.0.to_str().unwrap())];
    const UNCLEAN: &str = "not closed cleanly";
    let mut node = Node::start_with_env(&env);
    write_acknowledged(&node, 30).await;
    assert!(
        !node.log().contains(UNCLEAN),
        "a new store is not a crashed one"
    );
    assert!(node.terminate(LIMIT), "clean exit");
    let mut node = Node::start_with_env(&env);
    check_present(&node, 30).await;
    assert!(
        !node.log().contains(UNCLEAN),
        "the store was closed cleanly"
    );
    write_acknowledged(&node, 60).await;
    node.kill();
    let node = Node::start_with_env(&env);
    check_present(&node, 60).await;
    node.wait_for_log(UNCLEAN, LIMIT);
}

/// A raw RTMP client that speaks SharedObject messages directly (to send
/// what the client library never sends) and decodes the server's.
struct RawSo {
    sock: std::net::TcpStream,
    encoder: ChunkEncoder,
    decoder: ferrocast::protocol::chunk::ChunkDecoder,
    buf: BytesMut,
    /// Every SharedObject message received so far.
    got: Vec<SharedObjectMessage>,
}

impl RawSo {
    fn connect(node: &Node) -> Self {
        let (mut sock, mut wire) = raw_client::handshake(&node.rtmp);
        let mut encoder = ChunkEncoder::new();
        raw_client::command(
            &mut encoder,
            &mut wire,
            0,
            raw_client::connect(&node.rtmp, "live/room1"),
        );
        sock.write_all(&wire).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Self {
            sock,
            encoder,
            decoder: ferrocast::protocol::chunk::ChunkDecoder::new(Default::default()),
            buf: BytesMut::new(),
            got: Vec::new(),
        }
    }

    fn send(&mut self, name: &str, version: u32, persistent: bool, events: Vec<SharedObjectEvent>) {
        let mut message = SharedObjectMessage::new(name, version, persistent);
        message.events = events;
        let mut body = BytesMut::new();
        message
            .encode(SharedObjectEncoding::Amf0, &mut body)
            .unwrap();
        let raw = RawMessage {
            csid: 3,
            timestamp: 0,
            type_id: 19,
            stream_id: 0,
            payload: body.freeze(),
        };
        let mut wire = BytesMut::new();
        self.encoder.encode(&raw, &mut wire).unwrap();
        self.sock.write_all(&wire).unwrap();
    }

    /// Reads until `done(got)` holds; panics after [`LIMIT`] or if the
    /// server closes.
    fn until(&mut self, what: &str, done: impl Fn(&[SharedObjectMessage]) -> bool) {
        let deadline = std::time::Instant::now() + LIMIT;
        let mut chunk = [0u8; 65536];
        while !done(&self.got) {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: never came; got {:?}",
                self.got
            );
            match self.sock.read(&mut chunk) {
                Ok(0) => panic!("{what}: the server closed the connection"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("{what}: {e}"),
            }
            while let Some(msg) = self.decoder.decode(&mut self.buf).expect("valid chunks") {
                if msg.type_id == 19 {
                    self.got.push(
                        SharedObjectMessage::decode(
                            msg.payload,
                            SharedObjectEncoding::Amf0,
                            Default::default(),
                            Default::default(),
                        )
                        .expect("a valid SharedObject message"),
                    );
                }
            }
        }
    }
}

fn has_event(got: &[SharedObjectMessage], want: impl Fn(&SharedObjectEvent) -> bool) -> bool {
    got.iter().flat_map(|m| m.events.iter()).any(want)
}

fn change_event(name: &str, value: f64) -> SharedObjectEvent {
    SharedObjectEvent::RequestChange(vec![(name.into(), AmfValue::Number(value))])
}

async fn wait_admin(
    node: &Node,
    name: &str,
    persistent: bool,
    ok: impl Fn(u16, &serde_json::Value) -> bool,
) {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let (status, json) = admin_object(node, name, persistent);
        if ok(status, &json) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "admin API still shows {status} {json}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn use_release_use_in_one_message_keeps_later_writes_and_the_object_goes_with_its_client() {
    let node = Node::start();
    for round in 0..3 {
        let name = format!("burst{round}");
        let mut raw = RawSo::connect(&node);
        raw.send(
            &name,
            0,
            false,
            vec![
                SharedObjectEvent::Use,
                SharedObjectEvent::Release,
                SharedObjectEvent::Use,
            ],
        );
        raw.send(&name, 0, false, vec![change_event("x", 1.0)]);
        raw.until("the Success of the write", |got| {
            has_event(got, |e| *e == SharedObjectEvent::Success(vec!["x".into()]))
        });
        wait_admin(&node, &name, false, |s, j| {
            s == 200 && j["slots"]["x"] == 1.0 && j["subscribers"] == 1
        })
        .await;
        drop(raw);
        // Its only user left: a non-persistent object vanishes.
        wait_admin(&node, &name, false, |s, _| s == 404).await;
    }
    wait_metric_zero(&node).await;
}

async fn wait_metric_zero(node: &Node) {
    let deadline = std::time::Instant::now() + LIMIT;
    while node.metric("ferrocast_shared_objects") != 0 {
        assert!(std::time::Instant::now() < deadline, "object actors leaked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn more_operations_than_the_event_limit_get_a_status_error_and_the_connection_stays_open() {
    let node = Node::start();
    let mut raw = RawSo::connect(&node);
    raw.send("ev", 0, false, vec![SharedObjectEvent::Use]);
    raw.until("the Use sync", |got| {
        has_event(got, |e| *e == SharedObjectEvent::UseSuccess)
    });
    // 300 operations: over [shared_objects] max_events_per_message (256),
    // under the protocol's hard bound (1024).
    let events = (0..300)
        .map(|i| change_event(&format!("s{i}"), 1.0))
        .collect();
    raw.send("ev", 0, false, events);
    raw.until("the EventLimit status", |got| {
        has_event(got, |e| matches!(e, SharedObjectEvent::Status { code, .. } if &**code == "SharedObject.EventLimit"))
    });
    raw.send("ev", 0, false, vec![change_event("ok", 2.0)]);
    raw.until("the next write's Success", |got| {
        has_event(got, |e| *e == SharedObjectEvent::Success(vec!["ok".into()]))
    });
    assert_eq!(
        admin_object(&node, "ev", false).1["slots"]
            .as_object()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_change_that_would_pass_max_object_bytes_is_refused_with_a_status() {
    let node = Node::start_with_env(&[("FERROCAST__SHARED_OBJECTS__MAX_OBJECT_BYTES", "100000")]);
    let c = client(&node, false).await;
    let mut so = c.shared_object("big", false).await.unwrap();
    let pairs: Vec<(String, AmfValue)> = (0..2)
        .map(|i| (format!("s{i}"), AmfValue::string("x".repeat(60_000))))
        .collect();
    so.set_many(pairs).await.unwrap();
    assert_eq!(next_status(&mut so).await, "SharedObject.ObjectSizeLimit");
    so.wait_until(|r| r.pending_writes() == 0, LIMIT)
        .await
        .unwrap();
    assert!(so.slots().is_empty());
    so.set("small", AmfValue::Number(1.0)).await.unwrap();
    wait_slot(&so, "small", AmfValue::Number(1.0)).await;
}

#[tokio::test]
async fn a_client_that_kept_a_version_of_a_destroyed_object_gets_a_full_resync() {
    let node = Node::start();
    let mut raw = RawSo::connect(&node);
    raw.send(
        "gone",
        0,
        false,
        vec![SharedObjectEvent::Use, change_event("old", 1.0)],
    );
    raw.until("the write's Success", |got| {
        has_event(got, |e| {
            *e == SharedObjectEvent::Success(vec!["old".into()])
        })
    });
    let kept = raw.got.last().unwrap().version;
    raw.send("gone", kept, false, vec![SharedObjectEvent::Release]);
    wait_admin(&node, "gone", false, |s, _| s == 404).await;
    // A new incarnation of the name, with as many changes as the old one.
    let c = client(&node, true).await;
    let so = c.shared_object("gone", false).await.unwrap();
    so.set("new", AmfValue::Number(2.0)).await.unwrap();
    wait_slot(&so, "new", AmfValue::Number(2.0)).await;
    // The raw client comes back with the version it kept: it must be told
    // to drop "old" (Clear + the slots), never "up to date".
    let before = raw.got.len();
    raw.send("gone", kept, false, vec![SharedObjectEvent::Use]);
    raw.until("the re-Use answer", |got| {
        has_event(&got[before..], |e| *e == SharedObjectEvent::UseSuccess)
    });
    raw.until("a full resync", |got| {
        has_event(&got[before..], |e| *e == SharedObjectEvent::Clear)
            && has_event(
                &got[before..],
                |e| matches!(e, SharedObjectEvent::Change(p) if &*p[0].0 == "new"),
            )
    });
}

#[tokio::test]
async fn a_no_op_remove_makes_no_version_a_restart_could_hand_out_again() {
    let dir = TempDir::new("so-noop");
    let env = [("FERROCAST__STORE__DATA_DIR", dir.0.to_str().unwrap())];
    let mut node = Node::start_with_env(&env);
    let c = client(&node, false).await;
    let so = c.shared_object("vr", true).await.unwrap();
    so.set("a", AmfValue::Number(1.0)).await.unwrap();
    wait_slot(&so, "a", AmfValue::Number(1.0)).await;
    so.remove("absent").await.unwrap();
    so.wait_until(|r| r.pending_writes() == 0, LIMIT)
        .await
        .unwrap();
    let kept = so.version();
    drop(so);
    drop(c);
    assert!(node.terminate(LIMIT));
    let node = Node::start_with_env(&env);
    assert_eq!(
        http(&node, "PUT", "/api/shared-objects/live%2Froom1/vr/a", "2").0,
        200
    );
    // A client that kept `kept` (a = 1) comes back: it must get a = 2.
    let mut raw = RawSo::connect(&node);
    raw.send("vr", kept, true, vec![SharedObjectEvent::Use]);
    raw.until("a = 2", |got| {
        has_event(got, |e| {
            matches!(e, SharedObjectEvent::Change(p) if &*p[0].0 == "a" && p[0].1 == AmfValue::Number(2.0))
        })
    });
}
