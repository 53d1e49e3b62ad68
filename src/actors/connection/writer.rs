//! The socket's write side. The actor writes each flush straight to the
//! socket with one non-blocking `writev` when nothing is waiting for the
//! socket (the common case for a player that keeps up: one system call per
//! frame, no task wake-up); what the socket does not take at once is handed,
//! in order, to a write task on the connection's arbiter, so the actor itself
//! never waits on a slow socket (it keeps handling evictions, timeouts and
//! other messages). While the task holds bytes, every later flush goes to it
//! too, behind them, so the byte order is the order of the flushes.
//!
//! A flush is a batch of segments (chunk headers and shared payload slices,
//! never copied). The task gathers every batch queued since its last turn and
//! writes them with `writev`, up to [`MAX_IOVECS`] segments per system call:
//! a coalesced window of frames for a player goes out in one `writev`
//! instead of one `write` per segment.

use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::{Buf, Bytes};
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
/// Most segments per `writev` call: Linux's `IOV_MAX` (the kernel refuses
/// more with `EINVAL`).
pub(super) const MAX_IOVECS: usize = 1024;
/// Segments per `writev` gathered on the stack; longer flushes use a
/// vector.
const STACK_IOVECS: usize = 32;
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

/// What the write side needs from a socket: a non-blocking vectored write
/// and a wait until it may take bytes again (tokio's [`OwnedWriteHalf`]; a
/// test double in the tests).
pub(super) trait SegmentSink {
    /// One non-blocking `writev`: the bytes taken, or `WouldBlock`.
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;

    /// Resolves once the socket may take bytes again.
    async fn writable(&self) -> io::Result<()>;
}

impl SegmentSink for OwnedWriteHalf {
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        OwnedWriteHalf::try_write_vectored(self, bufs)
    }

    async fn writable(&self) -> io::Result<()> {
        OwnedWriteHalf::writable(self).await
    }
}

/// The socket's write side: the actor writes directly while nothing waits
/// for the socket, else a task on this arbiter writes what the actor queues,
/// so the actor itself never waits on the socket. The task (and its queue)
/// start at the first write the socket does not take at once: a connection
/// that never fills its socket, such as an idle one, never has one.
pub(super) struct Outbox<S = OwnedWriteHalf> {
    /// Shared with the write task; the write side shuts down when the last
    /// holder drops it.
    socket: Arc<S>,
    /// The write task's queue, once the task runs.
    tx: Option<mpsc::UnboundedSender<Vec<Bytes>>>,
    /// The connection the write task reports to; taken when the task starts
    /// (`None` in tests, which play the task themselves).
    conn: Option<Addr<ConnectionActor>>,
    /// Bytes queued for the write task and not yet written. Only while it
    /// is zero does the actor write directly (so nothing overtakes them).
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

impl<S> Drop for Outbox<S> {
    fn drop(&mut self) {
        // The actor is gone: what is queued gets a short grace to reach the
        // peer, unless the peer already proved it does not read.
        self.closing
            .set(if self.overflowed { CLOSE_NOW } else { CLOSING });
    }
}

impl<S: SegmentSink + 'static> Outbox<S> {
    /// Writes one flush (`bytes` long in all), in order after everything
    /// sent before: straight to the socket if nothing is queued for the
    /// write task and the socket takes it, else (what the socket did not
    /// take) through the write task.
    pub(super) fn send(&mut self, mut segments: Vec<Bytes>, mut bytes: usize) {
        if self.overflowed || bytes == 0 {
            return;
        }
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let mut done = 0;
            let mut taken = 0;
            // A socket error other than `WouldBlock` is left to the write
            // task, which meets it again and reports `WriteFailed`.
            if let Ok(true) =
                try_write_segments(&*self.socket, &mut segments, &mut done, &mut |n| {
                    taken += n;
                })
            {
                return;
            }
            segments.drain(..done);
            bytes -= taken;
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
        if let Some(tx) = self.task() {
            let _ = tx.send(segments);
        }
    }

    /// The write task's queue, starting the task on this arbiter the first
    /// time.
    fn task(&mut self) -> Option<&mpsc::UnboundedSender<Vec<Bytes>>> {
        if self.tx.is_none() {
            let conn = self.conn.take()?;
            let (tx, rx) = mpsc::unbounded_channel();
            let (in_flight, paused) = (self.in_flight.clone(), self.paused.clone());
            let (socket, closing) = (self.socket.clone(), self.closing.clone());
            actix_rt::spawn(async move {
                let mut since = None;
                tokio::select! {
                    () = write_loop(socket, rx, in_flight, paused, conn) => {}
                    () = closing.expired(&mut since) => {
                        debug!("write task stopped: the connection closed and the peer does not read");
                    }
                }
            });
            self.tx = Some(tx);
        }
        self.tx.as_ref()
    }
}

impl<S> Outbox<S> {
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
/// socket fails; the write side shuts down when the socket is dropped.
async fn write_loop<S: SegmentSink>(
    socket: Arc<S>,
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
        let written = write_all_segments(&*socket, &mut segments, |n| {
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
}

/// Writes every byte of `segments`, in order, with `writev` (at most
/// [`MAX_IOVECS`] segments per call), waiting for the socket when it is
/// full and following partial writes across segment boundaries without
/// copying; `written(n)` is told after each call. The segments are consumed
/// (a partly written one is advanced past what was written).
///
/// # Errors
///
/// The socket's error, or `WriteZero` when it accepts nothing.
pub(super) async fn write_all_segments<S: SegmentSink>(
    socket: &S,
    segments: &mut [Bytes],
    mut written: impl FnMut(usize),
) -> io::Result<()> {
    let mut done = 0;
    while !try_write_segments(socket, segments, &mut done, &mut written)? {
        socket.writable().await?;
    }
    Ok(())
}

/// Writes what the socket takes now, without waiting, from
/// `segments[*done..]`: `*done` moves past every segment written in full, a
/// partly written one is advanced past what was written; `written(n)` is
/// told after each call. `Ok(true)` once everything is written, `Ok(false)`
/// when the socket would block.
///
/// # Errors
///
/// The socket's error, or `WriteZero` when it accepts nothing.
fn try_write_segments<S: SegmentSink>(
    socket: &S,
    segments: &mut [Bytes],
    done: &mut usize,
    written: &mut impl FnMut(usize),
) -> io::Result<bool> {
    loop {
        while segments.get(*done).is_some_and(Bytes::is_empty) {
            *done += 1;
        }
        let Some(rest) = segments.get(*done..).filter(|r| !r.is_empty()) else {
            return Ok(true);
        };
        let n = match writev_once(socket, rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        written(n);
        let mut left = n;
        while left > 0 {
            let Some(segment) = segments.get_mut(*done) else {
                break;
            };
            if segment.len() <= left {
                left -= segment.len();
                *done += 1;
            } else {
                segment.advance(left);
                left = 0;
            }
        }
    }
}

/// One `writev` of the first (at most [`MAX_IOVECS`]) non-empty segments of
/// `rest`, gathered on the stack when they are few.
fn writev_once<S: SegmentSink>(socket: &S, rest: &[Bytes]) -> io::Result<usize> {
    let nonempty = rest.iter().filter(|s| !s.is_empty());
    if rest.len() <= STACK_IOVECS {
        let mut slices = [IoSlice::new(&[]); STACK_IOVECS];
        let mut count = 0;
        for (slot, segment) in slices.iter_mut().zip(nonempty) {
            *slot = IoSlice::new(segment);
            count += 1;
        }
        socket.try_write_vectored(&slices[..count])
    } else {
        let slices: Vec<IoSlice<'_>> = nonempty.take(MAX_IOVECS).map(|s| IoSlice::new(s)).collect();
        socket.try_write_vectored(&slices)
    }
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
    /// A new outbox for `conn`'s socket; its write task starts on the
    /// current arbiter when first needed.
    pub(super) fn new(socket: OwnedWriteHalf, conn: Addr<ConnectionActor>, limit: usize) -> Self {
        Outbox {
            socket: Arc::new(socket),
            tx: None,
            conn: Some(conn),
            in_flight: Arc::default(),
            paused: Arc::default(),
            limit,
            overflowed: false,
            closing: Arc::default(),
        }
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
    use std::sync::Mutex;

    use super::*;

    /// A socket that takes at most `step` bytes per call, across slices, and
    /// would block every other call.
    struct Trickle {
        got: Mutex<Vec<u8>>,
        step: usize,
        calls: AtomicUsize,
        vectored_calls: AtomicUsize,
    }

    impl Trickle {
        fn new(step: usize) -> Self {
            Self {
                got: Mutex::default(),
                step,
                calls: AtomicUsize::new(0),
                vectored_calls: AtomicUsize::new(0),
            }
        }

        fn got(&self) -> Vec<u8> {
            self.got.lock().unwrap().clone()
        }
    }

    impl SegmentSink for Trickle {
        fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            if self.calls.fetch_add(1, Ordering::Relaxed) % 2 == 1 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.vectored_calls.fetch_add(1, Ordering::Relaxed);
            let mut room = self.step;
            let mut n = 0;
            for buf in bufs {
                let take = buf.len().min(room);
                self.got.lock().unwrap().extend_from_slice(&buf[..take]);
                room -= take;
                n += take;
                if room == 0 {
                    break;
                }
            }
            Ok(n)
        }

        async fn writable(&self) -> io::Result<()> {
            Ok(())
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

    /// An outbox over `socket` without a write task: the test plays the
    /// task with [`drain_like_the_task`].
    fn outbox(
        socket: Arc<Trickle>,
        limit: usize,
    ) -> (Outbox<Trickle>, mpsc::UnboundedReceiver<Vec<Bytes>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let outbox = Outbox {
            socket,
            tx: Some(tx),
            conn: None,
            in_flight: Arc::default(),
            paused: Arc::default(),
            limit,
            overflowed: false,
            closing: Arc::default(),
        };
        (outbox, rx)
    }

    /// What the write task does with what was queued so far.
    fn drain_like_the_task(outbox: &Outbox<Trickle>, rx: &mut mpsc::UnboundedReceiver<Vec<Bytes>>) {
        let mut segments: Vec<Bytes> = Vec::new();
        while let Ok(flush) = rx.try_recv() {
            segments.extend(flush);
        }
        let in_flight = outbox.in_flight.clone();
        run(write_all_segments(&*outbox.socket, &mut segments, |n| {
            in_flight.fetch_sub(n, Ordering::AcqRel);
        }))
        .unwrap();
    }

    fn flush(i: u8) -> (Vec<Bytes>, usize) {
        let segments: Vec<Bytes> = (0..5u8)
            .map(|j| {
                Bytes::from(vec![
                    i.wrapping_mul(16).wrapping_add(j);
                    usize::from(j % 4) * 3
                ])
            })
            .collect();
        let bytes = segments.iter().map(Bytes::len).sum();
        (segments, bytes)
    }

    #[test]
    fn a_socket_taking_a_few_bytes_at_a_time_still_gets_every_byte_in_order() {
        for step in [1, 3, 5, 64] {
            let mut segments = segments();
            let expected = concat(&segments);
            let socket = Trickle::new(step);
            let mut reported = 0;
            run(write_all_segments(&socket, &mut segments, |n| {
                reported += n
            }))
            .unwrap();
            assert_eq!(socket.got(), expected, "step {step}");
            assert_eq!(reported, expected.len(), "step {step}");
        }
    }

    #[test]
    fn segments_go_out_in_one_call_when_the_socket_takes_them_all() {
        let mut segments = segments();
        let expected = concat(&segments);
        let socket = Trickle::new(usize::MAX);
        run(write_all_segments(&socket, &mut segments, |_| {})).unwrap();
        assert_eq!(socket.vectored_calls.load(Ordering::Relaxed), 1);
        assert_eq!(socket.got(), expected);
    }

    #[test]
    fn more_segments_than_iov_max_take_one_call_per_iov_max() {
        let mut segments: Vec<Bytes> = (0..MAX_IOVECS * 2 + 5)
            .map(|i| Bytes::from(vec![(i % 251) as u8; 3]))
            .collect();
        let expected = concat(&segments);
        let socket = Trickle::new(usize::MAX);
        run(write_all_segments(&socket, &mut segments, |_| {})).unwrap();
        assert_eq!(socket.vectored_calls.load(Ordering::Relaxed), 3);
        assert_eq!(socket.got(), expected);
    }

    #[test]
    fn only_empty_segments_write_nothing_and_succeed() {
        let mut segments = vec![Bytes::new(), Bytes::new()];
        let socket = Trickle::new(4);
        run(write_all_segments(&socket, &mut segments, |_| {})).unwrap();
        assert_eq!(socket.vectored_calls.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_socket_that_accepts_nothing_is_a_write_zero_error() {
        let mut segments = vec![Bytes::from_static(b"abc")];
        let socket = Trickle::new(0);
        let err = run(write_all_segments(&socket, &mut segments, |_| {})).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
    }

    #[test]
    fn a_flush_the_socket_takes_at_once_is_written_directly_without_the_task() {
        let socket = Arc::new(Trickle::new(usize::MAX));
        let (mut outbox, mut rx) = outbox(socket.clone(), 1 << 20);
        let (segments, bytes) = flush(1);
        let expected = concat(&segments);
        outbox.send(segments, bytes);
        assert!(rx.try_recv().is_err(), "nothing was handed to the task");
        assert_eq!(outbox.in_flight.load(Ordering::Acquire), 0);
        assert_eq!(socket.got(), expected);
    }

    #[test]
    fn partial_direct_writes_followed_by_the_task_deliver_every_byte_in_order() {
        for step in [1, 2, 5, 7, 13, 64] {
            let socket = Arc::new(Trickle::new(step));
            let (mut outbox, mut rx) = outbox(socket.clone(), 1 << 20);
            let mut expected = Vec::new();
            for i in 0..12u8 {
                let (segments, bytes) = flush(i);
                expected.extend(concat(&segments));
                outbox.send(segments, bytes);
                // The task runs now and then, not after every flush.
                if i % 3 == 2 {
                    drain_like_the_task(&outbox, &mut rx);
                    assert_eq!(outbox.in_flight.load(Ordering::Acquire), 0, "step {step}");
                }
            }
            drain_like_the_task(&outbox, &mut rx);
            assert_eq!(socket.got(), expected, "step {step}");
            assert_eq!(outbox.in_flight.load(Ordering::Acquire), 0, "step {step}");
            assert!(!outbox.overflowed());
        }
    }

    #[test]
    fn while_the_task_holds_bytes_a_flush_queues_behind_them_instead_of_writing() {
        let socket = Arc::new(Trickle::new(4));
        let (mut outbox, mut rx) = outbox(socket.clone(), 1 << 20);
        outbox.send(vec![Bytes::from_static(b"0123456789")], 10);
        let direct = socket.got().len();
        assert!(direct < 10, "the socket took part of the first flush");
        let queued = outbox.in_flight.load(Ordering::Acquire);
        assert_eq!(queued, 10 - direct, "the rest waits for the task");
        outbox.send(vec![Bytes::from_static(b"abc")], 3);
        assert_eq!(
            socket.got().len(),
            direct,
            "the second flush did not overtake"
        );
        assert_eq!(outbox.in_flight.load(Ordering::Acquire), queued + 3);
        drain_like_the_task(&outbox, &mut rx);
        assert_eq!(socket.got(), b"0123456789abc");
    }

    #[test]
    fn what_the_socket_does_not_take_counts_against_the_unwritten_limit() {
        let socket = Arc::new(Trickle::new(4));
        let (mut outbox, _rx) = outbox(socket.clone(), 8);
        // 4 bytes go out directly; 12 wait (over the limit of 8).
        outbox.send(vec![Bytes::from(vec![1u8; 16])], 16);
        assert!(outbox.overflowed());
        assert_eq!(outbox.in_flight.load(Ordering::Acquire), 0);
        outbox.send(vec![Bytes::from_static(b"late")], 4);
        assert_eq!(
            socket.got().len(),
            4,
            "nothing is written after an overflow"
        );
    }
}
