//! `ferrocast bench rpc`: calls per second and round-trip latency.
//!
//! - `echo` (default): `--clients` callers at `--url` call
//!   `echo(MICROS)` together at `--rate` calls/s.
//! - `callClient` (with `--peer-url`): one called client connects at
//!   `--peer-url` (another node for a cross-node figure), learns its id with
//!   `getClientId`, and answers every `ping(MICROS)` at once with its
//!   argument; the callers call `callClient(peerId, "ping", MICROS)`.
//!
//! Calls are paced open-loop by [`Pacer`]; each caller keeps up to
//! `--max-in-flight` calls awaiting answers. A call's round trip runs from
//! just before it is queued to the client library until its answer is
//! back; an answer that is not the value sent counts as an error.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use futures_util::stream::{FuturesUnordered, StreamExt};

use super::so_client::SoRun;
use super::so_latency::Latencies;
use super::so_pacer::{take_all, Credits, Pacer};
use super::{BenchError, Report, RpcArgs};
use crate::client::{Client, ClientError, ConnectOptions, Event, Events};
use crate::protocol::amf::AmfValue;

/// Server → client calls the called client may have queued.
const PEER_EVENT_CAPACITY: usize = 64 * 1024;

/// What one caller counted.
#[derive(Debug, Default)]
struct CallerTally {
    calls: u64,
    errors: u64,
    last_error: Option<String>,
    last_answer: Option<Instant>,
}

/// Runs the scenario.
///
/// # Errors
///
/// [`BenchError::Args`] for arguments that describe no run;
/// [`BenchError::Client`] when a client cannot connect or the called client
/// cannot learn its id.
pub(super) async fn run(args: RpcArgs) -> Result<Report, BenchError> {
    validate(&args)?;
    let peer = match &args.peer_url {
        Some(url) => Some(Peer::start(url).await?),
        None => None,
    };
    let callers = join_all((0..args.clients).map(|i| {
        let url = args.url.clone();
        async move {
            Client::connect(&url, ConnectOptions::default())
                .await
                .map(|(client, _events)| client)
                .map_err(|e| BenchError::client(format!("caller {i}: connect to {url}"), e))
        }
    }))
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;

    let epoch = Instant::now();
    let rtt = Arc::new(Mutex::new(Latencies::default()));
    let pacer = Pacer::new(
        args.clients,
        args.rate,
        Duration::from_secs_f64(args.duration),
        Duration::from_millis(args.tick_ms),
    );
    let target = peer.as_ref().map(|p| p.id.clone());
    let tasks: Vec<_> = callers
        .iter()
        .enumerate()
        .map(|(i, client)| {
            tokio::spawn(call_loop(
                client.clone(),
                target.clone(),
                pacer.credits(i),
                args.max_in_flight.max(1),
                epoch,
                rtt.clone(),
            ))
        })
        .collect();
    let paced = pacer.run().await;
    let mut tally = CallerTally::default();
    for task in tasks {
        let one = task
            .await
            .map_err(|e| BenchError::Failed(format!("a caller task failed: {e}")))?;
        tally.calls += one.calls;
        tally.errors += one.errors;
        tally.last_error = one.last_error.or(tally.last_error);
        tally.last_answer = tally.last_answer.max(one.last_answer);
    }
    let answered = match peer {
        Some(peer) => Some(peer.stop().await),
        None => None,
    };
    join_all(callers.iter().map(Client::close)).await;

    let elapsed_s = tally
        .last_answer
        .map_or(args.duration, |t| t.duration_since(epoch).as_secs_f64());
    let mut report = Report::new("rpc");
    report
        .set(
            "mode",
            if target.is_some() {
                "callClient"
            } else {
                "echo"
            },
        )
        .set("url", args.url.clone())
        .set("peer_url", args.peer_url.clone())
        .set("clients", args.clients)
        .set("target_calls_per_s", args.rate)
        .set("duration_s", args.duration)
        .set("calls", tally.calls)
        .set("calls_per_s", tally.calls as f64 / elapsed_s)
        .set("calls_not_sent", paced.not_started)
        .set("errors", tally.errors)
        .set("last_error", tally.last_error)
        .set("peer_answered", answered);
    SoRun::lock(&rtt).report(&mut report, "rtt");
    Ok(report)
}

fn validate(args: &RpcArgs) -> Result<(), BenchError> {
    let problem = if args.clients == 0 {
        "--clients: at least 1"
    } else if !(args.rate > 0.0 && args.rate.is_finite()) {
        "--rate: a positive number of calls per second"
    } else if !(args.duration > 0.0 && args.duration.is_finite()) {
        "--duration: a positive number of seconds"
    } else {
        return Ok(());
    };
    Err(BenchError::Args(problem.to_owned()))
}

/// One caller: makes the calls the pacer hands it, up to `max_in_flight`
/// at once, until the pacer closes and every answer is in.
async fn call_loop(
    client: Client,
    target: Option<String>,
    credits: Credits,
    max_in_flight: usize,
    epoch: Instant,
    rtt: Arc<Mutex<Latencies>>,
) -> CallerTally {
    let mut tally = CallerTally::default();
    let mut in_flight = FuturesUnordered::new();
    let mut backlog = 0usize;
    let mut paced = true;
    loop {
        while backlog > 0 && in_flight.len() < max_in_flight {
            backlog -= 1;
            in_flight.push(one_call(client.clone(), target.clone(), epoch));
        }
        tokio::select! {
            credits = take_all(&credits), if paced && backlog == 0 => match credits {
                Some(n) => backlog = n,
                None => paced = false,
            },
            Some((micros, outcome)) = in_flight.next(), if !in_flight.is_empty() => {
                match outcome {
                    Ok(()) => {
                        tally.calls += 1;
                        tally.last_answer = Some(Instant::now());
                        SoRun::lock(&rtt).record(micros);
                    }
                    Err(error) => {
                        tally.errors += 1;
                        tally.last_error = Some(error);
                    }
                }
            }
            else => break,
        }
    }
    tally
}

/// One call: `(round trip in µs, Ok or why not)`.
async fn one_call(
    client: Client,
    target: Option<String>,
    epoch: Instant,
) -> (u64, Result<(), String>) {
    let start = Instant::now();
    let sent = AmfValue::Number(start.duration_since(epoch).as_micros() as f64);
    let answer = match target {
        None => client.call("echo", vec![sent.clone()]).await,
        Some(id) => {
            let args = vec![AmfValue::string(id), AmfValue::string("ping"), sent.clone()];
            client.call("callClient", args).await
        }
    };
    let micros = start.elapsed().as_micros() as u64;
    let outcome = match answer {
        Ok(values) if values.first() == Some(&sent) => Ok(()),
        Ok(values) => Err(format!("unexpected answer {values:?}")),
        Err(error) => Err(error.to_string()),
    };
    (micros, outcome)
}

/// The called client of `callClient` mode.
struct Peer {
    id: String,
    client: Client,
    task: tokio::task::JoinHandle<u64>,
}

impl Peer {
    async fn start(url: &str) -> Result<Self, BenchError> {
        let options = ConnectOptions {
            event_capacity: PEER_EVENT_CAPACITY,
            ..ConnectOptions::default()
        };
        let (client, events) = Client::connect(url, options)
            .await
            .map_err(|e| BenchError::client(format!("called client: connect to {url}"), e))?;
        let id = client
            .call_one("getClientId", Vec::new())
            .await
            .map_err(|e| BenchError::client("called client: getClientId", e))?;
        let id = id.as_str().map(str::to_owned).ok_or_else(|| {
            BenchError::client(
                "called client: getClientId",
                ClientError::CallFailed {
                    method: "getClientId".into(),
                    info: id.clone(),
                },
            )
        })?;
        let task = tokio::spawn(answer_calls(events));
        Ok(Self { id, client, task })
    }

    /// Closes the called client; how many calls it answered.
    async fn stop(self) -> u64 {
        let _ = self.client.close().await;
        self.task.await.unwrap_or(0)
    }
}

/// Answers every call with its arguments, at once, until the connection
/// ends.
async fn answer_calls(mut events: Events) -> u64 {
    let mut answered = 0;
    while let Some(event) = events.next().await {
        // The stream ends after `Event::Closed`.
        if let Event::Call { args, reply, .. } = event {
            answered += u64::from(reply.result(args).await.is_ok());
        }
    }
    answered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_that_describe_no_run_are_refused() {
        let args = RpcArgs {
            url: "rtmp://127.0.0.1/live".into(),
            peer_url: None,
            clients: 0,
            rate: 100.0,
            duration: 1.0,
            tick_ms: 1,
            max_in_flight: 16,
        };
        assert!(matches!(validate(&args), Err(BenchError::Args(_))));
        assert!(validate(&RpcArgs {
            clients: 1,
            ..args.clone()
        })
        .is_ok());
        assert!(validate(&RpcArgs {
            clients: 1,
            rate: 0.0,
            ..args
        })
        .is_err());
    }
}
