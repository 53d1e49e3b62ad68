//! Bringing a subscriber up to date: the initial sync on Use, deltas from
//! the bounded history, and full resyncs.
//!
//! - Full sync: `[UseSuccess?, Clear, Change…]`, one `(slot, value)` pair per
//!   Change event (Red5 packs every slot into one Change event; one pair per
//!   event is what every client decodes), packed into the first message until
//!   [`SharedObjectLimits::sync_budget_bytes`](super::SharedObjectLimits) of
//!   slot data, the rest in following messages (each at least one slot). All
//!   carry the current version; the caller sends them before any later delta.
//! - Deltas: one message per accepted change after the subscriber's version,
//!   each with that change's version, when the history still holds them all.

use super::state::{SharedObjectState, SlotChange};
use crate::protocol::shared_object::{SharedObjectEvent, SharedObjectMessage};

/// One accepted change, kept for catching up.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    /// The version this change produced.
    pub version: u32,
    /// The slot changes, in order.
    pub changes: Vec<SlotChange>,
}

/// Per-change bookkeeping counted against `history_max_bytes` besides the
/// slot names and values.
const DELTA_OVERHEAD_BYTES: usize = 16;

impl Delta {
    /// What it costs against `history_max_bytes`: slot names + stored
    /// values (+ a small overhead per change).
    pub fn bytes(&self) -> usize {
        self.changes
            .iter()
            .map(|c| {
                DELTA_OVERHEAD_BYTES
                    + match c {
                        SlotChange::Set(name, slot) => name.len() + slot.encoded.len(),
                        SlotChange::Remove(name) => name.len(),
                        SlotChange::Clear => 0,
                    }
            })
            .sum()
    }
}

/// How a subscriber at some version is brought up to date.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncPlan {
    /// It is current: nothing to send.
    UpToDate,
    /// These delta messages, in order.
    Deltas(Vec<SharedObjectMessage>),
    /// A full resync (Clear + every slot): its version is unknown, ahead of
    /// ours, or older than the history.
    Full(Vec<SharedObjectMessage>),
}

impl SyncPlan {
    /// The messages to send, in order.
    pub fn into_messages(self) -> Vec<SharedObjectMessage> {
        match self {
            SyncPlan::UpToDate => Vec::new(),
            SyncPlan::Deltas(m) | SyncPlan::Full(m) => m,
        }
    }

    /// Whether it is a full resync.
    pub fn is_full(&self) -> bool {
        matches!(self, SyncPlan::Full(_))
    }
}

impl SharedObjectState {
    /// Records an accepted change, dropping the oldest beyond the
    /// `history` count and `history_max_bytes` limits. A change that alone
    /// passes the byte limit is not kept, and then nothing older is either
    /// (the history must end at the current version): subscribers behind it
    /// get a full resync.
    pub(super) fn remember(&mut self, version: u32, changes: Vec<SlotChange>) {
        let delta = Delta { version, changes };
        let bytes = delta.bytes();
        if self.limits.history == 0 || bytes > self.limits.history_max_bytes {
            self.history.clear();
            self.history_bytes = 0;
            return;
        }
        while self.history.len() >= self.limits.history
            || self.history_bytes + bytes > self.limits.history_max_bytes
        {
            match self.history.pop_front() {
                Some(old) => self.history_bytes -= old.bytes(),
                None => break,
            }
        }
        self.history_bytes += bytes;
        self.history.push_back(delta);
    }

    /// Bytes the kept history holds.
    pub fn history_bytes(&self) -> usize {
        self.history_bytes
    }

    /// The answer to a Use from a client that holds `client_version` (0 = no
    /// copy): `[UseSuccess]` + deltas when the history covers it, else a full
    /// sync starting with `[UseSuccess, Clear, …]`.
    pub fn use_sync(&self, client_version: u32) -> Vec<SharedObjectMessage> {
        if client_version > 0 {
            let use_success = self.message(self.version, vec![SharedObjectEvent::UseSuccess]);
            match self.deltas_from(client_version) {
                SyncPlan::UpToDate => return vec![use_success],
                SyncPlan::Deltas(mut deltas) => {
                    deltas.insert(0, use_success);
                    return deltas;
                }
                SyncPlan::Full(_) => {}
            }
        }
        self.full_sync(true)
    }

    /// Brings a subscriber that has seen everything up to `from` up to date.
    pub fn catch_up(&self, from: u32) -> SyncPlan {
        match self.deltas_from(from) {
            SyncPlan::Full(_) => SyncPlan::Full(self.full_sync(false)),
            plan => plan,
        }
    }

    /// Deltas after `from` if `from` is a version of this incarnation and
    /// the history holds every change after it; `Full(empty)` otherwise
    /// (the caller builds the full sync). A version of this incarnation is
    /// one it produced (above its base), or its base when that is trusted.
    fn deltas_from(&self, from: u32) -> SyncPlan {
        let ours = from > self.base_version || (from == self.base_version && self.base_trusted);
        if !ours || from > self.version {
            return SyncPlan::Full(Vec::new());
        }
        if from == self.version {
            return SyncPlan::UpToDate;
        }
        let Some(oldest) = self.history.front() else {
            return SyncPlan::Full(Vec::new());
        };
        if from < oldest.version.wrapping_sub(1) {
            return SyncPlan::Full(Vec::new());
        }
        SyncPlan::Deltas(
            self.history
                .iter()
                .filter(|d| d.version > from)
                .map(|d| self.message(d.version, delta_events(&d.changes)))
                .collect(),
        )
    }

    /// `[UseSuccess?, Clear, Change…]` split under the sync budget and at
    /// `max_ops_per_message` events a message.
    pub fn full_sync(&self, use_success: bool) -> Vec<SharedObjectMessage> {
        let mut first = Vec::new();
        if use_success {
            first.push(SharedObjectEvent::UseSuccess);
        }
        first.push(SharedObjectEvent::Clear);
        let mut messages = Vec::new();
        let mut events = first;
        let mut changes_in_message = 0usize;
        let mut bytes = 0usize;
        for (name, slot) in &self.slots {
            let size = name.len() + slot.encoded.len() + 5;
            // Split by bytes and by events: a peer bounds both (ours closes
            // the connection past `[limits] so_max_events_per_message`).
            let full = bytes + size > self.limits.sync_budget_bytes
                || events.len() >= self.limits.max_ops_per_message.max(3);
            if changes_in_message > 0 && full {
                messages.push(self.message(self.version, std::mem::take(&mut events)));
                changes_in_message = 0;
                bytes = 0;
            }
            events.push(SharedObjectEvent::Change(vec![(
                name.clone(),
                slot.value.clone(),
            )]));
            changes_in_message += 1;
            bytes += size;
        }
        messages.push(self.message(self.version, events));
        messages
    }
}

/// The events a subscriber gets for applied changes.
fn delta_events(changes: &[SlotChange]) -> Vec<SharedObjectEvent> {
    changes
        .iter()
        .map(|c| match c {
            SlotChange::Set(name, slot) => {
                SharedObjectEvent::Change(vec![(name.clone(), slot.value.clone())])
            }
            SlotChange::Remove(name) => SharedObjectEvent::Remove(vec![name.clone()]),
            SlotChange::Clear => SharedObjectEvent::Clear,
        })
        .collect()
}
