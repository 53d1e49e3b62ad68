//! The embedded SharedObject store: one redb file under the node's data
//! directory, written by one thread with group commit.
//!
//! - `tables`: the on-disk layout (objects, slots, meta) and the reads and
//!   writes over it.
//! - `writer`: the writer thread, the batch loop and the durability window.
//! - this file: [`EmbeddedStore`], the handle every arbiter shares.
//!
//! Durability: with a flush interval of 0 (the default), `commit` resolves
//! only after the write transaction holding it is committed to disk (redb
//! `Durability::Immediate`: fsync). Concurrent commits share one transaction
//! and one fsync. With a flush interval N > 0, `commit` resolves once the
//! change is applied to the open transaction, and the writer commits at
//! least every N, so a crash loses at most the last N of acknowledged
//! changes; `flush` forces a commit. See `docs/store.md`.

mod tables;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use redb::{Builder, DatabaseError};
use tokio::sync::oneshot;

use self::writer::{Counters, Reply, Request, Writer};
use crate::store::{SoCommit, SoKey, SoStore, StoreError, StoreFuture, StoredObject};

/// The store's file name inside the data directory.
pub const FILE_NAME: &str = "shared-objects.redb";

/// redb's page cache; SharedObjects are small, and redb's own default
/// (1 GiB) is more than a node should give them.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Counters of what the store did since it was opened; cheap to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Commits applied and acknowledged.
    pub commits: u64,
    /// Write transactions committed to disk (one fsync each). With group
    /// commit this is below `commits + deletes` under load.
    pub transactions: u64,
    /// Loads answered.
    pub loads: u64,
    /// Deletes applied.
    pub deletes: u64,
    /// Batches that failed; their callers got the error.
    pub failed_batches: u64,
}

/// The embedded on-disk [`SoStore`]. Share it (`Arc`) between arbiters; the
/// futures it returns are `Send + 'static` and need no particular runtime.
///
/// A request is queued when the method is called, not when its future is
/// first polled, so calls made in order are applied in order; dropping a
/// future does not cancel its request.
#[derive(Debug)]
pub struct EmbeddedStore {
    /// The writer's queue.
    tx: Sender<Request>,
    /// The writer thread, until closed.
    writer: Mutex<Option<JoinHandle<Result<(), StoreError>>>>,
    /// Shared with the writer.
    counters: Arc<Counters>,
    /// The database file.
    path: PathBuf,
    /// The configured durability window.
    flush_interval: Duration,
}

impl EmbeddedStore {
    /// Opens (creating if missing) the store in `dir/shared-objects.redb` and
    /// starts its writer thread. `flush_interval` is the durability window:
    /// zero means a commit resolves only once it is on disk.
    ///
    /// After a crash, redb checks and repairs the file here (a full scan of
    /// the file; logged).
    ///
    /// # Errors
    ///
    /// [`StoreError::Open`] if `dir` cannot be created, the file cannot be
    /// opened or is not a store of a known format, or another process (or
    /// another store in this process) has it open.
    pub fn open(dir: &Path, flush_interval: Duration) -> Result<EmbeddedStore, StoreError> {
        let path = dir.join(FILE_NAME);
        let open_error = |reason: String| StoreError::Open {
            location: path.display().to_string(),
            reason,
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| open_error(format!("cannot create the data directory: {e}")))?;
        let repair_path = path.display().to_string();
        // redb runs its repair pass on a file it has just created, too: only
        // an existing file's repair means the last run did not close it.
        let existed = path.exists();
        let db = Builder::new()
            .create_with_file_format_v3(true)
            .set_cache_size(CACHE_BYTES)
            .set_repair_callback(move |session| {
                if existed && session.progress() == 0.0 {
                    tracing::warn!(path = %repair_path, "SharedObject store was not closed cleanly: repairing");
                }
            })
            .create(&path)
            .map_err(|e| match e {
                DatabaseError::DatabaseAlreadyOpen => open_error(
                    "the file is locked: another ferrocast process (or store) has this data directory open"
                        .to_owned(),
                ),
                other => open_error(other.to_string()),
            })?;
        tables::initialize(&db).map_err(|e| open_error(e.to_string()))?;

        let counters = Arc::new(Counters::default());
        let (tx, rx) = mpsc::channel();
        let writer = Writer::new(db, rx, flush_interval, Arc::clone(&counters));
        let handle = thread::Builder::new()
            .name("so-store-writer".to_owned())
            .spawn(move || writer.run())
            .map_err(|e| open_error(format!("cannot start the writer thread: {e}")))?;
        tracing::info!(
            path = %path.display(),
            flush_interval_ms = flush_interval.as_millis() as u64,
            "SharedObject store opened"
        );
        Ok(EmbeddedStore {
            tx,
            writer: Mutex::new(Some(handle)),
            counters,
            path,
            flush_interval,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The durability window this store was opened with.
    pub fn flush_interval(&self) -> Duration {
        self.flush_interval
    }

    /// What the store did so far.
    pub fn stats(&self) -> StoreStats {
        let c = &self.counters;
        StoreStats {
            commits: c.commits.load(Ordering::Relaxed),
            transactions: c.transactions.load(Ordering::Relaxed),
            loads: c.loads.load(Ordering::Relaxed),
            deletes: c.deletes.load(Ordering::Relaxed),
            failed_batches: c.failed_batches.load(Ordering::Relaxed),
        }
    }

    /// Commits everything queued before this call, stops the writer thread
    /// and waits for it (blocking the calling thread for at most one
    /// commit). Later requests fail with [`StoreError::Closed`]. Closing
    /// twice is a no-op. Dropping the store does the same.
    ///
    /// # Errors
    ///
    /// The final commit's error, or [`StoreError::Closed`] if the writer
    /// thread died.
    pub fn close(&self) -> Result<(), StoreError> {
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(handle) = handle else {
            return Ok(());
        };
        // A send error means the writer already stopped; joining tells why.
        let _ = self.tx.send(Request::Close);
        let result = handle.join().unwrap_or(Err(StoreError::Closed));
        tracing::info!(path = %self.path.display(), ok = result.is_ok(), "SharedObject store closed");
        result
    }

    /// Queues a request built around a fresh reply channel and returns the
    /// future of its answer.
    fn request<T: Send + 'static>(&self, make: impl FnOnce(Reply<T>) -> Request) -> StoreFuture<T> {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(make(reply)).is_err() {
            return Box::pin(std::future::ready(Err(StoreError::Closed)));
        }
        // A dropped reply means the writer stopped before answering.
        Box::pin(async move { answer.await.unwrap_or(Err(StoreError::Closed)) })
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!(path = %self.path.display(), error = %e, "SharedObject store did not close cleanly");
        }
    }
}

impl SoStore for EmbeddedStore {
    fn load(&self, key: &SoKey) -> StoreFuture<Option<StoredObject>> {
        let key = key.clone();
        self.request(|reply| Request::Load(key, reply))
    }

    fn commit(&self, commit: SoCommit) -> StoreFuture<()> {
        self.request(|reply| Request::Commit(commit, reply))
    }

    fn delete(&self, key: &SoKey) -> StoreFuture<()> {
        let key = key.clone();
        self.request(|reply| Request::Delete(key, reply))
    }

    fn list(&self) -> StoreFuture<Vec<(SoKey, u32)>> {
        self.request(Request::List)
    }

    fn flush(&self) -> StoreFuture<()> {
        self.request(Request::Flush)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    use bytes::Bytes;

    use super::*;
    use crate::store::SoChange;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(label: &str) -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let unique = format!(
                "ferrocast-store-{label}-{}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
            );
            Self(std::env::temp_dir().join(unique))
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn key(scope: &str, name: &str) -> SoKey {
        SoKey {
            scope: scope.to_owned(),
            name: name.to_owned(),
        }
    }

    fn set(slots: &[(&str, &str)]) -> SoChange {
        SoChange::Set(
            slots
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Bytes::copy_from_slice(v.as_bytes())))
                .collect(),
        )
    }

    fn commit(key: &SoKey, version: u32, changes: Vec<SoChange>) -> SoCommit {
        SoCommit {
            key: key.clone(),
            version,
            changes,
        }
    }

    fn slots(object: &StoredObject) -> Vec<(&str, &[u8])> {
        object
            .slots
            .iter()
            .map(|(k, v)| (k.as_str(), &v[..]))
            .collect()
    }

    #[tokio::test]
    async fn a_commit_is_loaded_back_with_its_version_and_slots() {
        let dir = TempDir::new("roundtrip");
        let store = EmbeddedStore::open(&dir.0, Duration::ZERO).expect("open");
        let k = key("chat/room1", "scores");
        assert_eq!(store.load(&k).await, Ok(None));
        store
            .commit(commit(&k, 3, vec![set(&[("b", "2"), ("a", "1")])]))
            .await
            .expect("commit");
        let object = store.load(&k).await.expect("load").expect("stored");
        assert_eq!(object.version, 3);
        assert_eq!(slots(&object), [("a", &b"1"[..]), ("b", b"2")]);
    }

    #[tokio::test]
    async fn set_remove_and_clear_apply_in_order_inside_one_commit() {
        let dir = TempDir::new("order");
        let store = EmbeddedStore::open(&dir.0, Duration::ZERO).expect("open");
        let k = key("app", "so");
        store
            .commit(commit(&k, 1, vec![set(&[("old", "x"), ("keep", "y")])]))
            .await
            .expect("commit 1");
        let changes = vec![
            SoChange::Clear,
            set(&[("a", "1"), ("b", "2"), ("c", "3")]),
            SoChange::Remove(vec!["b".to_owned(), "absent".to_owned()]),
            set(&[("c", "33")]),
        ];
        store
            .commit(commit(&k, 2, changes))
            .await
            .expect("commit 2");
        let object = store.load(&k).await.expect("load").expect("stored");
        assert_eq!(object.version, 2);
        assert_eq!(slots(&object), [("a", &b"1"[..]), ("c", b"33")]);
    }

    #[tokio::test]
    async fn objects_whose_names_share_a_prefix_keep_their_slots_apart() {
        let dir = TempDir::new("prefix");
        let store = EmbeddedStore::open(&dir.0, Duration::ZERO).expect("open");
        let names = ["a", "a\0", "ab", "a b", ""];
        for (i, name) in names.iter().enumerate() {
            let value = format!("{i}");
            let c = commit(&key("s", name), 1, vec![set(&[("slot", &value)])]);
            store.commit(c).await.expect("commit");
        }
        store
            .commit(commit(&key("s", "a"), 2, vec![SoChange::Clear]))
            .await
            .expect("clear a");
        store.delete(&key("s", "ab")).await.expect("delete ab");
        let a = store.load(&key("s", "a")).await.expect("load").expect("a");
        assert!(a.slots.is_empty(), "a was cleared: {a:?}");
        assert_eq!(store.load(&key("s", "ab")).await, Ok(None));
        for (i, name) in names
            .iter()
            .enumerate()
            .filter(|(_, n)| !["a", "ab"].contains(n))
        {
            let object = store
                .load(&key("s", name))
                .await
                .expect("load")
                .expect("kept");
            assert_eq!(
                slots(&object),
                [("slot", format!("{i}").as_bytes())],
                "{name:?}"
            );
        }
    }

    #[tokio::test]
    async fn many_keys_are_stored_and_listed_in_key_order() {
        let dir = TempDir::new("many");
        let store = EmbeddedStore::open(&dir.0, Duration::ZERO).expect("open");
        let pending: Vec<_> = (0..300u32)
            .map(|i| {
                let k = key(&format!("app/room{}", i % 7), &format!("so{i:03}"));
                store.commit(commit(&k, i, vec![set(&[("i", &i.to_string())])]))
            })
            .collect();
        for p in pending {
            p.await.expect("commit");
        }
        let listed = store.list().await.expect("list");
        assert_eq!(listed.len(), 300);
        assert!(listed.windows(2).all(|w| w[0].0 < w[1].0), "key order");
        for (k, version) in listed {
            let object = store.load(&k).await.expect("load").expect("stored");
            assert_eq!(object.version, version);
            assert_eq!(slots(&object), [("i", version.to_string().as_bytes())]);
        }
    }

    #[tokio::test]
    async fn delete_removes_the_object_and_all_its_slots() {
        let dir = TempDir::new("delete");
        let store = EmbeddedStore::open(&dir.0, Duration::ZERO).expect("open");
        let (gone, kept) = (key("app", "gone"), key("app", "kept"));
        let many: Vec<(String, String)> = (0..200)
            .map(|i| (format!("s{i}"), "v".to_owned()))
            .collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        store
            .commit(commit(&gone, 1, vec![set(&many)]))
            .await
            .expect("commit");
        store
            .commit(commit(&kept, 1, vec![set(&[("x", "1")])]))
            .await
            .expect("commit");
        store.delete(&gone).await.expect("delete");
        store
            .delete(&key("app", "never"))
            .await
            .expect("deleting an unknown key");
        assert_eq!(store.load(&gone).await, Ok(None));
        assert_eq!(store.list().await, Ok(vec![(kept.clone(), 1)]));
        // A later commit recreates it from nothing.
        store
            .commit(commit(&gone, 9, vec![set(&[("y", "2")])]))
            .await
            .expect("commit");
        let object = store.load(&gone).await.expect("load").expect("recreated");
        assert_eq!(
            (object.version, slots(&object)),
            (9, vec![("y", &b"2"[..])])
        );
        assert_eq!(store.stats().deletes, 2);
    }

    #[tokio::test]
    async fn everything_survives_a_close_and_reopen() {
        let dir = TempDir::new("reopen");
        let k = key("app", "persist");
        {
            let store = EmbeddedStore::open(&dir.0, Duration::ZERO).expect("open");
            store
                .commit(commit(&k, 5, vec![set(&[("a", "1"), ("b", "2")])]))
                .await
                .expect("commit");
            store.close().expect("close");
            assert_eq!(store.load(&k).await, Err(StoreError::Closed));
            assert_eq!(
                store.commit(commit(&k, 6, vec![])).await,
                Err(StoreError::Closed)
            );
            store.close().expect("closing twice is a no-op");
        }
        let store = EmbeddedStore::open(&dir.0, Duration::ZERO).expect("reopen");
        let object = store.load(&k).await.expect("load").expect("kept");
        assert_eq!(
            (object.version, slots(&object)),
            (5, vec![("a", &b"1"[..]), ("b", b"2")])
        );
        assert_eq!(store.list().await, Ok(vec![(k, 5)]));
    }

    #[tokio::test]
    async fn a_second_open_of_the_same_directory_fails_with_open() {
        let dir = TempDir::new("lock");
        let first = EmbeddedStore::open(&dir.0, Duration::ZERO).expect("open");
        match EmbeddedStore::open(&dir.0, Duration::ZERO) {
            Err(StoreError::Open { location, reason }) => {
                assert!(location.ends_with(FILE_NAME), "{location}");
                assert!(reason.contains("locked"), "{reason}");
            }
            other => panic!("expected StoreError::Open, got {other:?}"),
        }
        drop(first);
        EmbeddedStore::open(&dir.0, Duration::ZERO).expect("open after the first closed");
    }

    #[test]
    fn a_file_of_a_newer_layout_is_refused_with_open() {
        let dir = TempDir::new("format");
        EmbeddedStore::open(&dir.0, Duration::ZERO)
            .expect("open")
            .close()
            .expect("close");
        let db = redb::Database::create(dir.0.join(FILE_NAME)).expect("redb open");
        let txn = db.begin_write().expect("begin");
        txn.open_table(tables::META)
            .expect("meta")
            .insert(tables::FORMAT_KEY, tables::FORMAT_VERSION + 1)
            .expect("insert");
        txn.commit().expect("commit");
        drop(db);
        match EmbeddedStore::open(&dir.0, Duration::ZERO) {
            Err(StoreError::Open { reason, .. }) => {
                assert!(reason.contains("layout format"), "{reason}")
            }
            other => panic!("expected StoreError::Open, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn concurrent_commits_from_many_tasks_share_few_transactions() {
        let dir = TempDir::new("group");
        let store = Arc::new(EmbeddedStore::open(&dir.0, Duration::ZERO).expect("open"));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..200u32 {
            let store = Arc::clone(&store);
            tasks.spawn(async move {
                let k = key("app", &format!("so{}", i % 10));
                store
                    .commit(commit(&k, i, vec![set(&[(&format!("s{i}"), "v")])]))
                    .await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("task").expect("commit");
        }
        let stats = store.stats();
        assert_eq!(stats.commits, 200);
        assert!(
            stats.transactions < 100,
            "group commit should batch 200 concurrent commits: {stats:?}"
        );
        let listed = store.list().await.expect("list");
        assert_eq!(listed.len(), 10);
    }

    #[tokio::test]
    async fn commits_on_one_key_from_one_task_apply_in_issue_order() {
        let dir = TempDir::new("issue-order");
        let store = EmbeddedStore::open(&dir.0, Duration::ZERO).expect("open");
        let k = key("app", "counter");
        // Issued without awaiting: queued at the call, answered later.
        let pending: Vec<_> = (1..=100u32)
            .map(|i| {
                let mut changes = vec![set(&[("n", &i.to_string())])];
                if i % 10 == 0 {
                    changes.insert(0, SoChange::Clear);
                }
                store.commit(commit(&k, i, changes))
            })
            .collect();
        let load = store.load(&k);
        for p in pending {
            p.await.expect("commit");
        }
        let object = load.await.expect("load").expect("stored");
        assert_eq!(
            (object.version, slots(&object)),
            (100, vec![("n", &b"100"[..])])
        );
    }

    #[tokio::test]
    async fn with_a_flush_interval_changes_are_visible_at_once_and_durable_within_it() {
        let dir = TempDir::new("interval");
        let store = EmbeddedStore::open(&dir.0, Duration::from_millis(50)).expect("open");
        let k = key("app", "window");
        store
            .commit(commit(&k, 1, vec![set(&[("a", "1")])]))
            .await
            .expect("commit");
        let object = store
            .load(&k)
            .await
            .expect("load")
            .expect("visible before durable");
        assert_eq!(object.version, 1);
        let deadline = Instant::now() + Duration::from_secs(5);
        while store.stats().transactions == 0 {
            assert!(
                Instant::now() < deadline,
                "the writer never committed on its own"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        store
            .commit(commit(&k, 2, vec![set(&[("b", "2")])]))
            .await
            .expect("commit");
        store.flush().await.expect("flush");
        assert_eq!(store.stats().transactions, 2);
    }

    /// Not a timed test: prints commits/s one by one, grouped, and with a
    /// flush interval (docs/store.md quotes it). Run with
    /// `cargo test --lib store::embedded::tests::measure -- --ignored --nocapture`.
    #[tokio::test]
    #[ignore = "a measurement, run by hand"]
    async fn measure_commits_per_second_with_and_without_group_commit() {
        async fn run(interval: Duration, total: u32, in_flight: u32) -> (f64, StoreStats) {
            let dir = TempDir::new("measure");
            let store = Arc::new(EmbeddedStore::open(&dir.0, interval).expect("open"));
            let started = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for t in 0..in_flight {
                let store = Arc::clone(&store);
                tasks.spawn(async move {
                    for i in (t..total).step_by(in_flight as usize) {
                        let k = key("bench", &format!("so{}", i % 50));
                        let c = commit(&k, i, vec![set(&[("slot", "a value of some bytes")])]);
                        store.commit(c).await.expect("commit");
                    }
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.expect("task");
            }
            store.flush().await.expect("flush");
            let rate = f64::from(total) / started.elapsed().as_secs_f64();
            (rate, store.stats())
        }
        let one_by_one = run(Duration::ZERO, 300, 1).await;
        let grouped = run(Duration::ZERO, 20_000, 200).await;
        let windowed = run(Duration::from_millis(100), 20_000, 1).await;
        println!(
            "one by one (1 in flight, fsync each): {:.0} commits/s {:?}",
            one_by_one.0, one_by_one.1
        );
        println!(
            "group commit (200 in flight):        {:.0} commits/s {:?}",
            grouped.0, grouped.1
        );
        println!(
            "flush_interval 100 ms (1 in flight): {:.0} commits/s {:?}",
            windowed.0, windowed.1
        );
        assert!(grouped.1.transactions < grouped.1.commits);
    }
}

#[cfg(test)]
mod crash_tests;
