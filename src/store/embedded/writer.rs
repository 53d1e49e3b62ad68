//! The writer thread: the one owner of the embedded store's write side.
//!
//! Callers enqueue [`Request`]s on a channel, each with a oneshot for its
//! answer. The writer blocks for the first request, drains everything else
//! already queued (up to [`MAX_BATCH`]), applies the whole batch in arrival
//! order inside ONE write transaction, commits once (one fsync) and then
//! answers every request of the batch: group commit. Loads and lists of a
//! batch read through that same transaction, so they see every earlier
//! commit.
//!
//! With a flush interval, the transaction is not committed after each batch:
//! the writer answers the batch at once (the changes are applied, not yet
//! durable) and keeps the transaction open until the interval since its
//! first change has passed, a `flush` or `close` arrives, or every handle is
//! gone. A crash loses at most that window of acknowledged changes.
//!
//! The thread is a plain `std::thread`: it never needs an async runtime, and
//! the oneshot senders wake whichever runtime the callers run on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::{Database, WriteTransaction};
use tokio::sync::oneshot;

use super::tables::{self, backend, WriteTables};
use crate::store::{SoCommit, SoKey, StoreError, StoredObject};

/// Most requests handled in one batch, so the first callers of a long
/// queue are not kept waiting for the last.
pub(super) const MAX_BATCH: usize = 4096;

/// Where an answer goes.
pub(super) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// One thing asked of the writer.
pub(super) enum Request {
    /// Apply a commit.
    Commit(SoCommit, Reply<()>),
    /// Read one object.
    Load(SoKey, Reply<Option<StoredObject>>),
    /// Delete one object.
    Delete(SoKey, Reply<()>),
    /// Read every object's key and version.
    List(Reply<Vec<(SoKey, u32)>>),
    /// Make everything so far durable.
    Flush(Reply<()>),
    /// Make everything so far durable and stop.
    Close,
}

/// Counters shared between the writer and the store's handle.
#[derive(Debug, Default)]
pub(super) struct Counters {
    /// Commits applied and acknowledged.
    pub(super) commits: AtomicU64,
    /// Write transactions committed to disk.
    pub(super) transactions: AtomicU64,
    /// Loads answered.
    pub(super) loads: AtomicU64,
    /// Deletes applied.
    pub(super) deletes: AtomicU64,
    /// Batches that failed (their requests were answered with the error).
    pub(super) failed_batches: AtomicU64,
}

/// An answer computed inside a batch, sent once the batch's fate is known.
enum Answer {
    /// For a commit, delete or flush.
    Unit(Reply<()>),
    /// For a load.
    Load(Reply<Option<StoredObject>>, Option<StoredObject>),
    /// For a list.
    List(Reply<Vec<(SoKey, u32)>>, Vec<(SoKey, u32)>),
}

impl Answer {
    /// Sends the answer, or `failure` instead. A caller that dropped its
    /// future no longer listens; that is not an error.
    fn send(self, failure: Option<&StoreError>) {
        match (self, failure) {
            (Answer::Unit(tx), f) => drop(tx.send(f.map_or(Ok(()), |e| Err(e.clone())))),
            (Answer::Load(tx, _), Some(e)) => drop(tx.send(Err(e.clone()))),
            (Answer::Load(tx, v), None) => drop(tx.send(Ok(v))),
            (Answer::List(tx, _), Some(e)) => drop(tx.send(Err(e.clone()))),
            (Answer::List(tx, v), None) => drop(tx.send(Ok(v))),
        }
    }
}

/// A write transaction holding acknowledged but not yet durable changes.
struct Pending {
    /// The open transaction.
    txn: WriteTransaction,
    /// When it must be committed at the latest.
    deadline: Instant,
    /// How many commits and deletes it holds (for the log on failure).
    changes: usize,
}

/// The writer thread's state.
pub(super) struct Writer {
    /// The database; only this thread writes to it.
    db: Database,
    /// The request queue.
    rx: Receiver<Request>,
    /// 0 = commit every batch before answering; N = commit at least every N.
    flush_interval: Duration,
    /// Shared counters.
    counters: Arc<Counters>,
    /// Changes applied but not committed (only with a flush interval).
    pending: Option<Pending>,
}

impl Writer {
    /// A writer over `db` serving `rx`.
    pub(super) fn new(
        db: Database,
        rx: Receiver<Request>,
        flush_interval: Duration,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            db,
            rx,
            flush_interval,
            counters,
            pending: None,
        }
    }

    /// Serves requests until `Close` or until every sender is gone, then
    /// commits what is pending.
    ///
    /// # Errors
    ///
    /// The final commit's error.
    pub(super) fn run(mut self) -> Result<(), StoreError> {
        loop {
            let first = match self.pending.as_ref().map(|p| p.deadline) {
                None => match self.rx.recv() {
                    Ok(request) => request,
                    Err(_) => return Ok(()),
                },
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    match self.rx.recv_timeout(wait) {
                        Ok(request) => request,
                        Err(RecvTimeoutError::Timeout) => {
                            // Failures were logged and counted; the next
                            // batch starts a fresh transaction.
                            let _ = self.commit_pending();
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => return self.commit_pending(),
                    }
                }
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            if self.serve(batch) {
                return self.commit_pending();
            }
        }
    }

    /// Commits the pending transaction, if any.
    fn commit_pending(&mut self) -> Result<(), StoreError> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let changes = pending.changes;
        self.commit(pending.txn).inspect_err(|e| {
            tracing::error!(error = %e, changes, "SharedObject store lost acknowledged changes: commit failed");
        })
    }

    /// Commits `txn` durably and counts it.
    fn commit(&self, txn: WriteTransaction) -> Result<(), StoreError> {
        match txn.commit() {
            Ok(()) => {
                self.counters.transactions.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                Err(backend("commit")(e))
            }
        }
    }

    /// Serves one batch; returns whether `Close` was among it.
    fn serve(&mut self, batch: Vec<Request>) -> bool {
        let mutates = batch
            .iter()
            .any(|r| matches!(r, Request::Commit(..) | Request::Delete(..)));
        if !mutates && self.pending.is_none() {
            return self.serve_reads(batch);
        }
        let (txn, deadline, earlier) = match self.pending.take() {
            Some(p) => (p.txn, p.deadline, p.changes),
            None => match self.db.begin_write() {
                Ok(txn) => (txn, Instant::now() + self.flush_interval, 0),
                Err(e) => return self.fail(batch, &backend("begin")(e)),
            },
        };
        let (answers, flags) = match apply(&txn, batch, &self.counters) {
            Ok(done) => done,
            Err((failure, answers, closing)) => {
                drop(txn);
                self.counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                if earlier > 0 {
                    tracing::error!(error = %failure, changes = earlier, "SharedObject store lost acknowledged changes: batch failed");
                }
                for answer in answers {
                    answer.send(Some(&failure));
                }
                return closing;
            }
        };
        let changes = earlier + flags.changes;
        let must_commit = self.flush_interval.is_zero()
            || flags.flush
            || flags.closing
            || Instant::now() >= deadline;
        if must_commit {
            let result = self.commit(txn);
            if let Err(e) = &result {
                if earlier > 0 {
                    tracing::error!(error = %e, changes = earlier, "SharedObject store lost acknowledged changes: commit failed");
                }
            }
            for answer in answers {
                answer.send(result.as_ref().err());
            }
        } else {
            self.pending = Some(Pending {
                txn,
                deadline,
                changes,
            });
            for answer in answers {
                answer.send(None);
            }
        }
        flags.closing
    }

    /// Serves a batch without changes and with nothing pending, through a
    /// read transaction.
    fn serve_reads(&self, batch: Vec<Request>) -> bool {
        let (objects, slots) = match tables::open_read(&self.db) {
            Ok(tables) => tables,
            Err(e) => return self.fail(batch, &e),
        };
        let mut closing = false;
        for request in batch {
            match request {
                Request::Load(key, tx) => {
                    self.counters.loads.fetch_add(1, Ordering::Relaxed);
                    drop(tx.send(tables::load(&objects, &slots, &key)));
                }
                Request::List(tx) => drop(tx.send(tables::list(&objects))),
                Request::Flush(tx) => drop(tx.send(Ok(()))),
                Request::Close => closing = true,
                // `serve` never sends a batch with changes here.
                Request::Commit(_, tx) | Request::Delete(_, tx) => {
                    drop(tx.send(Err(StoreError::Backend {
                        operation: "commit",
                        reason: "internal: a change was routed to the read path".to_owned(),
                    })))
                }
            }
        }
        closing
    }

    /// Answers every request of `batch` with `failure`.
    fn fail(&self, batch: Vec<Request>, failure: &StoreError) -> bool {
        self.counters.failed_batches.fetch_add(1, Ordering::Relaxed);
        tracing::error!(error = %failure, "SharedObject store batch failed");
        let mut closing = false;
        for request in batch {
            match request {
                Request::Commit(_, tx) | Request::Delete(_, tx) | Request::Flush(tx) => {
                    drop(tx.send(Err(failure.clone())));
                }
                Request::Load(_, tx) => drop(tx.send(Err(failure.clone()))),
                Request::List(tx) => drop(tx.send(Err(failure.clone()))),
                Request::Close => closing = true,
            }
        }
        closing
    }
}

/// What a batch asked for besides its answers.
#[derive(Default)]
struct Flags {
    /// A `Flush` was in it.
    flush: bool,
    /// A `Close` was in it.
    closing: bool,
    /// Commits and deletes applied.
    changes: usize,
}

/// A batch that failed: the error, every answer to send it to, and whether
/// `Close` was among the batch.
type Failed = (StoreError, Vec<Answer>, bool);

/// Applies a batch in arrival order inside `txn`. On the first failure the
/// rest of the batch is not applied and every request gets the error.
fn apply(
    txn: &WriteTransaction,
    batch: Vec<Request>,
    counters: &Counters,
) -> Result<(Vec<Answer>, Flags), Failed> {
    let mut answers = Vec::with_capacity(batch.len());
    let mut flags = Flags::default();
    let mut failure = None;
    let mut tables = match WriteTables::open(txn) {
        Ok(t) => Some(t),
        Err(e) => {
            failure = Some(e);
            None
        }
    };
    for request in batch {
        let Some(t) = tables.as_mut().filter(|_| failure.is_none()) else {
            // After a failure: collect the rest to answer with the error.
            match request {
                Request::Commit(_, tx) | Request::Delete(_, tx) | Request::Flush(tx) => {
                    answers.push(Answer::Unit(tx));
                }
                Request::Load(_, tx) => answers.push(Answer::Load(tx, None)),
                Request::List(tx) => answers.push(Answer::List(tx, Vec::new())),
                Request::Close => flags.closing = true,
            }
            continue;
        };
        match request {
            Request::Commit(commit, tx) => {
                match t.apply(&commit) {
                    Ok(()) => {
                        counters.commits.fetch_add(1, Ordering::Relaxed);
                        flags.changes += 1;
                    }
                    Err(e) => failure = Some(e),
                }
                answers.push(Answer::Unit(tx));
            }
            Request::Delete(key, tx) => {
                match t.delete(&key) {
                    Ok(()) => {
                        counters.deletes.fetch_add(1, Ordering::Relaxed);
                        flags.changes += 1;
                    }
                    Err(e) => failure = Some(e),
                }
                answers.push(Answer::Unit(tx));
            }
            Request::Load(key, tx) => match t.load(&key) {
                Ok(object) => {
                    counters.loads.fetch_add(1, Ordering::Relaxed);
                    answers.push(Answer::Load(tx, object));
                }
                Err(e) => {
                    failure = Some(e);
                    answers.push(Answer::Load(tx, None));
                }
            },
            Request::List(tx) => match t.list() {
                Ok(all) => answers.push(Answer::List(tx, all)),
                Err(e) => {
                    failure = Some(e);
                    answers.push(Answer::List(tx, Vec::new()));
                }
            },
            Request::Flush(tx) => {
                flags.flush = true;
                answers.push(Answer::Unit(tx));
            }
            Request::Close => flags.closing = true,
        }
    }
    match failure {
        Some(e) => Err((e, answers, flags.closing)),
        None => Ok((answers, flags)),
    }
}
