//! The SharedObject admin API.
//!
//! - `GET /api/shared-objects`: every object (scope, name, persistent,
//!   version, slots, subscribers).
//! - `GET /api/shared-objects/{scope}/{name}`: version and slots (JSON, with
//!   the AMF↔JSON mapping of `docs/protocol/amf-serde.md`).
//! - `GET | PUT | DELETE /api/shared-objects/{scope}/{name}/{slot}`: read,
//!   set (JSON body = the value), remove one slot.
//! - `DELETE /api/shared-objects/{scope}/{name}`: clear every slot.
//! - `POST /api/shared-objects/{scope}/{name}/send`: `{"method": "...",
//!   "args": [...]}` to every subscriber.
//!
//! The scope is one path segment: a scope with rooms is percent-encoded
//! (`live%2Froom1`). `?persistent=false` addresses the non-persistent object
//! of that name; the default is the persistent one. In a cluster, a GET of
//! a non-persistent object used only on other nodes reads it from Redis
//! (`"subscribers": 0`); writes to it need a local user. Unknown objects are 404,
//! bad input 400 with `{"error": ...}`, a store failure 503.

use actix::Addr;
use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::de::DeserializeSeed;
use serde::Deserialize;
use serde_json::json;

use crate::actors::shared_object::{AdminAnswer, AdminOp, SoApiError};
use crate::actors::shared_objects::{AdminSharedObject, ListSharedObjects, SharedObjectsActor};
use crate::app::SharedObjectRef;
use crate::protocol::amf::convert::{AmfValueSeed, DEFAULT_MAX_SERDE_DEPTH};
use crate::protocol::amf::AmfValue;
use crate::sharedobject::Operation;

type Registry = web::Data<Addr<SharedObjectsActor>>;

#[derive(Deserialize)]
struct Persistence {
    persistent: Option<bool>,
}

fn key(scope: String, name: String, q: &Persistence) -> SharedObjectRef {
    SharedObjectRef {
        scope: scope.trim_matches('/').to_string(),
        name,
        persistent: q.persistent.unwrap_or(true),
    }
}

fn error(status: actix_web::http::StatusCode, message: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message.to_string() }))
}

fn api_error(e: SoApiError) -> HttpResponse {
    use actix_web::http::StatusCode as S;
    match e {
        SoApiError::NotFound => error(S::NOT_FOUND, e),
        SoApiError::Refused(r) => {
            HttpResponse::BadRequest().json(json!({ "error": r.description, "code": r.code }))
        }
        _ => error(S::SERVICE_UNAVAILABLE, e),
    }
}

async fn admin(
    registry: &Registry,
    key: SharedObjectRef,
    op: AdminOp,
) -> Result<AdminAnswer, SoApiError> {
    registry
        .send(AdminSharedObject { key, op })
        .await
        .unwrap_or(Err(SoApiError::Unavailable))
}

fn parse_value(body: &[u8]) -> Result<AmfValue, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    AmfValueSeed::new(DEFAULT_MAX_SERDE_DEPTH)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| format!("bad JSON value: {e}"))
}

fn json_of(value: &AmfValue) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

#[get("/api/shared-objects")]
async fn list(registry: Registry) -> HttpResponse {
    match registry.send(ListSharedObjects).await {
        Ok(rows) => HttpResponse::Ok().json(rows),
        Err(e) => error(actix_web::http::StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

#[get("/api/shared-objects/{scope}/{name}")]
async fn get_object(
    registry: Registry,
    path: web::Path<(String, String)>,
    q: web::Query<Persistence>,
) -> HttpResponse {
    let (scope, name) = path.into_inner();
    let key = key(scope, name, &q);
    match admin(&registry, key.clone(), AdminOp::Get).await {
        Ok(AdminAnswer::Snapshot(s)) => {
            let slots: serde_json::Map<String, serde_json::Value> = s
                .slots
                .iter()
                .map(|(k, v)| (k.clone(), json_of(v)))
                .collect();
            HttpResponse::Ok().json(json!({
                "scope": key.scope, "name": key.name, "persistent": key.persistent,
                "version": s.version, "subscribers": s.subscribers, "slots": slots,
            }))
        }
        Ok(_) => api_error(SoApiError::Unavailable),
        Err(e) => api_error(e),
    }
}

#[get("/api/shared-objects/{scope}/{name}/{slot}")]
async fn get_slot(
    registry: Registry,
    path: web::Path<(String, String, String)>,
    q: web::Query<Persistence>,
) -> HttpResponse {
    let (scope, name, slot) = path.into_inner();
    match admin(&registry, key(scope, name, &q), AdminOp::Get).await {
        Ok(AdminAnswer::Snapshot(s)) => match s.slots.iter().find(|(k, _)| *k == slot) {
            Some((_, v)) => HttpResponse::Ok()
                .json(json!({ "slot": slot, "version": s.version, "value": json_of(v) })),
            None => error(actix_web::http::StatusCode::NOT_FOUND, "no such slot"),
        },
        Ok(_) => api_error(SoApiError::Unavailable),
        Err(e) => api_error(e),
    }
}

async fn apply(registry: &Registry, key: SharedObjectRef, ops: Vec<Operation>) -> HttpResponse {
    match admin(registry, key, AdminOp::Apply(ops)).await {
        Ok(AdminAnswer::Applied { version }) => {
            HttpResponse::Ok().json(json!({ "version": version }))
        }
        Ok(_) => api_error(SoApiError::Unavailable),
        Err(e) => api_error(e),
    }
}

#[put("/api/shared-objects/{scope}/{name}/{slot}")]
async fn put_slot(
    registry: Registry,
    path: web::Path<(String, String, String)>,
    q: web::Query<Persistence>,
    body: web::Bytes,
) -> HttpResponse {
    let (scope, name, slot) = path.into_inner();
    let value = match parse_value(&body) {
        Ok(v) => v,
        Err(e) => return error(actix_web::http::StatusCode::BAD_REQUEST, e),
    };
    apply(
        &registry,
        key(scope, name, &q),
        vec![Operation::Set(vec![(slot.into(), value)])],
    )
    .await
}

#[delete("/api/shared-objects/{scope}/{name}/{slot}")]
async fn delete_slot(
    registry: Registry,
    path: web::Path<(String, String, String)>,
    q: web::Query<Persistence>,
) -> HttpResponse {
    let (scope, name, slot) = path.into_inner();
    apply(
        &registry,
        key(scope, name, &q),
        vec![Operation::Remove(vec![slot.into()])],
    )
    .await
}

#[delete("/api/shared-objects/{scope}/{name}")]
async fn clear(
    registry: Registry,
    path: web::Path<(String, String)>,
    q: web::Query<Persistence>,
) -> HttpResponse {
    let (scope, name) = path.into_inner();
    apply(&registry, key(scope, name, &q), vec![Operation::Clear]).await
}

#[post("/api/shared-objects/{scope}/{name}/send")]
async fn send(
    registry: Registry,
    path: web::Path<(String, String)>,
    q: web::Query<Persistence>,
    body: web::Bytes,
) -> HttpResponse {
    let (scope, name) = path.into_inner();
    let bad = |m: &str| error(actix_web::http::StatusCode::BAD_REQUEST, m);
    let value = match parse_value(&body) {
        Ok(v) => v,
        Err(e) => return error(actix_web::http::StatusCode::BAD_REQUEST, e),
    };
    let Some(method) = value
        .get("method")
        .and_then(AmfValue::as_str)
        .map(str::to_string)
    else {
        return bad("expected {\"method\": string, \"args\": [...]}");
    };
    let args = match value.get("args") {
        None => Vec::new(),
        Some(AmfValue::StrictArray(items)) => items.as_ref().clone(),
        Some(_) => return bad("\"args\" must be an array"),
    };
    let op = Operation::Send {
        method: method.into(),
        args,
    };
    apply(&registry, key(scope, name, &q), vec![op]).await
}

/// Registers the SharedObject routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(get_object)
        .service(send)
        .service(get_slot)
        .service(put_slot)
        .service(delete_slot)
        .service(clear);
}
