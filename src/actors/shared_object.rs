//! One actor per SharedObject (scope, name, persistence): holds the
//! [`SharedObjectState`], its subscribers, and the ordered outgoing queue.
//!
//! - Inputs (Use, Release, client messages, admin calls) are processed
//!   strictly in arrival order: one total order of changes that every
//!   subscriber sees.
//! - A persistent object loads from the store before it processes anything
//!   (inputs wait in `inbox`), and commits every accepted change. Outgoing
//!   messages go through one FIFO queue; an entry whose change was committed
//!   is released only once that commit resolved, and nothing passes an
//!   unreleased entry. So the writer's Success (and every subscriber's view)
//!   only ever shows durable changes, while the actor keeps accepting input
//!   and the store group-commits.
//! - A failed commit: the writer of that change — and of every change queued
//!   after it — gets `SharedObject.Flush.Failed` (never a fake Success), the
//!   actor reloads the object from the store (the version never goes back)
//!   and sends every subscriber a full resync.
//! - A slow subscriber (socket backlog over [`LAG_HIGH_BYTES`]) stops getting
//!   deltas and sends; once its backlog is under [`LAG_LOW_BYTES`] it is
//!   caught up by deltas from the history, or by a full resync.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use tracing::debug;

use super::messages::{ChangeSharedObject, SoSubscriber};
use crate::app::{Application, ClientInfo, SharedObjectRef};
use crate::metrics::Metrics;
use crate::sharedobject::{Accepted, AllowAll, Permissions, SharedObjectLimits, SharedObjectState};
use crate::store::SoStore;

mod admin;
mod channels;
mod cluster;
mod handlers;
mod persist;
mod queue;

pub use admin::{AdminAnswer, AdminOp, AdminReply, AdminRequest, SoApiError, SoInfo, SoSnapshot};
pub use channels::SoChannels;
pub use cluster::ClusterLink;
pub(crate) use cluster::{RemoteSharedObjectEvent, ResyncSharedObject};
pub(crate) use handlers::{StopSharedObject, Subscribe, Unsubscribe};
use queue::{Entry, EntryKind};

/// Socket backlog (bytes) above which a subscriber stops getting deltas.
pub const LAG_HIGH_BYTES: usize = 1024 * 1024;
/// Backlog below which a lagging subscriber is caught up.
pub const LAG_LOW_BYTES: usize = 64 * 1024;
/// How often lagging subscribers are checked.
const LAG_CHECK: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lag {
    /// Gets every message.
    Live,
    /// Behind: gets nothing until caught up.
    Lagging,
    /// A sync for it is queued: skipped until that entry is released.
    Syncing,
}

struct Subscriber {
    info: SoSubscriber,
    /// The version of the last state message delivered.
    version: u32,
    lag: Lag,
}

/// One SharedObject.
pub struct SharedObjectActor {
    key: SharedObjectRef,
    limits: SharedObjectLimits,
    /// `Some` for persistent objects.
    store: Option<Arc<dyn SoStore>>,
    metrics: Arc<Metrics>,
    /// What the registry lists.
    info: Arc<Mutex<SoInfo>>,
    /// `None` while loading or reloading.
    state: Option<SharedObjectState>,
    /// Inputs that arrived while loading.
    inbox: VecDeque<Input>,
    subscribers: HashMap<u64, Subscriber>,
    outgoing: VecDeque<Entry>,
    /// Commits issued so far (sequence numbers start at 1).
    issued: u64,
    /// Every commit up to this one succeeded.
    durable: u64,
    /// Resolved commits above `durable`.
    resolved: BTreeSet<u64>,
    /// The first failed commit, until the reload.
    failed_from: Option<u64>,
    /// A load from the store is under way.
    loading: bool,
    /// Commits issued and not resolved.
    outstanding: usize,
    lag_timer: Option<SpawnHandle>,
    /// Registry messages handled (published with `idle`, under one lock).
    handled: u64,
    /// The registry asked it to stop: it stops once nothing is pending.
    stop_requested: bool,
    /// Highest version covered by a store flush issued (lossy stores).
    flushed_version: u32,
    /// Highest version any non-persistent object of this node reached:
    /// a new non-persistent incarnation starts above it.
    version_floor: Option<Arc<AtomicU32>>,
    /// In a cluster (`--redis`): the replica of Redis's order.
    cluster: Option<cluster::Replica>,
}

/// Seconds from the Unix epoch to 2024-01-01: non-persistent objects start
/// at a version of at least the seconds since then, so a restarted node does
/// not hand out versions a client kept from the previous run (unless that
/// object averaged more than one change per second).
const VERSION_TIME_EPOCH_SECS: u64 = 1_704_067_200;

/// An input, buffered while the state is loading.
pub(super) enum Input {
    Subscribe(SoSubscriber, u32),
    Unsubscribe(u64),
    Change(ChangeSharedObject),
    Admin(AdminRequest),
}

impl SharedObjectActor {
    /// A new actor; persistent objects (`store` given) load first.
    pub fn new(
        key: SharedObjectRef,
        limits: SharedObjectLimits,
        store: Option<Arc<dyn SoStore>>,
        metrics: Arc<Metrics>,
        info: Arc<Mutex<SoInfo>>,
    ) -> Self {
        let state = store
            .is_none()
            .then(|| SharedObjectState::new(key.name.as_str(), false, limits));
        Self {
            key,
            limits,
            store,
            metrics,
            info,
            state,
            inbox: VecDeque::new(),
            subscribers: HashMap::new(),
            outgoing: VecDeque::new(),
            issued: 0,
            durable: 0,
            resolved: BTreeSet::new(),
            failed_from: None,
            outstanding: 0,
            loading: false,
            lag_timer: None,
            handled: 0,
            flushed_version: 0,
            stop_requested: false,
            version_floor: None,
            cluster: None,
        }
    }

    /// A non-persistent object starts its versions above every version a
    /// non-persistent object of this node reached (`floor`, shared by the
    /// registry) and above a time floor, so a client that kept a version of
    /// an earlier incarnation never gets deltas or "up to date" for it.
    pub fn with_version_floor(mut self, floor: Arc<AtomicU32>) -> Self {
        if let Some(state) = self.state.as_mut() {
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                .saturating_sub(VERSION_TIME_EPOCH_SECS);
            let time_floor = u32::try_from(secs).unwrap_or(u32::MAX / 2);
            let start = floor
                .load(Ordering::Acquire)
                .saturating_add(1)
                .max(time_floor);
            state.begin_incarnation(start, false);
            floor.fetch_max(start, Ordering::AcqRel);
        }
        self.version_floor = Some(floor);
        self
    }

    fn input(&mut self, input: Input, ctx: &mut Context<Self>) {
        if self.state.is_none() {
            self.inbox.push_back(input);
            return;
        }
        match input {
            Input::Subscribe(sub, version) => self.subscribe(sub, version),
            Input::Unsubscribe(conn_id) => {
                self.subscribers.remove(&conn_id);
            }
            Input::Change(change) => self.change(change, ctx),
            Input::Admin(request) => self.admin(request, ctx),
        }
        self.release(ctx);
    }

    fn subscribe(&mut self, info: SoSubscriber, version: u32) {
        let conn_id = info.conn_id;
        self.subscribers.insert(
            conn_id,
            Subscriber {
                info,
                version: 0,
                lag: Lag::Syncing,
            },
        );
        self.queue_sync(conn_id, Some(version));
    }

    /// Queues a catch-up (or full resync) for every subscriber, after the
    /// state was reloaded.
    fn resync_subscribers(&mut self) {
        let ids: Vec<u64> = self.subscribers.keys().copied().collect();
        for id in ids {
            self.queue_sync(id, None);
        }
    }

    /// Queues a sync for one subscriber: the Use answer (`use_version`
    /// given) or a catch-up from what it last got.
    fn queue_sync(&mut self, conn_id: u64, use_version: Option<u32>) {
        let (Some(state), Some(sub)) = (&self.state, self.subscribers.get_mut(&conn_id)) else {
            return;
        };
        let messages = match use_version {
            Some(v) => state.use_sync(v),
            None if sub.lag == Lag::Syncing && sub.version == 0 => state.use_sync(0),
            None => {
                let plan = state.catch_up(sub.version);
                if plan.is_full() {
                    self.metrics.so_resyncs.add(1);
                }
                plan.into_messages()
            }
        };
        sub.lag = Lag::Syncing;
        let version = state.version();
        self.outgoing.push_back(Entry {
            gate: self.issued,
            kind: EntryKind::Sync {
                conn_id,
                version,
                messages: messages.into_iter().map(Arc::new).collect(),
            },
        });
    }

    fn change(&mut self, change: ChangeSharedObject, ctx: &mut Context<Self>) {
        if self.cluster.is_some() {
            return self.cluster_change(change, ctx);
        }
        let Some(sub) = self.subscribers.get(&change.conn_id) else {
            debug!(so = %self.key.name, conn_id = change.conn_id, "change from a non-subscriber ignored");
            return;
        };
        let (application, client) = (sub.info.application.clone(), sub.info.client.clone());
        let Some(state) = self.state.as_mut() else {
            return;
        };
        let before = state.version();
        let result = match (&application, &client) {
            (Some(app), Some(client)) => {
                let perms = AppPermissions {
                    app: app.as_ref(),
                    client,
                    so: &self.key,
                };
                state.apply(&change.ops, &perms, true)
            }
            _ => state.apply(&change.ops, &AllowAll, true),
        };
        match result {
            Ok(accepted) => {
                let bumped = accepted.version != before;
                self.accepted(accepted, bumped, Some(change.conn_id), None, ctx);
            }
            Err(refusal) => {
                self.metrics.so_changes_refused.add(1);
                debug!(so = %self.key.name, conn_id = change.conn_id, %refusal, "SharedObject change refused");
                let message = state.refusal_message(&change.ops, &refusal);
                self.outgoing.push_back(Entry {
                    gate: self.issued,
                    kind: EntryKind::Direct {
                        conn_id: change.conn_id,
                        message: Arc::new(message),
                    },
                });
            }
        }
    }

    /// Commits (persistent objects) and queues the outputs of an accepted
    /// change.
    fn accepted(
        &mut self,
        accepted: Accepted,
        bumped: bool,
        writer: Option<u64>,
        reply: Option<AdminReply>,
        ctx: &mut Context<Self>,
    ) {
        if bumped {
            self.metrics.so_changes_applied.add(1);
        }
        if bumped {
            if let Some(floor) = &self.version_floor {
                floor.fetch_max(accepted.version, Ordering::AcqRel);
            }
        }
        let mut gate = if accepted.changes.is_empty() {
            self.issued
        } else {
            self.commit(accepted.version, accepted.store_changes(), ctx)
        };
        let window = self.limits.lossy_version_window;
        if window > 0 && bumped && accepted.version > self.flushed_version.saturating_add(window) {
            // Never show more than `window` versions past a durable one.
            gate = self.flush_store(accepted.version, ctx);
        }
        self.outgoing.push_back(Entry {
            gate,
            kind: EntryKind::Change {
                writer,
                version: accepted.version,
                bumped,
                for_writer: accepted.for_writer.map(Arc::new),
                for_others: accepted.for_others.map(Arc::new),
                reply,
            },
        });
    }

    fn admin(&mut self, request: AdminRequest, ctx: &mut Context<Self>) {
        let Some(state) = self.state.as_mut() else {
            return;
        };
        let snapshot_version = state.version();
        match request.op {
            AdminOp::Get => {
                let snapshot = SoSnapshot {
                    version: state.version(),
                    slots: state
                        .slots()
                        .iter()
                        .map(|(k, s)| (k.to_string(), s.value.clone()))
                        .collect(),
                    subscribers: self.subscribers.len(),
                    exists: state.version() > 0
                        || !state.slots().is_empty()
                        || !self.subscribers.is_empty(),
                };
                self.outgoing.push_back(Entry {
                    gate: self.issued,
                    kind: EntryKind::Reply {
                        reply: request.reply,
                        answer: AdminAnswer::Snapshot(snapshot),
                    },
                });
            }
            AdminOp::Apply(ops) if self.cluster.is_some() => {
                self.cluster_admin(ops, request.reply, ctx);
            }
            AdminOp::Apply(ops) => match state.apply(&ops, &AllowAll, false) {
                Ok(accepted) => {
                    let bumped = accepted.version != snapshot_version;
                    self.accepted(accepted, bumped, None, Some(request.reply), ctx);
                }
                Err(refusal) => {
                    self.metrics.so_changes_refused.add(1);
                    let _ = request.reply.send(Err(SoApiError::Refused(refusal)));
                }
            },
        }
    }

    /// Nothing pending: loaded, no subscriber, no commit unresolved,
    /// nothing queued or waiting in the inbox.
    fn is_idle(&self) -> bool {
        self.state.is_some()
            && !self.loading
            && self.subscribers.is_empty()
            && self.outgoing.is_empty()
            && self.outstanding == 0
            && self.inbox.is_empty()
            && self
                .cluster
                .as_ref()
                .is_none_or(cluster::Replica::is_settled)
    }

    /// Updates what the registry sees (the handled count and `idle` under
    /// one lock, so the registry never pairs a new count with an old
    /// `idle`); stops if asked to and idle.
    fn publish_info(&self) {
        let mut info = self.info.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = &self.state {
            info.version = state.version();
            info.slots = state.slots().len();
        }
        info.subscribers = self.subscribers.len();
        info.handled = self.handled;
        info.idle = self.is_idle();
    }

    /// Counts a message from the registry (see [`SoInfo::handled`]); it is
    /// published with the state it leads to.
    fn handled_registry_message(&mut self) {
        self.handled += 1;
    }

    /// Stops once nothing is pending (see [`StopSharedObject`]): stopping
    /// drops unresolved commit futures and queued answers.
    pub(super) fn stop_when_idle(&mut self, ctx: &mut Context<Self>) {
        if self.stop_requested && self.is_idle() {
            ctx.stop();
        }
    }
}

/// The application's hooks bound to one client and object.
struct AppPermissions<'a> {
    app: &'a dyn Application,
    client: &'a ClientInfo,
    so: &'a SharedObjectRef,
}

impl Permissions for AppPermissions<'_> {
    fn may_write(&self, slot: &str) -> bool {
        self.app.on_shared_object_write(self.client, self.so, slot)
    }
    fn may_delete(&self, slot: &str) -> bool {
        self.app.on_shared_object_delete(self.client, self.so, slot)
    }
    fn may_send(&self, method: &str, args: &[crate::protocol::amf::AmfValue]) -> bool {
        self.app
            .on_shared_object_send(self.client, self.so, method, args)
    }
}

#[cfg(test)]
mod tests;
