//! One client of the `so` scenario: a task that writes its share of the
//! changes when the pacer hands it permits, and reads its SharedObject's
//! events, timing every change made by another client.
//!
//! Each written value is the string `RUN:WRITER:SEQ:MICROS`: the run's
//! random id (values left by an earlier run of a persistent object are not
//! timed), the writer's index, its change sequence number, and the send
//! time in µs since the run's epoch (every client is in this one process, so
//! one monotonic clock). Writer `W` writes slots `wW_0 .. wW_{batch-1}`, one
//! message per permit.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use super::so_latency::Latencies;
use super::so_pacer::{take_all, Credits};
use crate::client::{ClientError, RemoteSharedObject, SoEvent};
use crate::protocol::amf::AmfValue;
use crate::protocol::command::status::LEVEL_ERROR;

/// While settling, how often a client posts its state even without events.
const SETTLE_REPOST: Duration = Duration::from_millis(20);

/// What every client task shares.
#[derive(Debug)]
pub(super) struct SoRun {
    /// Time zero of every timestamp in a value.
    pub(super) epoch: Instant,
    /// This run's id, first field of every value.
    pub(super) run_id: u32,
    /// Client index → node (index of its URL among the distinct URLs).
    pub(super) node_of: Vec<usize>,
    /// Change → notification latency for receivers on the writer's node.
    pub(super) same_node: Mutex<Latencies>,
    /// ... and on another node.
    pub(super) other_node: Mutex<Latencies>,
    /// Per client, once it has stopped writing: its replica's state.
    pub(super) progress: Mutex<Vec<Option<Progress>>>,
    /// Signalled after every update of `progress`.
    pub(super) progress_changed: Notify,
}

/// A replica's state while the run settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Progress {
    /// The replica's version.
    pub(super) version: u32,
    /// Our writes the server has not confirmed yet.
    pub(super) pending_writes: usize,
    /// The object or the connection has ended.
    pub(super) closed: bool,
}

impl SoRun {
    /// µs since the epoch.
    pub(super) fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
        mutex
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One client's counts.
#[derive(Debug, Default, Clone)]
pub(super) struct Tally {
    /// Messages written (each `batch` changes).
    pub(super) messages_sent: u64,
    /// Slot changes written.
    pub(super) changes_sent: u64,
    /// Slot changes the server applied (sent, not refused, not pending).
    pub(super) changes_applied: u64,
    /// When the last `Success` arrived, µs since the epoch.
    pub(super) last_applied_us: u64,
    /// Changes by other clients of this run, timed.
    pub(super) notifications: u64,
    /// Values seen again (a resync repeats what was already seen).
    pub(super) repeats: u64,
    /// Values not written by this run (e.g. left by an earlier run).
    pub(super) foreign: u64,
    /// `Clear` events (full resyncs from the server).
    pub(super) resyncs: u64,
    /// Status errors from the server, and writes that failed.
    pub(super) errors: u64,
    /// The last error, for the report.
    pub(super) last_error: Option<String>,
    /// Events the client library dropped (queue full).
    pub(super) dropped_events: u64,
}

/// One client task's state.
pub(super) struct SoClient {
    index: usize,
    so: RemoteSharedObject,
    credits: Credits,
    run: Arc<SoRun>,
    /// This writer's slot names.
    slots: Vec<String>,
    /// `RUN:WRITER:`, the start of every value written.
    prefix: String,
    /// Status errors (each refuses one message of ours).
    refusals: u64,
    /// The version last posted to [`SoRun::progress`].
    posted_version: u32,
    seq: u64,
    /// Per writer, the highest sequence number seen.
    last_seen: Vec<u64>,
    /// Past the initial sync (its Clear is no resync, its values predate
    /// the run).
    synced: bool,
    tally: Tally,
}

impl SoClient {
    /// Client `index` of `clients`, writing `batch` slots per message.
    pub(super) fn new(
        index: usize,
        clients: usize,
        batch: usize,
        so: RemoteSharedObject,
        credits: Credits,
        run: Arc<SoRun>,
    ) -> Self {
        let prefix = format!("{}:{index}:", run.run_id);
        Self {
            index,
            so,
            credits,
            run,
            slots: (0..batch).map(|k| format!("w{index}_{k}")).collect(),
            prefix,
            refusals: 0,
            posted_version: 0,
            seq: 0,
            last_seen: vec![0; clients],
            synced: false,
            tally: Tally::default(),
        }
    }

    /// Writes while the pacer hands out permits, reads events until `stop`
    /// changes (or its sender is dropped); returns the object (for the
    /// convergence check) and the counts.
    pub(super) async fn drive(
        mut self,
        mut stop: watch::Receiver<bool>,
    ) -> (RemoteSharedObject, Tally) {
        let mut writing = true;
        // While settling: the state is posted when the version moves, and
        // on this tick in case the events that would show it were dropped.
        let mut repost = tokio::time::interval(SETTLE_REPOST);
        loop {
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                _ = repost.tick(), if !writing => self.post_progress(false),
                credits = take_all(&self.credits), if writing => match credits {
                    Some(messages) => self.write(messages).await,
                    None => {
                        writing = false;
                        self.post_progress(false);
                    }
                },
                event = self.so.next_event() => match event {
                    Some(event) => {
                        self.on_event(event);
                        if !writing && self.so.version() != self.posted_version {
                            self.post_progress(false);
                        }
                    }
                    None => {
                        self.post_progress(true);
                        // Nothing more will come; wait for the end.
                        let _ = stop.changed().await;
                        break;
                    }
                },
            }
        }
        self.tally.dropped_events = self.so.dropped_events();
        // Counted from the replica rather than from `Success` events, which
        // the library drops when this task falls behind: every change sent
        // is applied, refused (a whole message each) or still pending.
        let refused = self.refusals * self.slots.len() as u64;
        let pending = self.so.pending_writes() as u64;
        self.tally.changes_applied = self.tally.changes_sent.saturating_sub(refused + pending);
        (self.so, self.tally)
    }

    async fn write(&mut self, messages: usize) {
        for _ in 0..messages {
            let sent_us = self.run.now_us();
            let pairs: Vec<(String, AmfValue)> = self
                .slots
                .iter()
                .map(|slot| {
                    self.seq += 1;
                    let mut value = String::with_capacity(self.prefix.len() + 24);
                    value.push_str(&self.prefix);
                    let _ = write!(value, "{}:{sent_us}", self.seq);
                    (slot.clone(), AmfValue::string(value))
                })
                .collect();
            let changes = pairs.len() as u64;
            match self.so.set_many(pairs).await {
                Ok(()) => {
                    self.tally.messages_sent += 1;
                    self.tally.changes_sent += changes;
                }
                Err(error) => {
                    self.error(&error);
                    if matches!(
                        error,
                        ClientError::Closed | ClientError::Disconnected { .. }
                    ) {
                        return;
                    }
                }
            }
        }
    }

    fn on_event(&mut self, event: SoEvent) {
        if !self.synced {
            // `shared_object()` resolved after the initial sync, whose
            // events are still queued: skip them.
            self.synced = event == SoEvent::Synced;
            return;
        }
        match event {
            SoEvent::Changed { value, .. } => self.on_value(&value),
            SoEvent::Success { .. } => self.tally.last_applied_us = self.run.now_us(),
            SoEvent::Cleared => self.tally.resyncs += 1,
            SoEvent::Status { code, level } if level == LEVEL_ERROR => {
                self.refusals += 1;
                self.tally.errors += 1;
                self.tally.last_error = Some(format!("Status {code}"));
            }
            _ => {}
        }
    }

    fn on_value(&mut self, value: &AmfValue) {
        let Some(stamp) = value.as_str().and_then(Stamp::parse) else {
            self.tally.foreign += 1;
            return;
        };
        if stamp.run != self.run.run_id || stamp.writer >= self.last_seen.len() {
            self.tally.foreign += 1;
            return;
        }
        let last = &mut self.last_seen[stamp.writer];
        if stamp.seq <= *last {
            self.tally.repeats += 1;
            return;
        }
        *last = stamp.seq;
        self.tally.notifications += 1;
        let latency = self.run.now_us().saturating_sub(stamp.sent_us);
        let same = self.run.node_of[stamp.writer] == self.run.node_of[self.index];
        let histogram = if same {
            &self.run.same_node
        } else {
            &self.run.other_node
        };
        SoRun::lock(histogram).record(latency);
    }

    fn error(&mut self, error: &ClientError) {
        self.tally.errors += 1;
        self.tally.last_error = Some(error.to_string());
    }

    fn post_progress(&mut self, closed: bool) {
        self.posted_version = self.so.version();
        let progress = Progress {
            version: self.so.version(),
            pending_writes: self.so.pending_writes(),
            closed,
        };
        SoRun::lock(&self.run.progress)[self.index] = Some(progress);
        self.run.progress_changed.notify_one();
    }
}

/// The fields of one written value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    run: u32,
    writer: usize,
    seq: u64,
    sent_us: u64,
}

impl Stamp {
    fn parse(text: &str) -> Option<Self> {
        let mut fields = text.split(':');
        let stamp = Self {
            run: fields.next()?.parse().ok()?,
            writer: fields.next()?.parse().ok()?,
            seq: fields.next()?.parse().ok()?,
            sent_us: fields.next()?.parse().ok()?,
        };
        fields.next().is_none().then_some(stamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_carries_run_writer_sequence_and_send_time() {
        assert_eq!(
            Stamp::parse("7:3:42:123456"),
            Some(Stamp {
                run: 7,
                writer: 3,
                seq: 42,
                sent_us: 123_456
            })
        );
    }

    #[test]
    fn values_of_another_shape_are_not_stamps() {
        for text in ["", "1:2:3", "1:2:3:4:5", "a:2:3:4", "1:-2:3:4"] {
            assert_eq!(Stamp::parse(text), None, "{text:?}");
        }
    }
}
