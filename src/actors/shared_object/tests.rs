//! The actor's ordering, commit gating, store-failure and lag paths, run in
//! an actix System with real `EmbeddedStore`s in temp dirs and real
//! subscriber actors.
//!
//! [`GatedStore`] is the real embedded store with two test handles: commit
//! *answers* can be held (the commit itself reaches the store at once, so
//! closing the store under a held commit makes the later ones fail for
//! real), and the store behind it can be swapped for a reopened one (the
//! reload after a failure then succeeds).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytestring::ByteString;
use tokio::sync::{oneshot, watch};

use super::*;
use crate::actors::messages::SoDeliver;
use crate::protocol::amf::AmfValue;
use crate::protocol::client::SharedObjectReplica;
use crate::protocol::shared_object::SharedObjectEvent;
use crate::protocol::shared_object::SharedObjectMessage;
use crate::sharedobject::codes;
use crate::sharedobject::Operation;
use crate::store::{EmbeddedStore, StoreFuture, StoredObject};
use crate::store::{SoCommit, SoKey};

const LIMIT: Duration = Duration::from_secs(10);

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "ferrocast-so-actor-{tag}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The embedded store; commit answers wait while the gate is shut.
struct GatedStore {
    inner: Mutex<Arc<EmbeddedStore>>,
    gate: watch::Sender<bool>,
}

impl GatedStore {
    fn open(dir: &TempDir, gate_open: bool) -> Arc<Self> {
        let store = EmbeddedStore::open(&dir.0, Duration::ZERO).unwrap();
        Arc::new(Self {
            inner: Mutex::new(Arc::new(store)),
            gate: watch::channel(gate_open).0,
        })
    }

    fn inner(&self) -> Arc<EmbeddedStore> {
        self.inner.lock().unwrap().clone()
    }

    fn set_gate(&self, open: bool) {
        self.gate.send_replace(open);
    }

    /// Closes the current store and opens a fresh one on the same file.
    fn reopen(&self, dir: &TempDir) {
        let mut inner = self.inner.lock().unwrap();
        inner.close().unwrap();
        *inner = Arc::new(EmbeddedStore::open(&dir.0, Duration::ZERO).unwrap());
    }
}

impl SoStore for GatedStore {
    fn load(&self, key: &SoKey) -> StoreFuture<Option<StoredObject>> {
        self.inner().load(key)
    }
    fn commit(&self, commit: SoCommit) -> StoreFuture<()> {
        let applied = self.inner().commit(commit);
        let mut gate = self.gate.subscribe();
        Box::pin(async move {
            let result = applied.await;
            let _ = gate.wait_for(|open| *open).await;
            result
        })
    }
    fn delete(&self, key: &SoKey) -> StoreFuture<()> {
        self.inner().delete(key)
    }
    fn list(&self) -> StoreFuture<Vec<(SoKey, u32)>> {
        self.inner().list()
    }
    fn flush(&self) -> StoreFuture<()> {
        self.inner().flush()
    }
}

/// A subscriber: records every message it gets.
struct Collector(Arc<Mutex<Vec<Arc<SharedObjectMessage>>>>);

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<SoDeliver> for Collector {
    type Result = ();
    fn handle(&mut self, msg: SoDeliver, _: &mut Context<Self>) {
        self.0.lock().unwrap().push(msg.message);
    }
}

/// A subscriber's handle in a test.
struct Sub {
    id: u64,
    got: Arc<Mutex<Vec<Arc<SharedObjectMessage>>>>,
    backlog: Arc<AtomicUsize>,
}

impl Sub {
    fn join(so: &Addr<SharedObjectActor>, id: u64) -> Sub {
        let got = Arc::new(Mutex::new(Vec::new()));
        let backlog = Arc::new(AtomicUsize::new(0));
        let deliver = Collector(got.clone()).start().recipient();
        so.do_send(Subscribe {
            subscriber: SoSubscriber {
                conn_id: id,
                deliver,
                backlog: backlog.clone(),
                application: None,
                client: None,
            },
            version: 0,
        });
        Sub { id, got, backlog }
    }

    fn messages(&self) -> Vec<Arc<SharedObjectMessage>> {
        self.got.lock().unwrap().clone()
    }

    fn events(&self) -> Vec<SharedObjectEvent> {
        self.messages()
            .iter()
            .flat_map(|m| m.events.clone())
            .collect()
    }

    async fn wait_events(&self, what: &str, done: impl Fn(&[SharedObjectEvent]) -> bool) {
        let deadline = Instant::now() + LIMIT;
        while !done(&self.events()) {
            assert!(
                Instant::now() < deadline,
                "subscriber {} never got {what}; got {:?}",
                self.id,
                self.events()
            );
            actix_rt::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn write(&self, so: &Addr<SharedObjectActor>, ops: Vec<Operation>) {
        so.do_send(ChangeSharedObject {
            conn_id: self.id,
            ops,
        });
    }

    /// Applies everything received, like a client would.
    fn replica(&self, name: &str) -> SharedObjectReplica {
        let mut replica = SharedObjectReplica::new(name, false);
        for m in self.messages() {
            replica.apply(&m);
        }
        replica
    }
}

fn set(slot: &str, value: f64) -> Operation {
    Operation::Set(vec![(ByteString::from(slot), AmfValue::Number(value))])
}

fn success(slot: &str) -> SharedObjectEvent {
    SharedObjectEvent::Success(vec![slot.into()])
}

fn change(slot: &str, value: f64) -> SharedObjectEvent {
    SharedObjectEvent::Change(vec![(slot.into(), AmfValue::Number(value))])
}

fn flush_failed() -> SharedObjectEvent {
    crate::sharedobject::status_event(codes::FLUSH_FAILED)
}

fn key(persistent: bool) -> SharedObjectRef {
    SharedObjectRef {
        scope: "live/room".into(),
        name: "so".into(),
        persistent,
    }
}

fn start(
    persistent: bool,
    limits: SharedObjectLimits,
    store: Option<Arc<dyn SoStore>>,
) -> (Addr<SharedObjectActor>, Arc<Metrics>, Arc<Mutex<SoInfo>>) {
    let metrics = Arc::new(Metrics::default());
    let info = Arc::new(Mutex::new(SoInfo::default()));
    let actor = SharedObjectActor::new(
        key(persistent),
        limits,
        store,
        metrics.clone(),
        info.clone(),
    );
    (actor.start(), metrics, info)
}

async fn snapshot(so: &Addr<SharedObjectActor>) -> SoSnapshot {
    let (reply, answer) = oneshot::channel();
    so.do_send(AdminRequest {
        op: AdminOp::Get,
        reply,
    });
    match answer.await.unwrap().unwrap() {
        AdminAnswer::Snapshot(s) => s,
        other => panic!("not a snapshot: {other:?}"),
    }
}

/// Waits until the store itself holds `version` for the object.
async fn stored_version(store: &EmbeddedStore, version: u32) {
    let k = SoKey {
        scope: "live/room".into(),
        name: "so".into(),
    };
    let deadline = Instant::now() + LIMIT;
    loop {
        let now = store.load(&k).await.unwrap().map(|s| s.version);
        if now == Some(version) {
            return;
        }
        assert!(Instant::now() < deadline, "store stuck at {now:?}");
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
}

fn use_synced(events: &[SharedObjectEvent]) -> bool {
    events.contains(&SharedObjectEvent::UseSuccess)
}

#[actix_rt::test]
async fn success_and_every_later_message_wait_for_the_commit_and_keep_their_order() {
    let dir = TempDir::new("gate");
    let store = GatedStore::open(&dir, false);
    let (so, _, _) = start(true, SharedObjectLimits::default(), Some(store.clone()));
    let writer = Sub::join(&so, 1);
    let reader = Sub::join(&so, 2);
    writer.wait_events("the Use sync", use_synced).await;
    reader.wait_events("the Use sync", use_synced).await;
    let synced = (writer.events().len(), reader.events().len());

    writer.write(&so, vec![set("a", 1.0)]);
    writer.write(&so, vec![set("b", 2.0)]);
    writer.write(
        &so,
        vec![Operation::Send {
            method: "hello".into(),
            args: vec![],
        }],
    );
    reader.write(&so, vec![set("c", 3.0)]);
    // Every change is in the store, yet nobody has seen any of them (not
    // even the send, which needs no commit but is queued behind them).
    stored_version(&store.inner(), 3).await;
    assert_eq!(writer.events().len(), synced.0);
    assert_eq!(reader.events().len(), synced.1);

    store.set_gate(true);
    assert_eq!(snapshot(&so).await.version, 3);
    let send = SharedObjectEvent::SendMessage {
        method: "hello".into(),
        args: vec![],
    };
    writer
        .wait_events("everything", |e| e.len() >= synced.0 + 4)
        .await;
    reader
        .wait_events("everything", |e| e.len() >= synced.1 + 4)
        .await;
    assert_eq!(
        writer.events()[synced.0..],
        [success("a"), success("b"), send.clone(), change("c", 3.0)]
    );
    assert_eq!(
        reader.events()[synced.1..],
        [change("a", 1.0), change("b", 2.0), send, success("c")]
    );
    let versions: Vec<u32> = reader.messages().iter().map(|m| m.version).collect();
    assert_eq!(versions, [0, 1, 2, 2, 3]);
}

#[actix_rt::test]
async fn a_failed_commit_fails_its_writer_and_every_later_one_then_resyncs_everyone_at_no_lower_version(
) {
    let dir = TempDir::new("fail");
    let store = GatedStore::open(&dir, false);
    let (so, metrics, info) = start(true, SharedObjectLimits::default(), Some(store.clone()));
    let w = Sub::join(&so, 1);
    let r = Sub::join(&so, 2);
    w.wait_events("the Use sync", use_synced).await;
    r.wait_events("the Use sync", use_synced).await;

    w.write(&so, vec![set("a", 1.0)]);
    stored_version(&store.inner(), 1).await;
    // The store goes away under the actor: these two commits really fail.
    store.inner().close().unwrap();
    w.write(&so, vec![set("b", 2.0)]);
    r.write(&so, vec![set("c", 3.0)]);
    // Both are applied in memory (version 3), their commits issued to the
    // closed store, before the store comes back.
    let deadline = Instant::now() + LIMIT;
    while info.lock().unwrap().version < 3 {
        assert!(Instant::now() < deadline, "changes never applied");
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
    store.reopen(&dir);
    store.set_gate(true);

    let resynced =
        |e: &[SharedObjectEvent]| e.iter().filter(|e| **e == SharedObjectEvent::Clear).count() >= 2;
    w.wait_events("a full resync after the failure", resynced)
        .await;
    r.wait_events("a full resync after the failure", resynced)
        .await;
    // The version raised over the store's (subscribers saw 3) is stored, so
    // it is never handed out again for other slots.
    stored_version(&store.inner(), 3).await;
    for (sub, own) in [(&w, "b"), (&r, "c")] {
        let events = sub.events();
        assert!(!events.contains(&success(own)), "false Success: {events:?}");
        assert!(!events.contains(&change("b", 2.0)) && !events.contains(&change("c", 3.0)));
        assert_eq!(
            events.iter().filter(|e| **e == flush_failed()).count(),
            1,
            "{events:?}"
        );
        let versions: Vec<u32> = sub.messages().iter().map(|m| m.version).collect();
        assert!(
            versions.windows(2).all(|v| v[0] <= v[1]),
            "version went back: {versions:?}"
        );
        assert!(*versions.last().unwrap() >= 3, "{versions:?}");
        let replica = sub.replica("so");
        assert_eq!(replica.slots().len(), 1);
        assert_eq!(replica.get("a"), Some(&AmfValue::Number(1.0)));
    }
    assert!(w.events().contains(&success("a")));
    assert_eq!(metrics.so_resyncs.get(), 2);

    // The object works again: the next change commits and is acknowledged.
    let before = w.events().len();
    w.write(&so, vec![set("d", 4.0)]);
    w.wait_events("the next Success", |e| e.len() > before)
        .await;
    assert_eq!(w.events()[before..], [success("d")]);
    let snapshot = snapshot(&so).await;
    assert_eq!(snapshot.version, 4);
    stored_version(&store.inner(), 4).await;
}

fn small_history() -> SharedObjectLimits {
    SharedObjectLimits {
        history: 8,
        ..SharedObjectLimits::default()
    }
}

/// Drives a subscriber into lag, makes `changes` changes, lets it drain,
/// and returns it once it caught up.
async fn lag_then_drain(changes: usize) -> (Sub, Sub, Addr<SharedObjectActor>, Arc<Metrics>) {
    let (so, metrics, _) = start(false, small_history(), None);
    let w = Sub::join(&so, 1);
    let slow = Sub::join(&so, 2);
    w.wait_events("the Use sync", use_synced).await;
    slow.wait_events("the Use sync", use_synced).await;
    let synced = slow.events().len();
    slow.backlog.store(LAG_HIGH_BYTES + 1, Ordering::Release);
    for i in 0..changes {
        w.write(&so, vec![set(&format!("k{i}"), i as f64)]);
    }
    // A lagging subscriber's own writes are still acknowledged.
    slow.write(&so, vec![set("own", 1.0)]);
    slow.wait_events("its own Success", |e| e.contains(&success("own")))
        .await;
    let last = format!("k{}", changes - 1);
    w.wait_events("every Success", |e| e.contains(&success(&last)))
        .await;
    assert_eq!(
        slow.events()[synced..],
        [success("own")],
        "a lagging subscriber got deltas"
    );
    let before = slow.messages().len();
    slow.backlog.store(LAG_LOW_BYTES - 1, Ordering::Release);
    let state = snapshot(&so).await;
    slow.wait_events("a catch-up", |_| {
        let got = slow.messages();
        got.len() > before && got.last().map(|m| m.version) == Some(state.version)
    })
    .await;
    let replica = slow.replica("so");
    assert_eq!(replica.version(), state.version);
    let want: std::collections::BTreeMap<String, AmfValue> = state.slots.into_iter().collect();
    assert_eq!(*replica.slots(), want);
    (w, slow, so, metrics)
}

#[actix_rt::test]
async fn a_slow_subscriber_gets_nothing_above_the_high_mark_and_is_caught_up_by_deltas_below_the_low_mark(
) {
    let (_, slow, so, metrics) = lag_then_drain(5).await;
    let events = slow.events();
    assert_eq!(
        events
            .iter()
            .filter(|e| **e == SharedObjectEvent::Clear)
            .count(),
        1,
        "only the Use sync clears: {events:?}"
    );
    assert_eq!(metrics.so_resyncs.get(), 0);
    // Live again: the next change reaches it directly.
    let w2 = Sub::join(&so, 3);
    w2.wait_events("the Use sync", use_synced).await;
    w2.write(&so, vec![set("after", 9.0)]);
    slow.wait_events("the next change", |e| e.contains(&change("after", 9.0)))
        .await;
}

#[actix_rt::test]
async fn a_slow_subscriber_past_the_history_gets_a_full_resync() {
    let (_, slow, _, metrics) = lag_then_drain(20).await;
    let clears = slow
        .events()
        .iter()
        .filter(|e| **e == SharedObjectEvent::Clear)
        .count();
    assert_eq!(clears, 2, "the Use sync and one resync");
    assert_eq!(metrics.so_resyncs.get(), 1);
}

#[actix_rt::test]
async fn a_second_use_by_the_same_connection_resyncs_it_and_changes_still_arrive_once() {
    let (so, _, info) = start(false, SharedObjectLimits::default(), None);
    let w = Sub::join(&so, 1);
    let r = Sub::join(&so, 2);
    w.wait_events("the Use sync", use_synced).await;
    w.write(&so, vec![set("a", 1.0)]);
    r.wait_events("the change", |e| e.contains(&change("a", 1.0)))
        .await;
    let again = Sub::join(&so, 2);
    again.wait_events("a second Use sync", use_synced).await;
    assert!(again.events().contains(&change("a", 1.0)));
    w.write(&so, vec![set("b", 2.0)]);
    again
        .wait_events("the next change", |e| e.contains(&change("b", 2.0)))
        .await;
    let snap = snapshot(&so).await;
    assert_eq!(snap.subscribers, 2);
    assert_eq!(info.lock().unwrap().subscribers, 2);
    assert_eq!(
        again
            .events()
            .iter()
            .filter(|e| **e == change("b", 2.0))
            .count(),
        1
    );
    assert!(
        !r.events().contains(&change("b", 2.0)),
        "replaced recipient"
    );
}

#[actix_rt::test]
async fn the_actor_reports_itself_idle_only_when_no_subscriber_or_commit_is_left() {
    let dir = TempDir::new("idle");
    let store = GatedStore::open(&dir, false);
    let (so, _, info) = start(true, SharedObjectLimits::default(), Some(store.clone()));
    let w = Sub::join(&so, 1);
    w.wait_events("the Use sync", use_synced).await;
    assert!(!info.lock().unwrap().idle);
    w.write(&so, vec![set("a", 1.0)]);
    so.do_send(Unsubscribe { conn_id: 1 });
    stored_version(&store.inner(), 1).await;
    let deadline = Instant::now() + LIMIT;
    while info.lock().unwrap().handled < 2 {
        assert!(Instant::now() < deadline, "Unsubscribe never handled");
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!info.lock().unwrap().idle, "a commit is unresolved");
    store.set_gate(true);
    let deadline = Instant::now() + LIMIT;
    while !info.lock().unwrap().idle {
        assert!(Instant::now() < deadline, "never idle");
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(snapshot(&so).await.version, 1);
    assert_eq!(info.lock().unwrap().handled, 3);
}

#[actix_rt::test]
async fn with_a_lossy_store_a_load_jumps_the_version_and_no_more_than_the_window_is_shown_unflushed(
) {
    let dir = TempDir::new("lossy");
    // Acknowledged at once, on disk only after an hour unless flushed.
    let store = Arc::new(EmbeddedStore::open(&dir.0, Duration::from_secs(3600)).unwrap());
    let limits = SharedObjectLimits {
        lossy_version_window: 4,
        ..SharedObjectLimits::default()
    };
    let (so, _, _) = start(true, limits, Some(store.clone()));
    let w = Sub::join(&so, 1);
    w.wait_events("the Use sync", use_synced).await;
    // Versions up to 4 above the stored one (0) may have been lost: the
    // object starts at 4, stored and flushed before anyone sees it.
    assert_eq!(w.messages()[0].version, 4);
    stored_version(&store, 4).await;
    let flushed = store.stats().transactions;
    assert!(flushed >= 1, "the jump was not flushed");
    for i in 0..10 {
        w.write(&so, vec![set(&format!("s{i}"), 1.0)]);
    }
    w.wait_events("every Success", |e| {
        e.iter()
            .filter(|e| matches!(e, SharedObjectEvent::Success(_)))
            .count()
            == 10
    })
    .await;
    // Versions 5..=14 pass the window: they were flushed (group commit may
    // make the two flushes one transaction) though the interval is an hour.
    assert!(store.stats().transactions > flushed, "{:?}", store.stats());
    assert_eq!(snapshot(&so).await.version, 14);
}

#[actix_rt::test]
async fn a_stop_request_waits_for_an_outstanding_commit_and_its_answer() {
    let dir = TempDir::new("stop");
    // Commits are applied but resolve only when the gate opens.
    let store = GatedStore::open(&dir, false);
    let (so, _, info) = start(true, SharedObjectLimits::default(), Some(store.clone()));
    let (reply, answer) = oneshot::channel();
    so.do_send(AdminRequest {
        op: AdminOp::Apply(vec![set("a", 1.0)]),
        reply,
    });
    // The registry's unload (or a racing GET's forget) asks it to stop.
    so.do_send(StopSharedObject);
    stored_version(&store.inner(), 1).await;
    actix_rt::time::sleep(Duration::from_millis(50)).await;
    assert!(so.connected(), "stopped with a commit outstanding");
    assert!(!info.lock().unwrap().idle);
    store.set_gate(true);
    assert_eq!(
        answer.await.expect("answered, not dropped"),
        Ok(AdminAnswer::Applied { version: 1 })
    );
    let deadline = Instant::now() + LIMIT;
    while so.connected() {
        assert!(Instant::now() < deadline, "never stopped once idle");
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
}
