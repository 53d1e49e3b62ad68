//! The object reference table shared by the AMF0 and AMF3 decoders, with the
//! accounting that keeps references from expanding a small message into a
//! huge value.
//!
//! Both formats let a message refer back to a value it already carried (AMF0
//! spec §2.9 object references; AMF3 spec §2.2 string, object and traits
//! references). A reference decodes in O(1) to a clone of the shared node, but
//! everything that later walks the value (the AMF0 encoder, which has no
//! string references and writes a ByteArray as an array of numbers; the serde
//! bridge; `Debug`; comparisons) pays for its *expanded* size, and nested
//! references multiply. So the decoders keep, per message, the expanded size of
//! what they decoded (a node counts 1, a string its length too, a ByteArray
//! byte or vector element [`NUMBER_ELEMENT_COST`])
//! and how much of it came from references; the latter may not pass
//! [`MAX_AMF_REFERENCED_LEN`].

use super::{AmfError, AmfValue};
use crate::protocol::limits::{AmfLimits, MAX_AMF_REFERENCED_LEN};

/// What one ByteArray byte or scalar vector element counts: AMF0 has neither
/// type and writes each element as a Number (marker + 8 bytes).
pub(super) const NUMBER_ELEMENT_COST: u64 = 9;

/// One object-table entry.
#[derive(Debug)]
enum Entry {
    /// Still being decoded (a reference to it is a cycle); `start` is the
    /// expanded size decoded before it began.
    Pending { start: u64 },
    /// Decoded, with its expanded size.
    Done { value: AmfValue, cost: u64 },
}

/// A decoder's object table plus its expansion accounting.
#[derive(Debug)]
pub(super) struct ObjectTable {
    max_references: usize,
    entries: Vec<Entry>,
    /// Expanded size of everything decoded so far in this message.
    expanded: u64,
    /// The part of `expanded` that references stood for.
    referenced: u64,
}

impl ObjectTable {
    /// An empty table bounded by `limits.max_references`.
    pub(super) fn new(limits: AmfLimits) -> Self {
        Self {
            max_references: limits.max_references,
            entries: Vec::new(),
            expanded: 0,
            referenced: 0,
        }
    }

    /// Expanded size decoded so far.
    pub(super) fn expanded(&self) -> u64 {
        self.expanded
    }

    /// Counts `n` units decoded inline.
    pub(super) fn grow(&mut self, n: u64) {
        self.expanded = self.expanded.saturating_add(n);
    }

    /// Counts `cost` units that a reference stands for.
    ///
    /// # Errors
    /// [`AmfError::ReferencesExpandTooMuch`] past [`MAX_AMF_REFERENCED_LEN`].
    pub(super) fn refer(&mut self, cost: u64) -> Result<(), AmfError> {
        self.grow(cost);
        self.referenced = self.referenced.saturating_add(cost);
        if self.referenced > MAX_AMF_REFERENCED_LEN {
            return Err(AmfError::ReferencesExpandTooMuch {
                limit: MAX_AMF_REFERENCED_LEN,
            });
        }
        Ok(())
    }

    /// Takes the next slot for a value about to be decoded (AMF3 spec §2.2:
    /// the object is added before its members are read).
    ///
    /// # Errors
    /// [`AmfError::TooManyReferences`] when the table is full.
    pub(super) fn reserve(&mut self) -> Result<usize, AmfError> {
        if self.entries.len() >= self.max_references {
            return Err(AmfError::TooManyReferences {
                table: "object",
                limit: self.max_references,
            });
        }
        self.entries.push(Entry::Pending {
            start: self.expanded,
        });
        Ok(self.entries.len() - 1)
    }

    /// Fills `slot` with its decoded value; its cost is everything decoded
    /// since it was reserved.
    pub(super) fn complete(&mut self, slot: usize, value: &AmfValue) {
        if let Some(entry) = self.entries.get_mut(slot) {
            if let Entry::Pending { start } = *entry {
                let cost = self.expanded.saturating_sub(start);
                *entry = Entry::Done {
                    value: value.clone(),
                    cost,
                };
            }
        }
    }

    /// The finished value at `index` (an O(1) clone of the shared node),
    /// charging its expanded size.
    ///
    /// # Errors
    /// [`AmfError::CyclicReference`] for a value still being decoded,
    /// [`AmfError::BadReference`] past the end of the table,
    /// [`AmfError::ReferencesExpandTooMuch`] past the expansion budget.
    pub(super) fn get(&mut self, index: usize) -> Result<AmfValue, AmfError> {
        let (value, cost) = match self.entries.get(index) {
            Some(Entry::Done { value, cost }) => (value.clone(), *cost),
            Some(Entry::Pending { .. }) => return Err(AmfError::CyclicReference { index }),
            None => {
                return Err(AmfError::BadReference {
                    table: "object",
                    index,
                    len: self.entries.len(),
                })
            }
        };
        self.refer(cost)?;
        Ok(value)
    }
}
