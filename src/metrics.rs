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
    /// Connections closed for a protocol violation, by kind (see
    /// [`PROTOCOL_ERROR_KINDS`]).
    pub protocol_errors: [Counter; PROTOCOL_ERROR_KINDS.len()],
    /// Connections closed because the peer left too much output unread.
    pub outbound_overflows: Counter,
    /// SharedObjects live on this node (one actor each).
    pub so_live: Gauge,
    /// SharedObject changes applied (one per accepted message that changed
    /// slots).
    pub so_changes_applied: Counter,
    /// SharedObject messages refused (permissions, limits).
    pub so_changes_refused: Counter,
    /// Full SharedObject resyncs sent (lagging subscribers, reloads).
    pub so_resyncs: Counter,
    // ---- calls ----
    /// `NetConnection.call`s received from clients.
    pub calls_received: Counter,
    /// Client calls answered `_error` (unknown method, bad arguments,
    /// application errors, failed `callClient`).
    pub calls_failed: Counter,
    /// Server → client calls awaiting the client's answer.
    pub server_calls_pending: Gauge,
    /// Server → client calls that got no answer within `[calls] timeout_ms`.
    pub server_calls_timed_out: Counter,
}

/// The `kind` label values of `ferrocast_protocol_errors_total`: which layer
/// the violation was found in.
pub const PROTOCOL_ERROR_KINDS: [&str; 7] = [
    "handshake",
    "chunk",
    "message",
    "command",
    "data",
    "shared_object",
    "session",
];

impl Metrics {
    /// Counts one connection closed for a protocol violation of `kind` (one of
    /// [`PROTOCOL_ERROR_KINDS`]; anything else counts as `session`).
    pub fn protocol_error(&self, kind: &str) {
        let i = PROTOCOL_ERROR_KINDS
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(PROTOCOL_ERROR_KINDS.len() - 1);
        self.protocol_errors[i].add(1);
    }

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
                "ferrocast_outbound_overflows_total",
                "counter",
                "Connections closed for leaving too much output unread.",
                self.outbound_overflows.get(),
            ),
            (
                "ferrocast_handshake_failures_total",
                "counter",
                "Failed handshakes.",
                self.handshake_failures.get(),
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in rows {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        }
        let name = "ferrocast_protocol_errors_total";
        out.push_str(&format!(
            "# HELP {name} Connections closed for a protocol violation, by the layer that found it.\n# TYPE {name} counter\n"
        ));
        for (kind, counter) in PROTOCOL_ERROR_KINDS.iter().zip(&self.protocol_errors) {
            out.push_str(&format!("{name}{{kind=\"{kind}\"}} {}\n", counter.get()));
        }
        out.push_str(&self.render_calls_and_shared_objects());
        out
    }

    fn render_calls_and_shared_objects(&self) -> String {
        let rows: [(&str, &str, &str, u64); 8] = [
            (
                "ferrocast_shared_objects",
                "gauge",
                "Live SharedObjects.",
                self.so_live.get(),
            ),
            (
                "ferrocast_shared_object_changes_total",
                "counter",
                "SharedObject changes applied.",
                self.so_changes_applied.get(),
            ),
            (
                "ferrocast_shared_object_refused_total",
                "counter",
                "SharedObject messages refused.",
                self.so_changes_refused.get(),
            ),
            (
                "ferrocast_shared_object_resyncs_total",
                "counter",
                "Full SharedObject resyncs sent.",
                self.so_resyncs.get(),
            ),
            (
                "ferrocast_calls_received_total",
                "counter",
                "NetConnection.call requests received from clients.",
                self.calls_received.get(),
            ),
            (
                "ferrocast_calls_failed_total",
                "counter",
                "Client calls answered with _error.",
                self.calls_failed.get(),
            ),
            (
                "ferrocast_server_calls_pending",
                "gauge",
                "Server to client calls awaiting an answer.",
                self.server_calls_pending.get(),
            ),
            (
                "ferrocast_server_calls_timed_out_total",
                "counter",
                "Server to client calls that timed out.",
                self.server_calls_timed_out.get(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_errors_render_one_labelled_line_per_kind_and_unknown_kinds_count_as_session() {
        let m = Metrics::default();
        m.protocol_error("chunk");
        m.protocol_error("chunk");
        m.protocol_error("something new");
        let text = m.render();
        assert!(
            text.contains("ferrocast_protocol_errors_total{kind=\"chunk\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("ferrocast_protocol_errors_total{kind=\"session\"} 1\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE ferrocast_protocol_errors_total counter")
                .count(),
            1
        );
        assert!(text.contains("# TYPE ferrocast_connections gauge\nferrocast_connections 0\n"));
    }
}
