//! Which scope channels this node subscribes: exactly the scopes with local
//! clients (a node with nobody in a scope does not hear its broadcasts).
//!
//! The client directory reports a scope's first and last client in order
//! and without blocking ([`Subscriptions::set`]); one task reconciles the
//! bus's subscriptions with that wanted set, one change at a time, so an
//! unsubscribe and a quick re-subscribe of one scope cannot overtake each
//! other. A subscription is *confirmed* once the bus acknowledged it (or
//! resubscribed everything afterwards): a broadcast's PUBLISH count then
//! includes this node itself, which the count of nodes reached corrects for.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::lock;
use crate::cluster::{BusError, ClusterBus, KeySpace};

#[derive(Debug, Default)]
struct State {
    /// Scopes with local clients.
    wanted: HashSet<String>,
    /// Scopes the task asked the bus for (or is about to).
    requested: HashSet<String>,
    /// Scopes the bus confirmed.
    confirmed: HashSet<String>,
}

/// The wanted and confirmed scope subscriptions.
#[derive(Debug)]
pub(super) struct Subscriptions {
    bus: Arc<dyn ClusterBus>,
    keys: KeySpace,
    state: Mutex<State>,
    wake: Notify,
    closed: AtomicBool,
}

impl Subscriptions {
    pub(super) fn new(bus: Arc<dyn ClusterBus>, keys: KeySpace) -> Self {
        Self {
            bus,
            keys,
            state: Mutex::default(),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        }
    }

    /// A scope got its first local client (`true`) or lost its last.
    pub(super) fn set(&self, scope: &str, present: bool) {
        let mut state = lock(&self.state);
        if present {
            state.wanted.insert(scope.to_string());
        } else {
            state.wanted.remove(scope);
        }
        drop(state);
        self.wake.notify_one();
    }

    /// Whether the bus confirmed `scope`'s subscription.
    pub(super) fn is_confirmed(&self, scope: &str) -> bool {
        lock(&self.state).confirmed.contains(scope)
    }

    /// The bus resubscribed every channel it had: all requested are live.
    pub(super) fn all_confirmed(&self) {
        let mut state = lock(&self.state);
        state.confirmed = state.requested.clone();
    }

    /// Stops the task.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// Subscribes `inbox` (this node's own channel), then reconciles on every
    /// change until closed.
    pub(super) fn spawn(self: &Arc<Self>, inbox: String) {
        let this = self.clone();
        tokio::spawn(async move {
            report("subscribe", &inbox, this.bus.subscribe(&inbox).await);
            while !this.closed.load(Ordering::Relaxed) {
                this.reconcile().await;
                this.wake.notified().await;
            }
        });
    }

    async fn reconcile(&self) {
        loop {
            let change = {
                let mut state = lock(&self.state);
                let add = state.wanted.difference(&state.requested).next().cloned();
                match add {
                    Some(scope) => {
                        state.requested.insert(scope.clone());
                        Some((scope, true))
                    }
                    None => {
                        let remove = state.requested.difference(&state.wanted).next().cloned();
                        remove.map(|scope| {
                            state.requested.remove(&scope);
                            state.confirmed.remove(&scope);
                            (scope, false)
                        })
                    }
                }
            };
            let Some((scope, subscribe)) = change else {
                return;
            };
            let channel = self.keys.scope_channel(&scope);
            if subscribe {
                let result = self.bus.subscribe(&channel).await;
                if result.is_ok() {
                    let mut state = lock(&self.state);
                    if state.requested.contains(&scope) {
                        state.confirmed.insert(scope);
                    }
                }
                report("subscribe", &channel, result);
            } else {
                report(
                    "unsubscribe",
                    &channel,
                    self.bus.unsubscribe(&channel).await,
                );
            }
        }
    }
}

fn report(op: &str, channel: &str, result: Result<(), BusError>) {
    match result {
        Ok(()) => tracing::debug!(op, channel, "cluster subscription changed"),
        // Kept in the bus's wanted set; live after the next resubscription.
        Err(BusError::Unavailable { reason }) => {
            tracing::debug!(op, channel, %reason, "cluster subscription deferred until Redis is back");
        }
        Err(error) => tracing::warn!(op, channel, %error, "cluster subscription failed"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cluster::{LocalHub, NodeId};

    async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !done() {
            assert!(tokio::time::Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn a_scope_is_subscribed_while_it_has_local_clients_and_confirmed_once_the_bus_acked() {
        let hub = LocalHub::new();
        let (bus, _inbox) = hub.attach(NodeId::from("n"), 16, 1 << 20);
        let keys = KeySpace::default();
        let subs = Arc::new(Subscriptions::new(Arc::new(bus), keys.clone()));
        subs.spawn(keys.node_channel(&NodeId::from("n")));
        let channel = keys.scope_channel("live/a");
        subs.set("live/a", true);
        eventually("subscribed", || subs.is_confirmed("live/a")).await;
        assert_eq!(hub.subscribers(&channel), 1);
        assert_eq!(hub.subscribers(&keys.node_channel(&NodeId::from("n"))), 1);
        // Leaving and coming back quickly ends subscribed.
        subs.set("live/a", false);
        subs.set("live/a", true);
        subs.set("live/b", true);
        eventually("both", || {
            subs.is_confirmed("live/a") && subs.is_confirmed("live/b")
        })
        .await;
        assert_eq!(hub.subscribers(&channel), 1);
        subs.set("live/a", false);
        eventually("unsubscribed", || hub.subscribers(&channel) == 0).await;
        assert!(!subs.is_confirmed("live/a"));
        subs.close();
    }
}
