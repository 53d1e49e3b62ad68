//! `[rtmp]`: the RTMP listener and per-connection timing, limits and write
//! path (kept apart from `settings.rs` only for size; loaded and validated
//! there like every other section).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// `[rtmp]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtmpSettings {
    /// Address the RTMP listener binds; port 0 picks a free port.
    pub listen: SocketAddr,
    /// A connection that has not completed the handshake this long after
    /// accept is closed.
    pub handshake_timeout_ms: u64,
    /// How often the server sends a User Control PingRequest to each client
    /// (0 = never); the PingResponse counts as activity.
    pub ping_interval_ms: u64,
    /// A connection from which nothing arrived for this long is closed
    /// (0 = never).
    pub idle_timeout_ms: u64,
    /// A connection whose peer leaves more than this many bytes of our
    /// output unread (non-media output: call answers, broadcasts,
    /// SharedObject syncs; media waits in its own bounded queues) is closed
    /// as too far behind.
    pub max_unwritten_bytes: usize,
    /// Application names clients may connect to (the first path segment of
    /// `rtmp://host/APP[/ROOM...]`); empty accepts every name. A connect to any
    /// other name gets `NetConnection.Connect.Rejected`. (`serde(default)`:
    /// the config crate drops empty lists from the built-in defaults.)
    #[serde(default)]
    pub applications: Vec<String>,
    /// Write-coalescing window for live media, in ms ("merged write", SRS's
    /// `mw_latency`). 0 (the default) writes each frame to a player as it
    /// arrives: lowest latency, one socket write per frame per player. N > 0
    /// holds a connection's frames for up to N ms after the first undrained
    /// one and writes them together in one vectored write: far less CPU per
    /// player, up to N ms more latency. A joining player's burst (metadata,
    /// sequence headers, the GOP up to its first keyframe) and every command,
    /// status, call result and SharedObject message are written at once
    /// either way. At most half of `[fanout] player_queue_max_span_ms` (a
    /// player queue must hold a window of frames without dropping any); see
    /// `docs/fanout.md`, "Write coalescing".
    #[serde(default)]
    pub write_coalesce_ms: u64,
    /// Set `TCP_NODELAY` on accepted sockets (the default): every write
    /// leaves at once. `false` lets the kernel merge small writes (Nagle's
    /// algorithm, as nginx-rtmp leaves it): fewer packets and less CPU in
    /// low-latency fan-out, but a small reply may wait for the peer's
    /// delayed ACK (up to ~40 ms on Linux). docs/BENCHMARKS.md measures both.
    #[serde(default = "nodelay_default")]
    pub tcp_nodelay: bool,
}

fn nodelay_default() -> bool {
    true
}

impl Default for RtmpSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 1935)),
            handshake_timeout_ms: 10_000,
            ping_interval_ms: 10_000,
            idle_timeout_ms: 30_000,
            max_unwritten_bytes: 64 * 1024 * 1024,
            applications: Vec::new(),
            write_coalesce_ms: 0,
            tcp_nodelay: true,
        }
    }
}
