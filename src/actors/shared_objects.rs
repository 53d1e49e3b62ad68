//! The node's SharedObject registry: maps (scope, name, persistence) to one
//! [`SharedObjectActor`], creates it on first use, and serves the `Server`
//! methods and the admin API.
//!
//! Creation and removal are race-free because every Use and Release goes
//! through this one actor: it forwards a Use to the object's actor *before*
//! answering the connection (so the connection's next requests, sent
//! directly, queue behind it), and it stops a non-persistent object right
//! after forwarding the Release of its last subscriber — a later Use creates
//! a fresh object. A persistent object is unloaded once nobody has used it
//! for [`UNLOAD_GRACE`] and its actor reports it idle (every commit
//! resolved, nothing queued) after handling every message the registry
//! forwarded; the next Use or admin call loads it from the store again.
//! An object's actor stops only once nothing is pending in it (see
//! [`StopSharedObject`]).
//!
//! Object actors (and the application's SharedObject hooks they call) run
//! on the node's arbiters, chosen round-robin
//! ([`SharedObjectsActor::with_arbiters`]); without any, on the registry's.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use serde::Serialize;
use tokio::sync::oneshot;
use tracing::debug;

use super::messages::{ReleaseSharedObject, UseSharedObject};
use super::shared_object::{
    AdminAnswer, AdminOp, AdminRequest, ClusterLink, RemoteSharedObjectEvent, ResyncSharedObject,
    SharedObjectActor, SoApiError, SoInfo, StopSharedObject, Subscribe, Unsubscribe,
};
use crate::app::SharedObjectRef;
use crate::cluster::{ClusterEvent, NodeId};
use crate::metrics::Metrics;
use crate::sharedobject::SharedObjectLimits;
use crate::store::SoStore;

/// How long a persistent object stays loaded after its last subscriber left
/// (or its last admin call), so a client that reconnects at once does not
/// reload it.
pub const UNLOAD_GRACE: Duration = Duration::from_secs(2);
/// How often unload candidates are checked.
const UNLOAD_CHECK: Duration = Duration::from_millis(250);

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
    /// Messages sent to the actor (compare [`SoInfo::handled`]).
    forwarded: u64,
}

impl Entry {
    fn failed(&self) -> bool {
        self.info.lock().unwrap_or_else(|p| p.into_inner()).failed || !self.addr.connected()
    }

    /// No subscriber, and the actor handled everything we sent it and has
    /// nothing pending: stopping it loses nothing.
    fn idle(&self) -> bool {
        let info = self.info.lock().unwrap_or_else(|p| p.into_inner());
        self.subscribers.is_empty() && info.handled == self.forwarded && info.idle
    }

    fn forward<M>(&mut self, msg: M)
    where
        M: Message<Result = ()> + Send + 'static,
        SharedObjectActor: Handler<M>,
    {
        self.forwarded += 1;
        self.addr.do_send(msg);
    }
}

/// SharedObjects by key.
pub struct SharedObjectsActor {
    objects: HashMap<SharedObjectRef, Entry>,
    /// Where persistent objects live (`None`: they live in memory only).
    store: Option<Arc<dyn SoStore>>,
    limits: SharedObjectLimits,
    metrics: Arc<Metrics>,
    /// Persistent objects without subscribers, since when.
    unload_candidates: HashMap<SharedObjectRef, Instant>,
    /// Where object actors run (round-robin); empty: the registry's arbiter.
    arbiters: Vec<ArbiterHandle>,
    /// The next arbiter to use.
    next_arbiter: usize,
    /// Highest version a non-persistent object of this node reached (see
    /// [`SharedObjectActor::with_version_floor`]).
    version_floor: Arc<AtomicU32>,
    /// In a cluster (`--redis`): objects replicate Redis's order.
    cluster: Option<ClusterLink>,
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
            unload_candidates: HashMap::new(),
            arbiters: Vec::new(),
            next_arbiter: 0,
            version_floor: Arc::default(),
            cluster: None,
        }
    }

    /// Runs every object as a replica of the cluster's order in Redis.
    pub fn with_cluster(mut self, link: ClusterLink) -> Self {
        self.cluster = Some(link);
        self
    }

    /// Starts object actors on these arbiters, round-robin, instead of the
    /// registry's own (which also runs the accept loop).
    pub fn with_arbiters(mut self, arbiters: Vec<ArbiterHandle>) -> Self {
        self.arbiters = arbiters;
        self
    }

    /// Where the next object actor runs.
    fn arbiter(&mut self) -> Option<ArbiterHandle> {
        if self.arbiters.is_empty() {
            return None;
        }
        let handle = self.arbiters[self.next_arbiter % self.arbiters.len()].clone();
        self.next_arbiter = self.next_arbiter.wrapping_add(1);
        Some(handle)
    }

    fn get_or_create(&mut self, key: &SharedObjectRef) -> &mut Entry {
        if self.objects.get(key).is_some_and(Entry::failed) {
            self.objects.remove(key);
        }
        let (store, limits, metrics) = (self.store.clone(), self.limits, self.metrics.clone());
        let arbiter = if self.objects.contains_key(key) {
            None
        } else {
            self.arbiter()
        };
        let floor = self.version_floor.clone();
        let cluster = self.cluster.clone();
        self.objects.entry(key.clone()).or_insert_with(|| {
            let info = Arc::new(Mutex::new(SoInfo::default()));
            let store = if key.persistent { store } else { None };
            let mut actor =
                SharedObjectActor::new(key.clone(), limits, store, metrics, info.clone());
            if !key.persistent {
                actor = actor.with_version_floor(floor);
            }
            if let Some(link) = cluster {
                actor = actor.with_cluster(link);
            }
            let addr = match arbiter {
                Some(arbiter) => SharedObjectActor::start_in_arbiter(&arbiter, move |_| actor),
                None => actor.start(),
            };
            Entry {
                addr,
                subscribers: HashSet::new(),
                info,
                forwarded: 0,
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

    /// Stops a persistent object's actor if it is idle; `true` if it did.
    fn unload_if_idle(&mut self, key: &SharedObjectRef) -> bool {
        let Some(entry) = self.objects.get(key) else {
            return true;
        };
        if entry.failed() {
            self.objects.remove(key);
            return true;
        }
        if !entry.idle() {
            return false;
        }
        debug!(so = %key.name, scope = %key.scope, "persistent SharedObject unloaded");
        entry.addr.do_send(StopSharedObject);
        self.objects.remove(key);
        true
    }

    /// Unloads the candidates idle for [`UNLOAD_GRACE`].
    fn sweep(&mut self) {
        let now = Instant::now();
        let due: Vec<SharedObjectRef> = self
            .unload_candidates
            .iter()
            .filter(|(_, since)| now.duration_since(**since) >= UNLOAD_GRACE)
            .map(|(key, _)| key.clone())
            .collect();
        for key in due {
            let unused = self
                .objects
                .get(&key)
                .is_none_or(|e| e.subscribers.is_empty());
            if !unused || self.unload_if_idle(&key) {
                self.unload_candidates.remove(&key);
            }
        }
    }

    /// Marks a persistent object nobody uses as a candidate for unloading.
    fn maybe_candidate(&mut self, key: &SharedObjectRef) {
        if key.persistent
            && self
                .objects
                .get(key)
                .is_some_and(|e| e.subscribers.is_empty())
        {
            self.unload_candidates.insert(key.clone(), Instant::now());
        }
    }
}

impl Actor for SharedObjectsActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(UNLOAD_CHECK, |act, _| act.sweep());
    }
}

impl Handler<UseSharedObject> for SharedObjectsActor {
    type Result = Result<Addr<SharedObjectActor>, String>;

    fn handle(&mut self, msg: UseSharedObject, _: &mut Context<Self>) -> Self::Result {
        self.unload_candidates.remove(&msg.key);
        let entry = self.get_or_create(&msg.key);
        entry.subscribers.insert(msg.subscriber.conn_id);
        entry.forward(Subscribe {
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
        entry.forward(Unsubscribe {
            conn_id: msg.conn_id,
        });
        if msg.key.persistent {
            self.maybe_candidate(&msg.key);
        } else {
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
            // In a cluster it may live on another node: read it from Redis
            // without joining it (a write still needs a local user).
            return match (&self.cluster, &msg.op) {
                (Some(link), AdminOp::Get) => Box::pin(fut::wrap_future(link.peek(&msg.key))),
                _ => Box::pin(fut::ready(Err(SoApiError::NotFound))),
            };
        }
        let entry = self.get_or_create(&msg.key);
        let addr = entry.addr.clone();
        let (reply, answer) = oneshot::channel();
        entry.forward(AdminRequest { op: msg.op, reply });
        let key = msg.key;
        Box::pin(
            async move { answer.await.unwrap_or(Err(SoApiError::Unavailable)) }
                .into_actor(self)
                .map(move |answer, act, _| {
                    let missing = matches!(&answer, Ok(AdminAnswer::Snapshot(s)) if !s.exists);
                    let same = act.objects.get(&key).is_some_and(|e| e.addr == addr);
                    if missing && same && key.persistent {
                        // Never stored: nothing to keep loaded.
                        if !act.unload_if_idle(&key) {
                            act.maybe_candidate(&key);
                        }
                    } else if missing {
                        act.forget_if_unused(&key, &addr);
                    } else if same {
                        act.maybe_candidate(&key);
                    }
                    if missing {
                        Err(SoApiError::NotFound)
                    } else {
                        answer
                    }
                }),
        )
    }
}

// ---- cluster (`--redis`) ----

/// Registry (from the cluster router): a SharedObject event from another
/// node; forwarded to the object's actor if it is live here.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoteSharedObject {
    /// The event (`SharedObjectDelta`, `SharedObjectSend`, `SharedObjectClear`).
    pub event: ClusterEvent,
    /// Messages lost just before it on its channel.
    pub missed: u64,
}

impl Handler<RemoteSharedObject> for SharedObjectsActor {
    type Result = ();

    fn handle(&mut self, msg: RemoteSharedObject, _: &mut Context<Self>) {
        let object = match &msg.event {
            ClusterEvent::SharedObjectDelta { object, .. }
            | ClusterEvent::SharedObjectSend { object, .. }
            | ClusterEvent::SharedObjectClear { object, .. } => object,
            _ => return,
        };
        let key = SharedObjectRef {
            scope: object.scope.clone(),
            name: object.name.clone(),
            persistent: object.persistent,
        };
        if let Some(entry) = self.objects.get(&key) {
            // Not counted in `forwarded`: the actor does not count it either.
            entry.addr.do_send(RemoteSharedObjectEvent {
                event: msg.event,
                missed: msg.missed,
            });
        }
    }
}

/// Registry (from the cluster router): the bus may have lost messages:
/// every live object reloads from Redis and resyncs its subscribers.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ResyncSharedObjects;

impl Handler<ResyncSharedObjects> for SharedObjectsActor {
    type Result = ();

    fn handle(&mut self, _: ResyncSharedObjects, _: &mut Context<Self>) {
        for entry in self.objects.values() {
            entry.addr.do_send(ResyncSharedObject);
        }
    }
}

/// Registry (from the cluster router): a node left the cluster: remove it
/// from every non-persistent object's member set in Redis.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SharedObjectNodeLeft(pub NodeId);

impl Handler<SharedObjectNodeLeft> for SharedObjectsActor {
    type Result = ();

    fn handle(&mut self, msg: SharedObjectNodeLeft, _: &mut Context<Self>) {
        let Some(link) = &self.cluster else { return };
        let removal = link.store.remove_node(&msg.0);
        actix_rt::spawn(async move {
            match removal.await {
                Ok(deleted) => {
                    debug!(node = %msg.0, deleted, "removed a dead node from SharedObject member sets")
                }
                Err(error) => {
                    tracing::warn!(node = %msg.0, %error, "cannot remove a dead node from SharedObject member sets")
                }
            }
        });
    }
}
