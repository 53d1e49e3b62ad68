//! The Redis SharedObject store (`--redis`): every node sees one state and
//! one total order of changes per object (DESIGN.md §4).
//!
//! Per object (`KeySpace::shared_object_key`, `P` persistent, `T` not):
//!
//! - `…:slots` — a hash, slot name → stored value (`sharedobject::codec`);
//! - `…:ver` — the version (a decimal string);
//! - `…:log` — the op log, a Redis Stream capped with `XADD … MAXLEN ~ N`
//!   (`[shared_objects] history`): entry id `{version}-0`, field `e` = the
//!   published delta envelope, so a node behind reads what it missed with
//!   `XRANGE log {v+1} +`;
//! - `…:members` (non-persistent only) — the ids of nodes using the object;
//!   the last node to leave deletes every key of it, and survivors remove a
//!   dead node ([`RedisSoStore::remove_node`]).
//!
//! **The order.** [`APPLY_SCRIPT`] applies accepted messages in order
//! ([`RedisSoStore::apply_batch`]: a node sends what queued up for an
//! object in one call, one round trip), each atomically and exactly as if
//! alone:
//! it sets/removes/clears the slots, bumps the version when the message
//! changed slots (last writer wins per slot: the script does not check
//! anything), appends the delta to the log, and PUBLISHes the message's
//! envelopes on the object's channel — then returns its version. The node
//! encodes each envelope itself ([`VersionedEnvelope::split`]) in two
//! halves around the version field, and the script joins them around the
//! version it assigned (bincode's varint: one byte below 251, `0xFB` + u16,
//! `0xFC` + u32, little endian), so the published bytes are exactly
//! `Envelope::encode` of the event at that version. A `SharedObject.send`
//! travels in the same script call as the changes of its message (or alone)
//! and carries the version it follows: it is published in the script's
//! order, after the change that produced that version and before the next,
//! but it is not logged (sends are not state; a node that misses one does
//! not replay it).
//!
//! **Durability.** A write is acknowledged once the script returned. Run
//! Redis with `appendonly yes` (and `appendfsync everysec` or `always`) for
//! persistent objects to survive a Redis restart; without AOF a restart
//! loses them.

use std::time::Duration;

use bytes::Bytes;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};

mod message;
mod scripts;

pub use message::{RedisMessage, RedisOp, VersionedEnvelope};
pub use scripts::APPLY_SCRIPT;
use scripts::{JOIN_SCRIPT, LEAVE_SCRIPT};

use super::{SoChange, SoCommit, SoKey, SoStore, StoreError, StoreFuture, StoredObject};
use crate::cluster::envelope::ObjectKey;
use crate::cluster::{KeySpace, NodeId};

/// How long one Redis call may take before it counts as failed.
const REDIS_LIMIT: Duration = Duration::from_secs(2);

/// SharedObjects in Redis. Cheap to clone.
#[derive(Clone)]
pub struct RedisSoStore {
    conn: ConnectionManager,
    keys: KeySpace,
    log_max: usize,
    apply: Script,
    join: Script,
    leave: Script,
}

impl std::fmt::Debug for RedisSoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSoStore")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

fn backend(operation: &'static str) -> impl Fn(redis::RedisError) -> StoreError {
    move |e| StoreError::Backend {
        operation,
        reason: e.to_string(),
    }
}

/// Runs `fut` under [`REDIS_LIMIT`].
async fn limited<T>(
    operation: &'static str,
    fut: impl std::future::Future<Output = Result<T, redis::RedisError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(REDIS_LIMIT, fut).await {
        Ok(result) => result.map_err(backend(operation)),
        Err(_) => Err(StoreError::Backend {
            operation,
            reason: "Redis did not answer in time".to_string(),
        }),
    }
}

/// Runs `script` (EVALSHA, loading it again after a Redis restart).
fn invoke<T: redis::FromRedisValue + Send + 'static>(
    script: &Script,
    conn: &ConnectionManager,
    operation: &'static str,
    keys: Vec<String>,
    args: Vec<Vec<u8>>,
) -> impl std::future::Future<Output = Result<T, StoreError>> + Send + 'static {
    let script = script.clone();
    let mut conn = conn.clone();
    async move {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(arg);
        }
        limited(operation, invocation.invoke_async(&mut conn)).await
    }
}

impl RedisSoStore {
    /// A store on `url` (a lazy connection: nothing is dialled until the
    /// first call, so a Redis that is down never blocks startup); the op log
    /// of each object keeps about `log_max` entries.
    ///
    /// # Errors
    /// [`StoreError::Open`] when the URL does not parse.
    pub fn connect(url: &str, keys: KeySpace, log_max: usize) -> Result<Self, StoreError> {
        let open = |e: redis::RedisError| StoreError::Open {
            location: url.to_string(),
            reason: e.to_string(),
        };
        let client = redis::Client::open(url).map_err(open)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_LIMIT))
            .set_response_timeout(Some(REDIS_LIMIT))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(open)?;
        Ok(Self {
            conn,
            keys,
            log_max: log_max.max(1),
            apply: Script::new(APPLY_SCRIPT),
            join: Script::new(JOIN_SCRIPT),
            leave: Script::new(LEAVE_SCRIPT),
        })
    }

    /// The key space.
    pub fn keys(&self) -> &KeySpace {
        &self.keys
    }

    fn key(&self, object: &ObjectKey, part: &str) -> String {
        self.keys
            .shared_object_key(&object.scope, &object.name, object.persistent, part)
    }

    /// The object's channel.
    pub fn channel(&self, object: &ObjectKey) -> String {
        self.keys
            .shared_object_channel(&object.scope, &object.name, object.persistent)
    }

    /// Applies one message's `ops` and publishes its `envelopes` atomically
    /// ([`APPLY_SCRIPT`]); resolves to the version the cluster gave it.
    pub fn apply(
        &self,
        object: &ObjectKey,
        ops: Vec<RedisOp>,
        envelopes: Vec<VersionedEnvelope>,
    ) -> StoreFuture<u32> {
        let batch = self.apply_batch(object, vec![RedisMessage { ops, envelopes }]);
        Box::pin(async move {
            let versions = batch.await?;
            versions
                .first()
                .copied()
                .ok_or_else(|| StoreError::Backend {
                    operation: "apply",
                    reason: "the script returned no version".to_string(),
                })
        })
    }

    /// Applies `messages` in order in one script call (one round trip,
    /// atomic as a whole: all of them or none, unless the script itself
    /// fails midway, which valid arguments cannot make it do); resolves to
    /// each message's version, in order. Every message gets its own
    /// version bump, log entry and published envelopes, exactly as if it
    /// had been applied alone.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the call failed or timed out (whether
    /// it ran is then unknown), or answered other than one version per
    /// message.
    pub fn apply_batch(
        &self,
        object: &ObjectKey,
        messages: Vec<RedisMessage>,
    ) -> StoreFuture<Vec<u32>> {
        let keys = vec![
            self.key(object, "slots"),
            self.key(object, "ver"),
            self.key(object, "log"),
        ];
        let count = messages.len();
        let mut args: Vec<Vec<u8>> = vec![
            self.log_max.to_string().into_bytes(),
            self.channel(object).into_bytes(),
            count.to_string().into_bytes(),
        ];
        for message in messages {
            message.push_args(&mut args);
        }
        let invoke = invoke::<Vec<u64>>(&self.apply, &self.conn, "apply", keys, args);
        Box::pin(async move {
            let versions = invoke.await?;
            if versions.len() != count {
                return Err(StoreError::Backend {
                    operation: "apply",
                    reason: format!(
                        "the script returned {} versions for {count} messages",
                        versions.len()
                    ),
                });
            }
            Ok(versions
                .into_iter()
                .map(|v| u32::try_from(v).unwrap_or(u32::MAX))
                .collect())
        })
    }

    /// The object's version and slots (version 0 and no slots if absent),
    /// read atomically.
    pub fn load_object(&self, object: &ObjectKey) -> StoreFuture<StoredObject> {
        let (ver, slots) = (self.key(object, "ver"), self.key(object, "slots"));
        let mut conn = self.conn.clone();
        Box::pin(async move {
            let (version, pairs): (Option<u64>, Vec<(String, Vec<u8>)>) = limited(
                "load",
                redis::pipe()
                    .atomic()
                    .get(&ver)
                    .hgetall(&slots)
                    .query_async(&mut conn),
            )
            .await?;
            let mut slots: Vec<(String, Bytes)> = pairs
                .into_iter()
                .map(|(k, v)| (k, Bytes::from(v)))
                .collect();
            slots.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(StoredObject {
                version: version.map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX)),
                slots,
            })
        })
    }

    /// The logged envelopes of versions `from` and later, in order, as
    /// `(version, envelope)`. The caller checks the first is `from` (else
    /// the log was trimmed past it: reload the whole object).
    pub fn read_log(&self, object: &ObjectKey, from: u32) -> StoreFuture<Vec<(u32, Bytes)>> {
        let log = self.key(object, "log");
        let mut conn = self.conn.clone();
        Box::pin(async move {
            let reply: redis::streams::StreamRangeReply =
                limited("read log", conn.xrange(&log, format!("{from}-0"), "+")).await?;
            let mut out = Vec::with_capacity(reply.ids.len());
            for entry in reply.ids {
                let version = entry
                    .id
                    .split('-')
                    .next()
                    .and_then(|v| v.parse::<u32>().ok());
                let envelope: Option<Vec<u8>> = entry.get("e");
                if let (Some(version), Some(envelope)) = (version, envelope) {
                    out.push((version, Bytes::from(envelope)));
                }
            }
            Ok(out)
        })
    }

    /// `node` uses the non-persistent `object`: it joins the member set; a
    /// new object starts at `first_version`.
    pub fn join(&self, object: &ObjectKey, node: &NodeId, first_version: u32) -> StoreFuture<()> {
        let keys = vec![self.key(object, "members"), self.key(object, "ver")];
        let args = vec![
            node.as_str().as_bytes().to_vec(),
            first_version.to_string().into_bytes(),
        ];
        let invoke = invoke::<i64>(&self.join, &self.conn, "join", keys, args);
        Box::pin(async move { invoke.await.map(|_| ()) })
    }

    /// `node` stops using the non-persistent `object`; resolves to whether
    /// that deleted it (no member left).
    pub fn leave(&self, object: &ObjectKey, node: &NodeId) -> StoreFuture<bool> {
        let members = self.key(object, "members");
        self.leave_keys(members, object, node)
    }

    fn leave_keys(&self, members: String, object: &ObjectKey, node: &NodeId) -> StoreFuture<bool> {
        let keys = vec![
            members,
            self.key(object, "slots"),
            self.key(object, "ver"),
            self.key(object, "log"),
        ];
        let args = vec![node.as_str().as_bytes().to_vec()];
        let invoke = invoke::<i64>(&self.leave, &self.conn, "leave", keys, args);
        Box::pin(async move { invoke.await.map(|deleted| deleted == 1) })
    }

    /// Removes a dead `node` from every non-persistent object's member set,
    /// deleting objects nobody uses any more; resolves to how many.
    pub fn remove_node(&self, node: &NodeId) -> StoreFuture<usize> {
        let store = self.clone();
        let node = node.clone();
        Box::pin(async move {
            let pattern = store.keys.shared_object_pattern(false, "members");
            let keys = store.scan(&pattern).await?;
            let mut deleted = 0;
            for key in keys {
                let Some((scope, name)) = store.keys.shared_object_from_key(&key, false, "members")
                else {
                    continue;
                };
                let object = ObjectKey {
                    scope,
                    name,
                    persistent: false,
                };
                if store.leave_keys(key, &object, &node).await? {
                    deleted += 1;
                }
            }
            Ok(deleted)
        })
    }

    async fn scan(&self, pattern: &str) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn.clone();
        let mut cursor: u64 = 0;
        let mut out = Vec::new();
        loop {
            let (next, batch): (u64, Vec<String>) = limited(
                "scan",
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(500)
                    .query_async(&mut conn),
            )
            .await?;
            out.extend(batch);
            if next == 0 {
                return Ok(out);
            }
            cursor = next;
        }
    }
}

fn persistent(key: &SoKey) -> ObjectKey {
    ObjectKey {
        scope: key.scope.clone(),
        name: key.name.clone(),
        persistent: true,
    }
}

/// The persistent objects, for the registry's listing and the admin API.
/// Commits go through [`RedisSoStore::apply`] in the cluster; `commit`
/// applies the changes without publishing (Redis assigns the version).
impl SoStore for RedisSoStore {
    fn load(&self, key: &SoKey) -> StoreFuture<Option<StoredObject>> {
        let load = self.load_object(&persistent(key));
        Box::pin(async move {
            let stored = load.await?;
            Ok((stored.version > 0 || !stored.slots.is_empty()).then_some(stored))
        })
    }

    fn commit(&self, commit: SoCommit) -> StoreFuture<()> {
        let mut ops = Vec::new();
        for change in commit.changes {
            match change {
                SoChange::Set(pairs) => {
                    ops.extend(pairs.into_iter().map(|(k, v)| RedisOp::Set(k, v)))
                }
                SoChange::Remove(names) => ops.extend(names.into_iter().map(RedisOp::Remove)),
                SoChange::Clear => ops.push(RedisOp::Clear),
            }
        }
        let apply = self.apply(&persistent(&commit.key), ops, Vec::new());
        Box::pin(async move { apply.await.map(|_| ()) })
    }

    fn delete(&self, key: &SoKey) -> StoreFuture<()> {
        let object = persistent(key);
        let keys: Vec<String> = ["slots", "ver", "log"]
            .iter()
            .map(|part| self.key(&object, part))
            .collect();
        let mut conn = self.conn.clone();
        Box::pin(async move {
            let _: i64 = limited("delete", conn.del(keys)).await?;
            Ok(())
        })
    }

    fn list(&self) -> StoreFuture<Vec<(SoKey, u32)>> {
        let store = self.clone();
        Box::pin(async move {
            let pattern = store.keys.shared_object_pattern(true, "ver");
            let keys = store.scan(&pattern).await?;
            let mut out = Vec::with_capacity(keys.len());
            let mut conn = store.conn.clone();
            for key in keys {
                let Some((scope, name)) = store.keys.shared_object_from_key(&key, true, "ver")
                else {
                    continue;
                };
                let version: Option<u64> = limited("list", conn.get(&key)).await?;
                let version = version.map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX));
                out.push((SoKey { scope, name }, version));
            }
            out.sort();
            Ok(out)
        })
    }

    fn flush(&self) -> StoreFuture<()> {
        // Durability is Redis's (AOF); nothing is buffered here.
        Box::pin(async { Ok(()) })
    }
}
