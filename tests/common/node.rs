//! A real `ferrocast` node process for integration tests: started on
//! 127.0.0.1 port 0 (the bound addresses are read from its log line), its log
//! kept for failure messages, stopped with SIGTERM (then killed) on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running node.
pub struct Node {
    child: Child,
    /// The RTMP address, e.g. `127.0.0.1:40123`.
    pub rtmp: String,
    /// The HTTP address.
    pub http: String,
    log: Arc<Mutex<Vec<String>>>,
    _data: super::process::TempDir,
}

fn field(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!("{name}="))? + name.len() + 1;
    Some(line[start..].split_whitespace().next()?.to_string())
}

impl Node {
    /// Starts a single node with embedded defaults.
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// Starts a single node with extra `FERROCAST__...` settings.
    pub fn start_with_env(env: &[(&str, &str)]) -> Self {
        Self::start_with(env, None)
    }

    /// Starts a single node with extra settings and, optionally, a TOML
    /// configuration file with the given contents.
    pub fn start_with(env: &[(&str, &str)], config: Option<&str>) -> Self {
        Self::start_with_args(&[], env, config)
    }

    /// Starts a node with extra command line arguments (e.g. `--redis URL`,
    /// `--node-id ID`), extra settings and an optional configuration file.
    pub fn start_with_args(args: &[&str], env: &[(&str, &str)], config: Option<&str>) -> Self {
        let data = super::process::TempDir::new("node-data");
        let mut command = Command::new(env!("CARGO_BIN_EXE_ferrocast"));
        command
            .args([
                "serve",
                "--rtmp",
                "127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
                "--data-dir",
            ])
            // A test that restarts a node on one store passes its directory
            // as `FERROCAST__STORE__DATA_DIR` (the flag would override it).
            .arg(
                env.iter()
                    .find(|(k, _)| *k == "FERROCAST__STORE__DATA_DIR")
                    .map_or(data.0.clone(), |(_, v)| std::path::PathBuf::from(v)),
            );
        command.args(args);
        if let Some(toml) = config {
            let path = data.0.join("ferrocast.toml");
            std::fs::write(&path, toml).expect("write config");
            command.arg("--config").arg(path);
        }
        let mut child = command
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ferrocast");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("ferrocast listening") {
                    let _ = tx.send(line.clone());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the node logs its bound addresses");
        Self {
            rtmp: field(&line, "rtmp").expect("rtmp= in the listening line"),
            http: field(&line, "http").expect("http= in the listening line"),
            child,
            log,
            _data: data,
        }
    }

    /// `rtmp://ADDR/PATH`
    pub fn url(&self, path: &str) -> String {
        format!("rtmp://{}/{path}", self.rtmp)
    }

    /// GET `path` on the HTTP listener; returns (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, "")
    }

    /// An HTTP request with a JSON `body` on the HTTP listener; returns
    /// (status, body).
    pub fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&self.http).expect("connect to HTTP");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.http,
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).expect("HTTP response");
        let status = out
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// The node's resident memory (VmRSS) in bytes.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("proc status");
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS");
        kb * 1024
    }

    /// The value of one metric of `GET /metrics`, summed over its labels.
    pub fn metric(&self, name: &str) -> u64 {
        let (_, body) = self.get("/metrics");
        let values: Vec<u64> = body
            .lines()
            .filter(|l| l.starts_with(&format!("{name} ")) || l.starts_with(&format!("{name}{{")))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        assert!(!values.is_empty(), "metric {name} in:\n{body}");
        values.iter().sum()
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits until a log line contains `needle` (or panics with the log).
    pub fn wait_for_log(&self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.log.lock().unwrap().iter().any(|l| l.contains(needle)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "no log line with {needle:?} within {limit:?}:\n{}",
            self.log()
        );
    }

    /// Kills the node with SIGKILL (`kill -9`) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for a clean exit; returns whether it exited 0.
    pub fn terminate(&mut self, limit: Duration) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
