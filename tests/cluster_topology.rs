//! The compose file's topology, run as processes on this machine (issue 5
//! "Deployment"): a real redis-server with `cluster/redis.conf`, three
//! `ferrocast serve` nodes with `cluster/ferrocast.toml`, and Debian's
//! HAProxy with `cluster/haproxy.cfg` in front of them. Only what depends on
//! where things run is local: ports and directories on the command line, the
//! HAProxy listen addresses in `LB_RTMP_BIND` / `LB_STATS_BIND`, and a
//! generated `backend nodes` file in place of `cluster/haproxy-docker.cfg`.
//!
//! Clients that connect through HAProxy's port land on different nodes (their
//! `getClientId` and each node's `/api/connections` say which) and share one
//! SharedObject — every replica, every node and Redis end with the same
//! slots and version — and one stream: ffmpeg publishes through HAProxy and
//! players on other nodes receive it from a keyframe on, byte for byte.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::media::{assert_same_payloads, ffmpeg_publisher, payloads, read_flv};
use common::node::Node;
use common::process::{make_test_flv, Peer, TempDir};
use ferrocast::client::{Client, ConnectOptions, Event, MediaKind};
use ferrocast::protocol::amf::AmfValue;
use ferrocast::protocol::flv::FlvTagType;
use ferrocast::protocol::media::{AudioTagInfo, VideoTagInfo};

/// A generous bound for anything awaited (2 shared cores, tests in parallel).
const LIMIT: Duration = Duration::from_secs(20);
const NODE_IDS: [&str; 3] = ["topo-a", "topo-b", "topo-c"];
/// `key_prefix` in cluster/ferrocast.toml.
const SO_KEY: &str = "ferrocast:so:P:live/room:board";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// GET `path` on `addr`; `None` while nothing answers there.
fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Some(body.to_string());
    }
    // HAProxy's stats page comes chunked: `SIZE\r\nDATA\r\n`... `0\r\n`.
    let mut rest = body;
    let mut data = String::new();
    loop {
        let (size, tail) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        if size == 0 {
            return Some(data);
        }
        data.push_str(tail.get(..size)?);
        rest = tail.get(size..)?.strip_prefix("\r\n")?;
    }
}

fn redis_query<T: redis::FromRedisValue>(port: u16, args: &[&str]) -> redis::RedisResult<T> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let mut conn = client.get_connection_with_timeout(Duration::from_secs(2))?;
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(&mut conn)
}

/// HAProxy, in the foreground, its output in a file; killed on drop.
struct Haproxy {
    child: Child,
    log: PathBuf,
    /// The RTMP frontend, `127.0.0.1:PORT`.
    rtmp: String,
    /// The stats frontend.
    stats: String,
}

impl Haproxy {
    /// Runs `haproxy -f cluster/haproxy.cfg -f <nodes file>` listening on
    /// free ports; retries on new ports if one was taken meanwhile.
    fn start(dir: &Path, nodes: &[Node]) -> Self {
        // The environment-specific part: one server per node, its own RTMP
        // port and its own HTTP port for the health check.
        let servers: String = nodes
            .iter()
            .zip(NODE_IDS)
            .map(|(node, id)| {
                let check_port = node.http.rsplit(':').next().expect("HTTP port");
                format!("    server {id} {} port {check_port}\n", node.rtmp)
            })
            .collect();
        let nodes_cfg = dir.join("nodes.cfg");
        std::fs::write(&nodes_cfg, format!("backend nodes\n{servers}")).expect("nodes.cfg");
        let mut last = String::new();
        for attempt in 0..5 {
            let rtmp = format!("127.0.0.1:{}", free_port());
            let stats = format!("127.0.0.1:{}", free_port());
            let log = dir.join(format!("haproxy-{attempt}.log"));
            let out = std::fs::File::create(&log).expect("haproxy log");
            let child = Command::new("haproxy")
                .arg("-db")
                // `maxconn 20000` wants about 40,000 descriptors; this
                // machine allows fewer (`ulimit -n`): `-n` overrides it.
                .args(["-n", "4096"])
                .arg("-f")
                .arg(repo("cluster/haproxy.cfg"))
                .arg("-f")
                .arg(&nodes_cfg)
                .env("LB_RTMP_BIND", &rtmp)
                .env("LB_STATS_BIND", &stats)
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("log fd"))
                .stderr(out)
                .spawn()
                .expect("start haproxy (scripts/test.sh installs it)");
            let mut haproxy = Self {
                child,
                log,
                rtmp,
                stats,
            };
            let deadline = Instant::now() + LIMIT;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = haproxy.child.try_wait() {
                    break;
                }
                // Our stats page (not another process that took the port).
                let stats = http_get(&haproxy.stats, "/;csv").unwrap_or_default();
                if stats.contains(&format!("\nnodes,{},", NODE_IDS[0])) {
                    return haproxy;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            last = haproxy.log();
        }
        panic!("haproxy did not start with cluster/haproxy.cfg:\n{last}");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the stats page shows every server of `backend nodes` UP
    /// with a passed health check (GET /health answered 200).
    fn wait_until_every_node_is_up(&self, count: usize) {
        let deadline = Instant::now() + LIMIT;
        let mut csv = String::new();
        while Instant::now() < deadline {
            csv = http_get(&self.stats, "/;csv").unwrap_or_default();
            if servers_up(&csv) == count {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "HAProxy never saw {count} healthy nodes:\n{csv}\n{}",
            self.log()
        );
    }

    fn url(&self, path: &str) -> String {
        format!("rtmp://{}/{path}", self.rtmp)
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many servers of `backend nodes` the stats CSV shows UP after a
/// passed layer 7 check.
fn servers_up(csv: &str) -> usize {
    let mut lines = csv.lines();
    let Some(header) = lines.next() else {
        return 0;
    };
    let columns: Vec<&str> = header.trim_start_matches("# ").split(',').collect();
    let column = |name: &str| columns.iter().position(|c| *c == name);
    let (Some(px), Some(sv), Some(status), Some(check)) = (
        column("pxname"),
        column("svname"),
        column("status"),
        column("check_status"),
    ) else {
        return 0;
    };
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.get(px) == Some(&"nodes") && NODE_IDS.contains(f.get(sv).unwrap_or(&"")))
        .filter(|f| f.get(status) == Some(&"UP") && f.get(check) == Some(&"L7OK"))
        .count()
}

/// Redis, three nodes and HAProxy, each from its file in `cluster/`.
struct Topology {
    // Dropped in declaration order: HAProxy first, Redis last.
    haproxy: Haproxy,
    nodes: Vec<Node>,
    _redis: Peer,
    redis_port: u16,
    _dir: TempDir,
}

impl Topology {
    fn start() -> Self {
        let dir = TempDir::new("topology");
        let redis_port = free_port();
        let port = redis_port.to_string();
        // Command-line options override the file: a local port and
        // directory instead of the container's 6379 and /data.
        let redis = Peer::spawn(
            "redis-server",
            &[
                repo("cluster/redis.conf").to_str().expect("utf-8 path"),
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--dir",
                dir.0.to_str().expect("utf-8 path"),
                "--logfile",
                dir.0.join("redis.log").to_str().expect("utf-8 path"),
            ],
        );
        let deadline = Instant::now() + LIMIT;
        while redis_query::<String>(redis_port, &["PING"]).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server with cluster/redis.conf did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let url = format!("redis://127.0.0.1:{redis_port}/");
        let config = repo("cluster/ferrocast.toml");
        let config = config.to_str().expect("utf-8 path");
        // The harness adds `--rtmp 127.0.0.1:0 --http 127.0.0.1:0
        // --data-dir <tmp>` and reads the bound addresses from the human log.
        let nodes: Vec<Node> = NODE_IDS
            .iter()
            .map(|id| {
                Node::start_with_args(
                    &["--config", config, "--redis", &url, "--node-id", id],
                    &[("FERROCAST__LOG__FORMAT", "human")],
                    None,
                )
            })
            .collect();
        let haproxy = Haproxy::start(&dir.0, &nodes);
        haproxy.wait_until_every_node_is_up(nodes.len());
        Self {
            haproxy,
            nodes,
            _redis: redis,
            redis_port,
            _dir: dir,
        }
    }

    fn node(&self, id: &str) -> &Node {
        let i = NODE_IDS.iter().position(|n| *n == id).expect("a node id");
        &self.nodes[i]
    }

    /// The ids of the nodes whose `/api/connections` satisfy `pick`, with
    /// how many connections each has.
    fn connections(&self, pick: impl Fn(&serde_json::Value) -> bool) -> Vec<(String, usize)> {
        NODE_IDS
            .iter()
            .map(|id| {
                let (_, body) = self.node(id).get("/api/connections");
                let list: Vec<serde_json::Value> = serde_json::from_str(&body).expect("JSON");
                (id.to_string(), list.iter().filter(|c| pick(c)).count())
            })
            .collect()
    }
}

/// The node a client landed on: `getClientId` is `{node_id}:{conn_id}`.
async fn home(client: &Client) -> String {
    let id = client.call_one("getClientId", vec![]).await.expect("id");
    let id = id.as_str().expect("a string id");
    id.split_once(':').expect("node:conn").0.to_string()
}

async fn wait_for(mut condition: impl FnMut() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn clients_through_haproxy_land_on_several_nodes_and_share_one_shared_object_and_one_stream()
{
    let topology = Topology::start();
    shared_object_through_the_balancer(&topology).await;
    stream_through_the_balancer(&topology).await;
}

async fn shared_object_through_the_balancer(topology: &Topology) {
    const CLIENTS: usize = 6;
    const WRITES: usize = 10;
    let mut clients = Vec::new();
    let mut homes = Vec::new();
    for i in 0..CLIENTS {
        let options = if i % 2 == 0 {
            ConnectOptions::default()
        } else {
            ConnectOptions::amf3()
        };
        let (client, _events) = Client::connect(&topology.haproxy.url("live/room"), options)
            .await
            .expect("connect through HAProxy");
        homes.push(home(&client).await);
        clients.push(client);
    }
    let distinct: BTreeSet<&String> = homes.iter().collect();
    assert!(distinct.len() >= 2, "HAProxy spread the clients: {homes:?}");
    // Each node serves exactly the clients that say they are there.
    wait_for(
        || {
            topology
                .connections(|_| true)
                .iter()
                .all(|(id, n)| homes.iter().filter(|h| *h == id).count() == *n)
        },
        "every node's /api/connections matches getClientId",
    )
    .await;

    let mut tasks = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        let so = client.shared_object("board", true).await.expect("use");
        tasks.push(tokio::spawn(async move {
            for j in 0..WRITES {
                let slot = if j % 2 == 0 {
                    format!("c{i}_{j}")
                } else {
                    "shared".to_string()
                };
                so.set(&slot, AmfValue::string(format!("{i}:{j}")))
                    .await
                    .expect("set");
            }
            so.wait_until(|r| r.pending_writes() == 0, LIMIT)
                .await
                .expect("every write acknowledged");
            so
        }));
    }
    let mut objects = Vec::new();
    for task in tasks {
        objects.push(task.await.expect("writer"));
    }
    let want_slots = CLIENTS * WRITES.div_ceil(2) + 1;
    for so in &objects {
        so.wait_until(|r| r.slots().len() == want_slots, LIMIT)
            .await
            .expect("every acknowledged write reaches every replica");
    }
    let version: u32 = redis_query(topology.redis_port, &["GET", &format!("{SO_KEY}:ver")])
        .expect("the version in Redis");
    let stored: u64 = redis_query(topology.redis_port, &["HLEN", &format!("{SO_KEY}:slots")])
        .expect("the slots in Redis");
    assert_eq!(stored, want_slots as u64);
    for so in &objects {
        so.wait_until(|r| r.version() == version, LIMIT)
            .await
            .expect("every replica reaches Redis's version");
        assert_eq!(so.slots(), objects[0].slots());
    }
    for id in &distinct {
        let (status, body) = topology
            .node(id)
            .get("/api/shared-objects/live%2Froom/board?persistent=true");
        assert_eq!(status, 200, "{id}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(json["version"].as_u64(), Some(u64::from(version)), "{id}");
        let slots = json["slots"].as_object().expect("slots");
        assert_eq!(slots.len(), want_slots, "{id}");
        assert_eq!(
            slots["shared"].as_str(),
            objects[0].get("shared").as_ref().and_then(AmfValue::as_str),
            "{id}"
        );
    }
    for client in clients {
        client.close().await.expect("close");
    }
}

/// What one player received: video and audio payloads in order, and
/// whether the stream ended with `NetStream.Play.UnpublishNotify`.
async fn collect(mut events: ferrocast::client::Events) -> (Vec<Bytes>, Vec<Bytes>, bool) {
    let (mut video, mut audio) = (Vec::new(), Vec::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.next()).await {
        match event {
            Event::Media { kind, payload, .. } => match kind {
                MediaKind::Video => video.push(payload),
                MediaKind::Audio => audio.push(payload),
            },
            Event::Status { info, .. } if &*info.code == "NetStream.Play.UnpublishNotify" => {
                return (video, audio, true);
            }
            _ => {}
        }
    }
    (video, audio, false)
}

async fn stream_through_the_balancer(topology: &Topology) {
    let dir = TempDir::new("topology-media");
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 3, 25);
    let tags = read_flv(&source);

    // Three players through HAProxy, waiting for the stream.
    let mut players = Vec::new();
    let mut homes = Vec::new();
    for _ in 0..3 {
        let (client, events) =
            Client::connect(&topology.haproxy.url("live"), ConnectOptions::amf3())
                .await
                .expect("connect through HAProxy");
        homes.push(home(&client).await);
        let stream = client.create_stream().await.expect("createStream");
        client.play(stream, "cam").await.expect("play");
        players.push((client, tokio::spawn(collect(events))));
    }
    let distinct: BTreeSet<&String> = homes.iter().collect();
    assert!(distinct.len() >= 2, "HAProxy spread the players: {homes:?}");

    // ffmpeg publishes through HAProxy too; the node it landed on is the one
    // with a publishing connection.
    let publisher = ffmpeg_publisher(&topology.haproxy.url("live/cam"), &source);
    let mut owner = None;
    wait_for(
        || {
            owner = topology
                .connections(|c| c["publishing"].as_array().is_some_and(|p| !p.is_empty()))
                .into_iter()
                .find(|(_, n)| *n > 0)
                .map(|(id, _)| id);
            owner.is_some()
        },
        "a node has the publisher",
    )
    .await;
    let owner = owner.expect("the publisher's node");
    assert!(
        homes.iter().any(|h| *h != owner),
        "a player is on another node than the publisher ({owner}): {homes:?}"
    );

    let (status, output) = tokio::task::spawn_blocking(move || publisher.finish(LIMIT * 2))
        .await
        .expect("publisher");
    assert!(
        status.is_some_and(|s| s.success()),
        "ffmpeg published through HAProxy: {output}\n{}",
        topology.haproxy.log()
    );

    let source_video = payloads(&tags, FlvTagType::Video, 5);
    let source_audio = payloads(&tags, FlvTagType::Audio, 0);
    for ((client, task), home) in players.into_iter().zip(&homes) {
        let (video, audio, ended) = task.await.expect("player");
        let what = format!("player on {home} (publisher on {owner})");
        assert!(ended, "{what}: UnpublishNotify after the publisher left");
        assert!(video.len() > 2 && !audio.is_empty(), "{what}: media");
        // The same codec headers as the source, then a keyframe.
        assert_eq!(video[0], source_video[0], "{what}: the AVC sequence header");
        assert_eq!(audio[0], source_audio[0], "{what}: the AAC sequence header");
        assert!(
            VideoTagInfo::parse(&video[0])
                .expect("video")
                .is_sequence_header()
                && AudioTagInfo::parse(&audio[0])
                    .expect("audio")
                    .is_sequence_header(),
            "{what}: sequence headers first"
        );
        assert!(
            VideoTagInfo::parse(&video[1]).expect("video").is_keyframe(),
            "{what}: a keyframe first"
        );
        // From that keyframe on, the source's video byte for byte.
        let got: Vec<Bytes> = video[1..].iter().filter(|d| d.len() > 5).cloned().collect();
        let start = source_video
            .iter()
            .position(|p| *p == got[0])
            .unwrap_or_else(|| panic!("{what}: the keyframe is in the source"));
        assert_same_payloads(&got, &source_video[start..], &what);
        client.close().await.expect("close");
    }
}
