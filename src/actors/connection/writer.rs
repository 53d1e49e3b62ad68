//! The socket's write side: a task on the connection's arbiter writes the
//! segments the actor hands it, so the actor itself never waits on a slow
//! socket (it keeps handling evictions, timeouts and other messages).
//!
//! The actor hands over each flush as one batch of segments (chunk headers
//! and shared payload slices, never copied). The task gathers every batch
//! queued since its last turn and writes them with `write_vectored`, up to
//! [`MAX_IOVECS`] segments per system call: a coalesced window of frames for
//! a player goes out in one `writev` instead of one `write` per segment.

use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, Notify};
use tracing::debug;

use super::ConnectionActor;

/// Bytes handed to the write task but not yet written: above the high mark the
/// actor stops draining player queues (frames then wait in the bounded queues,
/// where the drop policy applies); the write task wakes it below the low mark.
pub(super) const WRITE_LOW_WATERMARK: usize = 64 * 1024;
pub(super) const WRITE_HIGH_WATERMARK: usize = 512 * 1024;
/// Flushes (batches of segments) the write task takes from its channel per
/// turn; their segments go out in as few vectored writes as possible.
const WRITE_BATCH_FLUSHES: usize = 256;
/// Segment slots the write task keeps allocated between turns (a few KB).
const KEPT_SEGMENTS: usize = 256;
/// Most segments per `write_vectored` call: Linux's `IOV_MAX` (the kernel
/// refuses more with `EINVAL`).
pub(super) const MAX_IOVECS: usize = 1024;
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
    tx: mpsc::UnboundedSender<Vec<Bytes>>,
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
    /// Hands one flush (`bytes` long in all) to the write task, in order
    /// after everything sent before.
    pub(super) fn send(&mut self, segments: Vec<Bytes>, bytes: usize) {
        if self.overflowed || segments.is_empty() {
            return;
        }
        if self.in_flight.load(Ordering::Acquire) + bytes > self.limit {
            // The peer does not read: the stream is cut here and the
            // connection closed, rather than buffering without bound.
            self.overflowed = true;
            return;
        }
        self.in_flight.fetch_add(bytes, Ordering::AcqRel);
        // A closed channel means the write task ended (socket error): the
        // actor learns it from `WriteFailed`.
        let _ = self.tx.send(segments);
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
    mut rx: mpsc::UnboundedReceiver<Vec<Bytes>>,
    in_flight: Arc<AtomicUsize>,
    paused: Arc<AtomicBool>,
    conn: Addr<ConnectionActor>,
) {
    // Both grow to what one turn needs and are reused; idle connections
    // keep next to nothing.
    let mut flushes = Vec::new();
    let mut segments: Vec<Bytes> = Vec::new();
    while rx.recv_many(&mut flushes, WRITE_BATCH_FLUSHES).await > 0 {
        segments.extend(flushes.drain(..).flatten());
        let written = write_all_vectored(&mut socket, &segments, |n| {
            let left = in_flight.fetch_sub(n, Ordering::AcqRel) - n;
            if left < WRITE_LOW_WATERMARK && paused.swap(false, Ordering::AcqRel) {
                conn.do_send(WriterDrained);
            }
        })
        .await;
        segments.clear();
        segments.shrink_to(KEPT_SEGMENTS);
        flushes.shrink_to(KEPT_SEGMENTS);
        if let Err(e) = written {
            conn.do_send(WriteFailed {
                error: e.to_string(),
            });
            return;
        }
    }
    let _ = socket.shutdown().await;
}

/// Writes every byte of `segments`, in order, with `write_vectored` (at most
/// [`MAX_IOVECS`] segments per call), following partial writes across
/// segment boundaries without copying; `written(n)` is told after each call.
///
/// # Errors
///
/// The socket's error, or `WriteZero` when it accepts nothing.
pub(super) async fn write_all_vectored<W: AsyncWrite + Unpin>(
    socket: &mut W,
    segments: &[Bytes],
    mut written: impl FnMut(usize),
) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(segments.len().min(MAX_IOVECS));
    let mut rest = segments;
    while !rest.is_empty() {
        slices.clear();
        let mut taken = 0;
        for segment in rest {
            if slices.len() == MAX_IOVECS {
                break;
            }
            taken += 1;
            if !segment.is_empty() {
                slices.push(IoSlice::new(segment));
            }
        }
        rest = &rest[taken..];
        let mut bufs = &mut slices[..];
        while !bufs.is_empty() {
            let n = socket.write_vectored(bufs).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            written(n);
            IoSlice::advance_slices(&mut bufs, n);
        }
    }
    Ok(())
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
        let span = self.span.clone();
        let _entered = span.enter();
        self.resume_players(ctx);
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// A socket that takes at most `step` bytes per call, across slices, and
    /// is not ready every other call.
    struct Trickle {
        got: Vec<u8>,
        step: usize,
        calls: usize,
        vectored_calls: usize,
    }

    impl Trickle {
        fn new(step: usize) -> Self {
            Self {
                got: Vec::new(),
                step,
                calls: 0,
                vectored_calls: 0,
            }
        }
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.poll_write_vectored(cx, &[IoSlice::new(buf)])
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.calls += 1;
            if self.calls % 2 == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.vectored_calls += 1;
            let mut room = self.step;
            let mut n = 0;
            for buf in bufs {
                let take = buf.len().min(room);
                self.got.extend_from_slice(&buf[..take]);
                room -= take;
                n += take;
                if room == 0 {
                    break;
                }
            }
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn segments() -> Vec<Bytes> {
        (0u8..40)
            .map(|i| Bytes::from(vec![i; usize::from(i % 7)]))
            .collect()
    }

    fn concat(segments: &[Bytes]) -> Vec<u8> {
        segments.iter().flat_map(|s| s.iter().copied()).collect()
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn a_socket_taking_a_few_bytes_at_a_time_still_gets_every_byte_in_order() {
        for step in [1, 3, 5, 64] {
            let segments = segments();
            let mut socket = Trickle::new(step);
            let mut reported = 0;
            run(write_all_vectored(&mut socket, &segments, |n| {
                reported += n
            }))
            .unwrap();
            assert_eq!(socket.got, concat(&segments), "step {step}");
            assert_eq!(reported, socket.got.len(), "step {step}");
        }
    }

    #[test]
    fn segments_go_out_in_one_call_when_the_socket_takes_them_all() {
        let segments = segments();
        let mut socket = Trickle::new(usize::MAX);
        run(write_all_vectored(&mut socket, &segments, |_| {})).unwrap();
        assert_eq!(socket.vectored_calls, 1);
        assert_eq!(socket.got, concat(&segments));
    }

    #[test]
    fn more_segments_than_iov_max_take_one_call_per_iov_max() {
        let segments: Vec<Bytes> = (0..MAX_IOVECS * 2 + 5)
            .map(|i| Bytes::from(vec![(i % 251) as u8; 3]))
            .collect();
        let mut socket = Trickle::new(usize::MAX);
        run(write_all_vectored(&mut socket, &segments, |_| {})).unwrap();
        assert_eq!(socket.vectored_calls, 3);
        assert_eq!(socket.got, concat(&segments));
    }

    #[test]
    fn only_empty_segments_write_nothing_and_succeed() {
        let segments = vec![Bytes::new(), Bytes::new()];
        let mut socket = Trickle::new(4);
        run(write_all_vectored(&mut socket, &segments, |_| {})).unwrap();
        assert_eq!(socket.vectored_calls, 0);
    }

    #[test]
    fn a_socket_that_accepts_nothing_is_a_write_zero_error() {
        let segments = vec![Bytes::from_static(b"abc")];
        let mut socket = Trickle::new(0);
        let err = run(write_all_vectored(&mut socket, &segments, |_| {})).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
    }
}
