//! `ferrocast bench connect`: setups per second of handshake + `connect` +
//! `createStream` + `play` up to `NetStream.Play.Start`, with a fixed number
//! in flight for a fixed time. Each setup is a fresh TCP connection, closed
//! once `Play.Start` arrives.
//!
//! Figures: setups completed in the time, failures, setups/s, setup
//! latency p50 / p99 / max.

use std::sync::Arc;

use tokio::time::Instant;

use super::figures::{ms, seconds};
use super::player::{self, After, Plan, Progress};
use super::session::Goal;
use super::{BenchError, ConnectArgs, Report, Samples};

/// Runs the scenario.
///
/// # Errors
///
/// [`BenchError::Args`] for bad arguments; [`BenchError::Failed`] when no
/// setup completed.
pub(super) async fn run(args: ConnectArgs) -> Result<Report, BenchError> {
    if args.concurrency == 0 {
        return Err(BenchError::Args(
            "--concurrency must be at least 1".to_owned(),
        ));
    }
    let duration = seconds("duration", args.duration)?;
    let plan = Arc::new(Plan {
        target: player::target(&args.url)?,
        goal: Goal::Play(args.stream.clone()),
        after: After::Return,
        digest: args.digest_handshake,
        setup_timeout: seconds("setup-timeout", args.setup_timeout)?,
        epoch: Instant::now(),
    });
    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| tokio::spawn(worker(plan.clone(), deadline)))
        .collect();
    let mut samples = Samples::default();
    let mut failures = 0u64;
    let mut first_failure = None;
    for w in workers {
        let (s, f, e) = w
            .await
            .map_err(|e| BenchError::Failed(format!("connect worker: {e}")))?;
        samples.extend(&s);
        failures += f;
        if first_failure.is_none() {
            first_failure = e;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    if samples.is_empty() {
        return Err(BenchError::Failed(format!(
            "connect: no setup completed in {:.1} s{}",
            elapsed,
            first_failure.map_or(String::new(), |e| format!(" (first failure: {e})"))
        )));
    }
    let mut r = Report::new("connect");
    r.set("url", args.url.as_str())
        .set(
            "handshake",
            if args.digest_handshake {
                "digest"
            } else {
                "simple"
            },
        )
        .set("concurrency", args.concurrency)
        .set("setups", samples.len())
        .set("failures", failures)
        .set("setups_per_s", samples.len() as f64 / elapsed)
        .set("setup_p50_ms", ms(samples.percentile(50.0)))
        .set("setup_p99_ms", ms(samples.percentile(99.0)))
        .set("setup_max_ms", ms(samples.max()))
        .set("first_failure", first_failure);
    Ok(r)
}

/// Setups one after another until the deadline; a setup cut by the deadline
/// counts neither way.
async fn worker(plan: Arc<Plan>, deadline: Instant) -> (Samples, u64, Option<String>) {
    let mut samples = Samples::default();
    let mut failures = 0;
    let mut first_failure = None;
    while Instant::now() < deadline {
        let started = Instant::now();
        let setup = player::run(plan.clone(), Arc::new(Progress::default()));
        match tokio::time::timeout_at(deadline, setup).await {
            Ok(Ok(())) => samples.push(started.elapsed()),
            Ok(Err(e)) => {
                failures += 1;
                first_failure.get_or_insert(e);
            }
            Err(_) => break,
        }
    }
    (samples, failures, first_failure)
}
