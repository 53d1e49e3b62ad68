//! The connection's side of SharedObjects: Use / Release / change requests
//! from the client go to the registry and the object actors; their messages
//! come back as [`SoDeliver`] and go out through the session.
//!
//! A client message's RequestChange / RequestRemove / SendMessage events are
//! forwarded as one operation list, so the object applies them atomically;
//! Use and Release inside a message split it (what comes before them is
//! forwarded first). Unknown event types (12–14 have been seen from FMS/AMS
//! peers) and server-to-client types are skipped.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use bytestring::ByteString;
use tracing::debug;

use super::ConnectionActor;
use crate::actors::messages::{
    ChangeSharedObject, ReleaseSharedObject, SoDeliver, SoSubscriber, UseSharedObject,
};
use crate::actors::shared_object::SharedObjectActor;
use crate::actors::shared_objects::SharedObjectsActor;
use crate::app::SharedObjectRef;
use crate::protocol::session::SessionError;
use crate::protocol::shared_object::{SharedObjectEvent, SharedObjectMessage};
use crate::sharedobject::{codes, status_event, Operation};

/// What a connection needs to use SharedObjects.
#[derive(Clone)]
pub struct SharedObjectDeps {
    /// The node's SharedObject registry.
    pub registry: Addr<SharedObjectsActor>,
    /// Most objects one connection may use at once.
    pub max_per_connection: usize,
}

/// The objects this connection uses, by (name, persistent).
#[derive(Default)]
pub(super) struct SharedObjectUses {
    used: HashMap<(ByteString, bool), Used>,
    /// Sequence number of the last Use asked of the registry: an answer
    /// only applies to the entry of the Use it answers.
    last_use: u64,
}

enum Used {
    /// The registry has not answered the Use numbered `seq` yet: requests
    /// wait here, in order.
    Pending {
        seq: u64,
        waiting: Vec<Vec<Operation>>,
        /// The client released the object meanwhile: once the answer came
        /// (and the waiting requests went), release it.
        release: bool,
    },
    /// Requests go straight to the object.
    Ready(Addr<SharedObjectActor>),
}

impl ConnectionActor {
    /// A SharedObject message from the client.
    pub(super) fn on_shared_object(
        &mut self,
        message: SharedObjectMessage,
        ctx: &mut Context<Self>,
    ) -> Result<(), SessionError> {
        let persistent = message.is_persistent();
        let name = message.name.clone();
        let mut ops = Vec::new();
        for event in message.events {
            match event {
                SharedObjectEvent::Use => {
                    self.forward_ops(&name, persistent, std::mem::take(&mut ops));
                    self.use_shared_object(&name, persistent, message.version, ctx)?;
                }
                SharedObjectEvent::Release => {
                    self.forward_ops(&name, persistent, std::mem::take(&mut ops));
                    self.release_shared_object(&name, persistent);
                }
                SharedObjectEvent::RequestChange(pairs) => ops.push(Operation::Set(pairs)),
                SharedObjectEvent::RequestRemove(names) => ops.push(Operation::Remove(names)),
                SharedObjectEvent::SendMessage { method, args } => {
                    ops.push(Operation::Send { method, args })
                }
                SharedObjectEvent::Unknown { event_type, data } => {
                    debug!(conn_id = self.id, so = %name, event_type, len = data.len(), "unknown SharedObject event skipped");
                }
                other => {
                    debug!(conn_id = self.id, so = %name, event_type = other.type_byte(), "server-to-client SharedObject event from a client skipped");
                }
            }
        }
        self.forward_ops(&name, persistent, ops);
        Ok(())
    }

    fn so_ref(&self, name: &str, persistent: bool) -> SharedObjectRef {
        SharedObjectRef {
            scope: self.scope.clone(),
            name: name.to_string(),
            persistent,
        }
    }

    fn so_status(
        &mut self,
        name: &ByteString,
        persistent: bool,
        code: &str,
    ) -> Result<(), SessionError> {
        let mut message = SharedObjectMessage::new(name.clone(), 0, persistent);
        message.events.push(status_event(code));
        self.session.send_shared_object(&message)
    }

    fn use_shared_object(
        &mut self,
        name: &ByteString,
        persistent: bool,
        version: u32,
        ctx: &mut Context<Self>,
    ) -> Result<(), SessionError> {
        let key = (name.clone(), persistent);
        let resumed = match self.shared_objects.used.get_mut(&key) {
            // A second Use while the first is unanswered: nothing new.
            Some(Used::Pending { release: false, .. }) => return Ok(()),
            // Use, Release, Use in one burst: the object stays used; the
            // new Use (with its sync) is asked again below, and only its
            // answer applies.
            Some(Used::Pending { release, .. }) => {
                *release = false;
                true
            }
            _ => false,
        };
        let deps = self.deps.shared_objects.clone();
        if !resumed
            && !self.shared_objects.used.contains_key(&key)
            && self.shared_objects.used.len() >= deps.max_per_connection
        {
            debug!(conn_id = self.id, so = %name, "SharedObject refused: too many per connection");
            return self.so_status(name, persistent, codes::OBJECT_CREATION_FAILED);
        }
        let so = self.so_ref(name, persistent);
        if let (Some(app), Some(client)) = (&self.application, &self.client) {
            if !app.on_shared_object_connect(client, &so) {
                if resumed {
                    // The Release stands after all.
                    if let Some(Used::Pending { release, .. }) =
                        self.shared_objects.used.get_mut(&key)
                    {
                        *release = true;
                    }
                }
                return self.so_status(name, persistent, codes::NO_READ_ACCESS);
            }
        }
        self.shared_objects.last_use += 1;
        let seq = self.shared_objects.last_use;
        match self.shared_objects.used.get_mut(&key) {
            Some(Used::Pending { seq: pending, .. }) => *pending = seq,
            _ => {
                self.shared_objects.used.insert(
                    key.clone(),
                    Used::Pending {
                        seq,
                        waiting: Vec::new(),
                        release: false,
                    },
                );
            }
        }
        let subscriber = SoSubscriber {
            conn_id: self.id,
            deliver: ctx.address().recipient(),
            backlog: self.outbox.backlog(),
            application: self.application.clone(),
            client: self.client.clone(),
        };
        deps.registry
            .send(UseSharedObject {
                key: so,
                subscriber,
                version,
            })
            .into_actor(self)
            .map(move |answer, act, _| act.use_answered(key, seq, answer.ok()))
            .spawn(ctx);
        Ok(())
    }

    /// The registry answered the Use numbered `seq`; ignored unless the
    /// entry still waits for exactly that answer.
    fn use_answered(
        &mut self,
        key: (ByteString, bool),
        seq: u64,
        answer: Option<Result<Addr<SharedObjectActor>, String>>,
    ) {
        if !matches!(self.shared_objects.used.get(&key), Some(Used::Pending { seq: s, .. }) if *s == seq)
        {
            return;
        }
        let Some(Used::Pending {
            waiting, release, ..
        }) = self.shared_objects.used.remove(&key)
        else {
            return;
        };
        match answer {
            Some(Ok(addr)) => {
                for ops in waiting {
                    addr.do_send(ChangeSharedObject {
                        conn_id: self.id,
                        ops,
                    });
                }
                if release {
                    self.deps
                        .shared_objects
                        .registry
                        .do_send(ReleaseSharedObject {
                            key: self.so_ref(&key.0, key.1),
                            conn_id: self.id,
                        });
                } else {
                    self.shared_objects.used.insert(key, Used::Ready(addr));
                }
            }
            _ => {
                if !release {
                    let _ = self.so_status(&key.0, key.1, codes::OBJECT_CREATION_FAILED);
                    self.flush();
                }
            }
        }
    }

    fn forward_ops(&mut self, name: &ByteString, persistent: bool, ops: Vec<Operation>) {
        if ops.is_empty() {
            return;
        }
        match self
            .shared_objects
            .used
            .get_mut(&(name.clone(), persistent))
        {
            Some(Used::Ready(addr)) => addr.do_send(ChangeSharedObject {
                conn_id: self.id,
                ops,
            }),
            Some(Used::Pending {
                waiting,
                release: false,
                ..
            }) => waiting.push(ops),
            Some(Used::Pending { .. }) | None => {
                debug!(conn_id = self.id, so = %name, "SharedObject request without Use ignored");
            }
        }
    }

    /// The client releases an object: at once when the registry answered
    /// its Use, else once it does (the requests sent before the Release
    /// still go first).
    fn release_shared_object(&mut self, name: &ByteString, persistent: bool) {
        let key = (name.clone(), persistent);
        if let Some(Used::Pending { release, .. }) = self.shared_objects.used.get_mut(&key) {
            *release = true;
            return;
        }
        self.release_now(name, persistent);
    }

    /// Forgets an object and tells the registry (which orders it after this
    /// connection's Use).
    fn release_now(&mut self, name: &ByteString, persistent: bool) {
        if self
            .shared_objects
            .used
            .remove(&(name.clone(), persistent))
            .is_some()
        {
            self.deps
                .shared_objects
                .registry
                .do_send(ReleaseSharedObject {
                    key: self.so_ref(name, persistent),
                    conn_id: self.id,
                });
        }
    }

    /// Releases every object (the connection stops).
    pub(super) fn release_all_shared_objects(&mut self) {
        let keys: Vec<(ByteString, bool)> = self.shared_objects.used.keys().cloned().collect();
        for (name, persistent) in keys {
            // Pending answers never arrive once the connection stops.
            self.release_now(&name, persistent);
        }
    }
}

impl Handler<SoDeliver> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: SoDeliver, _: &mut Context<Self>) {
        if msg.ended {
            let key = (msg.message.name.clone(), msg.message.is_persistent());
            self.shared_objects.used.remove(&key);
        }
        if let Err(e) = self.session.send_shared_object(&msg.message) {
            debug!(conn_id = self.id, error = %e, "SharedObject message not sent");
        }
        self.flush();
    }
}

/// The backlog gauge is shared as is.
pub(super) type Backlog = Arc<std::sync::atomic::AtomicUsize>;
