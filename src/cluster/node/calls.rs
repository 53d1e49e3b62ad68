//! Cross-node `callClient`: the calls this node sent to another node's
//! client and awaits a reply for.
//!
//! A call gets a correlation id and an entry in a bounded map, and goes to
//! the target node's inbox channel as a `CallClientRequest`. A PUBLISH that
//! reached no subscriber means no node with that id is running: the call
//! fails at once with "no such client". Otherwise the reply (routed by the
//! router to [`PendingCalls::resolve`]) settles it; the target node times
//! the client out itself after `[calls] timeout_ms` and replies, and the
//! caller gives up a little later in any case (a reply lost on the bus, a
//! node that died — which [`PendingCalls::fail_node`] settles earlier).
//! Dropping the caller's future removes its entry.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::{lock, ClusterNode};
use crate::app::CallError;
use crate::cluster::amf_args::encode_args;
use crate::cluster::envelope::CallOutcome;
use crate::cluster::BusError;
use crate::cluster::{ClusterEvent, NodeId};
use crate::protocol::amf::AmfValue;

/// How much longer than the target's own timeout the caller waits.
const CALLER_MARGIN_MS: u64 = 2_000;

/// A cross-node call in flight: resolves to the client's result.
pub type RemoteCall = Pin<Box<dyn Future<Output = Result<Vec<AmfValue>, CallError>> + Send>>;

type Answer = Result<Vec<AmfValue>, CallError>;

#[derive(Debug)]
struct Pending {
    node: NodeId,
    client_id: String,
    method: String,
    reply: oneshot::Sender<Answer>,
}

/// The calls awaiting a reply, by correlation id.
#[derive(Debug)]
pub(super) struct PendingCalls {
    max: usize,
    timeout_ms: u64,
    next_id: AtomicU64,
    map: Arc<Mutex<HashMap<u64, Pending>>>,
}

/// Removes its entry when the caller's future ends or is dropped.
struct Entry {
    id: u64,
    map: Arc<Mutex<HashMap<u64, Pending>>>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        lock(&self.map).remove(&self.id);
    }
}

impl PendingCalls {
    pub(super) fn new(max: usize, timeout_ms: u64) -> Self {
        Self {
            max,
            timeout_ms,
            next_id: AtomicU64::new(1),
            map: Arc::default(),
        }
    }

    pub(super) fn len(&self) -> usize {
        lock(&self.map).len()
    }

    /// Settles call `id` with what `answer` makes of the client id.
    pub(super) fn resolve(&self, id: u64, answer: impl FnOnce(String) -> Answer) {
        let Some(pending) = lock(&self.map).remove(&id) else {
            tracing::debug!(
                correlation_id = id,
                "a callClient reply for no pending call"
            );
            return;
        };
        let _ = pending.reply.send(answer(pending.client_id));
    }

    /// Fails every call to `node` (it left the cluster).
    pub(super) fn fail_node(&self, node: &NodeId) {
        let gone: Vec<Pending> = {
            let mut map = lock(&self.map);
            let ids: Vec<u64> = map
                .iter()
                .filter(|(_, p)| &p.node == node)
                .map(|(id, _)| *id)
                .collect();
            ids.iter().filter_map(|id| map.remove(id)).collect()
        };
        for p in gone {
            let _ = p.reply.send(Err(CallError::Disconnected {
                client_id: p.client_id,
                method: p.method,
            }));
        }
    }
}

fn failed(result: Answer) -> RemoteCall {
    Box::pin(std::future::ready(result))
}

pub(super) fn call_remote(
    cluster: &ClusterNode,
    node: NodeId,
    client_id: String,
    method: String,
    args: &[AmfValue],
) -> RemoteCall {
    let calls = &cluster.calls;
    let args = match encode_args(args) {
        Ok(args) => args,
        Err(e) => {
            return failed(Err(CallError::Failed {
                description: format!("the arguments cannot be encoded: {e}"),
            }))
        }
    };
    let id = calls.next_id.fetch_add(1, Ordering::Relaxed);
    let (reply, answer) = oneshot::channel();
    {
        let mut map = lock(&calls.map);
        if map.len() >= calls.max {
            return failed(Err(CallError::Failed {
                description: format!(
                    "this node already has {} cross-node calls awaiting a reply",
                    calls.max
                ),
            }));
        }
        map.insert(
            id,
            Pending {
                node: node.clone(),
                client_id: client_id.clone(),
                method: method.clone(),
                reply,
            },
        );
    }
    let entry = Entry {
        id,
        map: calls.map.clone(),
    };
    let event = ClusterEvent::CallClientRequest {
        correlation_id: id,
        origin_node: cluster.node_id.clone(),
        target_client: client_id.clone(),
        method: method.clone(),
        args,
    };
    let channel = cluster.keys.node_channel(&node);
    let ack = match cluster.publisher.publish(&channel, event) {
        Ok(ack) => ack,
        Err(e) => return failed(Err(unreachable_for("callClient")(e))),
    };
    let timeout_ms = calls.timeout_ms;
    let limit = Duration::from_millis(timeout_ms + CALLER_MARGIN_MS);
    Box::pin(async move {
        let _entry = entry;
        let deadline = tokio::time::Instant::now() + limit;
        match ack.await {
            Err(e) => return Err(unreachable_for("callClient")(e)),
            // Nobody listens on that node's inbox: no such node is running.
            Ok(0) => return Err(CallError::NoSuchClient { client_id }),
            Ok(_) => {}
        }
        match tokio::time::timeout_at(deadline, answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(CallError::Disconnected { client_id, method }),
            Err(_) => Err(CallError::Timeout {
                client_id,
                method,
                timeout_ms,
            }),
        }
    })
}

/// Calls across nodes, as the `Server` handle uses them.
impl ClusterNode {
    /// Publishes `broadcast(method, ...args)` to the other nodes with
    /// clients in `scope`; the returned future resolves to the number of
    /// nodes reached, this one included.
    ///
    /// # Errors
    /// [`CallError::ClusterUnavailable`] when the bus refuses or fails the
    /// publication (Redis unreachable, queue full); [`CallError::Failed`]
    /// when the arguments cannot be encoded.
    pub fn publish_broadcast(
        &self,
        scope: &str,
        method: &str,
        args: &[AmfValue],
    ) -> impl std::future::Future<Output = Result<usize, CallError>> + Send + 'static {
        let published = encode_args(args)
            .map_err(|e| CallError::Failed {
                description: format!("broadcast arguments cannot be encoded: {e}"),
            })
            .and_then(|args| {
                let event = ClusterEvent::Broadcast {
                    scope: scope.to_string(),
                    method: method.to_string(),
                    args,
                };
                let channel = self.keys.scope_channel(scope);
                let self_counted = self.subscriptions.is_confirmed(scope);
                self.publisher
                    .publish(&channel, event)
                    .map(|ack| (ack, self_counted))
                    .map_err(unreachable_for("broadcast"))
            });
        async move {
            let (ack, self_counted) = published?;
            let subscribers = ack.await.map_err(unreachable_for("broadcast"))?;
            Ok(1 + subscribers.saturating_sub(usize::from(self_counted)))
        }
    }

    /// Calls `method(args...)` on `client_id`, a client of node `node`
    /// (not this one), through that node's inbox.
    pub fn call_remote(
        &self,
        node: NodeId,
        client_id: String,
        method: String,
        args: &[AmfValue],
    ) -> RemoteCall {
        call_remote(self, node, client_id, method, args)
    }
}

/// The `_error` outcome of a call request, with `description`.
pub(super) fn error_outcome(description: &str) -> CallOutcome {
    let body = encode_args(&[AmfValue::string(description)]).unwrap_or_default();
    CallOutcome::Error(body)
}

/// Maps a bus failure to the error a cluster-wide operation answers.
pub(super) fn unreachable_for(operation: &'static str) -> impl Fn(BusError) -> CallError {
    move |error| CallError::ClusterUnavailable {
        reason: match operation {
            "broadcast" => format!("only this node's clients were reached: {error}"),
            _ => format!("{operation}: {error}"),
        },
    }
}
