//! One load-test connection over TCP: handshake, [`PlayerSession`], then
//! reading with as little work per byte as possible.
//!
//! Light by construction, so that one core drives thousands of them: the
//! handshake state lives in a boxed future that is freed once it is done;
//! afterwards a connection holds its socket, a [`ChunkWalker`] and a few
//! counters. Reads go into one 64 KiB buffer per thread, shared by every
//! connection (a drain never awaits while it holds it). A streaming player
//! reads continuously until its first keyframe (so play → keyframe is not
//! rounded up to the read interval), then takes its socket out of the
//! reactor (so packet arrivals no longer wake the thread), wakes every
//! `read_interval` and drains it with non-blocking reads; a zero interval
//! reads continuously.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::client::RtmpUrl;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::session::{Goal, Phase, PlayerSession};
use super::walker::{ChunkWalker, WalkerLimits};
use super::BenchError;
use crate::protocol::handshake::{ClientConfig, ClientHandshake, ClientMode, HandshakeStep};

/// Bytes read per `try_read`.
const READ_BUFFER_LEN: usize = 64 * 1024;

thread_local! {
    /// The read buffer every connection on this thread shares.
    static READ_BUFFER: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_BUFFER_LEN].into_boxed_slice());
}

/// Where connections go: from `rtmp://host[:port]/app[/room…]`.
pub(super) type Target = RtmpUrl;

/// Parses a scenario's `--url`.
///
/// # Errors
///
/// [`BenchError::Args`] with the client library's reason.
pub(super) fn target(url: &str) -> Result<Target, BenchError> {
    RtmpUrl::parse(url).map_err(|e| BenchError::Args(e.to_string()))
}

/// What a connection does once its goal is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum After {
    /// Return (setup-rate measurement).
    Return,
    /// Stay, reading continuously (idle clients answer pings).
    Hold,
    /// Stay, reading every this often once a keyframe arrived (players).
    Stream(Duration),
}

/// How connections are made.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    /// Where.
    pub(super) target: Target,
    /// How far.
    pub(super) goal: Goal,
    /// And then.
    pub(super) after: After,
    /// Digest handshake (as Flash Player and ffmpeg) instead of the simple one.
    pub(super) digest: bool,
    /// Longest time from TCP connect to the goal.
    pub(super) setup_timeout: Duration,
    /// The run's time origin.
    pub(super) epoch: Instant,
}

/// A connection's progress, readable by the scenario while it runs.
#[derive(Debug)]
pub(super) struct Progress {
    state: AtomicU8,
    /// Bytes received, handshake included.
    pub(super) bytes: AtomicU64,
    /// Audio/video payload bytes received.
    pub(super) media_bytes: AtomicU64,
    /// When `play` was sent (µs since the epoch), [`NONE`] if not.
    pub(super) play_us: AtomicU64,
    /// When the first keyframe arrived, [`NONE`] if not.
    pub(super) keyframe_us: AtomicU64,
    /// When later keyframes arrived (µs since the epoch), bounded by
    /// [`MAX_LIVE_KEYFRAMES`].
    live_keyframes_us: Mutex<Vec<u64>>,
}

/// Live keyframe arrivals kept per player for the report.
const MAX_LIVE_KEYFRAMES: usize = 1024;

/// "Not yet" in a [`Progress`] time field.
pub(super) const NONE: u64 = u64::MAX;

/// A connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Setting up.
    Pending,
    /// Goal reached, still open.
    Up,
    /// Never reached its goal.
    Failed,
    /// Reached its goal, then the connection ended.
    Dropped,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            state: AtomicU8::new(0),
            bytes: AtomicU64::new(0),
            media_bytes: AtomicU64::new(0),
            play_us: AtomicU64::new(NONE),
            keyframe_us: AtomicU64::new(NONE),
            live_keyframes_us: Mutex::new(Vec::new()),
        }
    }
}

impl Progress {
    /// The connection's state.
    pub(super) fn state(&self) -> State {
        match self.state.load(Ordering::Relaxed) {
            0 => State::Pending,
            1 => State::Up,
            2 => State::Failed,
            _ => State::Dropped,
        }
    }

    fn set_state(&self, state: State) {
        let v = match state {
            State::Pending => 0,
            State::Up => 1,
            State::Failed => 2,
            State::Dropped => 3,
        };
        self.state.store(v, Ordering::Relaxed);
    }

    /// When later keyframes (not the join burst's) arrived, µs since the
    /// epoch.
    pub(super) fn live_keyframes_us(&self) -> Vec<u64> {
        self.live_keyframes_us
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// Play → first keyframe, in µs, when both happened.
    pub(super) fn keyframe_latency_us(&self) -> Option<u64> {
        let play = self.play_us.load(Ordering::Relaxed);
        let key = self.keyframe_us.load(Ordering::Relaxed);
        (play != NONE && key != NONE).then(|| key.saturating_sub(play))
    }
}

fn micros_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX - 1)
}

/// Runs one connection to its end; `progress` follows it. Returns why it
/// ended (`Ok` for [`After::Return`] once the goal is reached).
///
/// # Errors
///
/// A description of what failed: connect, handshake, refusal, protocol
/// error, timeout, or the server closing.
pub(super) async fn run(plan: Arc<Plan>, progress: Arc<Progress>) -> Result<(), String> {
    let result = drive(&plan, &progress).await;
    match (result.is_ok(), progress.state()) {
        (true, _) => {}
        (false, State::Up) => progress.set_state(State::Dropped),
        (false, _) => progress.set_state(State::Failed),
    }
    result
}

async fn drive(plan: &Plan, progress: &Progress) -> Result<(), String> {
    let deadline = Instant::now() + plan.setup_timeout;
    let timed_out = |what: &str| format!("{what}: no answer within {:?}", plan.setup_timeout);
    let mut stream = tokio::time::timeout_at(deadline, TcpStream::connect(&plan.target.address))
        .await
        .map_err(|_| timed_out("connect"))?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    // Boxed: the handshake's buffers must not stay in every task's future.
    let (remaining, handshake_bytes) =
        tokio::time::timeout_at(deadline, Box::pin(handshake(&mut stream, plan.digest)))
            .await
            .map_err(|_| timed_out("handshake"))??;
    let mut walker = ChunkWalker::new(WalkerLimits::default());
    walker.add_bytes_received(handshake_bytes);
    let mut session = PlayerSession::new(
        plan.goal.clone(),
        walker,
        &plan.target.app,
        &plan.target.tc_url,
    )?;
    session
        .feed(&remaining, micros_since(plan.epoch))
        .map_err(|e| e.to_string())?;
    drop(remaining);
    loop {
        flush(&mut stream, &mut session).await?;
        let reached = session.phase() == Phase::Done;
        if reached && progress.state() == State::Pending {
            progress.set_state(State::Up);
            if plan.after == After::Return {
                return Ok(());
            }
        }
        // Wait for bytes: by the clock once streaming, else as they come.
        match plan.after {
            After::Stream(interval)
                if !interval.is_zero() && reached && session.keyframe_us().is_some() =>
            {
                return batched(stream, session, progress, plan.epoch, interval).await;
            }
            _ if !reached => tokio::time::timeout_at(deadline, stream.readable())
                .await
                .map_err(|_| timed_out(session_step(&session)))?
                .map_err(|e| format!("read: {e}"))?,
            _ => stream.readable().await.map_err(|e| format!("read: {e}"))?,
        }
        let open = drain(|buf| stream.try_read(buf), &mut session, plan.epoch)?;
        publish(progress, &mut session, open)?;
    }
}

/// Streaming with batched reads: the socket leaves the reactor, so no
/// readiness event wakes the thread between two ticks; each tick drains it
/// with non-blocking reads and writes what the session queued.
async fn batched(
    stream: TcpStream,
    mut session: PlayerSession,
    progress: &Progress,
    epoch: Instant,
    interval: Duration,
) -> Result<(), String> {
    let stream = stream.into_std().map_err(|e| format!("socket: {e}"))?;
    let mut next_wake = Instant::now();
    loop {
        next_wake += interval;
        let now = Instant::now();
        if next_wake < now {
            next_wake = now + interval;
        }
        tokio::time::sleep_until(next_wake).await;
        let open = drain(|buf| (&stream).read(buf), &mut session, epoch)?;
        while !session.outbound().is_empty() {
            match (&stream).write(session.outbound()) {
                Ok(0) => return Err("write: the connection is closed".to_owned()),
                Ok(n) => session.consumed(n),
                // Full: the rest goes at the next tick.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("write: {e}")),
            }
        }
        publish(progress, &mut session, open)?;
    }
}

/// Copies the session's counters to `progress`; says why the connection
/// ends, if it does.
fn publish(progress: &Progress, session: &mut PlayerSession, open: bool) -> Result<(), String> {
    let walker = session.walker();
    progress
        .bytes
        .store(walker.bytes_received(), Ordering::Relaxed);
    progress
        .media_bytes
        .store(walker.media_bytes(), Ordering::Relaxed);
    if progress.play_us.load(Ordering::Relaxed) == NONE {
        if let Some(t) = session.play_queued_us() {
            progress.play_us.store(t, Ordering::Relaxed);
        }
    }
    if progress.keyframe_us.load(Ordering::Relaxed) == NONE {
        if let Some(t) = session.keyframe_us() {
            progress.keyframe_us.store(t, Ordering::Relaxed);
        }
    }
    let live = session.take_live_keyframes();
    if !live.is_empty() {
        if let Ok(mut kept) = progress.live_keyframes_us.lock() {
            let room = MAX_LIVE_KEYFRAMES.saturating_sub(kept.len());
            kept.extend(live.into_iter().take(room));
        }
    }
    if let Some(reason) = session.refused() {
        return Err(reason.to_owned());
    }
    if !open {
        return Err("the server closed the connection".to_owned());
    }
    Ok(())
}

fn session_step(session: &PlayerSession) -> &'static str {
    match session.phase() {
        Phase::Connecting => "connect",
        Phase::CreatingStream => "createStream",
        Phase::Starting => "play",
        Phase::Done => "stream",
    }
}

/// Reads everything the socket holds into the walker, without waiting.
/// Returns whether the connection is still open.
fn drain(
    mut read: impl FnMut(&mut [u8]) -> io::Result<usize>,
    session: &mut PlayerSession,
    epoch: Instant,
) -> Result<bool, String> {
    READ_BUFFER.with_borrow_mut(|buf| loop {
        match read(buf) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                session
                    .feed(&buf[..n], micros_since(epoch))
                    .map_err(|e| e.to_string())?;
                if n < buf.len() {
                    // Most likely drained; the next wake finds the rest.
                    return Ok(true);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    })
}

async fn flush(stream: &mut TcpStream, session: &mut PlayerSession) -> Result<(), String> {
    if session.outbound().is_empty() {
        return Ok(());
    }
    stream
        .write_all(session.outbound())
        .await
        .map_err(|e| format!("write: {e}"))?;
    session.written();
    Ok(())
}

/// The client handshake; returns the bytes after S2 and the count of bytes
/// that were handshake.
async fn handshake(stream: &mut TcpStream, digest: bool) -> Result<(bytes::Bytes, u64), String> {
    let mut rng = StdRng::from_rng(&mut rand::rng());
    let config = ClientConfig {
        mode: if digest {
            ClientMode::default()
        } else {
            ClientMode::Simple
        },
        verify_server: false,
    };
    let (mut machine, c0c1) = ClientHandshake::start(config, 0, &mut rng);
    stream
        .write_all(&c0c1)
        .await
        .map_err(|e| format!("handshake write: {e}"))?;
    let mut buf = vec![0u8; 4096];
    let mut read = 0u64;
    loop {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("handshake read: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection during the handshake".to_owned());
        }
        read += n as u64;
        let step = machine
            .handle_input(&buf[..n], 0, &mut rng)
            .map_err(|e| format!("handshake: {e}"))?;
        if !step.send().is_empty() {
            stream
                .write_all(step.send())
                .await
                .map_err(|e| format!("handshake write: {e}"))?;
        }
        if let HandshakeStep::Done { outcome, .. } = step {
            let consumed = read - outcome.remaining.len() as u64;
            return Ok((outcome.remaining, consumed));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gives_address_app_and_tc_url() {
        let t = target("rtmp://127.0.0.1:19350/live/room/").unwrap();
        assert_eq!(t.address, "127.0.0.1:19350");
        assert_eq!(t.app, "live/room");
        assert_eq!(t.tc_url, "rtmp://127.0.0.1:19350/live/room");
        assert_eq!(
            target("rtmp://example.org/live").unwrap().address,
            "example.org:1935"
        );
        assert!(target("http://x/live").is_err());
        assert!(target("rtmp://x:99999/live").is_err());
        assert!(target("rtmp://x/").is_err());
    }
}
