//! Remote calls through the real `ferrocast` binary (and one embedded node)
//! over real TCP, with the `ferrocast::client` library as AMF0 and AMF3
//! clients: the built-in methods, the `_error` format, broadcasts by scope,
//! client-to-client calls (results, errors, unknown ids, timeouts), and a
//! custom `Application` served through `node::serve`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::node::Node;
use ferrocast::app::{
    ready, AppFuture, Application, Applications, CallOutcome, ClientInfo, Decision, Server,
};
use ferrocast::client::{CallReply, Client, ClientError, ConnectOptions, Event, Events};
use ferrocast::protocol::amf::{
    AmfDate, AmfObject, AmfValue, AmfVector, Dictionary, EcmaArray, ObjectVector,
};

const LIMIT: Duration = Duration::from_secs(10);

async fn connect(node: &Node, path: &str, options: ConnectOptions) -> (Client, Events) {
    Client::connect(&node.url(path), options)
        .await
        .expect("connect")
}

fn s(v: &str) -> AmfValue {
    AmfValue::string(v)
}

fn n(v: f64) -> AmfValue {
    AmfValue::Number(v)
}

/// The next server→client call on `events` (statuses and media skipped).
async fn next_call(events: &mut Events) -> (String, Vec<AmfValue>, CallReply) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(Event::Call {
                method,
                args,
                reply,
            })) => return (method, args, reply),
            Ok(Some(Event::Closed { error })) => panic!("connection closed: {error:?}"),
            Ok(Some(_)) => {}
            Ok(None) => panic!("event stream ended"),
            Err(_) => panic!("no server call within {LIMIT:?}"),
        }
    }
}

fn typed(class: &str, members: Vec<(&str, AmfValue)>, dynamic: bool) -> AmfValue {
    let sealed_count = members.len();
    AmfValue::Object(Arc::new(AmfObject {
        class_name: Some(class.into()),
        members: members.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        sealed_count,
        dynamic,
        external: None,
    }))
}

fn date(millis: f64) -> AmfValue {
    AmfValue::Date(AmfDate {
        millis,
        timezone_minutes: 0,
    })
}

fn ecma(dense: Vec<AmfValue>, assoc: Vec<(&str, AmfValue)>) -> AmfValue {
    AmfValue::EcmaArray(Arc::new(EcmaArray {
        dense,
        assoc: assoc.into_iter().map(|(k, v)| (k.into(), v)).collect(),
    }))
}

/// Values AMF0 carries without loss: typed objects (sealed members, as AMF0
/// decodes them), anonymous objects, dates, ECMA and strict arrays, long
/// strings, and a shared object appearing twice (an AMF0 reference).
fn deep_amf0_value() -> AmfValue {
    let player = typed(
        "com.example.Player",
        vec![
            ("name", s("ada")),
            ("score", n(7.5)),
            ("alive", AmfValue::Boolean(true)),
        ],
        false,
    );
    let team = AmfValue::object([
        ("captain", player.clone()),
        ("vice", player.clone()),
        ("founded", date(1_700_000_000_123.0)),
        ("motto", s(&"long ".repeat(20_000))),
    ]);
    AmfValue::object([
        ("team", team),
        (
            "rows",
            AmfValue::strict_array([
                AmfValue::object([
                    ("id", n(1.0)),
                    ("tags", AmfValue::strict_array([s("a"), s("b")])),
                ]),
                AmfValue::object([("id", n(2.0)), ("tags", AmfValue::strict_array([]))]),
                AmfValue::Null,
                AmfValue::Undefined,
            ]),
        ),
        (
            "table",
            ecma(vec![], vec![("x", n(1.0)), ("y", s("two")), ("z", player)]),
        ),
        ("xml", AmfValue::XmlDocument("<a b=\"c\"/>".into())),
        ("unicode", s("héllo ✓ 日本")),
    ])
}

/// Values only AMF3 carries: integers, byte arrays, traits (sealed and
/// dynamic members), vectors, dictionaries, arrays with dense and
/// associative parts, E4X XML, and repeated strings and objects (AMF3
/// references).
fn deep_amf3_value() -> AmfValue {
    let point = |x: i32, y: i32| {
        let mut members = vec![("x", AmfValue::Integer(x)), ("y", AmfValue::Integer(y))];
        members.push(("label", s("point")));
        let mut object = AmfObject {
            class_name: Some("geom.Point".into()),
            members: members.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            sealed_count: 2,
            dynamic: true,
            external: None,
        };
        object.members.push(("note".into(), s("dynamic member")));
        AmfValue::Object(Arc::new(object))
    };
    let shared = point(1, 2);
    AmfValue::object([
        ("int", AmfValue::Integer(-268_435_456)),
        ("big", n(1e300)),
        (
            "bytes",
            AmfValue::ByteArray(Bytes::from_static(b"\x00\x01\xfe\xffbytes")),
        ),
        ("when", date(1_234_567_890_000.0)),
        ("first", shared.clone()),
        ("again", shared),
        (
            "points",
            AmfValue::strict_array([point(3, 4), point(5, 6), point(3, 4)]),
        ),
        (
            "mixed",
            ecma(
                vec![n(1.0), s("two")],
                vec![("key", s("value")), ("nested", point(7, 8))],
            ),
        ),
        (
            "ints",
            AmfValue::VectorInt(Arc::new(AmfVector {
                fixed: true,
                items: vec![-1, 0, 1, i32::MAX],
            })),
        ),
        (
            "uints",
            AmfValue::VectorUint(Arc::new(AmfVector {
                fixed: false,
                items: vec![0, u32::MAX],
            })),
        ),
        (
            "doubles",
            AmfValue::VectorDouble(Arc::new(AmfVector {
                fixed: false,
                items: vec![0.5, -2.25],
            })),
        ),
        (
            "objects",
            AmfValue::VectorObject(Arc::new(ObjectVector {
                fixed: false,
                type_name: "geom.Point".into(),
                items: vec![point(9, 9), AmfValue::Null],
            })),
        ),
        (
            "dictionary",
            AmfValue::Dictionary(Arc::new(Dictionary {
                weak_keys: false,
                entries: vec![(n(1.0), s("one")), (s("k"), point(0, 0))],
            })),
        ),
        ("xml", AmfValue::Xml("<root><child/></root>".into())),
        (
            "repeat",
            AmfValue::strict_array([s("same"), s("same"), s("same")]),
        ),
    ])
}

#[tokio::test]
async fn echo_returns_deep_amf0_and_amf3_values_unchanged() {
    let node = Node::start();
    let (amf0, _e0) = connect(&node, "live", ConnectOptions::default()).await;
    let sent = deep_amf0_value();
    let got = amf0
        .call_one("echo", vec![sent.clone()])
        .await
        .expect("echo");
    assert_eq!(got, sent);

    let (amf3, _e3) = connect(&node, "live", ConnectOptions::amf3()).await;
    for sent in [deep_amf3_value(), deep_amf0_value()] {
        let got = amf3
            .call_one("echo", vec![sent.clone()])
            .await
            .expect("echo");
        assert_eq!(got, sent);
    }
}

#[tokio::test]
async fn echo_gives_null_for_no_argument_and_an_array_for_several() {
    let node = Node::start();
    for options in [ConnectOptions::default(), ConnectOptions::amf3()] {
        let (client, _events) = connect(&node, "live", options).await;
        assert_eq!(
            client.call_one("echo", vec![]).await.unwrap(),
            AmfValue::Null
        );
        assert_eq!(
            client.call_one("echo", vec![s("a"), n(2.0)]).await.unwrap(),
            AmfValue::strict_array([s("a"), n(2.0)])
        );
    }
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

#[tokio::test]
async fn unknown_methods_and_bad_arguments_answer_call_failed_with_a_description() {
    let node = Node::start();
    for options in [ConnectOptions::default(), ConnectOptions::amf3()] {
        let (client, _events) = connect(&node, "live", options).await;
        let error = client.call("noSuchMethod", vec![]).await.unwrap_err();
        assert_eq!(error.code(), Some("NetConnection.Call.Failed"));
        let ClientError::CallFailed { info, .. } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(info.get("level").and_then(AmfValue::as_str), Some("error"));
        assert_eq!(description(&error), "Method not found (noSuchMethod).");

        let error = client
            .call("callClient", vec![n(5.0), s("m")])
            .await
            .unwrap_err();
        assert_eq!(error.code(), Some("NetConnection.Call.Failed"));
        assert!(
            description(&error).contains("clientId must be a string"),
            "{error}"
        );
        let error = client.call("broadcast", vec![]).await.unwrap_err();
        assert!(description(&error).contains("method name"), "{error}");
        // The connection is still fine.
        assert_eq!(client.call_one("echo", vec![n(1.0)]).await.unwrap(), n(1.0));
    }
    assert!(node.metric("ferrocast_calls_received_total") >= 8);
    assert!(node.metric("ferrocast_calls_failed_total") >= 6);
}

#[tokio::test]
async fn get_server_time_is_close_to_the_test_clock() {
    let node = Node::start();
    let (client, _events) = connect(&node, "live", ConnectOptions::amf3()).await;
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;
    let time = client.call_one("getServerTime", vec![]).await.unwrap();
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;
    let time = time.as_f64().expect("a number");
    assert!(
        before - 1_000.0 <= time && time <= after + 1_000.0,
        "{before} {time} {after}"
    );
}

#[tokio::test]
async fn get_client_id_is_unique_per_connection_and_is_the_connect_clientid() {
    let node = Node::start();
    let mut ids = Vec::new();
    for options in [
        ConnectOptions::default(),
        ConnectOptions::amf3(),
        ConnectOptions::default(),
    ] {
        let (client, _events) = connect(&node, "live/room", options).await;
        let id = client.call_one("getClientId", vec![]).await.unwrap();
        let id = id.as_str().expect("a string").to_string();
        assert_eq!(
            client
                .connect_info()
                .info
                .get("clientid")
                .and_then(AmfValue::as_str),
            Some(id.as_str())
        );
        let (node_part, conn_part) = id.rsplit_once(':').expect("NODE:CONN");
        assert!(!node_part.is_empty());
        assert!(conn_part.parse::<u64>().is_ok(), "{id}");
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

#[tokio::test]
async fn broadcast_reaches_every_client_of_the_scope_including_the_caller_and_no_other_scope() {
    let node = Node::start();
    let (a1, mut a1_events) = connect(&node, "live/a", ConnectOptions::default()).await;
    let (_a2, mut a2_events) = connect(&node, "live/a", ConnectOptions::amf3()).await;
    let (b, mut b_events) = connect(&node, "live/b", ConnectOptions::default()).await;
    let (parent, mut parent_events) = connect(&node, "live", ConnectOptions::amf3()).await;

    let nodes = a1
        .call_one("broadcast", vec![s("onChat"), s("hi"), n(1.0)])
        .await
        .unwrap();
    assert_eq!(nodes, n(1.0), "one node reached");
    for events in [&mut a1_events, &mut a2_events] {
        let (method, args, reply) = next_call(events).await;
        assert_eq!((method.as_str(), args), ("onChat", vec![s("hi"), n(1.0)]));
        assert!(!reply.expects_answer(), "a broadcast expects no answer");
    }
    // Anything wrongly sent to the other scopes was queued before their own
    // broadcast, so their first call must be their own.
    for (client, events, marker) in [(&b, &mut b_events, "b"), (&parent, &mut parent_events, "p")] {
        client
            .call("broadcast", vec![s("mark"), s(marker)])
            .await
            .unwrap();
        let (method, args, _) = next_call(events).await;
        assert_eq!((method.as_str(), args), ("mark", vec![s(marker)]));
    }
    // ... and the marks did not reach live/a either.
    a1.call("broadcast", vec![s("end")]).await.unwrap();
    let (method, _, _) = next_call(&mut a1_events).await;
    assert_eq!(method, "end");
}

/// Answers every server→client call on `events`: `add` sums numbers,
/// `describe` returns an object, `fail` answers `_error`, `silent` is kept
/// unanswered.
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
                "describe" => {
                    let _ = reply.result(vec![deep_amf0_value()]).await;
                }
                "fail" => {
                    let _ = reply.error("nope, not today").await;
                }
                _ => kept.push(reply),
            }
        }
    })
}

async fn client_id(client: &Client) -> String {
    let id = client.call_one("getClientId", vec![]).await.unwrap();
    id.as_str().unwrap().to_string()
}

#[tokio::test]
async fn call_client_carries_results_and_errors_between_an_amf0_and_an_amf3_client() {
    let node = Node::start();
    let (amf0, amf0_events) = connect(&node, "live", ConnectOptions::default()).await;
    let (amf3, amf3_events) = connect(&node, "other/room", ConnectOptions::amf3()).await;
    let amf0_id = client_id(&amf0).await;
    let amf3_id = client_id(&amf3).await;
    let _answering = (answer_calls(amf0_events), answer_calls(amf3_events));

    let sum = amf0
        .call_one("callClient", vec![s(&amf3_id), s("add"), n(2.0), n(3.5)])
        .await
        .unwrap();
    assert_eq!(sum, n(5.5));
    let described = amf3
        .call_one("callClient", vec![s(&amf0_id), s("describe")])
        .await
        .unwrap();
    assert_eq!(described, deep_amf0_value());

    let error = amf3
        .call("callClient", vec![s(&amf0_id), s("fail")])
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("NetConnection.Call.Failed"));
    assert!(description(&error).contains("nope, not today"), "{error}");

    let started = Instant::now();
    let error = amf0
        .call("callClient", vec![s("nobody:404"), s("add")])
        .await
        .unwrap_err();
    assert!(
        description(&error).contains("no client \"nobody:404\""),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "unknown ids fail at once"
    );
}

#[tokio::test]
async fn call_client_to_a_client_that_never_answers_times_out() {
    let node = Node::start_with_env(&[("FERROCAST__CALLS__TIMEOUT_MS", "400")]);
    let (caller, _caller_events) = connect(&node, "live", ConnectOptions::default()).await;
    let (silent, silent_events) = connect(&node, "live", ConnectOptions::amf3()).await;
    let silent_id = client_id(&silent).await;
    let _answering = answer_calls(silent_events);

    let started = Instant::now();
    let error = caller
        .call("callClient", vec![s(&silent_id), s("silent")])
        .await
        .unwrap_err();
    assert!(
        description(&error).contains("did not answer \"silent\" within 400 ms"),
        "{error}"
    );
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(node.metric("ferrocast_server_calls_timed_out_total"), 1);
    assert_eq!(node.metric("ferrocast_server_calls_pending"), 0);
}

#[tokio::test]
async fn a_pending_call_fails_as_soon_as_the_called_client_leaves() {
    let node = Node::start();
    let (caller, _caller_events) = connect(&node, "live", ConnectOptions::default()).await;
    let (silent, silent_events) = connect(&node, "live", ConnectOptions::amf3()).await;
    let silent_id = client_id(&silent).await;
    let _answering = answer_calls(silent_events);
    let waiting = {
        let caller = caller.clone();
        let id = silent_id.clone();
        tokio::spawn(async move { caller.call("callClient", vec![s(&id), s("silent")]).await })
    };
    let deadline = Instant::now() + LIMIT;
    while node.metric("ferrocast_server_calls_pending") == 0 {
        assert!(Instant::now() < deadline, "the call never became pending");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    silent.close().await.unwrap();
    let error = waiting.await.unwrap().unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not left to time out"
    );
    assert!(
        description(&error).contains("disconnected before answering"),
        "{error}"
    );
    assert_eq!(node.metric("ferrocast_server_calls_pending"), 0);
}

/// A node embedded in this test process, serving `applications` through
/// `node::serve` on ports 0; stopped on drop.
struct EmbeddedNode {
    rtmp: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EmbeddedNode {
    fn start(applications: Applications) -> Self {
        let mut settings = ferrocast::settings::Settings::default();
        settings.rtmp.listen = "127.0.0.1:0".parse().unwrap();
        settings.http.listen = "127.0.0.1:0".parse().unwrap();
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let serving = ferrocast::node::serve(
                settings,
                applications,
                move |bound| {
                    let _ = bound_tx.send(bound.clone());
                },
                async move {
                    let _ = stopped.await;
                },
            );
            actix_rt::System::new()
                .block_on(serving)
                .expect("the embedded node runs");
        });
        let bound = bound_rx.recv_timeout(LIMIT).expect("the node binds");
        Self {
            rtmp: bound.rtmp_addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("rtmp://{}/{path}", self.rtmp)
    }
}

impl Drop for EmbeddedNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Wants `connect(url, "secret")`; answers `double(n)`; refuses to publish
/// or play names starting with `private`; records who left.
struct Guarded {
    left: Arc<Mutex<Vec<String>>>,
}

impl Application for Guarded {
    fn on_connect(&self, client: &ClientInfo, _: &Server) -> AppFuture<Decision> {
        let secret = client.connect_args.first().and_then(AmfValue::as_str) == Some("secret");
        // Decided later, not at once: the connection must wait for it.
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if secret {
                Decision::Accept
            } else {
                Decision::reject("Wrong or missing secret.")
            }
        })
    }

    fn on_disconnect(&self, client: &ClientInfo, _: &Server) {
        self.left.lock().unwrap().push(client.client_id.clone());
    }

    fn on_call(
        &self,
        client: &ClientInfo,
        server: &Server,
        method: &str,
        args: Vec<AmfValue>,
    ) -> AppFuture<CallOutcome> {
        match method {
            "double" => ready(match args.first().and_then(AmfValue::as_f64) {
                Some(x) => CallOutcome::Result(vec![n(2.0 * x)]),
                None => CallOutcome::Error("double(n) takes a number.".into()),
            }),
            "roomSize" => ready(CallOutcome::Result(vec![n(
                server.clients(&client.scope).len() as f64,
            )])),
            _ => ready(CallOutcome::NotHandled),
        }
    }

    fn on_publish(&self, _: &ClientInfo, stream: &str) -> AppFuture<Decision> {
        ready(if stream.starts_with("private") {
            Decision::reject("Private streams are not published here.")
        } else {
            Decision::Accept
        })
    }

    fn on_play(&self, _: &ClientInfo, stream: &str) -> AppFuture<Decision> {
        ready(if stream.starts_with("private") {
            Decision::reject("Private streams are not played here.")
        } else {
            Decision::Accept
        })
    }
}

#[tokio::test]
async fn an_embedded_application_decides_connects_publishes_plays_and_handles_its_calls() {
    let left = Arc::new(Mutex::new(Vec::new()));
    let node =
        EmbeddedNode::start(Applications::new().with("guarded", Guarded { left: left.clone() }));

    let refused = Client::connect(&node.url("guarded/room"), ConnectOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Some("NetConnection.Connect.Rejected"),
        "{refused}"
    );
    let ClientError::ConnectRejected { info } = &refused else {
        panic!("{refused:?}")
    };
    assert_eq!(
        info.get("description").and_then(AmfValue::as_str),
        Some("Wrong or missing secret.")
    );
    let unserved = Client::connect(&node.url("live"), ConnectOptions::default())
        .await
        .unwrap_err();
    assert_eq!(unserved.code(), Some("NetConnection.Connect.Rejected"));

    let options = ConnectOptions {
        args: vec![s("secret")],
        ..ConnectOptions::amf3()
    };
    let (client, _events) = Client::connect(&node.url("guarded/room"), options)
        .await
        .expect("a client with the secret is accepted");
    assert_eq!(
        client.call_one("double", vec![n(21.0)]).await.unwrap(),
        n(42.0)
    );
    assert_eq!(client.call_one("roomSize", vec![]).await.unwrap(), n(1.0));
    let error = client.call("double", vec![s("x")]).await.unwrap_err();
    assert_eq!(description(&error), "double(n) takes a number.");
    // Methods the application does not handle fall through to the built-ins.
    assert_eq!(
        client.call_one("echo", vec![s("hi")]).await.unwrap(),
        s("hi")
    );
    let error = client.call("nothing", vec![]).await.unwrap_err();
    assert_eq!(error.code(), Some("NetConnection.Call.Failed"));

    let stream = client.create_stream().await.unwrap();
    let refused = client.publish(stream, "private-1").await.unwrap_err();
    assert_eq!(
        refused.code(),
        Some("NetStream.Publish.Rejected"),
        "{refused}"
    );
    client
        .publish(stream, "public-1")
        .await
        .expect("public streams publish");
    let player = client.create_stream().await.unwrap();
    let refused = client.play(player, "private-2").await.unwrap_err();
    assert_eq!(refused.code(), Some("NetStream.Play.Failed"), "{refused}");

    let id = client_id(&client).await;
    client.close().await.unwrap();
    let deadline = Instant::now() + LIMIT;
    while !left.lock().unwrap().contains(&id) {
        assert!(Instant::now() < deadline, "on_disconnect was not called");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
