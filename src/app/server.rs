//! The [`Server`] handle given to application hooks: the node's way to reach
//! clients (calls, broadcasts) and SharedObjects.

use std::sync::Arc;

use actix::Addr;

use super::{AppFuture, CallError, ClientInfo};
use crate::actors::clients::ClientDirectory;
use crate::actors::messages::{InvokeClient, NotifyClient};
use crate::actors::shared_object::{AdminAnswer, AdminOp, SoApiError, SoSnapshot};
use crate::actors::shared_objects::{
    AdminSharedObject, ListSharedObjects, SharedObjectsActor, SoSummary,
};
use crate::app::SharedObjectRef;
use crate::cluster::node::ClusterNode;
use crate::cluster::NodeId;
use crate::protocol::amf::AmfValue;
use crate::sharedobject::Operation;

/// A cheap, cloneable handle to the running node.
#[derive(Clone)]
pub struct Server {
    /// This node's id.
    pub(crate) node_id: Arc<str>,
    /// The SharedObject registry (`None` in handles built without a node).
    pub(crate) shared_objects: Option<Addr<SharedObjectsActor>>,
    // ---- calls ----
    /// The clients connected to this node, by id and scope.
    pub(crate) clients: Arc<ClientDirectory>,
    /// `[calls] timeout_ms`: the called connection times its own calls out;
    /// the caller gives up a little later in any case, so a connection
    /// that is stuck (or whose mailbox is) cannot keep a caller waiting.
    pub(crate) call_timeout_ms: u64,
    // ---- cluster ----
    /// This node's side of the cluster (`None` in handles built without a
    /// node: then broadcasts and calls stay on this node).
    pub(crate) cluster: Option<Arc<ClusterNode>>,
}

/// How much longer than the called connection's own timeout a caller waits.
const CALLER_TIMEOUT_MARGIN_MS: u64 = 1_000;

impl Server {
    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }
}

/// SharedObjects, server side: changes made here reach subscribers like any
/// client change (same order, same persistence; a persistent change is
/// durable when the call returns).
impl Server {
    async fn so_admin(&self, so: &SharedObjectRef, op: AdminOp) -> Result<AdminAnswer, SoApiError> {
        let registry = self
            .shared_objects
            .as_ref()
            .ok_or(SoApiError::Unavailable)?;
        registry
            .send(AdminSharedObject {
                key: so.clone(),
                op,
            })
            .await
            .unwrap_or(Err(SoApiError::Unavailable))
    }

    async fn so_apply(&self, so: &SharedObjectRef, ops: Vec<Operation>) -> Result<u32, SoApiError> {
        match self.so_admin(so, AdminOp::Apply(ops)).await? {
            AdminAnswer::Applied { version } => Ok(version),
            AdminAnswer::Snapshot(s) => Ok(s.version),
        }
    }

    /// The object's version and slots.
    ///
    /// # Errors
    /// [`SoApiError::NotFound`] for an object that does not exist;
    /// [`SoApiError::Store`] when a persistent one cannot be loaded.
    pub async fn shared_object(&self, so: &SharedObjectRef) -> Result<SoSnapshot, SoApiError> {
        match self.so_admin(so, AdminOp::Get).await? {
            AdminAnswer::Snapshot(s) => Ok(s),
            AdminAnswer::Applied { .. } => Err(SoApiError::Unavailable),
        }
    }

    /// Every SharedObject of the node (live ones, and stored ones not
    /// loaded).
    ///
    /// # Errors
    /// [`SoApiError::Unavailable`] when the node is stopping.
    pub async fn list_shared_objects(&self) -> Result<Vec<SoSummary>, SoApiError> {
        let registry = self
            .shared_objects
            .as_ref()
            .ok_or(SoApiError::Unavailable)?;
        registry
            .send(ListSharedObjects)
            .await
            .map_err(|_| SoApiError::Unavailable)
    }

    /// Sets slots atomically (a persistent object is created if needed);
    /// returns the new version.
    ///
    /// # Errors
    /// [`SoApiError::NotFound`] for a non-persistent object nobody uses;
    /// [`SoApiError::Refused`] over a limit; [`SoApiError::Store`].
    pub async fn set_slots(
        &self,
        so: &SharedObjectRef,
        slots: Vec<(String, AmfValue)>,
    ) -> Result<u32, SoApiError> {
        let pairs = slots.into_iter().map(|(k, v)| (k.into(), v)).collect();
        self.so_apply(so, vec![Operation::Set(pairs)]).await
    }

    /// Removes slots; returns the new version.
    ///
    /// # Errors
    /// As [`set_slots`](Self::set_slots).
    pub async fn delete_slots(
        &self,
        so: &SharedObjectRef,
        slots: Vec<String>,
    ) -> Result<u32, SoApiError> {
        let names = slots.into_iter().map(Into::into).collect();
        self.so_apply(so, vec![Operation::Remove(names)]).await
    }

    /// Removes every slot (subscribers get a Clear); returns the new version.
    ///
    /// # Errors
    /// As [`set_slots`](Self::set_slots).
    pub async fn clear_shared_object(&self, so: &SharedObjectRef) -> Result<u32, SoApiError> {
        self.so_apply(so, vec![Operation::Clear]).await
    }

    /// `SharedObject.send(method, ...args)` to every subscriber.
    ///
    /// # Errors
    /// As [`set_slots`](Self::set_slots).
    pub async fn send_shared_object(
        &self,
        so: &SharedObjectRef,
        method: &str,
        args: Vec<AmfValue>,
    ) -> Result<(), SoApiError> {
        let op = Operation::Send {
            method: method.into(),
            args,
        };
        self.so_apply(so, vec![op]).await.map(|_| ())
    }
}

// ---- calls ----
impl Server {
    /// Invokes `method(args...)` with transaction id 0 (no answer) on every
    /// client connected to exactly `scope` (`APP/ROOM...`; `live/a` does not
    /// reach `live`), including the one asking, on every node, and resolves
    /// to the number of nodes reached (1 on a single node). Each client gets
    /// the call in its own object encoding. This node's clients get it at
    /// once (through each connection's mailbox; the broadcast's own
    /// `_result` may reach the caller before or after the call itself); the
    /// other nodes' through the cluster bus, and the future resolves once the
    /// bus acknowledged the publication. Dropping the future does not cancel
    /// the broadcast.
    ///
    /// This is the one door for broadcasts.
    ///
    /// # Errors
    ///
    /// [`CallError::ClusterUnavailable`] when the cluster bus cannot reach
    /// the other nodes (Redis down): this node's clients got the call, the
    /// others did not.
    pub fn broadcast(
        &self,
        scope: &str,
        method: &str,
        args: Vec<AmfValue>,
    ) -> AppFuture<Result<usize, CallError>> {
        let remote = self
            .cluster
            .as_ref()
            .map(|cluster| cluster.publish_broadcast(scope, method, &args));
        self.deliver_broadcast(scope, method, args);
        match remote {
            None => super::ready(Ok(1)),
            Some(remote) => Box::pin(remote),
        }
    }

    /// Delivers a broadcast to this node's clients in `scope`; returns how
    /// many there were.
    pub(crate) fn deliver_broadcast(
        &self,
        scope: &str,
        method: &str,
        args: Vec<AmfValue>,
    ) -> usize {
        let targets = self.clients.in_scope(scope);
        tracing::debug!(scope, method, clients = targets.len(), "broadcast");
        let message = NotifyClient {
            method: method.to_string(),
            args,
        };
        let count = targets.len();
        for target in targets {
            target.notify.do_send(message.clone());
        }
        count
    }

    /// Invokes `method(args...)` on the client `client_id` with a fresh
    /// transaction id, and resolves to that client's `_result` values.
    ///
    /// # Errors
    ///
    /// [`CallError::NoSuchClient`] at once for an unknown id;
    /// [`CallError::TooManyPending`] at once when the client already has
    /// `[calls] max_pending_per_connection` calls awaiting an answer;
    /// [`CallError::Failed`] when it answers `_error`;
    /// [`CallError::Timeout`] after `[calls] timeout_ms` without an answer;
    /// [`CallError::Disconnected`] when it leaves first (or its node
    /// dies). A client of another node (the part of its id before the last
    /// `:` names the node) is called through the cluster bus: no running node
    /// of that id is [`CallError::NoSuchClient`] at once;
    /// [`CallError::ClusterUnavailable`] while the bus cannot reach it.
    pub fn call_client(
        &self,
        client_id: &str,
        method: &str,
        args: Vec<AmfValue>,
    ) -> AppFuture<Result<Vec<AmfValue>, CallError>> {
        if let Some(cluster) = &self.cluster {
            match client_id.rsplit_once(':') {
                Some((node, _)) if node != &*self.node_id => {
                    let call = cluster.call_remote(
                        NodeId::new(node),
                        client_id.to_string(),
                        method.to_string(),
                        &args,
                    );
                    return Box::pin(call);
                }
                _ => {}
            }
        }
        self.call_local_client(client_id, method, args)
    }

    /// [`call_client`](Self::call_client) for a client of this node.
    pub(crate) fn call_local_client(
        &self,
        client_id: &str,
        method: &str,
        args: Vec<AmfValue>,
    ) -> AppFuture<Result<Vec<AmfValue>, CallError>> {
        let client_id = client_id.to_string();
        let Some(target) = self.clients.get(&client_id) else {
            return super::ready(Err(CallError::NoSuchClient { client_id }));
        };
        let method = method.to_string();
        let (reply, answer) = tokio::sync::oneshot::channel();
        // A connection that stops drops the message or fails its pending
        // calls; either way the answer channel closes: Disconnected.
        target.invoke.do_send(InvokeClient {
            method: method.clone(),
            args,
            reply,
        });
        let timeout_ms = self.call_timeout_ms;
        let limit = std::time::Duration::from_millis(timeout_ms + CALLER_TIMEOUT_MARGIN_MS);
        Box::pin(async move {
            match tokio::time::timeout(limit, answer).await {
                Ok(answer) => answer.unwrap_or(Err(CallError::Disconnected { client_id, method })),
                Err(_) => Err(CallError::Timeout {
                    client_id,
                    method,
                    timeout_ms,
                }),
            }
        })
    }

    /// The clients connected to exactly `scope` on this node (issue 5 adds
    /// the rest of the cluster).
    pub fn clients(&self, scope: &str) -> Vec<Arc<ClientInfo>> {
        self.clients
            .in_scope(scope)
            .into_iter()
            .map(|c| c.info)
            .collect()
    }

    /// The client with this id, if it is connected to this node.
    pub fn client(&self, client_id: &str) -> Option<Arc<ClientInfo>> {
        self.clients.get(client_id).map(|c| c.info)
    }
}
