//! The command line of `ferrocast bench`: one subcommand per scenario.
//!
//! Durations are seconds (fractions allowed), rates are per second, URLs are
//! `rtmp://host:port/app[/room]` (the scenario adds stream and object names).

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// The scenario to run, with its arguments.
#[derive(Debug, Clone, Subcommand)]
pub enum Scenario {
    /// One publisher paced in real time, N players: delivered bitrate, play →
    /// first keyframe, disconnects, drops.
    Fanout(FanoutArgs),
    /// N connected idle clients: server RSS per connection.
    Idle(IdleArgs),
    /// Handshake + connect + createStream + play setups per second.
    Connect(ConnectArgs),
    /// N clients on one SharedObject over one or more nodes: change →
    /// notification latency on other nodes, throughput, convergence.
    So(SoArgs),
    /// Calls per second and round-trip latency: echo, or callClient across
    /// nodes.
    Rpc(RpcArgs),
}

/// `ferrocast bench fanout`.
#[derive(Debug, Clone, Args)]
pub struct FanoutArgs {
    /// Where players connect (`rtmp://host:port/app`).
    #[arg(long, default_value = "rtmp://127.0.0.1:1935/live")]
    pub url: String,
    /// Where the publisher connects (default: `--url`).
    #[arg(long)]
    pub publish_url: Option<String>,
    /// The stream name.
    #[arg(long, default_value = "bench")]
    pub stream: String,
    /// How many players.
    #[arg(long, default_value_t = 100)]
    pub players: usize,
    /// Players joining per second.
    #[arg(long, default_value_t = 1000.0)]
    pub join_rate: f64,
    /// How long to measure once every player has joined, in seconds.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Publish this FLV file (looped) instead of the synthetic stream.
    #[arg(long)]
    pub flv: Option<PathBuf>,
    /// Synthetic stream: video+audio bitrate in kbit/s.
    #[arg(long, default_value_t = 1000)]
    pub bitrate_kbps: u32,
    /// Synthetic stream: frames per second.
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Synthetic stream: seconds between keyframes.
    #[arg(long, default_value_t = 2.0)]
    pub gop: f64,
    /// Players read their sockets every this many milliseconds (batched
    /// reads); 0 reads continuously.
    #[arg(long, default_value_t = 50)]
    pub read_interval_ms: u64,
    /// The server's process id: its CPU time and RSS are sampled from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// A Ferrocast metrics page (`http://host:port/metrics`): its drop and
    /// eviction counters are reported.
    #[arg(long)]
    pub metrics_url: Option<String>,
    /// Seconds between the last join and the measurement window (the late
    /// joiners' GOP bursts stay out of the window).
    #[arg(long, default_value_t = 1.0)]
    pub settle: f64,
    /// Seconds a player may take from TCP connect to `NetStream.Play.Start`.
    #[arg(long, default_value_t = 10.0)]
    pub setup_timeout: f64,
}

/// `ferrocast bench idle`.
#[derive(Debug, Clone, Args)]
pub struct IdleArgs {
    /// Where clients connect (`rtmp://host:port/app`).
    #[arg(long, default_value = "rtmp://127.0.0.1:1935/live")]
    pub url: String,
    /// How many idle connections.
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Connections opened per second.
    #[arg(long, default_value_t = 2000.0)]
    pub connect_rate: f64,
    /// How long to hold them once all are up, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub hold: f64,
    /// The server's process id: RSS is read from /proc/PID/status.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Seconds a client may take from TCP connect to the `connect` answer.
    #[arg(long, default_value_t = 10.0)]
    pub setup_timeout: f64,
}

/// `ferrocast bench connect`.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Where clients connect (`rtmp://host:port/app`).
    #[arg(long, default_value = "rtmp://127.0.0.1:1935/live")]
    pub url: String,
    /// The stream each setup plays.
    #[arg(long, default_value = "bench")]
    pub stream: String,
    /// Setups in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Use the digest handshake (as Flash Player and ffmpeg) instead of the
    /// simple one.
    #[arg(long)]
    pub digest_handshake: bool,
    /// Seconds one setup may take.
    #[arg(long, default_value_t = 10.0)]
    pub setup_timeout: f64,
}

/// `ferrocast bench so`.
#[derive(Debug, Clone, Args)]
pub struct SoArgs {
    /// Node URLs (`rtmp://host:port/app`, repeat or comma-separate); clients
    /// are spread over them round-robin.
    #[arg(
        long = "url",
        value_delimiter = ',',
        default_value = "rtmp://127.0.0.1:1935/live"
    )]
    pub urls: Vec<String>,
    /// The SharedObject's name.
    #[arg(long, default_value = "bench")]
    pub name: String,
    /// Use the persistent object.
    #[arg(long)]
    pub persistent: bool,
    /// How many clients.
    #[arg(long, default_value_t = 10)]
    pub clients: usize,
    /// Changes per second, all clients together.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Slot changes per message (batching).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// How long to write, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// After writing, how long the replicas may take to converge, in
    /// seconds (past it the run fails).
    #[arg(long, default_value_t = 10.0)]
    pub settle: f64,
    /// Pacing tick in milliseconds: the changes due are sent at each tick.
    #[arg(long, default_value_t = 1)]
    pub tick_ms: u64,
}

/// `ferrocast bench rpc`.
#[derive(Debug, Clone, Args)]
pub struct RpcArgs {
    /// Where the calling clients connect (`rtmp://host:port/app`).
    #[arg(long, default_value = "rtmp://127.0.0.1:1935/live")]
    pub url: String,
    /// `callClient` mode: the called client connects here (another node's
    /// URL for a cross-node figure); unset measures `echo`.
    #[arg(long)]
    pub peer_url: Option<String>,
    /// Calling clients.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Calls per second, all clients together.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// How long to call, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Pacing tick in milliseconds: the calls due are made at each tick.
    #[arg(long, default_value_t = 1)]
    pub tick_ms: u64,
    /// Most calls one client has awaiting an answer; past it the client
    /// falls behind (the backlog is reported).
    #[arg(long, default_value_t = 256)]
    pub max_in_flight: usize,
}
