//! The HTTP side of a node: health, Prometheus metrics, and the admin lists of
//! streams and connections.

pub mod cluster;
pub mod shared_objects;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use actix_web::{get, web, HttpResponse, Responder};
use serde::Serialize;

use crate::cluster::node::ClusterStatus;
use crate::directory::Directory;
use crate::metrics::Metrics;

/// What the handlers read: fixed facts about the node plus live counters.
pub struct NodeState {
    /// This node's id.
    pub node_id: String,
    /// The bound RTMP address (after port 0 was resolved).
    pub rtmp_addr: SocketAddr,
    /// The bound HTTP address.
    pub http_addr: SocketAddr,
    /// When the node started.
    pub started: Instant,
    /// Live counters.
    pub metrics: Arc<Metrics>,
    /// Live connections and streams.
    pub directory: Arc<Directory>,
}

#[derive(Serialize)]
struct Health<'a> {
    status: &'a str,
    node_id: &'a str,
    rtmp_addr: String,
    http_addr: String,
    cluster: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    uptime_secs: u64,
}

#[get("/health")]
async fn health(state: web::Data<NodeState>, cluster: Option<cluster::Cluster>) -> impl Responder {
    let status = cluster.map_or(ClusterStatus::Single, |c| c.status());
    let reason = match &status {
        ClusterStatus::Degraded { reason } => Some(format!("Redis is unreachable: {reason}")),
        _ => None,
    };
    HttpResponse::Ok().json(Health {
        status: if reason.is_some() { "degraded" } else { "ok" },
        node_id: &state.node_id,
        rtmp_addr: state.rtmp_addr.to_string(),
        http_addr: state.http_addr.to_string(),
        cluster: status.as_str(),
        reason,
        uptime_secs: state.started.elapsed().as_secs(),
    })
}

#[get("/metrics")]
async fn metrics(state: web::Data<NodeState>, cluster: Option<cluster::Cluster>) -> impl Responder {
    let mut body = state.metrics.render();
    if let Some(cluster) = cluster {
        body.push_str(&cluster.render_metrics());
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}

#[get("/api/streams")]
async fn streams(state: web::Data<NodeState>) -> impl Responder {
    HttpResponse::Ok().json(state.directory.streams())
}

#[get("/api/connections")]
async fn connections(state: web::Data<NodeState>) -> impl Responder {
    HttpResponse::Ok().json(state.directory.connections())
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(health)
        .service(metrics)
        .service(streams)
        .service(connections)
        .configure(shared_objects::routes)
        .configure(cluster::routes);
}
