//! Application hooks: what a user embedding Ferrocast plugs in, per
//! application name (the first path segment of `rtmp://host/APP[/ROOM...]`).
//!
//! An [`Application`] decides connects, publishes, plays and SharedObject
//! access (the equivalents of FMS's `application.onConnect` /
//! `acceptConnection` and Red5's `ApplicationAdapter` and
//! `ISharedObjectSecurity`), handles remote calls, and hears disconnects.
//! Every hook has a default that allows everything and handles no call, so
//! an application implements only what it needs. Methods not handled by the
//! application fall through to the built-in methods of DESIGN.md §3
//! (`echo`, `getServerTime`, `broadcast`, `getClientId`, `callClient`), then
//! to `_error` `NetConnection.Call.Failed`.
//!
//! Connection hooks (connect, disconnect, calls, publish/play, SharedObject
//! connect) run on the calling connection's arbiter (a single thread); the
//! SharedObject write, delete and send hooks run on the object's arbiter
//! (each object's actor lives on one of the node's arbiters). The futures
//! hooks return need not be `Send`; they must not borrow `self`
//! (clone what they need from `Arc` fields). The [`Server`] handle passed to
//! them reaches the rest of the node (and the cluster): other clients, and
//! SharedObjects.
//!
//! [`Applications`] maps application names to applications (with
//! [`DefaultApplication`] for the rest); [`builtins`] holds the built-in
//! methods; [`CallError`] says why a server → client call has no result.
//! See `docs/calls.md`.

pub mod builtins;
mod call_error;
mod registry;
mod server;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use crate::protocol::amf::AmfValue;
use crate::protocol::session::ObjectEncoding;

pub use call_error::CallError;
pub use registry::{Applications, DefaultApplication};
pub use server::Server;

/// What an asynchronous hook returns.
pub type AppFuture<T> = Pin<Box<dyn Future<Output = T> + 'static>>;

/// A future that is ready at once with `value`.
pub fn ready<T: 'static>(value: T) -> AppFuture<T> {
    Box::pin(std::future::ready(value))
}

/// A connected (or connecting) client as the application sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientInfo {
    /// Cluster-wide unique id (what `getClientId` returns and `callClient`
    /// takes).
    pub client_id: String,
    /// The node-local connection id (as in `/api/connections`).
    pub conn_id: u64,
    /// The peer's address.
    pub peer: SocketAddr,
    /// The application name: the first segment of the scope.
    pub app: String,
    /// `APP[/ROOM...]`: where its streams, SharedObjects and broadcasts live.
    pub scope: String,
    /// AMF0 or AMF3, from the connect command.
    pub object_encoding: ObjectEncoding,
    /// `tcUrl` from the connect command.
    pub tc_url: Option<String>,
    /// The connect command object as sent.
    pub command_object: AmfValue,
    /// The extra connect arguments (FMS passes them to `onConnect`).
    pub connect_args: Vec<AmfValue>,
}

/// An application's answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Accept,
    /// Refuse; the reason goes to the client (`description` of the status).
    Reject {
        /// Shown to the client.
        reason: String,
    },
}

impl Decision {
    /// A refusal with `reason`.
    pub fn reject(reason: impl Into<String>) -> Self {
        Self::Reject {
            reason: reason.into(),
        }
    }
}

/// A SharedObject as the application sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SharedObjectRef {
    /// The scope it lives in.
    pub scope: String,
    /// Its name.
    pub name: String,
    /// Persistent and non-persistent objects of one name are distinct.
    pub persistent: bool,
}

/// What a call handler answers.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome {
    /// `_result` with these values (normally one).
    Result(Vec<AmfValue>),
    /// `_error` with `NetConnection.Call.Failed` and this description.
    Error(String),
    /// Not this application's method: try the built-ins.
    NotHandled,
}

/// The hooks of one application. Every method has an allow-all default.
pub trait Application: Send + Sync + 'static {
    /// A client connects. `Reject` answers `NetConnection.Connect.Rejected`
    /// with the reason and closes the connection.
    fn on_connect(&self, client: &ClientInfo, server: &Server) -> AppFuture<Decision> {
        let _ = (client, server);
        ready(Decision::Accept)
    }

    /// A client that was accepted left (for any reason).
    fn on_disconnect(&self, client: &ClientInfo, server: &Server) {
        let _ = (client, server);
    }

    /// A `NetConnection.call(method, ...args)` from a client.
    fn on_call(
        &self,
        client: &ClientInfo,
        server: &Server,
        method: &str,
        args: Vec<AmfValue>,
    ) -> AppFuture<CallOutcome> {
        let _ = (client, server, method, args);
        ready(CallOutcome::NotHandled)
    }

    /// A client wants to publish `stream` (name without query string) in its
    /// scope. `Reject` answers `NetStream.Publish.Rejected` (level `error`)
    /// with the reason.
    fn on_publish(&self, client: &ClientInfo, stream: &str) -> AppFuture<Decision> {
        let _ = (client, stream);
        ready(Decision::Accept)
    }

    /// A client wants to play `stream`. `Reject` answers
    /// `NetStream.Play.Failed` with the reason.
    fn on_play(&self, client: &ClientInfo, stream: &str) -> AppFuture<Decision> {
        let _ = (client, stream);
        ready(Decision::Accept)
    }

    /// A client wants to use (connect to, and create if needed) a
    /// SharedObject. `false` answers a Status error and the client is not
    /// subscribed (Red5 `isConnectionAllowed` / `isCreationAllowed`).
    fn on_shared_object_connect(&self, client: &ClientInfo, so: &SharedObjectRef) -> bool {
        let _ = (client, so);
        true
    }

    /// A client wants to set `slot`. `false` refuses the whole message with
    /// `SharedObject.NoWriteAccess` (Red5 `isWriteAllowed`).
    fn on_shared_object_write(
        &self,
        client: &ClientInfo,
        so: &SharedObjectRef,
        slot: &str,
    ) -> bool {
        let _ = (client, so, slot);
        true
    }

    /// A client wants to remove `slot` (Red5 `isDeleteAllowed`).
    fn on_shared_object_delete(
        &self,
        client: &ClientInfo,
        so: &SharedObjectRef,
        slot: &str,
    ) -> bool {
        let _ = (client, so, slot);
        true
    }

    /// A client wants to `SharedObject.send(method, ...args)` (Red5
    /// `isSendAllowed`).
    fn on_shared_object_send(
        &self,
        client: &ClientInfo,
        so: &SharedObjectRef,
        method: &str,
        args: &[AmfValue],
    ) -> bool {
        let _ = (client, so, method, args);
        true
    }
}
