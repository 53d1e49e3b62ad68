//! SharedObject channel subscriptions in a cluster, counted per channel:
//! an object's actor may stop after its successor for the same object
//! started (a non-persistent object released and used again at once), so
//! a plain unsubscribe from the old actor could undo the new one's
//! subscribe. One task applies every subscribe and unsubscribe in call
//! order and talks to the bus only on the first subscriber and the last.
//! The same count decides when this node joins and leaves a
//! non-persistent object's member set in Redis.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use crate::cluster::envelope::ObjectKey;
use crate::cluster::{ClusterBus, NodeId};
use crate::store::redis::RedisSoStore;

struct Request {
    channel: String,
    object: ObjectKey,
    /// `Some(first version)` to add a user, `None` to remove one.
    add: Option<u32>,
    ack: Option<oneshot::Sender<()>>,
}

/// Counted subscriptions of SharedObject channels. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SoChannels {
    tx: mpsc::UnboundedSender<Request>,
}

impl SoChannels {
    /// Starts the task on the current tokio runtime.
    pub fn start(bus: Arc<dyn ClusterBus>, store: RedisSoStore, node: NodeId) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
        tokio::spawn(async move {
            let mut counts: HashMap<String, usize> = HashMap::new();
            while let Some(Request {
                channel,
                object,
                add,
                ack,
            }) = rx.recv().await
            {
                if let Some(first_version) = add {
                    let count = counts.entry(channel.clone()).or_insert(0);
                    *count += 1;
                    if *count == 1 {
                        if let Err(error) = bus.subscribe(&channel).await {
                            warn!(%channel, %error, "cannot subscribe a SharedObject channel (resynced once the bus is back)");
                        }
                        if !object.persistent {
                            if let Err(error) = store.join(&object, &node, first_version).await {
                                warn!(so = %object.name, %error, "cannot join a SharedObject's member set");
                            }
                        }
                    }
                } else if let Some(count) = counts.get_mut(&channel) {
                    *count -= 1;
                    if *count == 0 {
                        counts.remove(&channel);
                        let _ = bus.unsubscribe(&channel).await;
                        if !object.persistent {
                            if let Err(error) = store.leave(&object, &node).await {
                                warn!(so = %object.name, %error, "cannot leave a SharedObject's member set (survivors clean up when this node leaves)");
                            }
                        }
                    }
                }
                if let Some(ack) = ack {
                    let _ = ack.send(());
                }
            }
        });
        Self { tx }
    }

    /// Counts one more user of `object` on `channel`; resolves once
    /// subscribed and joined (or refused, which a later resync covers). A
    /// new non-persistent object starts at `first_version`.
    pub fn subscribe(
        &self,
        channel: &str,
        object: &ObjectKey,
        first_version: u32,
    ) -> impl std::future::Future<Output = ()> + 'static {
        let (ack, done) = oneshot::channel();
        let _ = self.tx.send(Request {
            channel: channel.to_string(),
            object: object.clone(),
            add: Some(first_version),
            ack: Some(ack),
        });
        async move {
            let _ = done.await;
        }
    }

    /// Counts one user less of `object` on `channel`.
    pub fn unsubscribe(&self, channel: &str, object: &ObjectKey) {
        let _ = self.tx.send(Request {
            channel: channel.to_string(),
            object: object.clone(),
            add: None,
            ack: None,
        });
    }
}
