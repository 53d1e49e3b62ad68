//! [`Latencies`]: a fixed-size latency histogram for runs with millions of
//! samples (the `so` and `rpc` scenarios), and its figures in a [`Report`].
//!
//! [`Samples`](super::Samples) keeps every sample (8 bytes each); at 200k
//! changes/s seen by several receivers that is hundreds of MB per run. This
//! histogram has a fixed size (~450 KB): 1 µs buckets below 2048 µs (exact),
//! then 1024 buckets per power of two (each bucket under 0.1 % wide). A
//! percentile is reported as its bucket's lower bound (so exact below
//! 2.048 ms); the maximum is kept exactly.

use super::Report;

/// Values below this many µs have a bucket each.
const EXACT_BELOW: u64 = 2048;
/// log2 of [`EXACT_BELOW`].
const EXACT_BITS: u32 = 11;
/// Buckets per power of two above [`EXACT_BELOW`] (2^10).
const SUB_BITS: u32 = 10;
/// Every bucket, up to `u64::MAX`.
const BUCKETS: usize = (EXACT_BELOW + (64 - EXACT_BITS as u64) * (1 << SUB_BITS)) as usize;

/// Latency counts in microseconds, percentiles by nearest rank.
#[derive(Debug, Clone)]
pub(super) struct Latencies {
    counts: Vec<u64>,
    total: u64,
    max: u64,
    sum: u128,
}

impl Default for Latencies {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
            sum: 0,
        }
    }
}

fn bucket(micros: u64) -> usize {
    if micros < EXACT_BELOW {
        return micros as usize;
    }
    let power = 63 - micros.leading_zeros(); // >= EXACT_BITS
    let sub = (micros >> (power - SUB_BITS)) & ((1 << SUB_BITS) - 1);
    (EXACT_BELOW + u64::from(power - EXACT_BITS) * (1 << SUB_BITS) + sub) as usize
}

fn lower_bound(bucket: usize) -> u64 {
    let bucket = bucket as u64;
    if bucket < EXACT_BELOW {
        return bucket;
    }
    let above = bucket - EXACT_BELOW;
    let power = (above >> SUB_BITS) as u32 + EXACT_BITS;
    let sub = above & ((1 << SUB_BITS) - 1);
    (1 << power) | (sub << (power - SUB_BITS))
}

impl Latencies {
    /// Adds one sample.
    pub(super) fn record(&mut self, micros: u64) {
        self.counts[bucket(micros)] += 1;
        self.total += 1;
        self.max = self.max.max(micros);
        self.sum += u128::from(micros);
    }

    /// The `p`-th percentile (0..=100) by nearest rank, as its bucket's
    /// lower bound (the exact maximum for the last rank); `None` without
    /// samples.
    pub(super) fn percentile(&self, p: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        // The epsilon keeps 99.9 % of 1000 at rank 999 despite rounding.
        let exact = p.clamp(0.0, 100.0) * self.total as f64 / 100.0;
        let rank = (exact - 1e-9).ceil() as u64;
        let rank = rank.clamp(1, self.total);
        if rank == self.total {
            return Some(self.max);
        }
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(lower_bound(index));
            }
        }
        Some(self.max)
    }

    /// The mean in microseconds.
    pub(super) fn mean(&self) -> Option<f64> {
        (self.total > 0).then(|| self.sum as f64 / self.total as f64)
    }

    /// Adds `{prefix}_samples`, `{prefix}_p50_us`, `_p99_us`, `_p99_9_us`,
    /// `_max_us` and `_mean_us` to `report`.
    pub(super) fn report(&self, report: &mut Report, prefix: &str) {
        report.set(&format!("{prefix}_samples"), self.total);
        for (name, p) in [("p50", 50.0), ("p99", 99.0), ("p99_9", 99.9)] {
            report.set(&format!("{prefix}_{name}_us"), self.percentile(p));
        }
        report.set(
            &format!("{prefix}_max_us"),
            (self.total > 0).then_some(self.max),
        );
        report.set(&format!("{prefix}_mean_us"), self.mean());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Value;

    #[test]
    fn buckets_are_exact_below_2048_us_and_under_a_thousandth_wide_above() {
        for v in [0, 1, 2047] {
            assert_eq!(lower_bound(bucket(v)), v);
        }
        for v in [2048u64, 2049, 3000, 1_000_000, 123_456_789, u64::MAX] {
            let low = lower_bound(bucket(v));
            assert!(low <= v, "{v}: {low}");
            assert!((v - low) as f64 <= v as f64 / 1000.0, "{v}: {low}");
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_follow_the_nearest_rank() {
        let mut l = Latencies::default();
        for v in (1..=1000).rev() {
            l.record(v);
        }
        assert_eq!(l.percentile(50.0), Some(500));
        assert_eq!(l.percentile(99.0), Some(990));
        assert_eq!(l.percentile(99.9), Some(999));
        assert_eq!(l.percentile(100.0), Some(1000));
        assert_eq!(l.mean(), Some(500.5));
    }

    #[test]
    fn the_maximum_is_exact() {
        let mut a = Latencies::default();
        a.record(10);
        a.record(5_000_001);
        assert_eq!(a.percentile(99.0), Some(5_000_001));
        assert_eq!(a.percentile(100.0), Some(5_000_001));
        assert_eq!(a.percentile(50.0), Some(10));
    }

    #[test]
    fn an_empty_histogram_reports_missing_figures() {
        let mut r = Report::new("so");
        Latencies::default().report(&mut r, "latency");
        assert_eq!(r.get("latency_samples"), Some(&Value::Int(0)));
        assert_eq!(r.get("latency_p99_us"), Some(&Value::Missing));
        assert_eq!(r.get("latency_max_us"), Some(&Value::Missing));
    }
}
