//! A SharedObject as a replica of a cluster-wide order (`--redis`): a
//! request is *planned* against the local copy (validated, its slot changes
//! and events computed, nothing applied), the planned changes go to Redis,
//! which gives them their version, and every node then applies changes —
//! its own and other nodes' — strictly in version order with
//! [`SharedObjectState::apply_replicated`].
//!
//! In the cluster a message bumps the version when it sets, removes (even
//! an absent slot: the local copy may be stale, Redis decides nothing) or
//! clears; a message of only sends bumps nothing.

use bytestring::ByteString;

use super::state::slot_bytes;
use super::{Operation, Permissions, Refusal, SharedObjectState, Slot, SlotChange};
use crate::protocol::shared_object::SharedObjectEvent;

/// A validated request, not applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The slot changes, in order (removes of slots absent here included).
    pub changes: Vec<SlotChange>,
    /// The writer's events (Success per slot, its own SendMessage), in order.
    pub for_writer: Vec<SharedObjectEvent>,
    /// Every other subscriber's events, in order.
    pub for_others: Vec<SharedObjectEvent>,
    /// The `SharedObject.send` calls, in order: (method, args).
    pub sends: Vec<(ByteString, Vec<crate::protocol::amf::AmfValue>)>,
}

impl Planned {
    /// Whether the request bumps the version (it changes slots).
    pub fn bumps(&self) -> bool {
        !self.changes.is_empty()
    }
}

impl SharedObjectState {
    /// Validates `ops` like [`apply`](Self::apply) and returns what they
    /// would do, without applying anything.
    ///
    /// # Errors
    /// A [`Refusal`] when a permission or a limit refuses any operation.
    pub fn plan(
        &self,
        ops: &[Operation],
        permissions: &dyn Permissions,
    ) -> Result<Planned, Refusal> {
        let encoded = self.validate(ops, permissions)?;
        let mut encoded = encoded.into_iter();
        let mut planned = Planned {
            changes: Vec::new(),
            for_writer: Vec::new(),
            for_others: Vec::new(),
            sends: Vec::new(),
        };
        for op in ops {
            match op {
                Operation::Set(pairs) => {
                    for (name, value) in pairs {
                        let Some(bytes) = encoded.next() else { break };
                        let slot = Slot {
                            value: value.clone(),
                            encoded: bytes,
                        };
                        planned
                            .for_writer
                            .push(SharedObjectEvent::Success(vec![name.clone()]));
                        planned.for_others.push(SharedObjectEvent::Change(vec![(
                            name.clone(),
                            value.clone(),
                        )]));
                        planned.changes.push(SlotChange::Set(name.clone(), slot));
                    }
                }
                Operation::Remove(names) => {
                    for name in names {
                        planned
                            .for_writer
                            .push(SharedObjectEvent::Success(vec![name.clone()]));
                        planned
                            .for_others
                            .push(SharedObjectEvent::Remove(vec![name.clone()]));
                        planned.changes.push(SlotChange::Remove(name.clone()));
                    }
                }
                Operation::Send { method, args } => {
                    let event = SharedObjectEvent::SendMessage {
                        method: method.clone(),
                        args: args.clone(),
                    };
                    planned.for_writer.push(event.clone());
                    planned.for_others.push(event);
                    planned.sends.push((method.clone(), args.clone()));
                }
                Operation::Clear => {
                    planned.for_writer.push(SharedObjectEvent::Clear);
                    planned.for_others.push(SharedObjectEvent::Clear);
                    planned.changes.push(SlotChange::Clear);
                }
            }
        }
        Ok(planned)
    }

    /// Applies changes the cluster ordered at `version` (the caller applies
    /// versions in order, each once) and remembers them for catch-ups.
    /// Removing an absent slot is a no-op; the version is set as given.
    pub fn apply_replicated(&mut self, version: u32, changes: Vec<SlotChange>) {
        for change in &changes {
            match change {
                SlotChange::Set(name, slot) => {
                    self.bytes += slot_bytes(name, slot);
                    if let Some(old) = self.slots.insert(name.clone(), slot.clone()) {
                        self.bytes -= slot_bytes(name, &old);
                    }
                }
                SlotChange::Remove(name) => {
                    if let Some(old) = self.slots.remove(name) {
                        self.bytes -= slot_bytes(name, &old);
                    }
                }
                SlotChange::Clear => {
                    self.slots.clear();
                    self.bytes = 0;
                }
            }
        }
        self.version = version;
        self.remember(version, changes);
    }

    /// Marks this object as loaded from an authoritative copy at its current
    /// version: a client holding exactly that version holds these slots.
    pub fn trust_current_version(&mut self) {
        let version = self.version;
        self.begin_incarnation(version, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::amf::AmfValue;
    use crate::sharedobject::{AllowAll, SharedObjectLimits};

    fn set(name: &str, v: f64) -> Operation {
        Operation::Set(vec![(name.into(), AmfValue::Number(v))])
    }

    #[test]
    fn planning_changes_nothing_and_replicating_the_plan_equals_applying() {
        let mut applied = SharedObjectState::new("o", true, SharedObjectLimits::default());
        let mut replica = applied.clone();
        let ops = [
            set("a", 1.0),
            Operation::Remove(vec!["zz".into()]),
            set("b", 2.0),
        ];
        let planned = replica.plan(&ops, &AllowAll).expect("valid");
        assert_eq!(replica.version(), 0);
        assert!(replica.slots().is_empty());
        assert!(planned.bumps());
        applied.apply(&ops, &AllowAll, true).expect("valid");
        replica.apply_replicated(7, planned.changes);
        assert_eq!(replica.slots(), applied.slots());
        assert_eq!(replica.size_bytes(), applied.size_bytes());
        assert_eq!(replica.version(), 7);
    }

    #[test]
    fn a_plan_of_only_sends_does_not_bump_and_a_refused_plan_is_an_error() {
        let state = SharedObjectState::new("o", false, SharedObjectLimits::default());
        let send = Operation::Send {
            method: "say".into(),
            args: vec![AmfValue::Number(1.0)],
        };
        let planned = state.plan(&[send], &AllowAll).expect("valid");
        assert!(!planned.bumps());
        assert_eq!(planned.sends.len(), 1);
        let limits = SharedObjectLimits {
            max_slots: 1,
            ..SharedObjectLimits::default()
        };
        let small = SharedObjectState::new("o", false, limits);
        assert!(small
            .plan(&[set("a", 1.0), set("b", 1.0)], &AllowAll)
            .is_err());
    }
}
