//! Handshake and idle timeouts, and keepalive pings.

use std::time::{Duration, Instant};

use actix::prelude::*;
use tracing::warn;

use super::ConnectionActor;

/// When a connection is pinged or given up on (from `[rtmp]` settings).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionTiming {
    /// Close if the handshake is not done this long after accept.
    pub handshake_timeout: Duration,
    /// Send a PingRequest this often (`None` = never).
    pub ping_interval: Option<Duration>,
    /// Close when nothing arrived for this long (`None` = never).
    pub idle_timeout: Option<Duration>,
    /// Close when more than this many bytes of our output wait unwritten
    /// (the peer does not read).
    pub max_unwritten_bytes: usize,
    /// Write-coalescing window for media (`[rtmp] write_coalesce_ms`): zero
    /// writes frames as they arrive.
    pub write_coalesce: Duration,
    /// `TCP_NODELAY` on the socket (`[rtmp] tcp_nodelay`).
    pub tcp_nodelay: bool,
}

/// How often the timers above are checked.
pub(super) const TIMER_TICK: Duration = Duration::from_millis(250);

impl ConnectionActor {
    /// Handshake and idle timeouts, keepalive pings.
    pub(super) fn tick(&mut self, ctx: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        let timing = self.deps.timing;
        if !self.session.is_handshake_done() {
            if self.started.elapsed() >= timing.handshake_timeout {
                self.deps.metrics.handshake_failures.add(1);
                warn!(conn_id = self.id, peer = %self.peer, "closing connection: handshake timeout");
                ctx.stop();
            }
            return;
        }
        if timing
            .idle_timeout
            .is_some_and(|t| self.last_input.elapsed() >= t)
        {
            warn!(conn_id = self.id, peer = %self.peer, "closing connection: idle timeout");
            ctx.stop();
            return;
        }
        if self.outbox.overflowed() {
            self.deps.metrics.outbound_overflows.add(1);
            warn!(conn_id = self.id, peer = %self.peer, limit = timing.max_unwritten_bytes, "closing connection: the peer leaves too much of our output unread");
            ctx.stop();
            return;
        }
        if timing
            .ping_interval
            .is_some_and(|t| self.last_ping.elapsed() >= t)
            && self.session.is_connected()
        {
            self.last_ping = Instant::now();
            let now = self.now_ms();
            if self.session.ping(now).is_ok() {
                self.flush();
            }
        }
    }
}
