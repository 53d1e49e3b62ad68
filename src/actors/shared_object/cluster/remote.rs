//! Another node's SharedObject events (or the op log's), decoded into the
//! pending order of this node's replica.

use actix::prelude::*;
use bytestring::ByteString;
use tracing::warn;

use super::super::SharedObjectActor;
use super::Pending;
use crate::cluster::amf_args::decode_args;
use crate::cluster::envelope::SlotChange as WireChange;
use crate::cluster::ClusterEvent;
use crate::protocol::shared_object::SharedObjectEvent;
use crate::sharedobject::{codec, Slot, SlotChange};

impl SharedObjectActor {
    /// Queues an event from another node (or the op log) in the order.
    pub(super) fn remote_event(&mut self, event: ClusterEvent, _ctx: &mut Context<Self>) {
        let limits = self
            .cluster
            .as_ref()
            .map(|r| r.link.node.amf_limits())
            .unwrap_or_default();
        let (version, bumps, item) = match event {
            ClusterEvent::SharedObjectDelta {
                version, changes, ..
            } => {
                let mut slot_changes = Vec::with_capacity(changes.len());
                let mut events = Vec::with_capacity(changes.len());
                for WireChange { slot, value } in changes {
                    let name = ByteString::from(slot);
                    match value {
                        Some(encoded) => match codec::decode(encoded.clone()) {
                            Ok(value) => {
                                events.push(SharedObjectEvent::Change(vec![(
                                    name.clone(),
                                    value.clone(),
                                )]));
                                slot_changes.push(SlotChange::Set(name, Slot { value, encoded }));
                            }
                            Err(error) => {
                                warn!(so = %self.key.name, %error, "undecodable slot value from the cluster");
                            }
                        },
                        None => {
                            events.push(SharedObjectEvent::Remove(vec![name.clone()]));
                            slot_changes.push(SlotChange::Remove(name));
                        }
                    }
                }
                (
                    version,
                    true,
                    Pending::Remote {
                        changes: slot_changes,
                        events,
                    },
                )
            }
            ClusterEvent::SharedObjectClear { version, .. } => (
                version,
                true,
                Pending::Remote {
                    changes: vec![SlotChange::Clear],
                    events: vec![SharedObjectEvent::Clear],
                },
            ),
            ClusterEvent::SharedObjectSend {
                version,
                handler,
                args,
                ..
            } => match decode_args(args, limits) {
                Ok(args) => (
                    version,
                    false,
                    Pending::Remote {
                        changes: Vec::new(),
                        events: vec![SharedObjectEvent::SendMessage {
                            method: handler.into(),
                            args,
                        }],
                    },
                ),
                Err(error) => {
                    warn!(so = %self.key.name, %error, "undecodable SharedObject.send from the cluster");
                    return;
                }
            },
            _ => return,
        };
        if let Some(replica) = self.cluster.as_mut() {
            replica.push(version, bumps, item);
        }
    }
}
