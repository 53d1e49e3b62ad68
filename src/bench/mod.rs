//! `ferrocast bench <scenario>`: the project's own load tool (docs/BENCHMARKS.md).
//!
//! Every scenario drives real RTMP connections against running nodes from one
//! process on a current-thread tokio runtime (one core: pin it with
//! `taskset`), then prints a human summary and one JSON line with every
//! figure ([`Report`]).
//!
//! # Layout
//!
//! - `args.rs`: the command line of each scenario ([`Scenario`]).
//! - `report.rs`: [`Report`], the figures of one run, human and JSON.
//! - `stats.rs`: [`Samples`], latency samples and their percentiles.
//! - one file per scenario: `fanout.rs`, `idle.rs`, `connect.rs`, `so.rs`,
//!   `rpc.rs`.
//! - light players for fanout/idle/connect: `walker/` (chunk headers only,
//!   media skipped uncopied), `session.rs` (connect → play on the walker),
//!   `player.rs` (batched reads), `keyframe.rs`; the publisher:
//!   `publisher.rs`, `synth.rs` (synthetic H.264/AAC); `procstat.rs` (/proc,
//!   /metrics), `figures.rs`.
//! - SharedObject load: `so_client.rs`, `so_pacer.rs` (one timer paces every
//!   client), `so_latency.rs` (histogram).

mod args;
mod connect;
mod fanout;
mod figures;
mod idle;
pub mod keyframe;
mod player;
mod procstat;
mod publisher;
mod report;
mod rpc;
mod session;
mod so;
mod so_client;
mod so_latency;
mod so_pacer;
mod stats;
mod synth;
pub mod walker;

pub use args::{ConnectArgs, FanoutArgs, IdleArgs, RpcArgs, Scenario, SoArgs};
pub use report::{Report, Value};
pub use stats::Samples;

use crate::client::ClientError;

/// Why a benchmark run failed (as opposed to measuring something bad, which
/// is a figure in the [`Report`]).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The tokio runtime could not be built.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// An RTMP client operation failed where the scenario cannot go on.
    #[error("{context}: {source}")]
    Client {
        /// What the scenario was doing.
        context: String,
        /// The client library's error.
        #[source]
        source: ClientError,
    },
    /// A socket or file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the scenario was doing.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The arguments do not describe a runnable scenario.
    #[error("invalid arguments: {0}")]
    Args(String),
    /// The run went wrong in a way the scenario checks (e.g. SharedObject
    /// replicas that never converged).
    #[error("{0}")]
    Failed(String),
}

impl BenchError {
    /// Wraps a client error with what the scenario was doing.
    pub fn client(context: impl Into<String>, source: ClientError) -> Self {
        Self::Client {
            context: context.into(),
            source,
        }
    }

    /// Wraps an I/O error with what the scenario was doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// Runs one scenario to the end on a fresh current-thread runtime.
///
/// # Errors
///
/// [`BenchError`] when the scenario cannot run (no server, bad arguments,
/// a check that failed); measured figures, good or bad, are in the report.
pub fn run(scenario: Scenario) -> Result<Report, BenchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    runtime.block_on(async move {
        match scenario {
            Scenario::Fanout(args) => fanout::run(args).await,
            Scenario::Idle(args) => idle::run(args).await,
            Scenario::Connect(args) => connect::run(args).await,
            Scenario::So(args) => so::run(args).await,
            Scenario::Rpc(args) => rpc::run(args).await,
        }
    })
}
