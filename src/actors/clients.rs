//! The node-local client directory: client id → the connection that serves
//! it, and scope → its clients. Connections register when their connect is
//! accepted and leave when they stop; [`Server`](crate::app::Server) reads it
//! for `broadcast`, `callClient` and `clients(scope)`.
//!
//! A shared map behind a mutex rather than an actor, because: lookups come
//! from every arbiter and the callers want synchronous answers
//! (`Server::clients`, the count `broadcast` returns) — an actor would add a
//! mailbox hop and an `await` to each without removing any contention; every
//! operation is a hash lookup or a walk of one scope's members, nothing awaits
//! or sends while the lock is held (recipients are cloned out first), and the
//! node already keeps its connection set ([`LiveConnections`]) and admin
//! [`Directory`](crate::directory::Directory) the same way. Nothing on the
//! media path touches it.
//!
//! [`LiveConnections`]: super::connection::LiveConnections

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use actix::Recipient;

use super::messages::{InvokeClient, NotifyClient};
use crate::app::ClientInfo;

/// How to reach one connected client.
#[derive(Clone)]
pub struct ClientHandle {
    /// Who it is.
    pub info: Arc<ClientInfo>,
    /// Its connection, for calls that expect an answer.
    pub invoke: Recipient<InvokeClient>,
    /// Its connection, for calls that expect none.
    pub notify: Recipient<NotifyClient>,
}

impl std::fmt::Debug for ClientHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientHandle")
            .field("client_id", &self.info.client_id)
            .field("scope", &self.info.scope)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, ClientHandle>,
    /// Ordered, so broadcasts reach clients in connect-id order.
    by_scope: HashMap<String, BTreeSet<String>>,
}

/// The clients connected to this node.
#[derive(Default)]
pub struct ClientDirectory {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for ClientDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientDirectory")
            .field("clients", &self.len())
            .finish()
    }
}

impl ClientDirectory {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a client whose connect was accepted (replacing one of the same
    /// id, which cannot happen with node-unique connection ids).
    pub fn register(&self, handle: ClientHandle) {
        let mut inner = self.lock();
        let id = handle.info.client_id.clone();
        let scope = handle.info.scope.clone();
        if let Some(old) = inner.by_id.insert(id.clone(), handle) {
            remove_from_scope(&mut inner, &old.info.scope, &id);
        }
        inner.by_scope.entry(scope).or_default().insert(id);
    }

    /// Removes a client (its connection stopped). Unknown ids are ignored.
    pub fn unregister(&self, client_id: &str) {
        let mut inner = self.lock();
        if let Some(old) = inner.by_id.remove(client_id) {
            remove_from_scope(&mut inner, &old.info.scope, client_id);
        }
    }

    /// The client with this id, if connected here.
    pub fn get(&self, client_id: &str) -> Option<ClientHandle> {
        self.lock().by_id.get(client_id).cloned()
    }

    /// The clients connected to exactly `scope` (`live/a` is not in `live`).
    pub fn in_scope(&self, scope: &str) -> Vec<ClientHandle> {
        let inner = self.lock();
        inner
            .by_scope
            .get(scope)
            .into_iter()
            .flatten()
            .filter_map(|id| inner.by_id.get(id).cloned())
            .collect()
    }

    /// How many clients are connected.
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    /// Whether no client is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn remove_from_scope(inner: &mut Inner, scope: &str, id: &str) {
    if let Some(members) = inner.by_scope.get_mut(scope) {
        members.remove(id);
        if members.is_empty() {
            inner.by_scope.remove(scope);
        }
    }
}
