//! The `ferrocast` binary: `ferrocast serve` (or bare `ferrocast`) runs a node.
//!
//! The command line is a contract (docs/config.md, DESIGN.md §3).

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ferrocast::settings::{self, Overrides, Settings};

/// A clustered RTMP server: remote calls, remote SharedObjects and live streams.
#[derive(Debug, Parser)]
#[command(name = "ferrocast", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Load-test running nodes (docs/BENCHMARKS.md): prints a summary and
    /// one JSON line.
    Bench {
        #[command(subcommand)]
        scenario: ferrocast::bench::Scenario,
        /// Print only the JSON line.
        #[arg(long, global = true)]
        json: bool,
    },
}

/// Flags of `ferrocast serve`; each also has a `FERROCAST__...` environment form.
#[derive(Debug, Args, Clone)]
struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, value_name = "PATH")]
    config: Option<std::path::PathBuf>,
    /// RTMP listen address (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    rtmp: Option<std::net::SocketAddr>,
    /// HTTP admin/health listen address (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    http: Option<std::net::SocketAddr>,
    /// Redis URL; unset runs a single node with embedded defaults.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// This node's id in the cluster.
    #[arg(long, value_name = "ID")]
    node_id: Option<String>,
    /// Where persistent SharedObjects are stored.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// Log format (default: human).
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

impl ServeArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            rtmp_listen: self.rtmp,
            http_listen: self.http,
            redis_url: self.redis.clone(),
            node_id: self.node_id.clone(),
            data_dir: self.data_dir.clone(),
            log_format: self.log_format.map(|f| match f {
                LogFormat::Human => settings::LogFormat::Human,
                LogFormat::Json => settings::LogFormat::Json,
            }),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        Some(Command::Bench { scenario, json }) => return bench(scenario, json),
        None => cli.serve,
    };
    let settings = match Settings::load(args.config.as_deref(), &args.overrides()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ferrocast: {e}");
            return ExitCode::from(2);
        }
    };
    ferrocast::telemetry::init(settings.log.format);
    match actix_rt::System::new().block_on(ferrocast::node::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "node failed");
            ExitCode::FAILURE
        }
    }
}

/// `ferrocast bench`: runs one scenario, prints its report (exit 1 when the
/// run failed).
fn bench(scenario: ferrocast::bench::Scenario, json: bool) -> ExitCode {
    ferrocast::telemetry::init(settings::LogFormat::Human);
    match ferrocast::bench::run(scenario) {
        Ok(report) => {
            if !json {
                print!("{}", report.human());
            }
            println!("{}", report.json_line());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ferrocast bench: {e}");
            ExitCode::FAILURE
        }
    }
}
