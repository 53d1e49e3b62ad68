//! [`RemoteSharedObject`]: a remote SharedObject in use on one connection,
//! with its local replica and event stream.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::error::ClientError;
use super::task::{Request, SoOp};
use super::Client;
use crate::protocol::amf::AmfValue;
use crate::protocol::client::{SharedObjectReplica, SoEvent};
use crate::protocol::shared_object::SharedObjectMessage;

/// The replica and its change signal, shared by the task and the handle.
#[derive(Debug)]
pub(super) struct SoShared {
    name: String,
    replica: Mutex<SharedObjectReplica>,
    /// Bumped after every server message applied (and on close).
    changed: watch::Sender<u64>,
    /// Events dropped because the handle's queue was full.
    pub(super) dropped: AtomicU64,
    /// Set when the object is released or the connection ends.
    closed: AtomicBool,
}

impl SoShared {
    pub(super) fn new(name: &str, persistent: bool) -> Self {
        Self {
            name: name.to_owned(),
            replica: Mutex::new(SharedObjectReplica::new(name, persistent)),
            changed: watch::Sender::new(0),
            dropped: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    fn replica(&self) -> MutexGuard<'_, SharedObjectReplica> {
        self.replica
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies a server message and wakes [`RemoteSharedObject::wait_until`].
    pub(super) fn apply(&self, message: &SharedObjectMessage) -> Vec<SoEvent> {
        let events = self.replica().apply(message);
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
        events
    }

    pub(super) fn use_message(&self) -> SharedObjectMessage {
        self.replica().use_message()
    }

    pub(super) fn release_message(&self) -> SharedObjectMessage {
        self.replica().release_message()
    }

    pub(super) fn write_message(&self, op: SoOp) -> SharedObjectMessage {
        let mut replica = self.replica();
        match op {
            SoOp::Set(pairs) => replica.change_message(pairs),
            SoOp::Remove(slots) => replica.remove_message(slots),
            SoOp::Send { method, args } => replica.send_message(&method, args),
        }
    }

    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// A remote SharedObject this connection uses (Flash's
/// `SharedObject.getRemote` + `connect`), from
/// [`Client::shared_object`].
///
/// The replica ([`get`](Self::get), [`slots`](Self::slots),
/// [`version`](Self::version)) follows the server's order: changes from the
/// server are applied as received; our own [`set`](Self::set) /
/// [`remove`](Self::remove) are applied when the server's `Success` for them
/// arrives (so right after `set` returns, `get` still shows the old value;
/// use [`wait_until`](Self::wait_until)). See
/// [`SharedObjectReplica`] for the exact rules.
///
/// Events: [`next_event`](Self::next_event) yields what changed, in order,
/// from a bounded queue (capacity
/// [`ConnectOptions::event_capacity`](super::ConnectOptions)); when it is
/// full new events are dropped and counted in
/// [`dropped_events`](Self::dropped_events) — the replica itself is never
/// behind. Dropping the handle releases the object.
#[derive(Debug)]
pub struct RemoteSharedObject {
    client: Client,
    shared: Arc<SoShared>,
    events: mpsc::Receiver<SoEvent>,
    released: bool,
}

impl RemoteSharedObject {
    pub(super) fn new(
        client: Client,
        shared: Arc<SoShared>,
        events: mpsc::Receiver<SoEvent>,
    ) -> Self {
        Self {
            client,
            shared,
            events,
            released: false,
        }
    }

    /// The SharedObject's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// One slot's current value.
    pub fn get(&self, slot: &str) -> Option<AmfValue> {
        self.shared.replica().get(slot).cloned()
    }

    /// A snapshot of every slot.
    pub fn slots(&self) -> BTreeMap<String, AmfValue> {
        self.shared.replica().slots().clone()
    }

    /// The version of the last server message applied.
    pub fn version(&self) -> u32 {
        self.shared.replica().version()
    }

    /// Our writes the server has not confirmed yet.
    pub fn pending_writes(&self) -> usize {
        self.shared.replica().pending_writes()
    }

    /// Sets one slot (`RequestChange`). Returns once the request is sent;
    /// the replica shows the value when the server's `Success` arrives.
    ///
    /// # Errors
    ///
    /// [`ClientError::Closed`] (or the connection's error) after a release
    /// or the end of the connection; encoding errors.
    pub async fn set(&self, slot: &str, value: AmfValue) -> Result<(), ClientError> {
        self.set_many(vec![(slot.to_owned(), value)]).await
    }

    /// Sets several slots in one message, which the server applies
    /// atomically and in order.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    pub async fn set_many(&self, pairs: Vec<(String, AmfValue)>) -> Result<(), ClientError> {
        self.write(SoOp::Set(pairs)).await
    }

    /// Removes one slot (`RequestRemove`).
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    pub async fn remove(&self, slot: &str) -> Result<(), ClientError> {
        self.write(SoOp::Remove(vec![slot.to_owned()])).await
    }

    /// Calls handler `method(args...)` on every subscriber, us included
    /// (`SharedObject.send`); it arrives as [`SoEvent::Message`].
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    pub async fn send(&self, method: &str, args: Vec<AmfValue>) -> Result<(), ClientError> {
        self.write(SoOp::Send {
            method: method.to_owned(),
            args,
        })
        .await
    }

    /// The next event; `None` once the object is released or the
    /// connection has ended and every queued event was read.
    pub async fn next_event(&mut self) -> Option<SoEvent> {
        if self.shared.closed.load(Ordering::Relaxed) {
            return self.events.try_recv().ok();
        }
        let mut changed = self.shared.changed.subscribe();
        loop {
            tokio::select! {
                event = self.events.recv() => return event,
                signal = changed.changed() => {
                    if signal.is_err() || self.shared.closed.load(Ordering::Relaxed) {
                        return self.events.try_recv().ok();
                    }
                }
            }
        }
    }

    /// Events dropped so far because the queue was full.
    pub fn dropped_events(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Waits until `condition` holds for the replica (checked now and after
    /// every server message).
    ///
    /// # Errors
    ///
    /// [`ClientError::Timeout`] after `timeout`; the connection's error (or
    /// [`ClientError::Closed`]) when it ends first.
    pub async fn wait_until(
        &self,
        mut condition: impl FnMut(&SharedObjectReplica) -> bool,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let mut changed = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changed.borrow_and_update();
            if condition(&self.shared.replica()) {
                return Ok(());
            }
            if self.shared.closed.load(Ordering::Relaxed) {
                return Err(self.client.inner.shared.ended());
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(ClientError::Closed),
                Err(_) => {
                    return Err(ClientError::Timeout {
                        what: format!("condition on SharedObject {:?}", self.shared.name),
                        after: timeout,
                    })
                }
            }
        }
    }

    /// Stops using the object (`Release`).
    ///
    /// # Errors
    ///
    /// The connection's error when it has ended.
    pub async fn release(mut self) -> Result<(), ClientError> {
        self.released = true;
        let name = self.shared.name.clone();
        self.client.send(Request::SoRelease { name }).await
    }

    async fn write(&self, op: SoOp) -> Result<(), ClientError> {
        let name = self.shared.name.clone();
        self.client
            .ask("SharedObject write", |reply| Request::SoWrite {
                name,
                op,
                reply,
            })
            .await
    }
}

impl Drop for RemoteSharedObject {
    fn drop(&mut self) {
        if !self.released {
            let name = self.shared.name.clone();
            let _ = self.client.inner.tx.try_send(Request::SoRelease { name });
        }
    }
}
