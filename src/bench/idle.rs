//! `ferrocast bench idle`: N clients that handshake, `connect`, then sit
//! idle (answering pings), opened at a given rate and held.
//!
//! Figures: connections asked, connected, failures, disconnects during the
//! hold; with `--server-pid` the server's RSS before the first connection
//! and after the last (while all are held) and (after − before) / connected
//! bytes per connection; the tool's own RSS per connection likewise.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::figures::{rate, seconds, Fleet};
use super::player::{self, After, Plan, Progress};
use super::procstat::{rss_bytes, Pid};
use super::session::Goal;
use super::{BenchError, IdleArgs, Report};

/// Runs the scenario.
///
/// # Errors
///
/// [`BenchError::Args`] for bad arguments; [`BenchError::Failed`] when no
/// client connected.
pub(super) async fn run(args: IdleArgs) -> Result<Report, BenchError> {
    if args.connections == 0 {
        return Err(BenchError::Args(
            "--connections must be at least 1".to_owned(),
        ));
    }
    let connect_rate = rate("connect-rate", args.connect_rate)?;
    let hold = seconds("hold", args.hold)?;
    let setup_timeout = seconds("setup-timeout", args.setup_timeout)?;
    let plan = Arc::new(Plan {
        target: player::target(&args.url)?,
        goal: Goal::Connect,
        after: After::Hold,
        digest: false,
        setup_timeout,
        epoch: Instant::now(),
    });
    let server_before = args.server_pid.and_then(|pid| rss_bytes(Pid::Of(pid)));
    let tool_before = rss_bytes(Pid::Own);

    let mut fleet = Fleet::with_capacity(args.connections);
    let start = Instant::now();
    for i in 0..args.connections {
        let due = start + Duration::from_secs_f64(i as f64 / connect_rate);
        tokio::time::sleep_until(due).await;
        let progress = Arc::new(Progress::default());
        let task = tokio::spawn(player::run(plan.clone(), progress.clone()));
        fleet.push(progress, task);
    }
    fleet.settle(setup_timeout).await;
    let connect_time = start.elapsed();
    let connected_census = fleet.census();
    tokio::time::sleep(hold).await;

    let server_after = args.server_pid.and_then(|pid| rss_bytes(Pid::Of(pid)));
    let tool_after = rss_bytes(Pid::Own);
    let census = fleet.census();
    let connected = connected_census.up + connected_census.dropped;
    let first_failure = fleet.shut().await;
    if connected == 0 {
        return Err(BenchError::Failed(format!(
            "idle: none of {} clients connected{}",
            args.connections,
            first_failure.map_or(String::new(), |e| format!(" (first failure: {e})"))
        )));
    }
    let per_connection = |before: Option<u64>, after: Option<u64>| {
        Some(after?.saturating_sub(before?) / connected as u64)
    };
    let mut r = Report::new("idle");
    r.set("url", args.url.as_str())
        .set("connections", args.connections)
        .set("connected", connected)
        .set("connect_failures", census.failed)
        .set("disconnects", census.dropped)
        .set("held_at_end", census.up)
        .set("connect_time_ms", connect_time.as_secs_f64() * 1000.0)
        .set("hold_ms", hold.as_secs_f64() * 1000.0)
        .set("server_rss_before_bytes", server_before)
        .set("server_rss_after_bytes", server_after)
        .set(
            "server_rss_per_connection_bytes",
            per_connection(server_before, server_after),
        )
        .set(
            "tool_rss_per_connection_bytes",
            per_connection(tool_before, tool_after),
        )
        .set("first_failure", first_failure);
    Ok(r)
}
