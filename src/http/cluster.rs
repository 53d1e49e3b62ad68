//! `GET /api/nodes`: the live nodes of the cluster (from the Redis
//! heartbeats), or this node alone without `--redis`.

use std::sync::Arc;

use actix_web::{get, web, HttpResponse, Responder};

use crate::cluster::node::{ClusterNode, NodeView};

/// How handlers receive the node's cluster side.
pub type Cluster = web::Data<Arc<ClusterNode>>;

#[get("/api/nodes")]
async fn nodes(cluster: Option<Cluster>) -> impl Responder {
    let Some(cluster) = cluster else {
        return HttpResponse::Ok().json(Vec::<NodeView>::new());
    };
    match cluster.nodes().await {
        Ok(nodes) => HttpResponse::Ok().json(nodes),
        Err(error) => HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "error": format!("cannot list the cluster's nodes: {error}"),
        })),
    }
}

/// Registers the cluster routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(nodes);
}
