//! `ferrocast bench fanout`: one publisher paced in real time, N players
//! joining at a given rate, then a measurement window.
//!
//! The window opens once every player has its first keyframe (or the setup
//! timeout passed) and `--settle` more seconds. Figures (all players that
//! reached `NetStream.Play.Start` count; the per-player bitrate is
//! audio/video payload over the window, comparable to what the publisher
//! sent in the same window):
//! players, joined, failures, disconnects; publish bitrate; delivered
//! bitrate min / p5 / median; players at ≥ 95 % of the publish bitrate;
//! bytes; play → first keyframe p50 / p99 / max; with `--metrics-url` the
//! server's drop counters over the run; with `--server-pid` the server's CPU
//! share of one core over the window and its RSS at the end; the tool's own
//! CPU share (a saturated tool shows here); both CPU shares also over the
//! join phase (joins up to every player's first keyframe), where a
//! saturated tool would delay the keyframe figures; publisher → player
//! latency of the live keyframes in the window (p50 / p99 / max: use
//! `--read-interval-ms 0` for it, batched reads add up to one interval).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::figures::{percentile, rate, seconds, Fleet};
use super::player::{self, After, Plan, Progress};
use super::procstat::{self, fetch_counters, CpuMark, Pid};
use super::publisher::{FlvLoop, Publisher, Source};
use super::session::Goal;
use super::synth::Synth;
use super::{BenchError, FanoutArgs, Report};

/// A player delivering at least this share of the publish bitrate counts as
/// served.
const SERVED_SHARE: f64 = 0.95;

/// Runs the scenario.
///
/// # Errors
///
/// [`BenchError::Args`] for bad arguments, [`BenchError::Client`] when the
/// publisher cannot publish, [`BenchError::Failed`] when no player got to
/// play.
pub(super) async fn run(args: FanoutArgs) -> Result<Report, BenchError> {
    if args.players == 0 {
        return Err(BenchError::Args("--players must be at least 1".to_owned()));
    }
    let join_rate = rate("join-rate", args.join_rate)?;
    let window = seconds("duration", args.duration)?;
    let setup_timeout = seconds("setup-timeout", args.setup_timeout)?;
    let settle = if args.settle == 0.0 {
        Duration::ZERO
    } else {
        seconds("settle", args.settle)?
    };
    let target = player::target(&args.url)?;
    let publish_url = args.publish_url.clone().unwrap_or_else(|| args.url.clone());
    let source = match &args.flv {
        Some(path) => Source::Flv(FlvLoop::read(path)?),
        None => Source::Synth(Synth::new(args.bitrate_kbps, args.fps, args.gop)?),
    };
    let counters_before = match &args.metrics_url {
        Some(url) => fetch_counters(url).await,
        None => None,
    };

    let epoch = Instant::now();
    let publisher = Publisher::start(&publish_url, &args.stream, source, epoch).await?;
    let plan = Arc::new(Plan {
        target,
        goal: Goal::Play(args.stream.clone()),
        after: After::Stream(Duration::from_millis(args.read_interval_ms)),
        digest: false,
        setup_timeout,
        epoch,
    });

    // Joins, paced.
    let mut fleet = Fleet::with_capacity(args.players);
    let server_join_cpu = args.server_pid.map(|pid| CpuMark::now(Pid::Of(pid)));
    let own_join_cpu = CpuMark::now(Pid::Own);
    let join_start = Instant::now();
    for i in 0..args.players {
        let due = join_start + Duration::from_secs_f64(i as f64 / join_rate);
        tokio::time::sleep_until(due).await;
        let progress = Arc::new(Progress::default());
        let task = tokio::spawn(player::run(plan.clone(), progress.clone()));
        fleet.push(progress, task);
    }
    fleet.settle(setup_timeout).await;
    let join_time = join_start.elapsed();
    // The window opens once the players stream: after their first keyframe
    // (a server without a GOP cache holds video until then) and `settle`.
    fleet.await_keyframes(setup_timeout).await;
    let server_join_cpu_pct = server_join_cpu.and_then(|m| m.percent());
    let own_join_cpu_pct = own_join_cpu.percent();
    tokio::time::sleep(settle).await;

    // The window.
    let media_before: Vec<u64> = fleet
        .progress()
        .map(|p| p.media_bytes.load(Ordering::Relaxed))
        .collect();
    let bytes_before: u64 = fleet
        .progress()
        .map(|p| p.bytes.load(Ordering::Relaxed))
        .sum();
    let published_before = publisher.sent.load(Ordering::Relaxed);
    let server_cpu = args.server_pid.map(|pid| CpuMark::now(Pid::Of(pid)));
    let own_cpu = CpuMark::now(Pid::Own);
    let window_start = Instant::now();
    tokio::time::sleep(window).await;
    let window_secs = window_start.elapsed().as_secs_f64();
    let window_us = (
        micros_between(epoch, window_start),
        micros_between(epoch, Instant::now()),
    );
    let published = publisher.sent.load(Ordering::Relaxed) - published_before;
    let server_cpu_pct = server_cpu.and_then(|m| m.percent());
    let own_cpu_pct = own_cpu.percent();
    let media_after: Vec<u64> = fleet
        .progress()
        .map(|p| p.media_bytes.load(Ordering::Relaxed))
        .collect();
    let bytes_total: u64 = fleet
        .progress()
        .map(|p| p.bytes.load(Ordering::Relaxed))
        .sum();
    let server_rss = args
        .server_pid
        .and_then(|pid| procstat::rss_bytes(Pid::Of(pid)));
    let counters = match (&args.metrics_url, counters_before) {
        (Some(url), Some(before)) => fetch_counters(url).await.map(|c| c.since(&before)),
        _ => None,
    };
    let census = fleet.census();
    let publisher_ok = !publisher.has_stopped();

    // Per-player figures, over the players that joined.
    let publish_kbps = published as f64 * 8.0 / window_secs / 1000.0;
    let mut delivered_kbps = Vec::new();
    let mut keyframe_ms = Vec::new();
    for ((p, before), after) in fleet.progress().zip(&media_before).zip(&media_after) {
        if !matches!(p.state(), player::State::Up | player::State::Dropped) {
            continue;
        }
        delivered_kbps.push((after - before) as f64 * 8.0 / window_secs / 1000.0);
        if let Some(us) = p.keyframe_latency_us() {
            keyframe_ms.push(us as f64 / 1000.0);
        }
    }
    let mut live_ms = live_keyframe_latencies_ms(
        &publisher.keyframes_us(),
        fleet.progress().map(|p| p.live_keyframes_us()),
        window_us,
    );
    let joined = delivered_kbps.len();
    let served = delivered_kbps
        .iter()
        .filter(|&&k| publish_kbps > 0.0 && k >= SERVED_SHARE * publish_kbps)
        .count();
    let first_failure = fleet.shut().await;
    publisher.stop().await;
    if joined == 0 {
        return Err(BenchError::Failed(format!(
            "fanout: none of {} players got to play {:?}{}",
            args.players,
            args.stream,
            first_failure.map_or(String::new(), |e| format!(" (first failure: {e})"))
        )));
    }

    let mut r = Report::new("fanout");
    r.set("url", args.url.as_str())
        .set(
            "source",
            args.flv.as_ref().map_or_else(
                || format!("synthetic {} kbit/s {} fps", args.bitrate_kbps, args.fps),
                |p| p.display().to_string(),
            ),
        )
        .set("read_interval_ms", args.read_interval_ms)
        .set("players", args.players)
        .set("joined", joined)
        .set("connect_failures", census.failed)
        .set("disconnects", census.dropped)
        .set("join_time_ms", join_time.as_secs_f64() * 1000.0)
        .set("window_ms", window_secs * 1000.0)
        .set("publisher_ok", publisher_ok)
        .set("publish_kbps", publish_kbps)
        .set("delivered_min_kbps", percentile(&mut delivered_kbps, 0.0))
        .set("delivered_p5_kbps", percentile(&mut delivered_kbps, 5.0))
        .set(
            "delivered_median_kbps",
            percentile(&mut delivered_kbps, 50.0),
        )
        .set("served_players", served)
        .set("served_pct", served as f64 * 100.0 / args.players as f64)
        .set("window_bytes", bytes_total.saturating_sub(bytes_before))
        .set("total_bytes", bytes_total)
        .set("keyframes", keyframe_ms.len())
        .set("first_keyframe_p50_ms", percentile(&mut keyframe_ms, 50.0))
        .set("first_keyframe_p99_ms", percentile(&mut keyframe_ms, 99.0))
        .set("first_keyframe_max_ms", percentile(&mut keyframe_ms, 100.0))
        .set("live_keyframes", live_ms.len())
        .set("live_keyframe_p50_ms", percentile(&mut live_ms, 50.0))
        .set("live_keyframe_p99_ms", percentile(&mut live_ms, 99.0))
        .set("live_keyframe_max_ms", percentile(&mut live_ms, 100.0))
        .set("server_dropped_frames", counters.map(|c| c.dropped_frames))
        .set(
            "server_evicted_players",
            counters.map(|c| c.evicted_players),
        )
        .set(
            "server_outbound_overflows",
            counters.map(|c| c.outbound_overflows),
        )
        .set("server_cpu_pct", server_cpu_pct)
        .set("server_rss_bytes", server_rss)
        .set("tool_cpu_pct", own_cpu_pct)
        .set("server_join_cpu_pct", server_join_cpu_pct)
        .set("tool_join_cpu_pct", own_join_cpu_pct)
        .set("tool_rss_bytes", procstat::rss_bytes(Pid::Own))
        .set("first_failure", first_failure);
    Ok(r)
}

fn micros_between(epoch: Instant, at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch).as_micros()).unwrap_or(u64::MAX)
}

/// Publisher → player latency of the live keyframes (not the join burst's)
/// that arrived inside the window, in ms: each arrival is matched with the
/// latest keyframe sent before it (valid while the latency stays under one
/// GOP). Arrival times are when the player read them, so batched reads add
/// up to `--read-interval-ms`.
fn live_keyframe_latencies_ms(
    sent_us: &[u64],
    arrivals_us: impl Iterator<Item = Vec<u64>>,
    window_us: (u64, u64),
) -> Vec<f64> {
    let mut out = Vec::new();
    for player in arrivals_us {
        for arrived in player {
            if arrived < window_us.0 || arrived > window_us.1 {
                continue;
            }
            let sent = sent_us.partition_point(|&s| s <= arrived);
            if let Some(&s) = sent.checked_sub(1).and_then(|i| sent_us.get(i)) {
                out.push((arrived - s) as f64 / 1000.0);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_keyframe_is_timed_from_the_latest_keyframe_sent_before_it() {
        let sent = [1_000, 2_001_000, 4_001_000];
        let players = vec![vec![2_004_000, 4_001_500], vec![2_011_000, 9_000_000]];
        let got = live_keyframe_latencies_ms(&sent, players.into_iter(), (2_000_000, 5_000_000));
        assert_eq!(got, vec![3.0, 0.5, 10.0]);
    }

    #[test]
    fn arrivals_before_any_keyframe_was_sent_are_not_timed() {
        let got = live_keyframe_latencies_ms(&[5_000], vec![vec![4_000]].into_iter(), (0, 10_000));
        assert!(got.is_empty());
    }
}
