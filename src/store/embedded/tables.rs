//! The embedded store's on-disk layout, and the reads and writes over it.
//!
//! One redb file holds three tables:
//!
//! | table     | key                       | value                         |
//! |-----------|---------------------------|-------------------------------|
//! | `meta`    | `&str`                    | `u64` (`format` = [`FORMAT_VERSION`]) |
//! | `objects` | `(scope, name)`           | `u32`: the object's version   |
//! | `slots`   | `(scope, name, slot)`     | `&[u8]`: the encoded value    |
//!
//! An object exists iff it has a row in `objects` (an object may have no
//! slots). Slots of one object are contiguous in `slots` because redb orders
//! tuple keys element by element, so a commit touches only the slots it
//! changes, and a load or Clear is one range scan. The range of `(scope,
//! name)` is `(scope, name, "") .. (scope, name + "\0", "")`: no string sorts
//! between `name` and `name + "\0"`, so a neighbour such as `name + "x"` is
//! never in it.
//!
//! Nothing here knows about threads or futures: these are plain functions
//! over open tables, called by the writer thread.

use std::ops::Range;

use bytes::Bytes;
use redb::{Database, ReadOnlyTable, ReadableTable, Table, TableDefinition, WriteTransaction};

use crate::store::{SoChange, SoCommit, SoKey, StoreError, StoredObject};

/// Version of this layout, stored under `meta["format"]`.
pub(super) const FORMAT_VERSION: u64 = 1;

/// `meta`: small facts about the file itself.
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
/// `objects`: `(scope, name)` → version.
const OBJECTS: TableDefinition<'_, (&str, &str), u32> = TableDefinition::new("objects");
/// `slots`: `(scope, name, slot)` → encoded value.
const SLOTS: TableDefinition<'_, (&str, &str, &str), &[u8]> = TableDefinition::new("slots");

/// The key under which `meta` holds [`FORMAT_VERSION`].
const FORMAT_KEY: &str = "format";

/// A redb failure during `operation` as a [`StoreError`].
pub(super) fn backend<E: Into<redb::Error>>(operation: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::Backend {
        operation,
        reason: e.into().to_string(),
    }
}

/// Creates the tables if missing and checks the layout format.
///
/// # Errors
///
/// [`StoreError::Backend`] from redb, [`StoreError::Corrupt`] for a file
/// from a newer build.
pub(super) fn initialize(db: &Database) -> Result<(), StoreError> {
    initialize_inner(db)?.map_or(Ok(()), |found| {
        Err(StoreError::Corrupt {
            key: format!("meta/{FORMAT_KEY}"),
            reason: format!("layout format {found}, this build reads up to {FORMAT_VERSION}"),
        })
    })
}

/// Creates the tables; `Ok(Some(format))` for a file of a newer format.
fn initialize_inner(db: &Database) -> Result<Option<u64>, StoreError> {
    let txn = db.begin_write().map_err(backend("open"))?;
    {
        let mut meta = txn.open_table(META).map_err(backend("open"))?;
        let found = meta
            .get(FORMAT_KEY)
            .map_err(backend("open"))?
            .map(|v| v.value());
        match found {
            Some(found) if found > FORMAT_VERSION => return Ok(Some(found)),
            Some(_) => {}
            None => {
                meta.insert(FORMAT_KEY, FORMAT_VERSION)
                    .map_err(backend("open"))?;
            }
        }
        txn.open_table(OBJECTS).map_err(backend("open"))?;
        txn.open_table(SLOTS).map_err(backend("open"))?;
    }
    txn.commit().map_err(backend("open"))?;
    Ok(None)
}

/// The name that bounds the slot range of `name` from above (exclusive).
fn name_successor(name: &str) -> String {
    let mut next = String::with_capacity(name.len() + 1);
    next.push_str(name);
    next.push('\0');
    next
}

/// `objects` and `slots` as of the last commit, read-only.
pub(super) type ReadTables = (
    ReadOnlyTable<(&'static str, &'static str), u32>,
    ReadOnlyTable<(&'static str, &'static str, &'static str), &'static [u8]>,
);

/// Opens a read transaction on the last commit and its two tables.
///
/// # Errors
///
/// [`StoreError::Backend`] from redb.
pub(super) fn open_read(db: &Database) -> Result<ReadTables, StoreError> {
    let txn = db.begin_read().map_err(backend("read"))?;
    Ok((
        txn.open_table(OBJECTS).map_err(backend("read"))?,
        txn.open_table(SLOTS).map_err(backend("read"))?,
    ))
}

/// The tables of one write transaction, opened once per batch.
pub(super) struct WriteTables<'txn> {
    /// `objects`.
    objects: Table<'txn, (&'static str, &'static str), u32>,
    /// `slots`.
    slots: Table<'txn, (&'static str, &'static str, &'static str), &'static [u8]>,
}

impl<'txn> WriteTables<'txn> {
    /// Opens both tables in `txn`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] from redb.
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            objects: txn.open_table(OBJECTS).map_err(backend("begin"))?,
            slots: txn.open_table(SLOTS).map_err(backend("begin"))?,
        })
    }

    /// Applies one commit: its changes in order, then the new version
    /// (creating the object if it was unknown).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] from redb.
    pub(super) fn apply(&mut self, commit: &SoCommit) -> Result<(), StoreError> {
        let (scope, name) = (commit.key.scope.as_str(), commit.key.name.as_str());
        for change in &commit.changes {
            match change {
                SoChange::Set(slots) => {
                    for (slot, value) in slots {
                        self.slots
                            .insert((scope, name, slot.as_str()), &value[..])
                            .map_err(backend("commit"))?;
                    }
                }
                SoChange::Remove(slots) => {
                    for slot in slots {
                        self.slots
                            .remove((scope, name, slot.as_str()))
                            .map_err(backend("commit"))?;
                    }
                }
                SoChange::Clear => self.clear_slots(scope, name)?,
            }
        }
        self.objects
            .insert((scope, name), commit.version)
            .map_err(backend("commit"))?;
        Ok(())
    }

    /// Removes an object and all its slots; an unknown object is no error.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] from redb.
    pub(super) fn delete(&mut self, key: &SoKey) -> Result<(), StoreError> {
        let (scope, name) = (key.scope.as_str(), key.name.as_str());
        self.clear_slots(scope, name)?;
        self.objects
            .remove((scope, name))
            .map_err(backend("delete"))?;
        Ok(())
    }

    /// Removes every slot of `(scope, name)`.
    fn clear_slots(&mut self, scope: &str, name: &str) -> Result<(), StoreError> {
        let next = name_successor(name);
        let range: Range<(&str, &str, &str)> = (scope, name, "")..(scope, next.as_str(), "");
        self.slots
            .retain_in(range, |_, _| false)
            .map_err(backend("commit"))?;
        Ok(())
    }

    /// [`load`] through this transaction (sees its uncommitted changes).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] from redb.
    pub(super) fn load(&self, key: &SoKey) -> Result<Option<StoredObject>, StoreError> {
        load(&self.objects, &self.slots, key)
    }

    /// [`list`] through this transaction.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] from redb.
    pub(super) fn list(&self) -> Result<Vec<(SoKey, u32)>, StoreError> {
        list(&self.objects)
    }
}

/// An object with its version and slots (in slot-name order), or `None`.
///
/// # Errors
///
/// [`StoreError::Backend`] from redb.
pub(super) fn load<O, S>(
    objects: &O,
    slots: &S,
    key: &SoKey,
) -> Result<Option<StoredObject>, StoreError>
where
    O: ReadableTable<(&'static str, &'static str), u32>,
    S: ReadableTable<(&'static str, &'static str, &'static str), &'static [u8]>,
{
    let (scope, name) = (key.scope.as_str(), key.name.as_str());
    let Some(version) = objects
        .get((scope, name))
        .map_err(backend("load"))?
        .map(|v| v.value())
    else {
        return Ok(None);
    };
    let next = name_successor(name);
    let range: Range<(&str, &str, &str)> = (scope, name, "")..(scope, next.as_str(), "");
    let mut found = Vec::new();
    for row in slots.range(range).map_err(backend("load"))? {
        let (slot_key, value) = row.map_err(backend("load"))?;
        let (_, _, slot) = slot_key.value();
        found.push((slot.to_owned(), Bytes::copy_from_slice(value.value())));
    }
    Ok(Some(StoredObject {
        version,
        slots: found,
    }))
}

/// Every object with its version, in key order.
///
/// # Errors
///
/// [`StoreError::Backend`] from redb.
pub(super) fn list<O>(objects: &O) -> Result<Vec<(SoKey, u32)>, StoreError>
where
    O: ReadableTable<(&'static str, &'static str), u32>,
{
    let mut all = Vec::new();
    for row in objects.iter().map_err(backend("list"))? {
        let (key, version) = row.map_err(backend("list"))?;
        let (scope, name) = key.value();
        all.push((
            SoKey {
                scope: scope.to_owned(),
                name: name.to_owned(),
            },
            version.value(),
        ));
    }
    Ok(all)
}
