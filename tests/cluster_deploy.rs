//! The deployment files are real (issue 5 "Deployment"): `cluster/redis.conf`
//! starts a real redis-server with AOF on, and a node joins it;
//! `cluster/ferrocast.toml` is a valid node configuration; `haproxy -c`
//! accepts `cluster/haproxy.cfg` with the compose file's backend
//! (`cluster/haproxy-docker.cfg`) and `docker-compose config` accepts
//! `docker-compose.yml`. This machine has no Docker engine: the compose
//! topology runs as plain processes in tests/cluster_topology.rs.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::node::Node;
use common::process::{Peer, TempDir};

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn redis_query(port: u16, args: &[&str]) -> Result<redis::Value, redis::RedisError> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let mut conn = client.get_connection()?;
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(&mut conn)
}

#[test]
fn redis_starts_with_the_cluster_config_with_aof_on_and_a_node_joins_it() {
    let dir = TempDir::new("deploy-redis");
    let port = free_port();
    let port_arg = port.to_string();
    // Command-line options override the file: a local port and directory
    // instead of the container's 6379 and /data.
    let _redis = Peer::spawn(
        "redis-server",
        &[
            repo("cluster/redis.conf").to_str().unwrap(),
            "--port",
            &port_arg,
            "--bind",
            "127.0.0.1",
            "--dir",
            dir.0.to_str().unwrap(),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis_query(port, &["PING"]).is_err() {
        assert!(
            Instant::now() < deadline,
            "redis-server with cluster/redis.conf did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let aof = redis_query(port, &["CONFIG", "GET", "appendonly"]).expect("CONFIG GET");
    assert_eq!(
        aof,
        redis::Value::Array(vec![
            redis::Value::BulkString(b"appendonly".to_vec()),
            redis::Value::BulkString(b"yes".to_vec()),
        ])
    );

    // A node with the cluster's node config joins it (listen addresses,
    // data dir and log format overridden by the harness).
    let config = std::fs::read_to_string(repo("cluster/ferrocast.toml")).expect("node config");
    let url = format!("redis://127.0.0.1:{port}/");
    let node = Node::start_with_args(
        &["--redis", &url, "--node-id", "deploy-a"],
        // The harness reads the human log format.
        &[("FERROCAST__LOG__FORMAT", "human")],
        Some(&config),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = node.get("/health");
        let health: serde_json::Value = serde_json::from_str(&body).expect("JSON health");
        if health["cluster"] == "connected" && health["node_id"] == "deploy-a" {
            break;
        }
        assert!(Instant::now() < deadline, "the node did not join: {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn haproxy_accepts_the_load_balancer_config_with_the_compose_backend() {
    assert!(
        installed("haproxy"),
        "haproxy is not installed: scripts/test.sh installs it (apt-get install haproxy)"
    );
    let output = Command::new("haproxy")
        .args([
            "-c",
            "-f",
            repo("cluster/haproxy.cfg").to_str().unwrap(),
            "-f",
            repo("cluster/haproxy-docker.cfg").to_str().unwrap(),
        ])
        .output()
        .expect("run haproxy -c");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "haproxy -c failed: {text}");
    assert!(text.contains("valid"), "{text}");
}

#[test]
fn docker_compose_accepts_the_compose_file() {
    assert!(
        installed("docker-compose"),
        "docker-compose is not installed: scripts/test.sh installs it (apt-get install docker-compose)"
    );
    let output = Command::new("docker-compose")
        .args(["-f", repo("docker-compose.yml").to_str().unwrap(), "config"])
        .output()
        .expect("run docker-compose config");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "docker-compose config failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for service in ["redis:", "node:", "haproxy:"] {
        assert!(text.contains(service), "{service} in:\n{text}");
    }
    assert!(text.contains("redis://redis:6379/"), "{text}");
    // HAProxy reads the shared config plus the Docker DNS backend.
    assert!(text.contains("cluster/haproxy-docker.cfg"), "{text}");
}
