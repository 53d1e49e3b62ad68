//! Node-wide counters, shared by the actors and read by `GET /metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    /// Sets it.
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Subtracts one.
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Every counter the node exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open RTMP connections.
    pub connections: Gauge,
    /// RTMP connections accepted since start.
    pub connections_total: Counter,
    /// Published streams on this node.
    pub streams: Gauge,
    /// Attached players on this node.
    pub players: Gauge,
    /// Bytes read from RTMP peers.
    pub bytes_in: Counter,
    /// Bytes written to RTMP peers.
    pub bytes_out: Counter,
    /// Frames dropped for slow players.
    pub dropped_frames: Counter,
    /// Players disconnected for staying too far behind.
    pub evicted_players: Counter,
    /// Connections closed during or for a failed handshake.
    pub handshake_failures: Counter,
    /// Connections closed for a protocol violation.
    pub protocol_errors: Counter,
}

impl Metrics {
    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let rows: [(&str, &str, &str, u64); 10] = [
            (
                "ferrocast_connections",
                "gauge",
                "Open RTMP connections.",
                self.connections.get(),
            ),
            (
                "ferrocast_connections_total",
                "counter",
                "RTMP connections accepted.",
                self.connections_total.get(),
            ),
            (
                "ferrocast_streams",
                "gauge",
                "Published streams.",
                self.streams.get(),
            ),
            (
                "ferrocast_players",
                "gauge",
                "Attached players.",
                self.players.get(),
            ),
            (
                "ferrocast_bytes_in_total",
                "counter",
                "Bytes read from RTMP peers.",
                self.bytes_in.get(),
            ),
            (
                "ferrocast_bytes_out_total",
                "counter",
                "Bytes written to RTMP peers.",
                self.bytes_out.get(),
            ),
            (
                "ferrocast_dropped_frames_total",
                "counter",
                "Frames dropped for slow players.",
                self.dropped_frames.get(),
            ),
            (
                "ferrocast_evicted_players_total",
                "counter",
                "Players disconnected for lagging.",
                self.evicted_players.get(),
            ),
            (
                "ferrocast_handshake_failures_total",
                "counter",
                "Failed handshakes.",
                self.handshake_failures.get(),
            ),
            (
                "ferrocast_protocol_errors_total",
                "counter",
                "Connections closed for a protocol violation.",
                self.protocol_errors.get(),
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in rows {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        }
        out
    }
}
