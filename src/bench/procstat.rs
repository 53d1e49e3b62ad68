//! What the scenarios read about processes and servers: CPU time and RSS
//! from /proc (Linux), and counters from a Ferrocast `/metrics` endpoint.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Clock ticks per second of /proc's `utime`/`stime` (`USER_HZ`, 100 on
/// every Linux ABI in use).
const TICKS_PER_SECOND: f64 = 100.0;

/// Which process: a pid or this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pid {
    /// This process.
    Own,
    /// Another process.
    Of(u32),
}

impl Pid {
    fn dir(self) -> String {
        match self {
            Pid::Own => "/proc/self".to_owned(),
            Pid::Of(pid) => format!("/proc/{pid}"),
        }
    }
}

/// User + system CPU time a process has used, in seconds; `None` when
/// /proc cannot tell.
pub(super) fn cpu_seconds(pid: Pid) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("{}/stat", pid.dir())).ok()?;
    parse_cpu_seconds(&stat)
}

/// `utime + stime` from the text of /proc/PID/stat.
fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    // The command name (field 2) may hold spaces and parentheses: the fields
    // after the last ')' are state (3), ..., utime (14), stime (15).
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// Resident memory (VmRSS) in bytes.
pub(super) fn rss_bytes(pid: Pid) -> Option<u64> {
    let status = std::fs::read_to_string(format!("{}/status", pid.dir())).ok()?;
    parse_rss_bytes(&status)
}

fn parse_rss_bytes(status: &str) -> Option<u64> {
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// A CPU-time mark, to measure the share of one core used until the next.
#[derive(Debug, Clone, Copy)]
pub(super) struct CpuMark {
    pid: Pid,
    cpu: Option<f64>,
    at: std::time::Instant,
}

impl CpuMark {
    /// Marks `pid`'s CPU time now.
    pub(super) fn now(pid: Pid) -> Self {
        Self {
            pid,
            cpu: cpu_seconds(pid),
            at: std::time::Instant::now(),
        }
    }

    /// Percent of one core used since the mark.
    pub(super) fn percent(&self) -> Option<f64> {
        let before = self.cpu?;
        let after = cpu_seconds(self.pid)?;
        let wall = self.at.elapsed().as_secs_f64();
        (wall > 0.0).then(|| (after - before) / wall * 100.0)
    }
}

/// Counters read from a Ferrocast `/metrics` page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ServerCounters {
    /// `ferrocast_dropped_frames_total`.
    pub(super) dropped_frames: u64,
    /// `ferrocast_evicted_players_total`.
    pub(super) evicted_players: u64,
    /// `ferrocast_outbound_overflows_total`.
    pub(super) outbound_overflows: u64,
}

impl ServerCounters {
    /// Reads the counters from Prometheus text; missing ones read 0.
    fn parse(text: &str) -> Self {
        let value = |name: &str| -> u64 {
            text.lines()
                .filter_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
                .filter_map(|v| v.trim().parse::<f64>().ok())
                .map(|v| v as u64)
                .sum()
        };
        Self {
            dropped_frames: value("ferrocast_dropped_frames_total"),
            evicted_players: value("ferrocast_evicted_players_total"),
            outbound_overflows: value("ferrocast_outbound_overflows_total"),
        }
    }

    /// `self - earlier`, counter by counter.
    pub(super) fn since(&self, earlier: &Self) -> Self {
        Self {
            dropped_frames: self.dropped_frames.saturating_sub(earlier.dropped_frames),
            evicted_players: self.evicted_players.saturating_sub(earlier.evicted_players),
            outbound_overflows: self
                .outbound_overflows
                .saturating_sub(earlier.outbound_overflows),
        }
    }
}

/// GETs `http://host:port/path` and reads the counters; `None` (with a log
/// line) when the server cannot be read.
pub(super) async fn fetch_counters(url: &str) -> Option<ServerCounters> {
    match tokio::time::timeout(Duration::from_secs(5), http_get(url)).await {
        Ok(Ok(body)) => Some(ServerCounters::parse(&body)),
        Ok(Err(e)) => {
            tracing::warn!(url, error = %e, "cannot read the server's metrics");
            None
        }
        Err(_) => {
            tracing::warn!(url, "the server's metrics did not answer within 5 s");
            None
        }
    }
}

/// A minimal HTTP/1.1 GET with `Connection: close`; returns the body.
async fn http_get(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("the metrics URL must start with http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/metrics"),
    };
    let mut stream = TcpStream::connect(authority)
        .await
        .map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .take(16 * 1024 * 1024)
        .read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP header")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(head.lines().next().unwrap_or_default().to_owned());
    }
    Ok(body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        let stat = "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0";
        assert_eq!(parse_cpu_seconds(stat), Some(3.0));
        assert_eq!(parse_cpu_seconds("garbage"), None);
    }

    #[test]
    fn rss_is_read_in_bytes() {
        let status = "Name:\tferrocast\nVmRSS:\t   20480 kB\nThreads:\t4\n";
        assert_eq!(parse_rss_bytes(status), Some(20480 * 1024));
    }

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        assert!(cpu_seconds(Pid::Own).is_some());
        assert!(rss_bytes(Pid::Own).is_some_and(|b| b > 0));
    }

    #[test]
    fn counters_are_read_by_name_and_missing_ones_read_zero() {
        let text = "# TYPE ferrocast_dropped_frames_total counter\nferrocast_dropped_frames_total 7\nferrocast_evicted_players_total 2\n";
        let c = ServerCounters::parse(text);
        assert_eq!(
            c,
            ServerCounters {
                dropped_frames: 7,
                evicted_players: 2,
                outbound_overflows: 0
            }
        );
        assert_eq!(c.since(&ServerCounters::default()), c);
    }
}
