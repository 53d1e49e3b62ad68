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
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

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

/// Told, under the directory's lock (so in order), when a scope gets its
/// first client on this node (`true`) and when it loses its last (`false`):
/// the cluster layer subscribes to a scope's channel only while it has
/// local clients. Must not block or call back into the directory.
pub type ScopeWatcher = Box<dyn Fn(&str, bool) + Send + Sync>;

/// The clients connected to this node.
#[derive(Default)]
pub struct ClientDirectory {
    inner: Mutex<Inner>,
    scope_watcher: OnceLock<ScopeWatcher>,
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

    /// Installs the [`ScopeWatcher`] (once; later calls are ignored) and
    /// tells it about every scope that already has clients.
    pub fn watch_scopes(&self, watcher: ScopeWatcher) {
        let inner = self.lock();
        if self.scope_watcher.set(watcher).is_ok() {
            if let Some(watcher) = self.scope_watcher.get() {
                inner.by_scope.keys().for_each(|scope| watcher(scope, true));
            }
        }
    }

    fn scope_changed(&self, scope: &str, present: bool) {
        if let Some(watcher) = self.scope_watcher.get() {
            watcher(scope, present);
        }
    }

    /// Adds a client whose connect was accepted (replacing one of the same
    /// id, which cannot happen with node-unique connection ids).
    pub fn register(&self, handle: ClientHandle) {
        let mut inner = self.lock();
        let id = handle.info.client_id.clone();
        let scope = handle.info.scope.clone();
        if let Some(old) = inner.by_id.insert(id.clone(), handle) {
            if remove_from_scope(&mut inner, &old.info.scope, &id) {
                self.scope_changed(&old.info.scope, false);
            }
        }
        let members = inner.by_scope.entry(scope.clone()).or_default();
        let first = members.is_empty();
        members.insert(id);
        if first {
            self.scope_changed(&scope, true);
        }
    }

    /// Removes a client (its connection stopped). Unknown ids are ignored.
    pub fn unregister(&self, client_id: &str) {
        let mut inner = self.lock();
        if let Some(old) = inner.by_id.remove(client_id) {
            if remove_from_scope(&mut inner, &old.info.scope, client_id) {
                self.scope_changed(&old.info.scope, false);
            }
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

/// Removes `id` from `scope`; `true` when that left the scope empty.
fn remove_from_scope(inner: &mut Inner, scope: &str, id: &str) -> bool {
    if let Some(members) = inner.by_scope.get_mut(scope) {
        members.remove(id);
        if members.is_empty() {
            inner.by_scope.remove(scope);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use actix::prelude::*;

    use super::*;
    use crate::app::{CallError, Server};
    use crate::protocol::amf::AmfValue;
    use crate::protocol::session::ObjectEncoding;

    /// A connection stand-in that answers every invoke with its method name
    /// and records notifications.
    struct Peer {
        notified: Arc<StdMutex<Vec<String>>>,
    }

    impl Actor for Peer {
        type Context = Context<Self>;
    }

    impl Handler<InvokeClient> for Peer {
        type Result = ();
        fn handle(&mut self, msg: InvokeClient, _: &mut Context<Self>) {
            let _ = msg.reply.send(Ok(vec![AmfValue::string(msg.method)]));
        }
    }

    impl Handler<NotifyClient> for Peer {
        type Result = ();
        fn handle(&mut self, msg: NotifyClient, _: &mut Context<Self>) {
            self.notified.lock().unwrap().push(msg.method);
        }
    }

    fn info(id: &str, scope: &str) -> Arc<ClientInfo> {
        Arc::new(ClientInfo {
            client_id: id.into(),
            conn_id: 1,
            peer: "127.0.0.1:1".parse().unwrap(),
            app: scope.split('/').next().unwrap_or_default().into(),
            scope: scope.into(),
            object_encoding: ObjectEncoding::Amf0,
            tc_url: None,
            command_object: AmfValue::Null,
            connect_args: vec![],
        })
    }

    fn peer(id: &str, scope: &str) -> (ClientHandle, Arc<StdMutex<Vec<String>>>) {
        let notified = Arc::new(StdMutex::new(Vec::new()));
        let addr = Peer {
            notified: notified.clone(),
        }
        .start();
        let handle = ClientHandle {
            info: info(id, scope),
            invoke: addr.clone().recipient(),
            notify: addr.recipient(),
        };
        (handle, notified)
    }

    #[actix_rt::test]
    async fn scopes_match_exactly_and_unregistered_clients_are_gone() {
        let directory = ClientDirectory::default();
        let (a, _) = peer("n:1", "live/a");
        let (b, _) = peer("n:2", "live/a");
        let (c, _) = peer("n:3", "live");
        for handle in [a, b, c] {
            directory.register(handle);
        }
        let ids = |scope: &str| -> Vec<String> {
            directory
                .in_scope(scope)
                .into_iter()
                .map(|h| h.info.client_id.clone())
                .collect()
        };
        assert_eq!(ids("live/a"), vec!["n:1", "n:2"]);
        assert_eq!(ids("live"), vec!["n:3"]);
        assert!(ids("live/b").is_empty());
        directory.unregister("n:1");
        directory.unregister("n:1");
        assert_eq!(ids("live/a"), vec!["n:2"]);
        assert!(directory.get("n:1").is_none());
        assert_eq!(directory.len(), 2);
    }

    #[actix_rt::test]
    async fn the_scope_watcher_hears_of_a_scopes_first_and_last_client_only() {
        let directory = ClientDirectory::default();
        let (early, _) = peer("n:0", "old");
        directory.register(early);
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let sink = seen.clone();
        directory.watch_scopes(Box::new(move |scope, present| {
            sink.lock().unwrap().push((scope.to_string(), present));
        }));
        for (id, scope) in [("n:1", "room"), ("n:2", "room")] {
            directory.register(peer(id, scope).0);
        }
        directory.unregister("n:1");
        directory.unregister("n:2");
        directory.unregister("n:2");
        let expected =
            [("old", true), ("room", true), ("room", false)].map(|(s, p)| (s.to_string(), p));
        assert_eq!(*seen.lock().unwrap(), expected);
    }

    #[actix_rt::test]
    async fn the_server_handle_broadcasts_to_a_scope_and_calls_one_client() {
        let server = Server {
            shared_objects: None,
            node_id: "n".into(),
            clients: Arc::default(),
            call_timeout_ms: 1_000,
            cluster: None,
        };
        let (a, a_seen) = peer("n:1", "room");
        let (b, b_seen) = peer("n:2", "elsewhere");
        server.clients.register(a);
        server.clients.register(b);
        assert_eq!(server.broadcast("room", "hello", vec![]).await, Ok(1));
        let answer = server.call_client("n:1", "ping", vec![]).await;
        assert_eq!(answer, Ok(vec![AmfValue::string("ping")]));
        // The broadcast was queued before the call, so it has been handled.
        assert_eq!(*a_seen.lock().unwrap(), vec!["hello".to_string()]);
        assert!(b_seen.lock().unwrap().is_empty());
        assert_eq!(server.clients("room").len(), 1);
        assert_eq!(
            server.call_client("n:9", "ping", vec![]).await,
            Err(CallError::NoSuchClient {
                client_id: "n:9".into()
            })
        );
    }
}
