//! The store side of a persistent SharedObject: loading (and reloading
//! after a failed commit), commits and flushes, and their resolution, which
//! releases the outgoing queue in order.

use std::sync::Arc;

use actix::prelude::*;
use tracing::warn;

use super::{Input, SharedObjectActor, SoApiError};
use crate::actors::messages::SoDeliver;
use crate::protocol::shared_object::SharedObjectMessage;
use crate::sharedobject::{codes, status_event, SharedObjectState};
use crate::store::{SoCommit, SoKey, StoreError};

impl SharedObjectActor {
    pub(super) fn store_key(&self) -> SoKey {
        SoKey {
            scope: self.key.scope.clone(),
            name: self.key.name.clone(),
        }
    }

    pub(super) fn load(&mut self, ctx: &mut Context<Self>) {
        let Some(store) = self.store.clone() else {
            return;
        };
        if self.loading {
            return;
        }
        self.loading = true;
        let key = self.store_key();
        async move { store.load(&key).await }
            .into_actor(self)
            .map(|result, act, ctx| act.loaded(result, ctx))
            .spawn(ctx);
    }

    pub(super) fn loaded(
        &mut self,
        result: Result<Option<crate::store::StoredObject>, StoreError>,
        ctx: &mut Context<Self>,
    ) {
        self.loading = false;
        let name = self.key.name.as_str();
        let state = match result {
            Ok(None) => Ok(SharedObjectState::new(name, true, self.limits)),
            Ok(Some(stored)) => {
                SharedObjectState::from_stored(name, self.limits, stored).map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        match state {
            Ok(mut state) => {
                let reload = self.failed_from.take().is_some();
                let stored_version = state.version();
                if let Some(old) = &self.state_before_reload() {
                    state.raise_version(*old);
                }
                let window = self.limits.lossy_version_window;
                if window > 0 {
                    // A crash may have lost versions up to `window` above
                    // the stored one (see `accepted`): start above them.
                    state.raise_version(stored_version.saturating_add(window));
                }
                let raised = state.version() != stored_version;
                self.state = Some(state);
                if reload {
                    // Every commit resolved before the reload started.
                    self.durable = self.issued;
                    self.resolved.clear();
                }
                if raised {
                    // Subscribers saw versions the store lost: store the
                    // raised version before anything shows it, so it is never
                    // handed out again.
                    let version = self.state.as_ref().map_or(0, SharedObjectState::version);
                    self.commit(version, Vec::new(), ctx);
                    if window > 0 {
                        self.flush_store(version, ctx);
                    }
                }
                if reload {
                    self.resync_subscribers();
                }
                self.publish_info();
                while let Some(input) = self.inbox.pop_front() {
                    self.input(input, ctx);
                    if self.state.is_none() {
                        break;
                    }
                }
                self.release(ctx);
            }
            Err(reason) => {
                warn!(so = %self.key.name, scope = %self.key.scope, %reason, "cannot load SharedObject");
                let message = Arc::new(SharedObjectMessage {
                    events: vec![status_event(codes::OBJECT_CREATION_FAILED)],
                    ..SharedObjectMessage::new(name, 0, true)
                });
                for sub in self.subscribers.values() {
                    sub.info.deliver.do_send(SoDeliver {
                        message: message.clone(),
                        ended: true,
                    });
                }
                for input in self.inbox.drain(..) {
                    if let Input::Admin(request) = input {
                        let _ = request.reply.send(Err(SoApiError::Store(reason.clone())));
                    }
                }
                self.subscribers.clear();
                self.info.lock().unwrap_or_else(|p| p.into_inner()).failed = true;
                ctx.stop();
            }
        }
    }

    /// The version subscribers saw before a reload (kept in the info cell).
    pub(super) fn state_before_reload(&self) -> Option<u32> {
        Some(self.info.lock().unwrap_or_else(|p| p.into_inner()).version)
    }

    /// Issues a commit (persistent objects) moving the object to `version`;
    /// returns the gate for what must wait for it.
    pub(super) fn commit(
        &mut self,
        version: u32,
        changes: Vec<crate::store::SoChange>,
        ctx: &mut Context<Self>,
    ) -> u64 {
        let Some(store) = &self.store else {
            return self.issued;
        };
        self.issued += 1;
        self.outstanding += 1;
        let seq = self.issued;
        let commit = store.commit(SoCommit {
            key: self.store_key(),
            version,
            changes,
        });
        commit
            .into_actor(self)
            .map(move |result, act, ctx| act.committed(seq, result, ctx))
            .spawn(ctx);
        seq
    }

    /// Issues a store flush covering every commit so far (up to
    /// `version`), resolved like a commit; returns its gate.
    pub(super) fn flush_store(&mut self, version: u32, ctx: &mut Context<Self>) -> u64 {
        let Some(store) = &self.store else {
            return self.issued;
        };
        self.issued += 1;
        self.outstanding += 1;
        self.flushed_version = self.flushed_version.max(version);
        let seq = self.issued;
        store
            .flush()
            .into_actor(self)
            .map(move |result, act, ctx| act.committed(seq, result, ctx))
            .spawn(ctx);
        seq
    }

    pub(super) fn committed(
        &mut self,
        seq: u64,
        result: Result<(), StoreError>,
        ctx: &mut Context<Self>,
    ) {
        self.outstanding = self.outstanding.saturating_sub(1);
        match result {
            Ok(()) => {
                self.resolved.insert(seq);
                while self.resolved.remove(&(self.durable + 1)) {
                    self.durable += 1;
                }
            }
            Err(e) => {
                warn!(so = %self.key.name, scope = %self.key.scope, seq, error = %e, "SharedObject commit failed: reloading from the store");
                if self.failed_from.is_none_or(|f| seq < f) {
                    self.failed_from = Some(seq);
                }
                // Inputs wait until the object is reloaded.
                self.state = None;
            }
        }
        self.release(ctx);
    }
}
