//! Node membership and leases in Redis (DESIGN.md §4, issue 5 "Bus and
//! membership", "Streams across nodes").
//!
//! - **Heartbeats**: each node keeps `{p}:node:{node}` alive with
//!   `SET key info PX ttl`, refreshed every interval (pick `ttl` ≈ 3 ×
//!   interval). A node that stops refreshing — killed, partitioned, hung —
//!   disappears from [`Membership::live_nodes`] within `ttl`, and
//!   [`Membership::watch`] reports it as [`MembershipChange::Left`] so the
//!   survivors can clean up after it.
//! - **Leases** ([`Leases`]): a named, owned key with a TTL. Taking one is
//!   one atomic `SET key owner NX PX ttl`, so of several nodes racing for a
//!   name exactly one wins; refreshing and releasing are Lua scripts that
//!   compare the owner and act in one step, so a node whose lease expired and
//!   was taken by another can neither extend nor delete the new owner's.
//!   Stream ownership is the lease [`KeySpace::stream_lease`]; the owner
//!   token should identify the publisher, not only the node (e.g.
//!   `node-a/17`), so one node's two publishers are told apart.

use std::collections::BTreeSet;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Script;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::bus::BusError;
use super::keys::KeySpace;
use super::NodeId;

/// Extends a lease only if `ARGV[1]` still owns it.
const REFRESH_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

/// Deletes a lease only if `ARGV[1]` still owns it.
const RELEASE_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// A node seen alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveNode {
    /// Its id.
    pub id: NodeId,
    /// What it wrote in its heartbeat (opaque text, e.g. JSON with its
    /// addresses, for `GET /api/nodes`).
    pub info: String,
}

/// A change in the set of live nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipChange {
    /// A node started heartbeating (or was seen for the first time).
    Joined(NodeId),
    /// A node's heartbeat expired (or it left cleanly).
    Left(NodeId),
}

/// The changes between two observations of the live set, joins first.
pub fn membership_changes(
    before: &BTreeSet<NodeId>,
    after: &BTreeSet<NodeId>,
) -> Vec<MembershipChange> {
    let joined = after
        .difference(before)
        .cloned()
        .map(MembershipChange::Joined);
    let left = before
        .difference(after)
        .cloned()
        .map(MembershipChange::Left);
    joined.chain(left).collect()
}

fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn redis_err(op: &'static str) -> impl FnOnce(redis::RedisError) -> BusError {
    move |source| BusError::Redis { op, source }
}

/// Opens a connection manager on `url` and connects it once.
///
/// # Errors
///
/// [`BusError::Redis`] if the URL is invalid or Redis cannot be reached
/// within `limit`.
pub async fn connect_manager(url: &str, limit: Duration) -> Result<ConnectionManager, BusError> {
    let client = redis::Client::open(url).map_err(redis_err("open"))?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(limit))
        .set_response_timeout(Some(limit))
        .set_number_of_retries(2);
    ConnectionManager::new_with_config(client, config)
        .await
        .map_err(redis_err("connect"))
}

/// Node heartbeats and the live-node view.
#[derive(Clone)]
pub struct Membership {
    conn: ConnectionManager,
    keys: KeySpace,
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership")
            .field("keys", &self.keys)
            .finish()
    }
}

impl Membership {
    /// Membership over a connection manager, under `keys`.
    pub fn new(conn: ConnectionManager, keys: KeySpace) -> Self {
        Self { conn, keys }
    }

    /// Writes (or refreshes) `node`'s heartbeat with `info`, expiring after
    /// `ttl`.
    ///
    /// # Errors
    ///
    /// [`BusError::Redis`] if the command fails.
    pub async fn heartbeat(
        &self,
        node: &NodeId,
        info: &str,
        ttl: Duration,
    ) -> Result<(), BusError> {
        let mut conn = self.conn.clone();
        redis::cmd("SET")
            .arg(self.keys.node_key(node))
            .arg(info)
            .arg("PX")
            .arg(ttl_ms(ttl))
            .query_async::<()>(&mut conn)
            .await
            .map_err(redis_err("SET PX (heartbeat)"))
    }

    /// Removes `node`'s heartbeat (clean shutdown).
    ///
    /// # Errors
    ///
    /// [`BusError::Redis`] if the command fails.
    pub async fn leave(&self, node: &NodeId) -> Result<(), BusError> {
        let mut conn = self.conn.clone();
        redis::cmd("DEL")
            .arg(self.keys.node_key(node))
            .query_async::<()>(&mut conn)
            .await
            .map_err(redis_err("DEL (heartbeat)"))
    }

    /// Every node whose heartbeat has not expired, sorted by id.
    ///
    /// # Errors
    ///
    /// [`BusError::Redis`] if a command fails.
    pub async fn live_nodes(&self) -> Result<Vec<LiveNode>, BusError> {
        let mut conn = self.conn.clone();
        let pattern = self.keys.node_key_pattern();
        let mut keys = BTreeSet::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await
                .map_err(redis_err("SCAN (nodes)"))?;
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = keys.into_iter().collect();
        let infos: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .map_err(redis_err("MGET (nodes)"))?;
        // A key that expired between SCAN and MGET reads as nil: not live.
        Ok(keys
            .iter()
            .zip(infos)
            .filter_map(|(key, info)| {
                Some(LiveNode {
                    id: self.keys.node_from_key(key)?,
                    info: info?,
                })
            })
            .collect())
    }

    /// Starts refreshing `node`'s heartbeat every `interval` (the first one
    /// at once) until the returned handle is stopped or dropped. Failures are
    /// logged and retried at the next tick.
    pub fn spawn_heartbeat(
        &self,
        node: NodeId,
        info: String,
        interval: Duration,
        ttl: Duration,
    ) -> Heartbeat {
        let membership = self.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(error) = membership.heartbeat(&node, &info, ttl).await {
                    tracing::warn!(%node, %error, "heartbeat failed");
                }
            }
        });
        Heartbeat { task }
    }

    /// Polls the live set every `interval` and reports changes (the first
    /// observation reports every live node as joined). A failed poll changes
    /// nothing: an unreachable Redis never makes nodes "leave". The task
    /// stops when the receiver is dropped.
    pub fn watch(&self, interval: Duration) -> mpsc::Receiver<MembershipChange> {
        let (tx, rx) = mpsc::channel(256);
        let membership = self.clone();
        tokio::spawn(async move {
            let mut known = BTreeSet::new();
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = tx.closed() => return,
                }
                let now: BTreeSet<NodeId> = match membership.live_nodes().await {
                    Ok(nodes) => nodes.into_iter().map(|n| n.id).collect(),
                    Err(error) => {
                        tracing::debug!(%error, "membership poll failed");
                        continue;
                    }
                };
                for change in membership_changes(&known, &now) {
                    if tx.send(change).await.is_err() {
                        return;
                    }
                }
                known = now;
            }
        });
        rx
    }
}

/// A running heartbeat; dropping it stops the refreshes (the key then
/// expires after its TTL).
#[derive(Debug)]
pub struct Heartbeat {
    task: JoinHandle<()>,
}

impl Heartbeat {
    /// Stops refreshing.
    pub fn stop(self) {}
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Owned, expiring names: stream ownership and the like.
#[derive(Clone)]
pub struct Leases {
    conn: ConnectionManager,
    keys: KeySpace,
    refresh: Script,
    release: Script,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases").field("keys", &self.keys).finish()
    }
}

impl Leases {
    /// Leases over a connection manager, under `keys`.
    pub fn new(conn: ConnectionManager, keys: KeySpace) -> Self {
        Self {
            conn,
            keys,
            refresh: Script::new(REFRESH_LUA),
            release: Script::new(RELEASE_LUA),
        }
    }

    /// Takes `lease` for `owner` for `ttl` if nobody holds it (atomic:
    /// `SET NX PX`). `Ok(false)`: someone else (or `owner` itself, earlier)
    /// holds it.
    ///
    /// # Errors
    ///
    /// [`BusError::Redis`] if the command fails (the lease may or may not
    /// have been taken; [`Leases::owner`] tells).
    pub async fn try_acquire(
        &self,
        lease: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, BusError> {
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.keys.lease_key(lease))
            .arg(owner)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms(ttl))
            .query_async(&mut conn)
            .await
            .map_err(redis_err("SET NX PX (lease)"))?;
        Ok(set.is_some())
    }

    /// Extends `lease` to `ttl` from now if `owner` still holds it.
    ///
    /// # Errors
    ///
    /// [`BusError::Redis`] if the script fails.
    pub async fn refresh(&self, lease: &str, owner: &str, ttl: Duration) -> Result<bool, BusError> {
        let mut conn = self.conn.clone();
        let done: i64 = self
            .refresh
            .key(self.keys.lease_key(lease))
            .arg(owner)
            .arg(ttl_ms(ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(redis_err("refresh lease"))?;
        Ok(done == 1)
    }

    /// Deletes `lease` if `owner` still holds it.
    ///
    /// # Errors
    ///
    /// [`BusError::Redis`] if the script fails.
    pub async fn release(&self, lease: &str, owner: &str) -> Result<bool, BusError> {
        let mut conn = self.conn.clone();
        let done: i64 = self
            .release
            .key(self.keys.lease_key(lease))
            .arg(owner)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_err("release lease"))?;
        Ok(done == 1)
    }

    /// Who holds `lease` now, if anyone.
    ///
    /// # Errors
    ///
    /// [`BusError::Redis`] if the command fails.
    pub async fn owner(&self, lease: &str) -> Result<Option<String>, BusError> {
        let mut conn = self.conn.clone();
        redis::cmd("GET")
            .arg(self.keys.lease_key(lease))
            .query_async(&mut conn)
            .await
            .map_err(redis_err("GET (lease)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[&str]) -> BTreeSet<NodeId> {
        ids.iter().map(|&id| NodeId::from(id)).collect()
    }

    #[test]
    fn membership_changes_list_joins_then_departures() {
        assert_eq!(
            membership_changes(&set(&["a", "b"]), &set(&["b", "c"])),
            vec![
                MembershipChange::Joined(NodeId::from("c")),
                MembershipChange::Left(NodeId::from("a")),
            ]
        );
        assert!(membership_changes(&set(&["a"]), &set(&["a"])).is_empty());
    }

    #[test]
    fn a_zero_ttl_still_expires_in_a_millisecond_not_never() {
        assert_eq!(ttl_ms(Duration::ZERO), 1);
        assert_eq!(ttl_ms(Duration::from_secs(3)), 3000);
        assert_eq!(ttl_ms(Duration::MAX), u64::MAX);
    }
}
