//! The node's SharedObject registry: maps (scope, name, persistence) to one
//! [`SharedObjectActor`], creates it on first use, and serves the `Server`
//! methods and the admin API.
//!
//! Creation and removal are race-free because every Use and Release goes
//! through this one actor: it forwards a Use to the object's actor *before*
//! answering the connection (so the connection's next requests, sent
//! directly, queue behind it), and it stops a non-persistent object right
//! after forwarding the Release of its last subscriber — a later Use creates
//! a fresh object. Persistent objects stay loaded once used (their state is
//! in the store; see `docs/shared-objects.md`). Object actors run on the
//! registry's arbiter.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use serde::Serialize;
use tokio::sync::oneshot;

use super::messages::{ReleaseSharedObject, UseSharedObject};
use super::shared_object::{
    AdminAnswer, AdminOp, AdminRequest, SharedObjectActor, SoApiError, SoInfo, StopSharedObject,
    Subscribe, Unsubscribe,
};
use crate::app::SharedObjectRef;
use crate::metrics::Metrics;
use crate::sharedobject::SharedObjectLimits;
use crate::store::SoStore;

/// One row of `GET /api/shared-objects`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SoSummary {
    /// The scope (`APP[/ROOM...]`).
    pub scope: String,
    /// The name.
    pub name: String,
    /// Persistent or not.
    pub persistent: bool,
    /// The current version.
    pub version: u32,
    /// How many slots (`null` for a stored object that is not loaded).
    pub slots: Option<usize>,
    /// How many connections use it.
    pub subscribers: usize,
}

/// Registry: every known object (live ones, and stored ones not loaded).
#[derive(Message)]
#[rtype(result = "Vec<SoSummary>")]
pub struct ListSharedObjects;

/// Registry: a server-side operation on one object.
#[derive(Message)]
#[rtype(result = "Result<AdminAnswer, SoApiError>")]
pub struct AdminSharedObject {
    /// The object.
    pub key: SharedObjectRef,
    /// The operation.
    pub op: AdminOp,
}

struct Entry {
    addr: Addr<SharedObjectActor>,
    subscribers: HashSet<u64>,
    info: Arc<Mutex<SoInfo>>,
}

impl Entry {
    fn failed(&self) -> bool {
        self.info.lock().unwrap_or_else(|p| p.into_inner()).failed || !self.addr.connected()
    }
}

/// SharedObjects by key.
pub struct SharedObjectsActor {
    objects: HashMap<SharedObjectRef, Entry>,
    /// Where persistent objects live (`None`: they live in memory only).
    store: Option<Arc<dyn SoStore>>,
    limits: SharedObjectLimits,
    metrics: Arc<Metrics>,
}

impl SharedObjectsActor {
    /// An empty registry.
    pub fn new(
        store: Option<Arc<dyn SoStore>>,
        limits: SharedObjectLimits,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            objects: HashMap::new(),
            store,
            limits,
            metrics,
        }
    }

    fn get_or_create(&mut self, key: &SharedObjectRef) -> &mut Entry {
        if self.objects.get(key).is_some_and(Entry::failed) {
            self.objects.remove(key);
        }
        let (store, limits, metrics) = (self.store.clone(), self.limits, self.metrics.clone());
        self.objects.entry(key.clone()).or_insert_with(|| {
            let info = Arc::new(Mutex::new(SoInfo::default()));
            let store = if key.persistent { store } else { None };
            let actor = SharedObjectActor::new(key.clone(), limits, store, metrics, info.clone());
            Entry {
                addr: actor.start(),
                subscribers: HashSet::new(),
                info,
            }
        })
    }

    /// Forgets an object nobody uses, if it is still `addr`.
    fn forget_if_unused(&mut self, key: &SharedObjectRef, addr: &Addr<SharedObjectActor>) {
        if self
            .objects
            .get(key)
            .is_some_and(|e| e.addr == *addr && e.subscribers.is_empty())
        {
            self.objects.remove(key);
            addr.do_send(StopSharedObject);
        }
    }
}

impl Actor for SharedObjectsActor {
    type Context = Context<Self>;
}

impl Handler<UseSharedObject> for SharedObjectsActor {
    type Result = Result<Addr<SharedObjectActor>, String>;

    fn handle(&mut self, msg: UseSharedObject, _: &mut Context<Self>) -> Self::Result {
        let entry = self.get_or_create(&msg.key);
        entry.subscribers.insert(msg.subscriber.conn_id);
        entry.addr.do_send(Subscribe {
            subscriber: msg.subscriber,
            version: msg.version,
        });
        Ok(entry.addr.clone())
    }
}

impl Handler<ReleaseSharedObject> for SharedObjectsActor {
    type Result = ();

    fn handle(&mut self, msg: ReleaseSharedObject, _: &mut Context<Self>) {
        let Some(entry) = self.objects.get_mut(&msg.key) else {
            return;
        };
        if !entry.subscribers.remove(&msg.conn_id) {
            return;
        }
        entry.addr.do_send(Unsubscribe {
            conn_id: msg.conn_id,
        });
        if !msg.key.persistent {
            let addr = entry.addr.clone();
            self.forget_if_unused(&msg.key, &addr);
        }
    }
}

impl Handler<ListSharedObjects> for SharedObjectsActor {
    type Result = ResponseFuture<Vec<SoSummary>>;

    fn handle(&mut self, _: ListSharedObjects, _: &mut Context<Self>) -> Self::Result {
        let mut rows: Vec<SoSummary> = self
            .objects
            .iter()
            .filter(|(_, e)| !e.failed())
            .map(|(key, e)| {
                let info = e.info.lock().unwrap_or_else(|p| p.into_inner()).clone();
                SoSummary {
                    scope: key.scope.clone(),
                    name: key.name.clone(),
                    persistent: key.persistent,
                    version: info.version,
                    slots: Some(info.slots),
                    subscribers: info.subscribers,
                }
            })
            .collect();
        let loaded: HashSet<(String, String)> = rows
            .iter()
            .filter(|r| r.persistent)
            .map(|r| (r.scope.clone(), r.name.clone()))
            .collect();
        let store = self.store.clone();
        Box::pin(async move {
            if let Some(store) = store {
                if let Ok(stored) = store.list().await {
                    rows.extend(
                        stored
                            .into_iter()
                            .filter(|(k, _)| !loaded.contains(&(k.scope.clone(), k.name.clone())))
                            .map(|(k, version)| SoSummary {
                                scope: k.scope,
                                name: k.name,
                                persistent: true,
                                version,
                                slots: None,
                                subscribers: 0,
                            }),
                    );
                }
            }
            rows.sort_by(|a, b| {
                (&a.scope, &a.name, a.persistent).cmp(&(&b.scope, &b.name, b.persistent))
            });
            rows
        })
    }
}

impl Handler<AdminSharedObject> for SharedObjectsActor {
    type Result = ResponseActFuture<Self, Result<AdminAnswer, SoApiError>>;

    fn handle(&mut self, msg: AdminSharedObject, _: &mut Context<Self>) -> Self::Result {
        let known = self.objects.get(&msg.key).is_some_and(|e| !e.failed());
        if !known && !msg.key.persistent {
            return Box::pin(fut::ready(Err(SoApiError::NotFound)));
        }
        let addr = self.get_or_create(&msg.key).addr.clone();
        let (reply, answer) = oneshot::channel();
        addr.do_send(AdminRequest { op: msg.op, reply });
        let key = msg.key;
        Box::pin(
            async move { answer.await.unwrap_or(Err(SoApiError::Unavailable)) }
                .into_actor(self)
                .map(move |answer, act, _| match answer {
                    Ok(AdminAnswer::Snapshot(s)) if !s.exists => {
                        act.forget_if_unused(&key, &addr);
                        Err(SoApiError::NotFound)
                    }
                    other => other,
                }),
        )
    }
}
