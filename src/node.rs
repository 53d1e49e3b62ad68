//! A running node: binds the RTMP and HTTP listeners (port 0 picks a free
//! port; the bound addresses are logged and reported by `GET /health`), starts
//! one arbiter per core for connections, accepts until SIGINT/SIGTERM, then
//! closes every connection with a status and stops.
//!
//! [`run`] is what `ferrocast serve` runs; [`run_with`] serves the
//! [`Applications`] of an embedding program; [`serve`] also reports the bound
//! addresses and stops when told (in-process nodes, tests).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::{web, App, HttpServer};
use tracing::{info, warn};

use crate::actors::cluster::spawn_router;
use crate::actors::connection::{
    ConnectionActor, ConnectionDeps, ConnectionTiming, LiveConnections, SharedObjectDeps,
};
use crate::actors::messages::Shutdown;
use crate::actors::registry::{RegistryActor, StreamCluster};
use crate::actors::shared_objects::SharedObjectsActor;
use crate::app::{Applications, Server};
use crate::cluster::node::ClusterNode;
use crate::directory::Directory;
use crate::http::{self, NodeState};
use crate::metrics::Metrics;
use crate::protocol::session::SessionConfig;
use crate::settings::Settings;
use crate::sharedobject::SharedObjectLimits;

/// How long connections get to send their closing status at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Where a node listens, once bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundNode {
    /// The node's id.
    pub node_id: String,
    /// The RTMP listener's address.
    pub rtmp_addr: SocketAddr,
    /// The HTTP listener's address.
    pub http_addr: SocketAddr,
}

/// Runs the node with the default application (restricted to
/// `[rtmp] applications` when set) until SIGINT/SIGTERM. Call inside an
/// actix `System`.
///
/// # Errors
/// When a listener cannot be bound.
pub async fn run(settings: Settings) -> std::io::Result<()> {
    let applications = Applications::from_settings(&settings);
    run_with(settings, applications).await
}

/// Runs the node serving `applications` until SIGINT/SIGTERM (`[rtmp]
/// applications` is not consulted: the embedder decides). Call inside an
/// actix `System`.
///
/// # Errors
/// When a listener cannot be bound.
pub async fn run_with(settings: Settings, applications: Applications) -> std::io::Result<()> {
    serve(settings, applications, |_| {}, shutdown_signal()).await
}

/// Runs the node serving `applications`: calls `on_bound` once the listeners
/// are bound, then serves until `stop` resolves and shuts down as on a
/// signal. Installs no signal handler. Call inside an actix `System`.
///
/// # Errors
/// When a listener cannot be bound.
pub async fn serve(
    settings: Settings,
    applications: Applications,
    on_bound: impl FnOnce(&BoundNode),
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let node_id = settings
        .cluster
        .node_id
        .clone()
        .unwrap_or_else(default_node_id);
    let rtmp = tokio::net::TcpListener::bind(settings.rtmp.listen).await?;
    let rtmp_addr = rtmp.local_addr()?;
    let http_listener = std::net::TcpListener::bind(settings.http.listen)?;
    let http_addr = http_listener.local_addr()?;
    let metrics = Arc::new(Metrics::default());
    let directory = Arc::new(Directory::default());
    // Persistent SharedObjects live in the embedded store under --data-dir.
    let embedded = Arc::new(
        crate::store::embedded::EmbeddedStore::open(
            &settings.store.data_dir,
            Duration::from_millis(settings.shared_objects.flush_interval_ms),
        )
        .map_err(std::io::Error::other)?,
    );
    // The cluster side: a LocalHub of one without --redis; with it, a
    // RedisBus that connects in the background (never blocks startup).
    let (cluster, cluster_inputs) = ClusterNode::start(&settings, &node_id, rtmp_addr, http_addr)
        .map_err(std::io::Error::other)?;
    let so_store: Option<Arc<dyn crate::store::SoStore>> = Some(embedded.clone());
    // With --redis, SharedObjects (persistent or not) live in Redis.
    let so_cluster = match &settings.cluster.redis_url {
        Some(url) => {
            let store = crate::store::redis::RedisSoStore::connect(
                url,
                cluster.keys().clone(),
                settings.shared_objects.history,
            )
            .map_err(std::io::Error::other)?;
            let channels = crate::actors::shared_object::SoChannels::start(
                cluster.bus().clone(),
                store.clone(),
                cluster.node_id().clone(),
            );
            Some(crate::actors::shared_object::ClusterLink {
                store,
                node: cluster.clone(),
                channels,
            })
        }
        None => None,
    };
    let so_store = match &so_cluster {
        Some(link) => Some(Arc::new(link.store.clone()) as Arc<dyn crate::store::SoStore>),
        None => so_store,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let arbiters: Vec<Arbiter> = (0..cores).map(|_| Arbiter::new()).collect();
    let so_registry =
        SharedObjectsActor::new(so_store.clone(), so_limits(&settings), metrics.clone())
            .with_arbiters(arbiters.iter().map(Arbiter::handle).collect());
    let so_registry = match so_cluster {
        Some(link) => so_registry.with_cluster(link),
        None => so_registry,
    }
    .start();

    let state = web::Data::new(NodeState {
        node_id: node_id.clone(),
        rtmp_addr,
        http_addr,
        started: Instant::now(),
        metrics: metrics.clone(),
        directory: directory.clone(),
    });
    let so_data = web::Data::new(so_registry.clone());
    let cluster_data = web::Data::new(cluster.clone());
    let http = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(so_data.clone())
            .app_data(cluster_data.clone())
            .configure(http::routes)
    })
    .workers(1)
    .disable_signals()
    .listen(http_listener)?
    .run();
    let http_handle = http.handle();
    actix_rt::spawn(http);

    let fanout = settings.fanout;
    // Open connections, for closing them at shutdown: each registers itself
    // when it starts and removes itself when it stops.
    let live: LiveConnections = Arc::default();
    let deps = Arc::new(ConnectionDeps {
        registry: registry(fanout, &metrics, &directory, &cluster),
        metrics,
        session: Arc::new(SessionConfig {
            limits: settings.protocol_limits(),
            ..SessionConfig::default()
        }),
        fanout,
        timing: timing(&settings),
        directory,
        applications: Arc::new(applications),
        calls: settings.calls.clone(),
        live: live.clone(),
        server: Server {
            node_id: node_id.as_str().into(),
            shared_objects: Some(so_registry.clone()),
            clients: Arc::default(),
            call_timeout_ms: settings.calls.timeout_ms,
            cluster: Some(cluster.clone()),
        },
        shared_objects: SharedObjectDeps {
            registry: so_registry.clone(),
            max_per_connection: settings.shared_objects.max_per_connection,
        },
    });
    spawn_router(
        deps.server.clone(),
        cluster.clone(),
        deps.registry.clone(),
        cluster_inputs,
    );
    info!(%node_id, rtmp = %rtmp_addr, http = %http_addr, arbiters = cores, "ferrocast listening");
    on_bound(&BoundNode {
        node_id: node_id.clone(),
        rtmp_addr,
        http_addr,
    });

    let shutdown = stop;
    tokio::pin!(shutdown);
    let mut next_id: u64 = 0;
    loop {
        tokio::select! {
            accepted = rtmp.accept() => {
                let (socket, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => { warn!(error = %e, "accept failed"); continue; }
                };
                next_id += 1;
                let id = next_id;
                let socket = match socket.into_std() {
                    Ok(s) => s,
                    Err(e) => { warn!(error = %e, "cannot hand over a socket"); continue; }
                };
                let deps = deps.clone();
                let arbiter = &arbiters[(id as usize) % arbiters.len()];
                arbiter.spawn_fn(move || match tokio::net::TcpStream::from_std(socket) {
                    Ok(socket) => {
                        ConnectionActor::start_for(id, peer, socket, deps);
                    }
                    Err(e) => warn!(error = %e, "cannot register a socket"),
                });
            }
            () = &mut shutdown => break,
        }
    }

    info!("shutting down: closing connections");
    drop(rtmp);
    for addr in live.lock().unwrap_or_else(|p| p.into_inner()).values() {
        addr.do_send(Shutdown);
    }
    tokio::time::sleep(SHUTDOWN_GRACE).await;
    // The admin API can still change objects until it stopped: flush after.
    http_handle.stop(true).await;
    if let Some(store) = &so_store {
        if let Err(e) = store.flush().await {
            warn!(error = %e, "flushing the SharedObject store failed");
        }
    }
    // Close explicitly (final commit, clean-shutdown mark) rather than on
    // the last drop, which may happen on any thread or not at all.
    let closing = embedded.clone();
    match tokio::task::spawn_blocking(move || closing.close()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => warn!(error = %e, "closing the SharedObject store failed"),
        Err(e) => warn!(error = %e, "closing the SharedObject store panicked"),
    }
    cluster.leave().await;
    for arbiter in arbiters {
        arbiter.stop();
    }
    info!("stopped");
    Ok(())
}

/// The stream registry; with `--redis`, cluster-aware (leases, relays).
fn registry(
    fanout: crate::fanout::FanoutLimits,
    metrics: &Arc<Metrics>,
    directory: &Arc<Directory>,
    cluster: &Arc<ClusterNode>,
) -> Addr<RegistryActor> {
    let registry = RegistryActor::new(fanout, metrics.clone(), directory.clone());
    match StreamCluster::new(cluster.clone()) {
        Some(streams) => registry.with_cluster(streams).start(),
        None => registry.start(),
    }
}

/// SharedObject bounds from `[shared_objects]` and `[limits]`.
fn so_limits(settings: &Settings) -> SharedObjectLimits {
    let so = &settings.shared_objects;
    SharedObjectLimits {
        max_slots: so.max_slots,
        max_slot_bytes: so.max_slot_bytes,
        max_ops_per_message: so.max_events_per_message,
        // A full sync sends the whole object: it must fit in what a
        // connection may leave unread.
        max_object_bytes: so
            .max_object_bytes
            .min(settings.rtmp.max_unwritten_bytes / 2),
        history: so.history,
        history_max_bytes: so.history_max_bytes,
        lossy_version_window: if so.flush_interval_ms > 0 {
            crate::sharedobject::LOSSY_VERSION_WINDOW
        } else {
            0
        },
        ..SharedObjectLimits::default()
    }
}

/// Connection timing from the `[rtmp]` settings (0 disables ping and idle).
fn timing(settings: &Settings) -> ConnectionTiming {
    let ms = |v: u64| (v > 0).then(|| Duration::from_millis(v));
    ConnectionTiming {
        handshake_timeout: Duration::from_millis(settings.rtmp.handshake_timeout_ms),
        ping_interval: ms(settings.rtmp.ping_interval_ms),
        idle_timeout: ms(settings.rtmp.idle_timeout_ms),
        max_unwritten_bytes: settings.rtmp.max_unwritten_bytes,
        write_coalesce: Duration::from_millis(settings.rtmp.write_coalesce_ms),
        tcp_nodelay: settings.rtmp.tcp_nodelay,
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled: a signal that arrives while
/// the node is still starting (opening the store, binding) stops it cleanly
/// instead of killing it with its store unclosed.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        match (int, term) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            (Ok(mut only), Err(e)) | (Err(e), Ok(mut only)) => {
                warn!(error = %e, "cannot watch one of SIGINT/SIGTERM; the other still stops the node");
                only.recv().await;
            }
            (Err(e), Err(_)) => {
                warn!(error = %e, "cannot watch SIGINT or SIGTERM; the node runs until killed");
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Hostname plus a random suffix, so two nodes on one host differ.
fn default_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "ferrocast".to_string());
    format!("{host}-{:06x}", rand::random::<u32>() & 0xFF_FFFF)
}
