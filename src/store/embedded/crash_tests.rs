//! Real crash tests: the test binary re-runs one of its own tests as a child
//! process that commits through the store and then `abort()`s without
//! closing it; the parent reopens the directory and checks what survived
//! against a model of the commits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use bytes::Bytes;

use super::EmbeddedStore;
use crate::store::{SoChange, SoCommit, SoKey, SoStore, StoredObject};

/// Set in the child: the directory to crash in.
const CHILD_DIR_ENV: &str = "FERROCAST_STORE_CRASH_CHILD_DIR";
/// Objects the commits are spread over.
const KEYS: u32 = 4;
/// Commits per phase.
const COMMITS: u32 = 60;

/// The directory to crash in, if this process is the child.
fn child_dir() -> Option<PathBuf> {
    std::env::var_os(CHILD_DIR_ENV).map(PathBuf::from)
}

/// Re-runs test `name` of this module in a child process told to crash in
/// `dir`, and returns how it ended.
fn run_crasher(name: &str, dir: &Path) -> Output {
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, rest)| rest);
    let exe = std::env::current_exe().expect("the test binary's path");
    Command::new(exe)
        .args(["--exact", &format!("{module}::{name}"), "--nocapture"])
        .env(CHILD_DIR_ENV, dir)
        .output()
        .expect("the crasher ran")
}

/// Asserts the child got to its `abort()`.
fn assert_aborted(output: &Output) {
    let text = format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            output.status.signal(),
            Some(6),
            "the child must abort (SIGABRT): {text}"
        );
    }
    #[cfg(not(unix))]
    assert!(!output.status.success(), "the child must abort: {text}");
}

fn key(i: u32) -> SoKey {
    SoKey {
        scope: "crash/room".to_owned(),
        name: format!("so{}", i % KEYS),
    }
}

/// Commit number `i` (from 1): on object `i % KEYS`, version `i`; sets
/// `last` and `s{i}`, removes `s{i-8}`, and every 25th starts with Clear.
fn numbered_commit(i: u32) -> SoCommit {
    let mut changes = vec![
        SoChange::Set(vec![
            ("last".to_owned(), Bytes::from(i.to_string())),
            (format!("s{i}"), Bytes::from(vec![b'x'; (i % 300) as usize])),
        ]),
        SoChange::Remove(vec![format!("s{}", i.saturating_sub(8))]),
    ];
    if i % 25 == 0 {
        changes.insert(0, SoChange::Clear);
    }
    SoCommit {
        key: key(i),
        version: i,
        changes,
    }
}

/// What object `key(object)` holds after commits `1..=upto`, or `None`.
fn model(object: u32, upto: u32) -> Option<StoredObject> {
    let mut version = None;
    let mut slots = BTreeMap::new();
    for commit in (1..=upto)
        .filter(|i| i % KEYS == object)
        .map(numbered_commit)
    {
        for change in commit.changes {
            match change {
                SoChange::Set(set) => slots.extend(set),
                SoChange::Remove(names) => names.iter().for_each(|n| drop(slots.remove(n))),
                SoChange::Clear => slots.clear(),
            }
        }
        version = Some(commit.version);
    }
    version.map(|version| StoredObject {
        version,
        slots: slots.into_iter().collect(),
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
}

/// Reopens `dir` and asserts each object is exactly the model state after
/// some prefix of the commits that is at least `acknowledged` (so nothing
/// acknowledged is lost and no commit is half applied); returns the
/// versions found.
fn assert_survivors(dir: &Path, acknowledged: u32) -> Vec<u32> {
    let store = EmbeddedStore::open(dir, Duration::ZERO).expect("reopen after the crash");
    runtime().block_on(async {
        let mut versions = Vec::new();
        for object in 0..KEYS {
            let found = store.load(&key(object)).await.expect("load");
            let found = found.unwrap_or_else(|| panic!("object {object} lost"));
            assert_eq!(
                Some(&found),
                model(object, found.version).as_ref(),
                "object {object} is not a committed state"
            );
            let must_have = model(object, acknowledged).map_or(0, |m| m.version);
            assert!(
                found.version >= must_have,
                "object {object}: version {} but {must_have} was acknowledged",
                found.version
            );
            versions.push(found.version);
        }
        versions
    })
}

/// A fresh directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("ferrocast-crash-{label}-{}-{nanos}", std::process::id());
        Self(std::env::temp_dir().join(name))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_killed_process_loses_no_acknowledged_commit() {
    if let Some(dir) = child_dir() {
        runtime().block_on(async {
            let store = EmbeddedStore::open(&dir, Duration::ZERO).expect("open");
            // Half awaited one by one, half issued together (group commit).
            for i in 1..=COMMITS / 2 {
                store.commit(numbered_commit(i)).await.expect("commit");
            }
            let together: Vec<_> = (COMMITS / 2 + 1..=COMMITS)
                .map(|i| store.commit(numbered_commit(i)))
                .collect();
            for commit in together {
                commit.await.expect("commit");
            }
            // Issued, never acknowledged: may or may not survive, but whole.
            for i in COMMITS + 1..=COMMITS + 20 {
                drop(store.commit(numbered_commit(i)));
            }
            std::process::abort();
        })
    }
    let dir = TempDir::new("sync");
    assert_aborted(&run_crasher(
        "a_killed_process_loses_no_acknowledged_commit",
        &dir.0,
    ));
    assert_survivors(&dir.0, COMMITS);
}

#[test]
fn a_killed_process_with_a_flush_interval_keeps_everything_flushed() {
    if let Some(dir) = child_dir() {
        runtime().block_on(async {
            // A window far longer than the test: only `flush` commits.
            let store = EmbeddedStore::open(&dir, Duration::from_secs(600)).expect("open");
            for i in 1..=COMMITS {
                store.commit(numbered_commit(i)).await.expect("commit");
            }
            store.flush().await.expect("flush");
            // Acknowledged, inside the window, never flushed.
            for i in COMMITS + 1..=2 * COMMITS {
                store.commit(numbered_commit(i)).await.expect("commit");
            }
            std::process::abort();
        })
    }
    let dir = TempDir::new("window");
    assert_aborted(&run_crasher(
        "a_killed_process_with_a_flush_interval_keeps_everything_flushed",
        &dir.0,
    ));
    let versions = assert_survivors(&dir.0, COMMITS);
    // What was lost is exactly the unflushed window: the writer had no
    // reason to commit it before the 600 s deadline.
    let flushed: Vec<u32> = (0..KEYS)
        .map(|o| model(o, COMMITS).map_or(0, |m| m.version))
        .collect();
    assert_eq!(versions, flushed);
}
