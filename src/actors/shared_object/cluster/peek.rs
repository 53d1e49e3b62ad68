//! Reading an object straight from Redis for the admin API, on a node where
//! it is not live: no actor, no channel subscription, no member-set join
//! (a non-persistent object must not be kept alive by an admin read).

use std::future::Future;

use super::super::{AdminAnswer, SoApiError, SoSnapshot};
use super::ClusterLink;
use crate::app::SharedObjectRef;
use crate::cluster::envelope::ObjectKey;
use crate::sharedobject::codec;

impl ClusterLink {
    /// The object's version and slots as Redis holds them
    /// ([`SoApiError::NotFound`] if Redis has no version for it). The
    /// snapshot counts no subscribers: none are on this node.
    pub fn peek(
        &self,
        key: &SharedObjectRef,
    ) -> impl Future<Output = Result<AdminAnswer, SoApiError>> + 'static {
        let object = ObjectKey {
            scope: key.scope.clone(),
            name: key.name.clone(),
            persistent: key.persistent,
        };
        let load = self.store.load_object(&object);
        async move {
            let stored = load.await.map_err(|e| SoApiError::Store(e.to_string()))?;
            if stored.version == 0 {
                return Err(SoApiError::NotFound);
            }
            let slots = stored
                .slots
                .into_iter()
                .map(|(name, encoded)| codec::decode(encoded).map(|value| (name, value)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SoApiError::Store(e.to_string()))?;
            Ok(AdminAnswer::Snapshot(SoSnapshot {
                version: stored.version,
                slots,
                subscribers: 0,
                exists: true,
            }))
        }
    }
}
