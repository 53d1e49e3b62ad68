//! A SharedObject in the cluster (`--redis`): the local state is a replica
//! of the one order Redis gives (see `crate::store::redis`).
//!
//! - A client's message is *planned* against the local copy (permissions
//!   and limits), then sent to Redis's apply script with its envelopes; the
//!   script's answer is the message's version. Nothing is shown before
//!   that: the writer's Success goes out once the change is applied locally
//!   in version order. A script that fails (Redis unreachable) answers the
//!   writer `SharedObject.Flush.Failed` plus the slots' current values.
//! - Own results and other nodes' deltas (forwarded by the router through
//!   the registry) meet in one pending map ordered by (version, change
//!   before send) and are applied strictly in version order. A gap that
//!   lasts [`GAP_WAIT`] (or a lost bus message) is filled from the op log;
//!   if the log was trimmed past it, the object is reloaded and every
//!   subscriber gets a full resync (Clear + all slots).
//! - The object's channel is subscribed while the actor lives (it lives
//!   while it has local subscribers, plus the unload grace of persistent
//!   objects). A non-persistent object joins its member set in Redis and
//!   leaves it when the actor stops; the last node out deletes it.
//! - A reload (after a bus resync, a trimmed log) keeps serving the old
//!   state until the new one arrives, so writes never wait on Redis.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use tracing::warn;

mod peek;
mod remote;
mod submit;

use submit::Submission;

use super::channels::SoChannels;
use super::queue::{Entry, EntryKind};
use super::{AdminReply, SharedObjectActor};
use crate::cluster::envelope::ObjectKey;
use crate::cluster::node::ClusterNode;
use crate::cluster::ClusterEvent;
use crate::protocol::shared_object::SharedObjectEvent;
use crate::sharedobject::{codec, SharedObjectState, Slot, SlotChange};
use crate::store::redis::RedisSoStore;
use crate::store::StoredObject;

/// How long a gap in versions may last before the op log is read.
const GAP_WAIT: Duration = Duration::from_millis(250);
/// How long to wait before retrying a failed reload.
const RELOAD_RETRY: Duration = Duration::from_secs(1);

/// What an object actor needs to take part in the cluster.
#[derive(Clone, Debug)]
pub struct ClusterLink {
    /// The Redis store (state, scripts, op log).
    pub store: RedisSoStore,
    /// This node's side of the cluster (node id, sequence numbers).
    pub node: Arc<ClusterNode>,
    /// Counted subscriptions of object channels.
    pub channels: SoChannels,
}

/// One item waiting for its place in the order.
enum Pending {
    /// This node's accepted message.
    Own {
        writer: Option<u64>,
        changes: Vec<SlotChange>,
        for_writer: Vec<SharedObjectEvent>,
        for_others: Vec<SharedObjectEvent>,
        reply: Option<AdminReply>,
    },
    /// Another node's delta or clear (changes) or send (no changes).
    Remote {
        changes: Vec<SlotChange>,
        events: Vec<SharedObjectEvent>,
    },
}

/// The replica's bookkeeping.
pub(super) struct Replica {
    /// Messages waiting to go to Redis, in arrival order.
    queue: VecDeque<Submission>,
    /// A script call is under way.
    in_flight: bool,
    link: ClusterLink,
    object: ObjectKey,
    channel: String,
    /// Ordered by (version, 0 = bumps / 1 = send at that version, arrival).
    pending: BTreeMap<(u32, u8, u64), Pending>,
    arrivals: u64,
    gap_timer: Option<SpawnHandle>,
    /// A catch-up or reload is under way.
    fetching: bool,
}

impl Replica {
    pub(super) fn new(link: ClusterLink, key: &crate::app::SharedObjectRef) -> Self {
        let object = ObjectKey {
            scope: key.scope.clone(),
            name: key.name.clone(),
            persistent: key.persistent,
        };
        let channel = link.store.channel(&object);
        Self {
            link,
            object,
            channel,
            queue: VecDeque::new(),
            in_flight: false,
            pending: BTreeMap::new(),
            arrivals: 0,
            gap_timer: None,
            fetching: false,
        }
    }

    fn push(&mut self, version: u32, bumps: bool, item: Pending) {
        self.arrivals += 1;
        self.pending
            .insert((version, u8::from(!bumps), self.arrivals), item);
    }

    /// Whether nothing waits in the order.
    pub(super) fn is_settled(&self) -> bool {
        self.pending.is_empty() && !self.fetching
    }
}

/// SharedObjectActor (from the registry): an event from another node on
/// the object's channel; `missed` > 0 when messages before it were lost.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct RemoteSharedObjectEvent {
    pub(crate) event: ClusterEvent,
    pub(crate) missed: u64,
}

/// SharedObjectActor (from the registry): the bus may have lost messages:
/// reload from Redis and resync every subscriber.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct ResyncSharedObject;

impl Handler<RemoteSharedObjectEvent> for SharedObjectActor {
    type Result = ();

    fn handle(&mut self, msg: RemoteSharedObjectEvent, ctx: &mut Context<Self>) {
        self.remote_event(msg.event, ctx);
        if msg.missed > 0 {
            self.catch_up(ctx);
        }
        self.drain(ctx);
    }
}

impl Handler<ResyncSharedObject> for SharedObjectActor {
    type Result = ();

    fn handle(&mut self, _: ResyncSharedObject, ctx: &mut Context<Self>) {
        if self.state.is_some() {
            self.cluster_reload(ctx);
        }
    }
}

/// The first version of a new non-persistent object: seconds since
/// 2024-01-01, so a client's version from an earlier incarnation is below.
fn first_temporary_version() -> u32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(super::VERSION_TIME_EPOCH_SECS);
    u32::try_from(secs).unwrap_or(u32::MAX / 2)
}

/// Slot changes of a stored object, to rebuild a replica.
fn stored_changes(stored: StoredObject) -> Result<Vec<SlotChange>, codec::CodecError> {
    stored
        .slots
        .into_iter()
        .map(|(name, encoded)| {
            let value = codec::decode(encoded.clone())?;
            Ok(SlotChange::Set(name.into(), Slot { value, encoded }))
        })
        .collect()
}

impl SharedObjectActor {
    /// Takes part in the cluster through `link` (both persistent and
    /// non-persistent objects then load from Redis first).
    pub fn with_cluster(mut self, link: ClusterLink) -> Self {
        self.cluster = Some(Replica::new(link, &self.key));
        self.store = None;
        self.state = None;
        self
    }

    /// Started: subscribe the channel, join (non-persistent), load.
    pub(super) fn cluster_start(&mut self, ctx: &mut Context<Self>) {
        let Some(replica) = &self.cluster else { return };
        let (store, object) = (replica.link.store.clone(), replica.object.clone());
        let subscribed =
            replica
                .link
                .channels
                .subscribe(&replica.channel, &object, first_temporary_version());
        self.loading = true;
        async move {
            // Subscribed (and joined) before loading: every delta after the
            // loaded version arrives; older ones are skipped by version.
            subscribed.await;
            store.load_object(&object).await
        }
        .into_actor(self)
        .map(|result, act, ctx| {
            act.loading = false;
            match result {
                Ok(stored) => act.install(stored, false, ctx),
                Err(e) => act.loaded(Err(e), ctx),
            }
        })
        .spawn(ctx);
    }

    /// Stopped: unsubscribe, leave the member set (non-persistent).
    pub(super) fn cluster_stop(&mut self) {
        let Some(replica) = &self.cluster else { return };
        replica
            .link
            .channels
            .unsubscribe(&replica.channel, &replica.object);
    }

    /// Replaces the state by what Redis holds (first load or reload).
    fn install(&mut self, stored: StoredObject, reload: bool, ctx: &mut Context<Self>) {
        let version = stored.version;
        let changes = match stored_changes(stored) {
            Ok(changes) => changes,
            Err(e) => {
                let error = crate::store::StoreError::Corrupt {
                    key: self.key.name.clone(),
                    reason: e.to_string(),
                };
                if reload {
                    warn!(so = %self.key.name, %error, "cannot reload SharedObject");
                } else {
                    self.loaded(Err(error), ctx);
                }
                return;
            }
        };
        let mut state =
            SharedObjectState::new(self.key.name.as_str(), self.key.persistent, self.limits);
        state.apply_replicated(version, changes);
        state.trust_current_version();
        self.state = Some(state);
        if reload {
            self.metrics.so_resyncs.add(1);
            self.resync_subscribers();
        }
        self.publish_info();
        while let Some(input) = self.inbox.pop_front() {
            self.input(input, ctx);
        }
        self.drain(ctx);
    }

    /// Reloads from Redis, keeping the current state meanwhile.
    pub(super) fn cluster_reload(&mut self, ctx: &mut Context<Self>) {
        let Some(replica) = self.cluster.as_mut() else {
            return;
        };
        if replica.fetching {
            return;
        }
        replica.fetching = true;
        let load = replica.link.store.load_object(&replica.object);
        load.into_actor(self)
            .map(|result, act, ctx| {
                if let Some(r) = act.cluster.as_mut() {
                    r.fetching = false;
                }
                match result {
                    Ok(stored) => act.install(stored, true, ctx),
                    Err(error) => {
                        warn!(so = %act.key.name, %error, "cannot reload SharedObject from Redis; retrying");
                        ctx.run_later(RELOAD_RETRY, |act, ctx| act.cluster_reload(ctx));
                    }
                }
                act.release(ctx);
            })
            .spawn(ctx);
    }

    /// Reads what the op log holds after the local version; reloads if the
    /// log no longer has it.
    fn catch_up(&mut self, ctx: &mut Context<Self>) {
        let (Some(replica), Some(state)) = (self.cluster.as_mut(), &self.state) else {
            return;
        };
        if replica.fetching {
            return;
        }
        replica.fetching = true;
        let from = state.version().wrapping_add(1);
        let read = replica.link.store.read_log(&replica.object, from);
        read.into_actor(self)
            .map(move |result, act, ctx| {
                if let Some(r) = act.cluster.as_mut() {
                    r.fetching = false;
                }
                match result {
                    Ok(entries) if entries.first().is_some_and(|(v, _)| *v == from) => {
                        let limits = crate::cluster::envelope::MAX_ENVELOPE_LEN;
                        for (_, bytes) in entries {
                            match crate::cluster::Envelope::decode(&bytes, limits) {
                                Ok(envelope) => act.remote_event(envelope.event, ctx),
                                Err(error) => warn!(so = %act.key.name, %error, "undecodable op log entry"),
                            }
                        }
                        act.drain(ctx);
                    }
                    Ok(_) => act.cluster_reload(ctx),
                    Err(error) => {
                        warn!(so = %act.key.name, %error, "cannot read the SharedObject op log; reloading");
                        act.cluster_reload(ctx);
                    }
                }
            })
            .spawn(ctx);
    }

    /// Applies pending items in version order; schedules a catch-up when a
    /// gap stays.
    pub(super) fn drain(&mut self, ctx: &mut Context<Self>) {
        let (Some(replica), Some(state)) = (self.cluster.as_mut(), self.state.as_mut()) else {
            return;
        };
        let mut gap = false;
        while let Some(entry) = replica.pending.first_entry() {
            let (version, kind, _) = *entry.key();
            let local = state.version();
            tracing::trace!(so = %self.key.name, version, kind, local, "replica item");
            let bumps = kind == 0;
            if bumps && version > local.wrapping_add(1) || !bumps && version > local {
                gap = true;
                break;
            }
            let stale = bumps && version <= local;
            // A stale item is stamped with the local version: its clients
            // already saw that one (a resync after a reload), and a
            // client's version never goes back.
            let stamp = if stale { local } else { version };
            let message = |events: Vec<SharedObjectEvent>| {
                (!events.is_empty()).then(|| Arc::new(state.message(stamp, events)))
            };
            let kind = match entry.remove() {
                Pending::Own {
                    writer,
                    changes,
                    for_writer,
                    for_others,
                    reply,
                } => {
                    // A stale own change is already in a reloaded state:
                    // only its writer's answer is still due.
                    let (for_writer, for_others) = (message(for_writer), message(for_others));
                    if !stale && bumps {
                        state.apply_replicated(version, changes);
                    }
                    EntryKind::Change {
                        writer,
                        version,
                        bumped: bumps && !stale,
                        for_writer,
                        for_others: if stale { None } else { for_others },
                        reply,
                    }
                }
                Pending::Remote { changes, events } => {
                    if stale {
                        continue;
                    }
                    let for_others = message(events);
                    if bumps {
                        state.apply_replicated(version, changes);
                    }
                    EntryKind::Change {
                        writer: None,
                        version,
                        bumped: bumps,
                        for_writer: None,
                        for_others,
                        reply: None,
                    }
                }
            };
            self.outgoing.push_back(Entry {
                gate: self.issued,
                kind,
            });
        }
        if gap {
            if replica.gap_timer.is_none() {
                replica.gap_timer = Some(ctx.run_later(GAP_WAIT, |act, ctx| {
                    if let Some(r) = act.cluster.as_mut() {
                        r.gap_timer = None;
                    }
                    let gapped = act.cluster.as_ref().is_some_and(|r| !r.pending.is_empty());
                    if gapped {
                        act.catch_up(ctx);
                    }
                }));
            }
        } else if let Some(handle) = replica.gap_timer.take() {
            ctx.cancel_future(handle);
        }
        self.release(ctx);
    }
}
