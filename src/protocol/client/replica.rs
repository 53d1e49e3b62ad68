//! The local copy of one remote SharedObject, kept in the server's order.
//!
//! Rules (see `docs/shared-objects.md` for the server side):
//!
//! - `Change`, `Remove` and `Clear` from the server are applied as received:
//!   the server's order is the only order.
//! - Our own writes are not applied when sent. Each written slot keeps a
//!   FIFO of pending values; when the server's `Success` for that slot
//!   arrives, the oldest pending value is applied (a pending remove removes).
//!   Between our write and its `Success`, other clients' `Change`s that the
//!   server ordered before ours are applied as they come, and ours lands on
//!   top, exactly as on every other replica.
//! - Every message we send that the server answers (changes, removes and
//!   sends) is kept in one FIFO of outstanding messages, with the slots it
//!   touches. The server answers them in order: a `Success` completes a
//!   change (and every send before it, accepted meanwhile); a `Status`
//!   with level `error` refuses one message. A refusal lists, after the
//!   Status, the server's value of each slot the refused message touched
//!   (Change, or Remove for an absent slot): those are applied like any
//!   Change, and the refused message is the oldest outstanding one that
//!   touched exactly those slots (a send: none). `SharedObject.Flush.Failed`
//!   refuses the oldest outstanding change. Its pending values are dropped.
//! - The header `version` of every server message becomes the replica's
//!   version once the message is applied.
//! - `UseSuccess` marks the replica synced once the whole message carrying
//!   it (normally `[UseSuccess, Clear, Change…]`) is applied.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use bytestring::ByteString;

use crate::protocol::amf::AmfValue;
use crate::protocol::command::status::LEVEL_ERROR;
use crate::protocol::shared_object::{SharedObjectEvent, SharedObjectMessage};

/// What changed in a [`SharedObjectReplica`] (Flash's `onSync` list and
/// `SharedObject.send` handlers, as one stream).
#[derive(Debug, Clone, PartialEq)]
pub enum SoEvent {
    /// The `Use` succeeded and the initial sync (the message carrying
    /// `UseSuccess`) is applied.
    Synced,
    /// Another writer (or the server) set a slot.
    Changed {
        /// The slot name.
        slot: String,
        /// Its new value.
        value: AmfValue,
    },
    /// A slot was removed by another writer (or the server).
    Removed {
        /// The slot name.
        slot: String,
    },
    /// The server cleared the object (before a full resync).
    Cleared,
    /// A `SharedObject.send` handler call, delivered to every subscriber.
    Message {
        /// The handler name.
        method: String,
        /// The arguments.
        args: Vec<AmfValue>,
    },
    /// A status from the server (e.g. `SharedObject.NoWriteAccess`).
    Status {
        /// The status code.
        code: String,
        /// Its level (`"error"`, `"warning"`, `"status"`).
        level: String,
    },
    /// Our own writes to these slots were accepted and are now applied.
    Success {
        /// The slot names.
        slots: Vec<String>,
    },
}

/// One write of ours awaiting the server's `Success`: which write message
/// it belongs to and the value (`None`: a remove).
type PendingWrite = (u64, Option<AmfValue>);

/// The local copy of one remote SharedObject. See the module docs.
#[derive(Debug, Clone)]
pub struct SharedObjectReplica {
    name: ByteString,
    persistent: bool,
    version: u32,
    synced: bool,
    slots: BTreeMap<String, AmfValue>,
    /// Our writes not yet confirmed, per slot, oldest first.
    pending: BTreeMap<String, VecDeque<PendingWrite>>,
    /// Our messages the server has not answered yet, oldest first: their
    /// sequence number and the slots they touch (each once, in order;
    /// empty for a send).
    outstanding: VecDeque<(u64, Vec<String>)>,
    /// Per outstanding write message, how many of its values are still in
    /// `pending` (so confirming one needs no scan of every pending value).
    remaining: HashMap<u64, usize>,
    /// Sequence number of the next write message.
    next_write: u64,
}

/// Status codes that answer a Use, not a write: they refuse nothing we sent.
const USE_STATUS_CODES: [&str; 2] = [
    "SharedObject.NoReadAccess",
    "SharedObject.ObjectCreationFailed",
];
/// The Status code of a change accepted but not stored.
const FLUSH_FAILED_CODE: &str = "SharedObject.Flush.Failed";

impl SharedObjectReplica {
    /// An empty, unsynced replica of `name`.
    pub fn new(name: impl Into<ByteString>, persistent: bool) -> Self {
        Self {
            name: name.into(),
            persistent,
            version: 0,
            synced: false,
            slots: BTreeMap::new(),
            pending: BTreeMap::new(),
            outstanding: VecDeque::new(),
            remaining: HashMap::new(),
            next_write: 0,
        }
    }

    /// The SharedObject's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it was requested as persistent.
    pub fn is_persistent(&self) -> bool {
        self.persistent
    }

    /// The version of the last server message applied.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Whether the initial sync has been applied.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// The slots as the server ordered them.
    pub fn slots(&self) -> &BTreeMap<String, AmfValue> {
        &self.slots
    }

    /// One slot's value.
    pub fn get(&self, slot: &str) -> Option<&AmfValue> {
        self.slots.get(slot)
    }

    /// Our writes not yet confirmed by the server.
    pub fn pending_writes(&self) -> usize {
        self.pending.values().map(VecDeque::len).sum()
    }

    /// The `Use` message that subscribes to the object.
    pub fn use_message(&self) -> SharedObjectMessage {
        self.message(vec![SharedObjectEvent::Use])
    }

    /// The `Release` message that unsubscribes.
    pub fn release_message(&self) -> SharedObjectMessage {
        self.message(vec![SharedObjectEvent::Release])
    }

    /// A message setting every pair (one `RequestChange` event each, in one
    /// message the server applies atomically); records them as pending.
    pub fn change_message(&mut self, pairs: Vec<(String, AmfValue)>) -> SharedObjectMessage {
        let write = self.next_write_id();
        self.track(write, pairs.iter().map(|(slot, _)| slot.as_str()));
        let mut events = Vec::with_capacity(pairs.len());
        self.remaining.insert(write, pairs.len());
        for (slot, value) in pairs {
            self.pending
                .entry(slot.clone())
                .or_default()
                .push_back((write, Some(value.clone())));
            events.push(SharedObjectEvent::RequestChange(vec![(slot.into(), value)]));
        }
        self.message(events)
    }

    /// A message removing `slots`; records them as pending.
    pub fn remove_message(&mut self, slots: Vec<String>) -> SharedObjectMessage {
        let write = self.next_write_id();
        self.track(write, slots.iter().map(String::as_str));
        self.remaining.insert(write, slots.len());
        for slot in &slots {
            self.pending
                .entry(slot.clone())
                .or_default()
                .push_back((write, None));
        }
        let names = slots.into_iter().map(ByteString::from).collect();
        self.message(vec![SharedObjectEvent::RequestRemove(names)])
    }

    /// A `SendMessage` (`SharedObject.send(method, args...)`); recorded as
    /// outstanding (the server may refuse it).
    pub fn send_message(&mut self, method: &str, args: Vec<AmfValue>) -> SharedObjectMessage {
        let write = self.next_write_id();
        self.track(write, std::iter::empty());
        self.message(vec![SharedObjectEvent::SendMessage {
            method: method.into(),
            args,
        }])
    }

    /// Our messages the server has not answered yet (changes, removes and
    /// sends).
    pub fn outstanding_messages(&self) -> usize {
        self.outstanding.len()
    }

    /// Applies one server message in order; returns what changed.
    pub fn apply(&mut self, message: &SharedObjectMessage) -> Vec<SoEvent> {
        let mut out = Vec::new();
        let mut use_success = false;
        for (index, event) in message.events.iter().enumerate() {
            match event {
                SharedObjectEvent::UseSuccess => use_success = true,
                SharedObjectEvent::Clear => {
                    self.slots.clear();
                    out.push(SoEvent::Cleared);
                }
                SharedObjectEvent::Change(pairs) => {
                    for (slot, value) in pairs {
                        match self.slots.get_mut(&**slot) {
                            Some(old) => *old = value.clone(),
                            None => {
                                self.slots.insert(slot.to_string(), value.clone());
                            }
                        }
                        out.push(SoEvent::Changed {
                            slot: slot.to_string(),
                            value: value.clone(),
                        });
                    }
                }
                SharedObjectEvent::Remove(names) => {
                    for slot in names {
                        self.slots.remove(&**slot);
                        out.push(SoEvent::Removed {
                            slot: slot.to_string(),
                        });
                    }
                }
                SharedObjectEvent::Success(names) => {
                    let slots: Vec<String> = names.iter().map(|s| s.to_string()).collect();
                    for slot in &slots {
                        self.confirm(slot);
                    }
                    out.push(SoEvent::Success { slots });
                }
                SharedObjectEvent::SendMessage { method, args } => out.push(SoEvent::Message {
                    method: method.to_string(),
                    args: args.clone(),
                }),
                SharedObjectEvent::Status { code, level } => {
                    if &**level == LEVEL_ERROR {
                        let rest = message.events.get(index + 1..).unwrap_or_default();
                        self.refused(code, rest);
                    }
                    out.push(SoEvent::Status {
                        code: code.to_string(),
                        level: level.to_string(),
                    });
                }
                // Client → server events and unknown types (12–14 seen from
                // FMS) mean nothing to a replica.
                _ => {}
            }
        }
        self.version = message.version;
        if use_success {
            self.synced = true;
            out.push(SoEvent::Synced);
        }
        out
    }

    fn confirm(&mut self, slot: &str) {
        let Some(queue) = self.pending.get_mut(slot) else {
            return;
        };
        let write = queue.pop_front();
        if queue.is_empty() {
            self.pending.remove(slot);
        }
        let Some((id, value)) = write else {
            return;
        };
        match value {
            Some(value) => {
                self.slots.insert(slot.to_owned(), value);
            }
            None => {
                self.slots.remove(slot);
            }
        }
        let complete = match self.remaining.get_mut(&id) {
            Some(left) => {
                *left = left.saturating_sub(1);
                *left == 0
            }
            None => true,
        };
        if complete {
            // Answered in order: everything sent before it was answered too
            // (sends accepted; changes confirmed or refused already).
            self.answered_through(id);
        }
    }

    /// A Status error: finds the message it refuses and drops its pending
    /// values. `rest`: the events after the Status in the same message
    /// (for a refusal, the server's values of the slots it touched).
    fn refused(&mut self, code: &str, rest: &[SharedObjectEvent]) {
        if USE_STATUS_CODES.contains(&code) {
            return;
        }
        let refused = if code == FLUSH_FAILED_CODE {
            self.outstanding
                .iter()
                .find(|(_, slots)| !slots.is_empty())
                .map(|(id, _)| *id)
        } else {
            let mut touched: Vec<String> = Vec::new();
            for event in rest {
                let names: Vec<&str> = match event {
                    SharedObjectEvent::Change(pairs) => pairs.iter().map(|(n, _)| &**n).collect(),
                    SharedObjectEvent::Remove(names) => names.iter().map(|n| &**n).collect(),
                    _ => Vec::new(),
                };
                for name in names {
                    if !touched.iter().any(|t| t == name) {
                        touched.push(name.to_owned());
                    }
                }
            }
            self.outstanding
                .iter()
                .find(|(_, slots)| *slots == touched)
                .or_else(|| self.outstanding.front())
                .map(|(id, _)| *id)
        };
        let Some(id) = refused else {
            return;
        };
        for queue in self.pending.values_mut() {
            queue.retain(|(write, _)| *write != id);
        }
        self.pending.retain(|_, queue| !queue.is_empty());
        self.answered_through(id);
    }

    /// Forgets outstanding messages up to and including `id` (and any
    /// pending value of them, which an in-order server never leaves).
    fn answered_through(&mut self, id: u64) {
        let mut dropped = false;
        while let Some((write, _)) = self.outstanding.front() {
            if *write > id {
                break;
            }
            let write = *write;
            self.outstanding.pop_front();
            if self.remaining.remove(&write).unwrap_or(0) == 0 {
                // Nothing of it is pending (the usual case): no scan.
                continue;
            }
            for queue in self.pending.values_mut() {
                let before = queue.len();
                queue.retain(|(w, _)| *w != write);
                dropped |= queue.len() != before;
            }
        }
        if dropped {
            self.pending.retain(|_, queue| !queue.is_empty());
        }
    }

    /// Records an outgoing message and the slots it touches.
    fn track<'a>(&mut self, write: u64, slots: impl Iterator<Item = &'a str>) {
        let mut seen = HashSet::new();
        let touched: Vec<String> = slots
            .filter(|slot| seen.insert(*slot))
            .map(str::to_owned)
            .collect();
        self.outstanding.push_back((write, touched));
    }

    fn next_write_id(&mut self) -> u64 {
        let id = self.next_write;
        self.next_write += 1;
        id
    }

    fn message(&self, events: Vec<SharedObjectEvent>) -> SharedObjectMessage {
        let mut message =
            SharedObjectMessage::new(self.name.clone(), self.version, self.persistent);
        message.events = events;
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(version: u32, events: Vec<SharedObjectEvent>) -> SharedObjectMessage {
        let mut message = SharedObjectMessage::new("so", version, false);
        message.events = events;
        message
    }

    fn change(slot: &str, value: f64) -> SharedObjectEvent {
        SharedObjectEvent::Change(vec![(slot.into(), AmfValue::Number(value))])
    }

    fn synced() -> SharedObjectReplica {
        let mut replica = SharedObjectReplica::new("so", false);
        replica.apply(&server(
            1,
            vec![SharedObjectEvent::UseSuccess, SharedObjectEvent::Clear],
        ));
        replica
    }

    #[test]
    fn own_writes_apply_only_when_the_server_confirms_them() {
        let mut replica = synced();
        replica.change_message(vec![("x".into(), AmfValue::Number(1.0))]);
        assert_eq!(replica.get("x"), None);
        assert_eq!(replica.pending_writes(), 1);
        let events = replica.apply(&server(
            2,
            vec![SharedObjectEvent::Success(vec!["x".into()])],
        ));
        assert_eq!(
            events,
            vec![SoEvent::Success {
                slots: vec!["x".into()]
            }]
        );
        assert_eq!(replica.get("x"), Some(&AmfValue::Number(1.0)));
        assert_eq!((replica.version(), replica.pending_writes()), (2, 0));
    }

    #[test]
    fn a_change_ordered_before_our_write_is_overwritten_by_our_success() {
        let mut replica = synced();
        replica.change_message(vec![("x".into(), AmfValue::Number(1.0))]);
        replica.apply(&server(2, vec![change("x", 9.0)]));
        assert_eq!(replica.get("x"), Some(&AmfValue::Number(9.0)));
        replica.apply(&server(
            3,
            vec![SharedObjectEvent::Success(vec!["x".into()])],
        ));
        assert_eq!(replica.get("x"), Some(&AmfValue::Number(1.0)));
        // And one ordered after ours wins over it.
        replica.change_message(vec![("x".into(), AmfValue::Number(2.0))]);
        replica.apply(&server(
            4,
            vec![SharedObjectEvent::Success(vec!["x".into()])],
        ));
        replica.apply(&server(5, vec![change("x", 7.0)]));
        assert_eq!(replica.get("x"), Some(&AmfValue::Number(7.0)));
    }

    #[test]
    fn several_pending_writes_of_one_slot_apply_in_fifo_order() {
        let mut replica = synced();
        replica.change_message(vec![("x".into(), AmfValue::Number(1.0))]);
        replica.remove_message(vec!["x".into()]);
        replica.change_message(vec![("x".into(), AmfValue::Number(3.0))]);
        let success = || server(2, vec![SharedObjectEvent::Success(vec!["x".into()])]);
        replica.apply(&success());
        assert_eq!(replica.get("x"), Some(&AmfValue::Number(1.0)));
        replica.apply(&success());
        assert_eq!(replica.get("x"), None);
        replica.apply(&success());
        assert_eq!(replica.get("x"), Some(&AmfValue::Number(3.0)));
    }

    #[test]
    fn a_write_message_is_answered_once_its_last_slot_is_confirmed_with_several_in_flight() {
        let mut replica = synced();
        let pairs = |v: f64| -> Vec<(String, AmfValue)> {
            ["a", "b", "c"]
                .map(|s| (s.to_owned(), AmfValue::Number(v)))
                .into()
        };
        replica.change_message(pairs(1.0));
        replica.change_message(pairs(2.0));
        assert_eq!(replica.outstanding_messages(), 2);
        let success = |slots: &[&str]| {
            SharedObjectEvent::Success(slots.iter().map(|s| (*s).into()).collect())
        };
        replica.apply(&server(2, vec![success(&["a", "b"])]));
        assert_eq!(replica.outstanding_messages(), 2);
        replica.apply(&server(2, vec![success(&["c"])]));
        assert_eq!(replica.outstanding_messages(), 1);
        assert_eq!(replica.pending_writes(), 3);
        replica.apply(&server(3, vec![success(&["a", "b", "c"])]));
        assert_eq!(replica.outstanding_messages(), 0);
        assert_eq!(replica.pending_writes(), 0);
        assert_eq!(replica.get("c"), Some(&AmfValue::Number(2.0)));
    }

    #[test]
    fn an_error_status_drops_the_oldest_outstanding_write_message() {
        let mut replica = synced();
        replica.change_message(vec![
            ("a".into(), AmfValue::Number(1.0)),
            ("b".into(), AmfValue::Number(2.0)),
        ]);
        replica.change_message(vec![("a".into(), AmfValue::Number(3.0))]);
        let refused = server(
            2,
            vec![SharedObjectEvent::Status {
                code: "SharedObject.NoWriteAccess".into(),
                level: "error".into(),
            }],
        );
        let events = replica.apply(&refused);
        assert_eq!(
            events,
            vec![SoEvent::Status {
                code: "SharedObject.NoWriteAccess".into(),
                level: "error".into(),
            }]
        );
        assert_eq!(replica.pending_writes(), 1);
        replica.apply(&server(
            3,
            vec![SharedObjectEvent::Success(vec!["a".into()])],
        ));
        assert_eq!(replica.get("a"), Some(&AmfValue::Number(3.0)));
        assert_eq!(replica.get("b"), None);
    }

    #[test]
    fn remove_clear_and_send_from_the_server_are_applied_and_reported_in_order() {
        let mut replica = synced();
        replica.apply(&server(2, vec![change("a", 1.0), change("b", 2.0)]));
        let events = replica.apply(&server(
            3,
            vec![
                SharedObjectEvent::Remove(vec!["a".into()]),
                SharedObjectEvent::SendMessage {
                    method: "hello".into(),
                    args: vec![AmfValue::Null],
                },
                SharedObjectEvent::Clear,
                change("c", 3.0),
                SharedObjectEvent::Unknown {
                    event_type: 13,
                    data: bytes::Bytes::new(),
                },
            ],
        ));
        assert_eq!(
            events,
            vec![
                SoEvent::Removed { slot: "a".into() },
                SoEvent::Message {
                    method: "hello".into(),
                    args: vec![AmfValue::Null],
                },
                SoEvent::Cleared,
                SoEvent::Changed {
                    slot: "c".into(),
                    value: AmfValue::Number(3.0),
                },
            ]
        );
        assert_eq!(replica.slots().keys().collect::<Vec<_>>(), ["c"]);
        assert_eq!(replica.version(), 3);
    }

    #[test]
    fn synced_is_reported_after_the_whole_initial_sync_message() {
        let mut replica = SharedObjectReplica::new("so", true);
        assert!(!replica.is_synced());
        let events = replica.apply(&server(
            4,
            vec![
                SharedObjectEvent::UseSuccess,
                SharedObjectEvent::Clear,
                change("a", 1.0),
            ],
        ));
        assert_eq!(events.last(), Some(&SoEvent::Synced));
        assert!(replica.is_synced());
        assert_eq!(replica.get("a"), Some(&AmfValue::Number(1.0)));
    }

    fn status(code: &str) -> SharedObjectEvent {
        SharedObjectEvent::Status {
            code: code.into(),
            level: "error".into(),
        }
    }

    #[test]
    fn a_refused_send_does_not_drop_an_unrelated_pending_write() {
        let mut replica = synced();
        replica.send_message("chat", vec![AmfValue::string("hi")]);
        replica.change_message(vec![("x".into(), AmfValue::Number(1.0))]);
        assert_eq!(replica.outstanding_messages(), 2);
        // The send is refused: a Status with no slot values after it.
        replica.apply(&server(1, vec![status("SharedObject.NoWriteAccess")]));
        assert_eq!(replica.pending_writes(), 1, "the change is still pending");
        replica.apply(&server(
            2,
            vec![SharedObjectEvent::Success(vec!["x".into()])],
        ));
        assert_eq!(replica.get("x"), Some(&AmfValue::Number(1.0)));
        assert_eq!(replica.outstanding_messages(), 0);
    }

    #[test]
    fn a_refused_change_after_an_accepted_send_drops_that_change_and_applies_the_servers_value() {
        let mut replica = synced();
        replica.apply(&server(1, vec![change("x", 5.0)]));
        replica.send_message("chat", vec![]);
        replica.change_message(vec![("x".into(), AmfValue::Number(1.0))]);
        replica.change_message(vec![("y".into(), AmfValue::Number(2.0))]);
        // The send was accepted (its echo is indistinguishable from another
        // client's send), then the change of x is refused with x's value.
        replica.apply(&server(
            1,
            vec![SharedObjectEvent::SendMessage {
                method: "chat".into(),
                args: vec![],
            }],
        ));
        let events = replica.apply(&server(
            1,
            vec![status("SharedObject.SlotLimit"), change("x", 5.0)],
        ));
        assert!(events.contains(&SoEvent::Changed {
            slot: "x".into(),
            value: AmfValue::Number(5.0)
        }));
        assert_eq!(replica.get("x"), Some(&AmfValue::Number(5.0)));
        assert_eq!(replica.pending_writes(), 1, "only y is pending");
        assert_eq!(replica.outstanding_messages(), 1);
        replica.apply(&server(
            2,
            vec![SharedObjectEvent::Success(vec!["y".into()])],
        ));
        assert_eq!(replica.get("y"), Some(&AmfValue::Number(2.0)));
        assert_eq!(replica.outstanding_messages(), 0);
    }

    #[test]
    fn a_refused_remove_puts_the_slot_back_to_the_servers_value() {
        let mut replica = synced();
        replica.apply(&server(1, vec![change("x", 3.0)]));
        replica.remove_message(vec!["x".into()]);
        replica.apply(&server(
            1,
            vec![status("SharedObject.NoWriteAccess"), change("x", 3.0)],
        ));
        assert_eq!(replica.get("x"), Some(&AmfValue::Number(3.0)));
        assert_eq!(replica.pending_writes(), 0);
        assert_eq!(replica.outstanding_messages(), 0);
    }

    #[test]
    fn a_use_refusal_refuses_no_write() {
        let mut replica = synced();
        replica.change_message(vec![("x".into(), AmfValue::Number(1.0))]);
        replica.apply(&server(
            0,
            vec![status("SharedObject.ObjectCreationFailed")],
        ));
        assert_eq!(replica.pending_writes(), 1);
    }

    #[test]
    fn a_flush_failure_refuses_the_oldest_change_not_a_send() {
        let mut replica = synced();
        replica.send_message("chat", vec![]);
        replica.change_message(vec![("x".into(), AmfValue::Number(1.0))]);
        replica.apply(&server(1, vec![status("SharedObject.Flush.Failed")]));
        assert_eq!(replica.pending_writes(), 0);
        assert_eq!(replica.outstanding_messages(), 0);
    }
}
