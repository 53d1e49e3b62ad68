//! SharedObject storage: the one [`SoStore`] trait every backend implements.
//!
//! Only persistent SharedObjects are stored; non-persistent ones live in
//! their actor's memory and vanish with it. A backend stores, per object, its
//! version and its slots. Slot values are opaque bytes here: the
//! SharedObject layer chooses their encoding (see
//! `crate::sharedobject::codec`), so a store never parses AMF.
//!
//! A [`SoCommit`] is one accepted client message (or admin API call): a
//! version bump and the changes it made, applied atomically. `commit`
//! resolves once the change is as durable as the store promises (for the
//! embedded store: on disk, unless a flush interval trades that for speed;
//! see [`SharedObjectSettings::flush_interval_ms`](crate::settings::SharedObjectSettings)).
//!
//! Backends: the embedded on-disk store ([`embedded::EmbeddedStore`]: one
//! redb file, single node, nothing to install; see `docs/store.md`); a Redis
//! store in a cluster ([`redis::RedisSoStore`], `--redis`; see `docs/cluster.md`).

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub mod embedded;
pub mod redis;

pub use embedded::{EmbeddedStore, StoreStats};

/// What a store operation returns: a boxed future, so the trait stays
/// object-safe and usable from any arbiter.
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'static>>;

/// A persistent SharedObject's identity: its scope (`APP[/ROOM...]`) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SoKey {
    /// The scope the object lives in.
    pub scope: String,
    /// The name given to `SharedObject.getRemote`.
    pub name: String,
}

impl std::fmt::Display for SoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.scope, self.name)
    }
}

/// A stored object as loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredObject {
    /// The version after the last committed change.
    pub version: u32,
    /// Every slot and its encoded value, in slot-name order.
    pub slots: Vec<(String, Bytes)>,
}

/// One change inside a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoChange {
    /// Set these slots to these encoded values.
    Set(Vec<(String, Bytes)>),
    /// Remove these slots (absent ones are ignored).
    Remove(Vec<String>),
    /// Remove every slot.
    Clear,
}

/// Changes applied together, in order, moving the object to `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoCommit {
    /// The object.
    pub key: SoKey,
    /// The object's version once these changes are applied.
    pub version: u32,
    /// The changes, in order.
    pub changes: Vec<SoChange>,
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be opened (path, permissions, lock held by
    /// another process).
    #[error("cannot open the SharedObject store at {location}: {reason}")]
    Open {
        /// Where the store lives (a path or a URL).
        location: String,
        /// The backend's message.
        reason: String,
    },
    /// The backend failed to read or write.
    #[error("SharedObject store {operation} failed: {reason}")]
    Backend {
        /// What was being done (`load`, `commit`, ...).
        operation: &'static str,
        /// The backend's message.
        reason: String,
    },
    /// Stored bytes could not be decoded (corruption or a format from a
    /// newer version).
    #[error("stored SharedObject {key} is unreadable: {reason}")]
    Corrupt {
        /// The object.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The store was closed (the node is shutting down).
    #[error("the SharedObject store is closed")]
    Closed,
}

/// Where persistent SharedObjects live.
pub trait SoStore: Send + Sync + 'static {
    /// The stored object, or `None` if it was never stored (or deleted).
    fn load(&self, key: &SoKey) -> StoreFuture<Option<StoredObject>>;

    /// Applies `commit` atomically. Resolves once it is durable as promised.
    /// Commits for one key must be applied in the order they were issued.
    fn commit(&self, commit: SoCommit) -> StoreFuture<()>;

    /// Deletes an object and its slots.
    fn delete(&self, key: &SoKey) -> StoreFuture<()>;

    /// Every stored object with its version.
    fn list(&self) -> StoreFuture<Vec<(SoKey, u32)>>;

    /// Resolves once everything committed so far is durable (used at
    /// shutdown and when a flush interval is configured).
    fn flush(&self) -> StoreFuture<()>;
}
