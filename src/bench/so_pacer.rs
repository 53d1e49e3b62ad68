//! Open-loop pacing for the `so` and `rpc` scenarios: one timer tick hands
//! out the operations due since the start, round-robin over the workers.
//!
//! One timer for the whole run (not one per operation, not one per worker):
//! at each tick the pacer computes how many operations are due by now
//! (`rate × elapsed`), gives each worker its share as permits on its own
//! [`Semaphore`], and only workers that got something are woken. A worker
//! that falls behind keeps its permits (the backlog is the figure
//! [`Pacer::run`] returns); when the run ends the semaphores are closed, which
//! is how a worker learns the writing phase is over.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::{Instant, MissedTickBehavior};

/// The permits of one worker: one permit = one operation to do now.
pub(super) type Credits = Arc<Semaphore>;

/// Pacing of `rate` operations per second over `workers` for `duration`.
#[derive(Debug)]
pub(super) struct Pacer {
    credits: Vec<Credits>,
    rate: f64,
    duration: Duration,
    tick: Duration,
}

/// What the pacer handed out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Paced {
    /// Operations due over the run (handed out as permits).
    pub(super) due: u64,
    /// Permits no worker took before the end (the workers' backlog).
    pub(super) not_started: u64,
}

impl Pacer {
    /// A pacer for `workers` workers; `tick` is clamped to at least 100 µs.
    pub(super) fn new(workers: usize, rate: f64, duration: Duration, tick: Duration) -> Self {
        Self {
            credits: (0..workers).map(|_| Arc::new(Semaphore::new(0))).collect(),
            rate,
            duration,
            tick: tick.max(Duration::from_micros(100)),
        }
    }

    /// Worker `index`'s permits.
    pub(super) fn credits(&self, index: usize) -> Credits {
        self.credits[index].clone()
    }

    /// Hands out permits until the duration has passed, then closes every
    /// worker's semaphore.
    pub(super) async fn run(self) -> Paced {
        let workers = self.credits.len() as u64;
        let mut paced = Paced::default();
        if workers == 0 {
            return paced;
        }
        let start = Instant::now();
        let end = start + self.duration;
        let mut ticks = tokio::time::interval(self.tick);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut next_worker = 0u64;
        loop {
            ticks.tick().await;
            let now = Instant::now().min(end);
            let due = due_by(self.rate, now.duration_since(start));
            let fresh = due.saturating_sub(paced.due);
            paced.due = due;
            for (index, share) in shares(fresh, workers, next_worker) {
                self.credits[index].add_permits(share);
            }
            next_worker = (next_worker + fresh) % workers;
            if now >= end {
                break;
            }
        }
        for credits in &self.credits {
            paced.not_started += credits.available_permits() as u64;
            credits.close();
        }
        paced
    }
}

/// Operations due after `elapsed` at `rate` per second.
fn due_by(rate: f64, elapsed: Duration) -> u64 {
    (rate * elapsed.as_secs_f64()).floor() as u64
}

/// Splits `fresh` operations over `workers`, round-robin from `first`:
/// `(worker, count)` for each worker that gets at least one.
fn shares(fresh: u64, workers: u64, first: u64) -> impl Iterator<Item = (usize, usize)> {
    let each = fresh / workers;
    let extra = fresh % workers;
    (0..workers).filter_map(move |offset| {
        let worker = (first + offset) % workers;
        let count = each + u64::from(offset < extra);
        (count > 0).then_some((worker as usize, count as usize))
    })
}

/// Takes every permit available now, waiting for the first; `None` once the
/// pacer has closed the semaphore (the end of the run).
pub(super) async fn take_all(credits: &Semaphore) -> Option<usize> {
    let first = credits.acquire().await.ok()?;
    first.forget();
    let more = credits.available_permits();
    if more > 0 {
        if let Ok(permits) = credits.try_acquire_many(more as u32) {
            permits.forget();
            return Some(1 + more);
        }
    }
    Some(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_due_grow_with_the_rate_and_the_time() {
        assert_eq!(due_by(1000.0, Duration::from_millis(1)), 1);
        assert_eq!(due_by(1000.0, Duration::from_micros(999)), 0);
        assert_eq!(due_by(250_000.0, Duration::from_secs(2)), 500_000);
    }

    #[test]
    fn shares_go_round_robin_from_the_next_worker() {
        let s: Vec<_> = shares(5, 3, 2).collect();
        assert_eq!(s, vec![(2, 2), (0, 2), (1, 1)]);
        let s: Vec<_> = shares(1, 4, 3).collect();
        assert_eq!(s, vec![(3, 1)]);
        assert_eq!(shares(0, 4, 0).count(), 0);
    }

    #[tokio::test]
    async fn the_pacer_hands_out_what_is_due_and_closes_at_the_end() {
        let pacer = Pacer::new(
            2,
            1000.0,
            Duration::from_millis(50),
            Duration::from_millis(1),
        );
        let a = pacer.credits(0);
        let b = pacer.credits(1);
        let paced = pacer.run().await;
        assert_eq!(paced.due, 50);
        // Nobody took anything: it is all backlog.
        assert_eq!(paced.not_started, 50);
        assert_eq!(a.available_permits() + b.available_permits(), 50);
        assert!(a.is_closed() && b.is_closed());
        assert_eq!(take_all(&a).await, None);
    }

    #[tokio::test]
    async fn a_worker_takes_every_permit_available_at_once() {
        let credits = Semaphore::new(0);
        credits.add_permits(7);
        assert_eq!(take_all(&credits).await, Some(7));
        credits.add_permits(1);
        assert_eq!(take_all(&credits).await, Some(1));
    }
}
