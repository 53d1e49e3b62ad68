//! Small helpers the media scenarios share: argument checks, percentiles of
//! plain numbers, unit conversions, and the bookkeeping of spawned
//! connections.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::player::{Progress, State};
use super::BenchError;

/// A positive, finite number of seconds as a duration.
///
/// # Errors
///
/// [`BenchError::Args`] otherwise.
pub(super) fn seconds(name: &str, value: f64) -> Result<Duration, BenchError> {
    if value.is_finite() && value > 0.0 && value < 1e9 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(BenchError::Args(format!(
            "--{name} must be a positive number of seconds, not {value}"
        )))
    }
}

/// A positive, finite rate.
///
/// # Errors
///
/// [`BenchError::Args`] otherwise.
pub(super) fn rate(name: &str, value: f64) -> Result<f64, BenchError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(BenchError::Args(format!(
            "--{name} must be a positive rate, not {value}"
        )))
    }
}

/// The `p`-th percentile (nearest rank) of `values`, sorting them.
pub(super) fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[super::stats::nearest_rank(values.len(), p)])
}

/// Microseconds as milliseconds.
pub(super) fn ms(micros: Option<u64>) -> Option<f64> {
    micros.map(|us| us as f64 / 1000.0)
}

/// A spawned connection's task: it ends with why the connection ended.
type Task = JoinHandle<Result<(), String>>;

/// The connections of a scenario, with their progress.
#[derive(Debug, Default)]
pub(super) struct Fleet {
    members: Vec<(Arc<Progress>, Task)>,
}

/// How many connections are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Census {
    /// Still setting up.
    pub(super) pending: usize,
    /// Up and open.
    pub(super) up: usize,
    /// Never came up.
    pub(super) failed: usize,
    /// Came up, then ended.
    pub(super) dropped: usize,
}

impl Fleet {
    /// Room for `n`.
    pub(super) fn with_capacity(n: usize) -> Self {
        Self {
            members: Vec::with_capacity(n),
        }
    }

    /// Adds a spawned connection.
    pub(super) fn push(&mut self, progress: Arc<Progress>, task: JoinHandle<Result<(), String>>) {
        self.members.push((progress, task));
    }

    /// Every connection's progress.
    pub(super) fn progress(&self) -> impl Iterator<Item = &Progress> + '_ {
        self.members.iter().map(|(p, _)| &**p)
    }

    /// Counts the states.
    pub(super) fn census(&self) -> Census {
        let mut c = Census::default();
        for p in self.progress() {
            match p.state() {
                State::Pending => c.pending += 1,
                State::Up => c.up += 1,
                State::Failed => c.failed += 1,
                State::Dropped => c.dropped += 1,
            }
        }
        c
    }

    /// Waits until no connection is still setting up, or `limit` passed.
    pub(super) async fn settle(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.census().pending > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until every connection that is up has seen a keyframe (a
    /// server without a GOP cache starts a player at the next one), or
    /// `limit` passed.
    pub(super) async fn await_keyframes(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        let waiting = || {
            self.progress()
                .any(|p| p.state() == State::Up && p.keyframe_latency_us().is_none())
        };
        while waiting() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Ends every connection; returns the first reason one gave for ending
    /// by itself.
    pub(super) async fn shut(self) -> Option<String> {
        let mut reason = None;
        for (_, task) in self.members {
            if task.is_finished() {
                if let Ok(Err(e)) = task.await {
                    reason.get_or_insert(e);
                }
            } else {
                task.abort();
            }
        }
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_follow_the_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut v, 5.0), Some(5.0));
        assert_eq!(percentile(&mut v, 50.0), Some(50.0));
        assert_eq!(percentile(&mut v, 0.0), Some(1.0));
        assert_eq!(percentile(&mut [], 50.0), None);
    }

    #[test]
    fn bad_durations_and_rates_are_refused() {
        assert!(seconds("duration", 0.0).is_err());
        assert!(seconds("duration", f64::NAN).is_err());
        assert_eq!(
            seconds("duration", 1.5).unwrap(),
            Duration::from_millis(1500)
        );
        assert!(rate("join-rate", -1.0).is_err());
    }
}
