//! The object state and applying one request atomically.

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::Bytes;
use bytestring::ByteString;

use super::sync::Delta;
use super::{codec, codes, Operation, Permissions, Refusal, SharedObjectLimits};
use crate::protocol::amf::AmfValue;
use crate::protocol::shared_object::{SharedObjectEvent, SharedObjectMessage};
use crate::store::{SoChange, StoredObject};

/// One slot: its value and the value's stored encoding (whose length is
/// what `max_slot_bytes` bounds).
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// The value.
    pub value: AmfValue,
    /// [`codec::encode`] of the value.
    pub encoded: Bytes,
}

/// One applied slot change, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum SlotChange {
    /// The slot now holds this value.
    Set(ByteString, Slot),
    /// The slot was removed.
    Remove(ByteString),
    /// Every slot was removed.
    Clear,
}

/// The outputs of an accepted request.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The object's version after the request.
    pub version: u32,
    /// What the writer gets (Success per slot, its own SendMessage), in
    /// order; empty for server-side requests. Header carries `version`.
    pub for_writer: Option<SharedObjectMessage>,
    /// What every other subscriber gets (Change / Remove / Clear /
    /// SendMessage), in order; for server-side requests: everyone.
    pub for_others: Option<SharedObjectMessage>,
    /// The slot changes, for the store and the history (empty when only
    /// sends).
    pub changes: Vec<SlotChange>,
}

impl Accepted {
    /// The changes in the store's form.
    pub fn store_changes(&self) -> Vec<SoChange> {
        to_store_changes(&self.changes)
    }
}

/// The store's form of a list of changes (consecutive sets/removes grouped).
pub(super) fn to_store_changes(changes: &[SlotChange]) -> Vec<SoChange> {
    let mut out: Vec<SoChange> = Vec::new();
    for change in changes {
        match change {
            SlotChange::Set(name, slot) => match out.last_mut() {
                Some(SoChange::Set(pairs)) => pairs.push((name.to_string(), slot.encoded.clone())),
                _ => out.push(SoChange::Set(vec![(
                    name.to_string(),
                    slot.encoded.clone(),
                )])),
            },
            SlotChange::Remove(name) => match out.last_mut() {
                Some(SoChange::Remove(names)) => names.push(name.to_string()),
                _ => out.push(SoChange::Remove(vec![name.to_string()])),
            },
            SlotChange::Clear => out.push(SoChange::Clear),
        }
    }
    out
}

/// One SharedObject: name, persistence, slots, version, recent history.
#[derive(Debug, Clone)]
pub struct SharedObjectState {
    pub(super) name: ByteString,
    pub(super) persistent: bool,
    pub(super) version: u32,
    pub(super) slots: BTreeMap<ByteString, Slot>,
    pub(super) history: VecDeque<Delta>,
    /// Bytes held by `history` ([`Delta::bytes`]).
    pub(super) history_bytes: usize,
    /// Sum over slots of name length + stored value length.
    pub(super) bytes: usize,
    /// The version this incarnation started at (creation, load, reload).
    pub(super) base_version: u32,
    /// Whether a client holding exactly `base_version` is known to hold
    /// this incarnation's state at that version.
    pub(super) base_trusted: bool,
    pub(super) limits: SharedObjectLimits,
}

/// What one slot costs against `max_object_bytes`.
pub(super) fn slot_bytes(name: &str, slot: &Slot) -> usize {
    name.len() + slot.encoded.len()
}

impl SharedObjectState {
    /// An empty object at version 0 (its base, trusted: a client at
    /// version 0 holds nothing anyway).
    pub fn new(name: impl Into<ByteString>, persistent: bool, limits: SharedObjectLimits) -> Self {
        Self {
            name: name.into(),
            persistent,
            version: 0,
            slots: BTreeMap::new(),
            history: VecDeque::new(),
            history_bytes: 0,
            bytes: 0,
            base_version: 0,
            base_trusted: true,
            limits,
        }
    }

    /// Starts a new incarnation at `version` (never below the current
    /// one): forgets the history, so deltas are only given from here on.
    /// `trusted`: a client that holds exactly `version` is known to hold
    /// these slots (a durable store version); otherwise such a client, and
    /// any client below or above the versions this incarnation produced,
    /// gets a full resync.
    ///
    /// The caller picks `version` so that this incarnation's versions are
    /// never versions an earlier incarnation handed out: a non-persistent
    /// object starts above every version the node used and a time floor, a
    /// persistent object at its durable stored version (see
    /// `docs/shared-objects.md` §Versioning).
    pub fn begin_incarnation(&mut self, version: u32, trusted: bool) {
        self.version = self.version.max(version);
        self.base_version = self.version;
        self.base_trusted = trusted;
        self.history.clear();
        self.history_bytes = 0;
    }

    /// An object as loaded from the store.
    ///
    /// # Errors
    /// [`codec::CodecError`] when a stored value is unreadable.
    pub fn from_stored(
        name: impl Into<ByteString>,
        limits: SharedObjectLimits,
        stored: StoredObject,
    ) -> Result<Self, codec::CodecError> {
        let mut state = Self::new(name, true, limits);
        state.version = stored.version;
        state.base_version = stored.version;
        for (key, encoded) in stored.slots {
            let value = codec::decode(encoded.clone())?;
            let slot = Slot { value, encoded };
            state.bytes += slot_bytes(&key, &slot);
            state.slots.insert(key.into(), slot);
        }
        Ok(state)
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is persistent.
    pub fn is_persistent(&self) -> bool {
        self.persistent
    }

    /// The current version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Moves the version forward (never back), e.g. after reloading from a
    /// store that lags what subscribers saw: a new incarnation, trusted
    /// only if the version did not move. Forgets the history.
    pub fn raise_version(&mut self, at_least: u32) {
        let trusted = at_least <= self.version && self.base_trusted;
        self.begin_incarnation(at_least, trusted);
    }

    /// The base version of this incarnation.
    pub fn base_version(&self) -> u32 {
        self.base_version
    }

    /// Sum over slots of name length + stored value length.
    pub fn size_bytes(&self) -> usize {
        self.bytes
    }

    /// The slots, in name order.
    pub fn slots(&self) -> &BTreeMap<ByteString, Slot> {
        &self.slots
    }

    /// One slot's value.
    pub fn get(&self, slot: &str) -> Option<&AmfValue> {
        self.slots.get(slot).map(|s| &s.value)
    }

    /// A message header for this object at `version`: Red5's flags (2 for a
    /// persistent object, 0 otherwise).
    pub fn message(&self, version: u32, events: Vec<SharedObjectEvent>) -> SharedObjectMessage {
        let mut message = SharedObjectMessage::new(self.name.clone(), version, self.persistent);
        message.events = events;
        message
    }

    /// What the writer of a refused request gets: the Status event, then
    /// the object's current value of every slot the request tried to set or
    /// remove (a Change, or a Remove when the slot does not exist), so a
    /// client that applied its write optimistically (Flash Player does)
    /// is put back on the server's value — Flash reports it as `reject`.
    /// Each slot once, in request order; the header carries the current
    /// version.
    pub fn refusal_message(&self, ops: &[Operation], refusal: &Refusal) -> SharedObjectMessage {
        let mut events = vec![refusal.to_event()];
        let mut seen = std::collections::HashSet::new();
        let names = ops.iter().flat_map(|op| match op {
            Operation::Set(pairs) => pairs.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            Operation::Remove(names) => names.iter().collect(),
            Operation::Send { .. } | Operation::Clear => Vec::new(),
        });
        for name in names {
            if !seen.insert(name) {
                continue;
            }
            events.push(match self.slots.get(name) {
                Some(slot) => SharedObjectEvent::Change(vec![(name.clone(), slot.value.clone())]),
                None => SharedObjectEvent::Remove(vec![name.clone()]),
            });
        }
        self.message(self.version, events)
    }

    /// Validates `ops` completely, then applies them all, bumping the
    /// version once if any changes slots. `from_client`: Success events go
    /// to the writer and the rest to others; otherwise (server side) every
    /// subscriber gets the Change events.
    ///
    /// # Errors
    /// A [`Refusal`] when a permission or a limit refuses any operation; the
    /// object is then unchanged.
    pub fn apply(
        &mut self,
        ops: &[Operation],
        permissions: &dyn Permissions,
        from_client: bool,
    ) -> Result<Accepted, Refusal> {
        let encoded = self.validate(ops, permissions)?;
        let mut encoded = encoded.into_iter();
        let (mut mine, mut theirs, mut changes) = (Vec::new(), Vec::new(), Vec::new());
        for op in ops {
            match op {
                Operation::Set(pairs) => {
                    for (name, value) in pairs {
                        let Some(bytes) = encoded.next() else { break };
                        let slot = Slot {
                            value: value.clone(),
                            encoded: bytes,
                        };
                        self.bytes += slot_bytes(name, &slot);
                        if let Some(old) = self.slots.insert(name.clone(), slot.clone()) {
                            self.bytes -= slot_bytes(name, &old);
                        }
                        mine.push(SharedObjectEvent::Success(vec![name.clone()]));
                        theirs.push(SharedObjectEvent::Change(vec![(
                            name.clone(),
                            value.clone(),
                        )]));
                        changes.push(SlotChange::Set(name.clone(), slot));
                    }
                }
                Operation::Remove(names) => {
                    for name in names {
                        if let Some(old) = self.slots.remove(name) {
                            self.bytes -= slot_bytes(name, &old);
                            changes.push(SlotChange::Remove(name.clone()));
                        }
                        mine.push(SharedObjectEvent::Success(vec![name.clone()]));
                        theirs.push(SharedObjectEvent::Remove(vec![name.clone()]));
                    }
                }
                Operation::Send { method, args } => {
                    let event = SharedObjectEvent::SendMessage {
                        method: method.clone(),
                        args: args.clone(),
                    };
                    mine.push(event.clone());
                    theirs.push(event);
                }
                Operation::Clear => {
                    self.slots.clear();
                    self.bytes = 0;
                    changes.push(SlotChange::Clear);
                    mine.push(SharedObjectEvent::Clear);
                    theirs.push(SharedObjectEvent::Clear);
                }
            }
        }
        // Only a message that changed slots is a version (and a commit).
        let bumps = !changes.is_empty();
        if bumps {
            self.version = self.version.wrapping_add(1);
            self.remember(self.version, changes.clone());
        }
        let version = self.version;
        let wrap = |events: Vec<SharedObjectEvent>| {
            (!events.is_empty()).then(|| self.message(version, events))
        };
        Ok(Accepted {
            version,
            for_writer: if from_client { wrap(mine) } else { None },
            for_others: wrap(theirs),
            changes,
        })
    }

    /// Checks every operation; returns the encoded values of the set pairs
    /// in order.
    pub(super) fn validate(
        &self,
        ops: &[Operation],
        permissions: &dyn Permissions,
    ) -> Result<Vec<Bytes>, Refusal> {
        let count: usize = ops.iter().map(Operation::weight).sum();
        if count > self.limits.max_ops_per_message {
            return Err(Refusal::new(
                codes::EVENT_LIMIT,
                format!(
                    "{count} operations in one message; the limit is {}",
                    self.limits.max_ops_per_message
                ),
            ));
        }
        // Each touched slot's size after each operation (`None`: absent),
        // without touching the object.
        let mut projected: HashMap<&str, Option<usize>> = HashMap::new();
        let mut slot_count = self.slots.len();
        let mut total = self.bytes;
        let mut cleared = false;
        let mut encoded = Vec::new();
        for op in ops {
            match op {
                Operation::Set(pairs) => {
                    for (name, value) in pairs {
                        if !permissions.may_write(name) {
                            return Err(Refusal::new(
                                codes::NO_WRITE_ACCESS,
                                format!("writing slot {name:?} is not allowed"),
                            ));
                        }
                        let bytes = codec::encode(value).map_err(|e| {
                            Refusal::new(codes::BAD_VALUE, format!("slot {name:?}: {e}"))
                        })?;
                        if bytes.len() > self.limits.max_slot_bytes {
                            return Err(Refusal::new(
                                codes::BAD_VALUE,
                                format!(
                                    "slot {name:?} is {} bytes; the limit is {}",
                                    bytes.len(),
                                    self.limits.max_slot_bytes
                                ),
                            ));
                        }
                        let size = name.len() + bytes.len();
                        encoded.push(bytes);
                        match self.projected_size(&mut projected, name, cleared) {
                            Some(old) => total = total - old + size,
                            None => {
                                slot_count += 1;
                                total += size;
                            }
                        }
                        projected.insert(name, Some(size));
                    }
                    if slot_count > self.limits.max_slots {
                        return Err(Refusal::new(
                            codes::SLOT_LIMIT,
                            format!("more than {} slots", self.limits.max_slots),
                        ));
                    }
                }
                Operation::Remove(names) => {
                    for name in names {
                        if !permissions.may_delete(name) {
                            return Err(Refusal::new(
                                codes::NO_WRITE_ACCESS,
                                format!("removing slot {name:?} is not allowed"),
                            ));
                        }
                        if let Some(old) = self.projected_size(&mut projected, name, cleared) {
                            slot_count -= 1;
                            total -= old;
                        }
                        projected.insert(name, None);
                    }
                }
                Operation::Send { method, args } => {
                    if !permissions.may_send(method, args) {
                        return Err(Refusal::new(
                            codes::NO_WRITE_ACCESS,
                            format!("sending {method:?} is not allowed"),
                        ));
                    }
                }
                Operation::Clear => {
                    cleared = true;
                    projected.clear();
                    slot_count = 0;
                    total = 0;
                }
            }
        }
        if total > self.limits.max_object_bytes && total > self.bytes {
            return Err(Refusal::new(
                codes::OBJECT_SIZE_LIMIT,
                format!(
                    "the object would hold {total} bytes; the limit is {}",
                    self.limits.max_object_bytes
                ),
            ));
        }
        Ok(encoded)
    }

    /// A slot's size as the operations validated so far left it.
    fn projected_size<'a>(
        &self,
        projected: &mut HashMap<&'a str, Option<usize>>,
        name: &'a str,
        cleared: bool,
    ) -> Option<usize> {
        *projected.entry(name).or_insert_with(|| {
            if cleared {
                None
            } else {
                self.slots.get(name).map(|slot| slot_bytes(name, slot))
            }
        })
    }
}
