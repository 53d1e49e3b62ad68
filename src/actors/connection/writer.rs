//! The socket's write side: a task on the connection's arbiter writes the
//! segments the actor hands it, so the actor itself never waits on a slow
//! socket (it keeps handling evictions, timeouts and other messages).

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, Notify};
use tracing::debug;

use super::ConnectionActor;
use crate::actors::messages::QueueReady;

/// Bytes handed to the write task but not yet written: above the high mark the
/// actor stops draining player queues (frames then wait in the bounded queues,
/// where the drop policy applies); the write task wakes it below the low mark.
pub(super) const WRITE_LOW_WATERMARK: usize = 64 * 1024;
pub(super) const WRITE_HIGH_WATERMARK: usize = 512 * 1024;
/// Segments the write task takes per turn.
const WRITE_BATCH_SEGMENTS: usize = 64;
/// Once the connection closes, how long the write task may still spend
/// delivering what was queued (a closing status, say) to a peer that reads
/// slowly or not at all; then the socket is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// [`Closing`] states (0: open).
const CLOSING: u8 = 1;
const CLOSE_NOW: u8 = 2;

/// Tells the write task the connection is closing, so a peer that does not
/// read cannot keep the socket (and its buffers) alive.
#[derive(Default)]
struct Closing {
    state: AtomicU8,
    wake: Notify,
}

impl Closing {
    fn set(&self, state: u8) {
        self.state.fetch_max(state, Ordering::AcqRel);
        self.wake.notify_one();
    }

    /// Resolves when writing must stop: at once for `CLOSE_NOW`, after
    /// [`CLOSE_GRACE`] from the first time `CLOSING` is seen.
    async fn expired(&self, since: &mut Option<tokio::time::Instant>) {
        loop {
            match self.state.load(Ordering::Acquire) {
                CLOSE_NOW => return,
                CLOSING => {
                    let start = *since.get_or_insert_with(tokio::time::Instant::now);
                    tokio::select! {
                        () = tokio::time::sleep_until(start + CLOSE_GRACE) => return,
                        () = self.wake.notified() => {}
                    }
                }
                _ => self.wake.notified().await,
            }
        }
    }
}

/// The socket's write side: a task on this arbiter writes what the actor
/// queues, so the actor itself never waits on the socket.
pub(super) struct Outbox {
    tx: mpsc::UnboundedSender<Bytes>,
    /// Bytes queued for the write task and not yet written.
    in_flight: Arc<AtomicUsize>,
    /// Set by the actor when it stopped draining players; the write task
    /// clears it and sends `WriterDrained` once below the low mark.
    paused: Arc<AtomicBool>,
    /// Most bytes that may wait unwritten; past it, output is discarded and
    /// the actor closes the connection at its next tick.
    limit: usize,
    /// Set once the limit was passed.
    overflowed: bool,
    /// Shared with the write task: set when this outbox is dropped.
    closing: Arc<Closing>,
}

impl Drop for Outbox {
    fn drop(&mut self) {
        // The actor is gone: what is queued gets a short grace to reach the
        // peer, unless the peer already proved it does not read.
        self.closing
            .set(if self.overflowed { CLOSE_NOW } else { CLOSING });
    }
}

impl Outbox {
    pub(super) fn send(&mut self, segment: Bytes) {
        if self.overflowed {
            return;
        }
        if self.in_flight.load(Ordering::Acquire) + segment.len() > self.limit {
            // The peer does not read: the stream is cut here and the
            // connection closed, rather than buffering without bound.
            self.overflowed = true;
            return;
        }
        self.in_flight.fetch_add(segment.len(), Ordering::AcqRel);
        // A closed channel means the write task ended (socket error): the
        // actor learns it from `WriteFailed`.
        let _ = self.tx.send(segment);
    }

    /// Whether output passed the unwritten-bytes limit (the connection must
    /// close).
    pub(super) fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The shared count of bytes queued and not yet written (SharedObjects
    /// watch it to notice a slow subscriber).
    pub(super) fn backlog(&self) -> super::shared_objects::Backlog {
        self.in_flight.clone()
    }

    /// Whether media may be drained now; if not, arranges a `WriterDrained`.
    pub(super) fn ready_for_media(&self) -> bool {
        if self.in_flight.load(Ordering::Acquire) < WRITE_HIGH_WATERMARK {
            return true;
        }
        self.paused.store(true, Ordering::Release);
        // The write task may have drained in between: check again.
        if self.in_flight.load(Ordering::Acquire) < WRITE_HIGH_WATERMARK {
            self.paused.store(false, Ordering::Release);
            return true;
        }
        false
    }
}

/// Writes queued segments in order until the actor drops its sender or the
/// socket fails, then shuts the socket down.
pub(super) async fn write_loop(
    mut socket: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
    in_flight: Arc<AtomicUsize>,
    paused: Arc<AtomicBool>,
    conn: Addr<ConnectionActor>,
) {
    let mut batch = Vec::with_capacity(WRITE_BATCH_SEGMENTS);
    while rx.recv_many(&mut batch, WRITE_BATCH_SEGMENTS).await > 0 {
        let mut written = 0;
        for segment in batch.drain(..) {
            if let Err(e) = socket.write_all(&segment).await {
                conn.do_send(WriteFailed {
                    error: e.to_string(),
                });
                return;
            }
            written += segment.len();
        }
        let left = in_flight.fetch_sub(written, Ordering::AcqRel) - written;
        if left < WRITE_LOW_WATERMARK && paused.swap(false, Ordering::AcqRel) {
            conn.do_send(WriterDrained);
        }
    }
    let _ = socket.shutdown().await;
}

/// The write task could not write: the peer is gone.
#[derive(Message)]
#[rtype(result = "()")]
struct WriteFailed {
    error: String,
}

/// The write task drained below the low mark: resume draining players.
#[derive(Message)]
#[rtype(result = "()")]
struct WriterDrained;

impl Outbox {
    /// A new outbox and its write task, spawned on the current arbiter.
    pub(super) fn spawn(socket: OwnedWriteHalf, conn: Addr<ConnectionActor>, limit: usize) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let outbox = Outbox {
            tx,
            in_flight: Arc::default(),
            paused: Arc::default(),
            limit,
            overflowed: false,
            closing: Arc::default(),
        };
        let (in_flight, paused) = (outbox.in_flight.clone(), outbox.paused.clone());
        let closing = outbox.closing.clone();
        actix_rt::spawn(async move {
            let mut since = None;
            tokio::select! {
                () = write_loop(socket, rx, in_flight, paused, conn) => {}
                () = closing.expired(&mut since) => {
                    debug!("write task stopped: the connection closed and the peer does not read");
                }
            }
        });
        outbox
    }
}

impl Handler<WriteFailed> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: WriteFailed, ctx: &mut Context<Self>) {
        debug!(conn_id = self.id, error = %msg.error, "write failed");
        ctx.stop();
    }
}

impl Handler<WriterDrained> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, _: WriterDrained, ctx: &mut Context<Self>) {
        for &stream_id in self.playing.keys() {
            ctx.notify(QueueReady { stream_id });
        }
    }
}
