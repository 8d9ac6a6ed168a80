//! A histogram over fixed bucket bounds known at compile time: an observation is one scan of
//! the bounds and two atomic adds, never a lock. Used for plugin hook durations and reload
//! durations (the request-duration histograms keep their configured `buckets` in
//! `metrics::Series`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// The bucket of `took` among upper bounds `bounds` (seconds, ascending); `bounds.len()` is
/// `+Inf`.
pub fn bucket_of(bounds: &[f64], took: Duration) -> usize {
    let secs = took.as_secs_f64();
    bounds
        .iter()
        .position(|b| secs <= *b)
        .unwrap_or(bounds.len())
}

#[derive(Debug)]
pub struct FixedHistogram {
    /// Upper bounds in seconds, ascending.
    bounds: &'static [f64],
    /// Per-bucket counts (not cumulative); one more than `bounds`, the last is `+Inf`.
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

impl FixedHistogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        FixedHistogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, took: Duration) {
        self.counts[bucket_of(self.bounds, took)].fetch_add(1, Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }

    /// `(upper bound, count)` per bucket, not cumulated; `+Inf` as `f64::MAX`. Scrape time.
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let bound = self.bounds.get(i).copied().unwrap_or(f64::MAX);
                (bound, n.load(Relaxed))
            })
            .collect()
    }

    pub fn sum_seconds(&self) -> f64 {
        Duration::from_nanos(self.sum_nanos.load(Relaxed)).as_secs_f64()
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().map(|n| n.load(Relaxed)).sum()
    }

    /// The `q` quantile (0..=1) in seconds, interpolated inside its bucket as Prometheus's
    /// `histogram_quantile` does; `None` before the first observation. A quantile in the
    /// `+Inf` bucket reads as the last finite bound.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let counts: Vec<u64> = self.counts.iter().map(|n| n.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0u64;
        for (i, n) in counts.iter().enumerate() {
            let upto = below + n;
            if *n > 0 && upto as f64 >= rank {
                let Some(&upper) = self.bounds.get(i) else {
                    return self.bounds.last().copied();
                };
                let lower = if i == 0 { 0.0 } else { self.bounds[i - 1] };
                let within = (rank - below as f64) / *n as f64;
                return Some(lower + (upper - lower) * within);
            }
            below = upto;
        }
        self.bounds.last().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_interpolated_inside_their_bucket() {
        static BOUNDS: [f64; 3] = [0.001, 0.01, 0.1];
        let h = FixedHistogram::new(&BOUNDS);
        assert_eq!(h.quantile(0.5), None);
        for _ in 0..99 {
            h.observe(Duration::from_micros(500));
        }
        h.observe(Duration::from_millis(50));
        let p50 = h.quantile(0.5).unwrap();
        assert!(p50 > 0.0 && p50 <= 0.001, "{p50}");
        let p999 = h.quantile(0.999).unwrap();
        assert!(p999 > 0.01 && p999 <= 0.1, "{p999}");
        h.observe(Duration::from_secs(3));
        assert_eq!(h.quantile(1.0), Some(0.1));
        assert_eq!(h.count(), 101);
        assert_eq!(h.buckets()[3], (f64::MAX, 1));
    }
}
