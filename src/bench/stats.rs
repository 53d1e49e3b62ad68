//! Latency samples and their percentiles.

use std::time::Duration;

/// Latency samples in microseconds; percentiles by the nearest-rank method.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    micros: Vec<u64>,
    sorted: bool,
}

impl Samples {
    /// An empty set with room for `capacity` samples.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            micros: Vec::with_capacity(capacity),
            sorted: true,
        }
    }

    /// Adds one sample.
    pub fn push(&mut self, latency: Duration) {
        self.push_micros(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Adds one sample given in microseconds.
    pub fn push_micros(&mut self, micros: u64) {
        self.micros.push(micros);
        self.sorted = false;
    }

    /// Adds every sample of `other`.
    pub fn extend(&mut self, other: &Samples) {
        self.micros.extend_from_slice(&other.micros);
        self.sorted = false;
    }

    /// How many samples there are.
    pub fn len(&self) -> usize {
        self.micros.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.micros.is_empty()
    }

    /// The `p`-th percentile (0.0..=100.0) in microseconds by nearest rank;
    /// `None` without samples.
    pub fn percentile(&mut self, p: f64) -> Option<u64> {
        if self.micros.is_empty() {
            return None;
        }
        if !self.sorted {
            self.micros.sort_unstable();
            self.sorted = true;
        }
        Some(self.micros[nearest_rank(self.micros.len(), p)])
    }

    /// The largest sample in microseconds.
    pub fn max(&mut self) -> Option<u64> {
        self.percentile(100.0)
    }

    /// The mean in microseconds.
    pub fn mean(&self) -> Option<f64> {
        if self.micros.is_empty() {
            return None;
        }
        Some(self.micros.iter().map(|&m| m as f64).sum::<f64>() / self.micros.len() as f64)
    }
}

/// The index of the `p`-th percentile (0.0..=100.0) of `n > 0` sorted
/// values, by the nearest-rank method.
pub(super) fn nearest_rank(n: usize, p: f64) -> usize {
    let rank = ((p.clamp(0.0, 100.0) / 100.0) * n as f64).ceil() as usize;
    rank.clamp(1, n) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_follow_the_nearest_rank() {
        let mut s = Samples::default();
        for m in (1..=100).rev() {
            s.push_micros(m);
        }
        assert_eq!(s.percentile(50.0), Some(50));
        assert_eq!(s.percentile(99.0), Some(99));
        assert_eq!(s.percentile(99.9), Some(100));
        assert_eq!(s.percentile(0.0), Some(1));
        assert_eq!(s.max(), Some(100));
        assert_eq!(s.mean(), Some(50.5));
    }

    #[test]
    fn no_samples_have_no_percentile() {
        let mut s = Samples::default();
        assert_eq!(s.percentile(50.0), None);
        assert_eq!(s.mean(), None);
    }

    #[test]
    fn a_duration_is_kept_in_microseconds() {
        let mut s = Samples::with_capacity(1);
        s.push(Duration::from_millis(3));
        assert_eq!(s.percentile(50.0), Some(3000));
    }
}
