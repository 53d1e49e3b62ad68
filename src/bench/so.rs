//! `ferrocast bench so`: N clients on one SharedObject, spread round-robin
//! over one or more nodes, writing together `--rate` slot changes per second
//! (`--batch` per message); every other client times each change from the
//! writer's send to its own notification. Then the run settles and checks
//! that every replica converged to the same slots and version.
//!
//! Phases: connect and `Use` every client; write for `--duration` (paced by
//! [`Pacer`], see `so_client.rs` for one client); settle: wait, up to
//! `--settle` seconds, until no write awaits its `Success` and every
//! replica shows the same version; compare every replica's slots. A run that
//! does not converge is a [`BenchError::Failed`] (the report is printed on
//! stderr first).
//!
//! Latency includes this process's own queueing (one core drives every
//! client), so at high rates it is an upper bound for the server's part.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::sync::{watch, Notify};

use super::so_client::{Progress, SoClient, SoRun, Tally};
use super::so_latency::Latencies;
use super::so_pacer::Pacer;
use super::{BenchError, Report, SoArgs};
use crate::client::{Client, ConnectOptions, RemoteSharedObject};

/// Events each client may have queued before the library drops them.
const EVENT_CAPACITY: usize = 16 * 1024;

/// Runs the scenario.
///
/// # Errors
///
/// [`BenchError::Args`] for arguments that describe no run;
/// [`BenchError::Client`] when a client cannot connect or use the object;
/// [`BenchError::Failed`] when the replicas did not converge.
pub(super) async fn run(args: SoArgs) -> Result<Report, BenchError> {
    validate(&args)?;
    let node_of = nodes_of(&args.urls, args.clients);
    let run = Arc::new(SoRun {
        epoch: Instant::now(),
        run_id: rand::random(),
        node_of,
        same_node: Mutex::new(Latencies::default()),
        other_node: Mutex::new(Latencies::default()),
        progress: Mutex::new(vec![None; args.clients]),
        progress_changed: Notify::new(),
    });

    let joined = connect_all(&args).await?;
    let duration = Duration::from_secs_f64(args.duration);
    let pacer = Pacer::new(
        args.clients,
        args.rate / args.batch as f64,
        duration,
        Duration::from_millis(args.tick_ms),
    );
    let (stop, stop_rx) = watch::channel(false);
    let mut clients = Vec::with_capacity(args.clients);
    let mut tasks = Vec::with_capacity(args.clients);
    for (index, (client, so)) in joined.into_iter().enumerate() {
        let worker = SoClient::new(
            index,
            args.clients,
            args.batch,
            so,
            pacer.credits(index),
            run.clone(),
        );
        tasks.push(tokio::spawn(worker.drive(stop_rx.clone())));
        clients.push(client);
    }

    let started = Instant::now();
    let start_us = run.now_us();
    let paced = pacer.run().await;
    let settle_start = Instant::now();
    let settled = settle(&run, Duration::from_secs_f64(args.settle)).await;
    let settle_ms = settle_start.elapsed().as_secs_f64() * 1000.0;
    let _ = stop.send(true);
    let mut objects = Vec::with_capacity(tasks.len());
    let mut tally = Tally::default();
    for task in tasks {
        let (so, one) = task
            .await
            .map_err(|e| BenchError::Failed(format!("a client task failed: {e}")))?;
        add(&mut tally, one);
        objects.push(so);
    }
    let final_version = objects.first().map(RemoteSharedObject::version);
    let converged = settled && same_replicas(&objects);
    drop(objects);
    join_all(clients.iter().map(Client::close)).await;

    let elapsed_s = if tally.last_applied_us > start_us {
        (tally.last_applied_us - start_us) as f64 / 1e6
    } else {
        started.elapsed().as_secs_f64()
    };
    let mut report = Report::new("so");
    report
        .set("urls", args.urls.join(","))
        .set("nodes", distinct(&run.node_of))
        .set("clients", args.clients)
        .set("batch", args.batch)
        .set("persistent", args.persistent)
        .set("target_changes_per_s", args.rate)
        .set("duration_s", args.duration)
        .set("messages_sent", tally.messages_sent)
        .set("changes_sent", tally.changes_sent)
        .set("changes_not_sent", paced.not_started * args.batch as u64)
        .set("changes_applied", tally.changes_applied)
        .set("changes_per_s", tally.changes_applied as f64 / elapsed_s)
        .set(
            "notifications_expected",
            tally.changes_applied * (args.clients as u64 - 1),
        )
        .set("notifications", tally.notifications)
        .set("repeated_values", tally.repeats)
        .set("foreign_values", tally.foreign)
        .set("events_dropped", tally.dropped_events)
        .set("resyncs", tally.resyncs)
        .set("errors", tally.errors)
        .set("last_error", tally.last_error.clone());
    SoRun::lock(&run.same_node).report(&mut report, "latency_same_node");
    SoRun::lock(&run.other_node).report(&mut report, "latency_other_node");
    report
        .set("converged", converged)
        .set("final_version", final_version.map(u64::from))
        .set("settle_ms", settle_ms);
    if !converged {
        eprint!("{}", report.human());
        return Err(BenchError::Failed(format!(
            "the replicas did not converge within {} s (settled: {settled})",
            args.settle
        )));
    }
    Ok(report)
}

fn validate(args: &SoArgs) -> Result<(), BenchError> {
    let problem = if args.urls.is_empty() {
        "--url: at least one node URL"
    } else if args.clients < 2 {
        "--clients: at least 2 (one writes, the others are notified)"
    } else if args.batch == 0 {
        "--batch: at least 1"
    } else if !(args.rate > 0.0 && args.rate.is_finite()) {
        "--rate: a positive number of changes per second"
    } else if !(args.duration > 0.0 && args.duration.is_finite()) {
        "--duration: a positive number of seconds"
    } else if !(args.settle > 0.0 && args.settle.is_finite()) {
        "--settle: a positive number of seconds"
    } else {
        return Ok(());
    };
    Err(BenchError::Args(problem.to_owned()))
}

/// Client index → node index (index of the first equal URL): client `i`
/// connects to `urls[i % urls.len()]`.
fn nodes_of(urls: &[String], clients: usize) -> Vec<usize> {
    (0..clients)
        .map(|i| {
            let url = &urls[i % urls.len()];
            urls.iter().position(|u| u == url).unwrap_or(0)
        })
        .collect()
}

fn distinct(nodes: &[usize]) -> usize {
    let mut seen: Vec<usize> = nodes.to_vec();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// Connects every client and uses the object, all at once.
async fn connect_all(args: &SoArgs) -> Result<Vec<(Client, RemoteSharedObject)>, BenchError> {
    let options = ConnectOptions {
        event_capacity: EVENT_CAPACITY,
        ..ConnectOptions::default()
    };
    let joins = (0..args.clients).map(|i| {
        let url = args.urls[i % args.urls.len()].clone();
        let options = options.clone();
        async move {
            let (client, _events) = Client::connect(&url, options)
                .await
                .map_err(|e| BenchError::client(format!("client {i}: connect to {url}"), e))?;
            let so = client
                .shared_object(&args.name, args.persistent)
                .await
                .map_err(|e| BenchError::client(format!("client {i}: use {:?}", args.name), e))?;
            Ok((client, so))
        }
    });
    join_all(joins).await.into_iter().collect()
}

/// Waits until every client has stopped writing, none awaits a `Success`,
/// and every replica shows the same version; `false` after `limit` or when
/// a client's connection ended.
async fn settle(run: &SoRun, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let notified = run.progress_changed.notified();
        if let Some(outcome) = settled(&SoRun::lock(&run.progress)) {
            return outcome;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return false;
        }
    }
}

/// `Some(true)`: settled; `Some(false)`: never will (a client ended);
/// `None`: not yet.
fn settled(progress: &[Option<Progress>]) -> Option<bool> {
    if progress.iter().flatten().any(|p| p.closed) {
        return Some(false);
    }
    let mut versions = progress
        .iter()
        .map(|p| p.filter(|p| p.pending_writes == 0).map(|p| p.version));
    let first = versions.next()??;
    versions.all(|v| v == Some(first)).then_some(true)
}

fn same_replicas(objects: &[RemoteSharedObject]) -> bool {
    let Some(first) = objects.first() else {
        return true;
    };
    let (version, slots) = (first.version(), first.slots());
    objects
        .iter()
        .skip(1)
        .all(|so| so.version() == version && so.slots() == slots)
}

fn add(total: &mut Tally, one: Tally) {
    total.messages_sent += one.messages_sent;
    total.changes_sent += one.changes_sent;
    total.changes_applied += one.changes_applied;
    total.last_applied_us = total.last_applied_us.max(one.last_applied_us);
    total.notifications += one.notifications;
    total.repeats += one.repeats;
    total.foreign += one.foreign;
    total.resyncs += one.resyncs;
    total.errors += one.errors;
    total.dropped_events += one.dropped_events;
    if one.last_error.is_some() {
        total.last_error = one.last_error;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(version: u32, pending_writes: usize) -> Option<Progress> {
        Some(Progress {
            version,
            pending_writes,
            closed: false,
        })
    }

    #[test]
    fn clients_are_spread_round_robin_and_equal_urls_are_one_node() {
        let urls: Vec<String> = ["rtmp://a/x", "rtmp://b/x", "rtmp://a/x"]
            .map(String::from)
            .into();
        assert_eq!(nodes_of(&urls, 5), vec![0, 1, 0, 0, 1]);
        assert_eq!(distinct(&nodes_of(&urls, 5)), 2);
    }

    #[test]
    fn a_run_settles_when_every_replica_shows_one_version_and_nothing_is_pending() {
        assert_eq!(settled(&[at(9, 0), at(9, 0)]), Some(true));
        assert_eq!(settled(&[at(9, 0), at(8, 0)]), None);
        assert_eq!(settled(&[at(9, 1), at(9, 0)]), None);
        assert_eq!(settled(&[at(9, 0), None]), None);
        let closed = Some(Progress {
            version: 9,
            pending_writes: 0,
            closed: true,
        });
        assert_eq!(settled(&[at(9, 0), closed]), Some(false));
    }

    #[test]
    fn arguments_that_describe_no_run_are_refused() {
        let args = SoArgs {
            urls: vec!["rtmp://127.0.0.1/live".into()],
            name: "bench".into(),
            persistent: false,
            clients: 1,
            rate: 100.0,
            batch: 1,
            duration: 1.0,
            settle: 5.0,
            tick_ms: 1,
        };
        assert!(matches!(validate(&args), Err(BenchError::Args(_))));
        assert!(validate(&SoArgs {
            clients: 2,
            ..args.clone()
        })
        .is_ok());
        assert!(validate(&SoArgs {
            batch: 0,
            clients: 2,
            ..args
        })
        .is_err());
    }
}
