//! The rolling measurements a circuit breaker's expression reads (oxy's `RTMetrics`): over the
//! last 10 seconds, in 1-second buckets, the request count, the network errors (the gateway
//! answered 502 or 504, as oxy counts them), a count per status code and a latency histogram.
//!
//! Recording is a handful of relaxed atomic increments (no lock); a bucket is cleared by the
//! first request of a new second. A request recorded while its bucket is being cleared may be
//! lost: the window is a sample, as oxy's is.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

use crate::config::breaker_expression::BreakerMetric;

/// Seconds in the window (oxy's `counterBuckets`).
const BUCKETS: usize = 10;
/// Status codes counted one by one: 100..=599.
const CODES: usize = 500;
/// Latency buckets: exact up to 15 ms, then 4 per power of two (up to ~1 h).
const LATENCY_BUCKETS: usize = 96;

struct Bucket {
    /// The second this bucket holds, plus one (0: empty).
    second: AtomicU64,
    total: AtomicU32,
    network_errors: AtomicU32,
    codes: [AtomicU32; CODES],
    latency: [AtomicU32; LATENCY_BUCKETS],
}

impl Bucket {
    fn new() -> Bucket {
        Bucket {
            second: AtomicU64::new(0),
            total: AtomicU32::new(0),
            network_errors: AtomicU32::new(0),
            codes: std::array::from_fn(|_| AtomicU32::new(0)),
            latency: std::array::from_fn(|_| AtomicU32::new(0)),
        }
    }

    fn clear(&self) {
        self.total.store(0, Relaxed);
        self.network_errors.store(0, Relaxed);
        self.codes.iter().for_each(|c| c.store(0, Relaxed));
        self.latency.iter().for_each(|c| c.store(0, Relaxed));
    }
}

/// The breaker's window. About 24 KiB, one per circuit breaker per router.
pub struct Window {
    buckets: Box<[Bucket]>,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            buckets: (0..BUCKETS).map(|_| Bucket::new()).collect(),
        }
    }
}

fn latency_bucket(ms: u64) -> usize {
    if ms < 16 {
        return ms as usize;
    }
    let log = 63 - ms.leading_zeros() as usize; // >= 4
    let sub = ((ms >> (log - 2)) & 3) as usize;
    (16 + (log - 4) * 4 + sub).min(LATENCY_BUCKETS - 1)
}

/// The smallest latency (ms) that falls in bucket `index`.
fn latency_floor(index: usize) -> u64 {
    if index < 16 {
        return index as u64;
    }
    let log = (index - 16) / 4 + 4;
    let sub = ((index - 16) % 4) as u64;
    (1u64 << log) + sub * (1u64 << (log - 2))
}

impl Window {
    /// Records one finished exchange at `second` (seconds on the breaker's clock).
    pub fn record(&self, second: u64, status: u16, latency_ms: u64) {
        let bucket = &self.buckets[(second % BUCKETS as u64) as usize];
        let stamp = second + 1;
        if bucket.second.load(Relaxed) != stamp && bucket.second.swap(stamp, Relaxed) != stamp {
            bucket.clear();
        }
        bucket.total.fetch_add(1, Relaxed);
        if status == 502 || status == 504 {
            bucket.network_errors.fetch_add(1, Relaxed);
        }
        if let Some(code) = usize::from(status)
            .checked_sub(100)
            .and_then(|i| bucket.codes.get(i))
        {
            code.fetch_add(1, Relaxed);
        }
        bucket.latency[latency_bucket(latency_ms)].fetch_add(1, Relaxed);
    }

    /// Forgets everything (when the breaker trips, as oxy does).
    pub fn reset(&self) {
        for bucket in self.buckets.iter() {
            bucket.second.store(0, Relaxed);
            bucket.clear();
        }
    }

    /// The buckets of the 10 seconds up to `second`.
    fn live(&self, second: u64) -> impl Iterator<Item = &Bucket> {
        self.buckets.iter().filter(move |b| {
            let stamp = b.second.load(Relaxed);
            stamp != 0 && stamp - 1 + BUCKETS as u64 > second && stamp - 1 <= second
        })
    }

    fn codes_in(&self, second: u64, from: u16, to: u16) -> u64 {
        let range = usize::from(from.max(100)) - 100..usize::from(to.min(600)).saturating_sub(100);
        self.live(second)
            .map(|b| {
                b.codes
                    .get(range.clone())
                    .unwrap_or(&[])
                    .iter()
                    .map(|c| u64::from(c.load(Relaxed)))
                    .sum::<u64>()
            })
            .sum()
    }

    /// The value of `metric` over the window ending at `second`. Called once per `checkPeriod`
    /// at most; cost: a pass over the live buckets.
    pub fn measure(&self, second: u64, metric: BreakerMetric) -> f64 {
        match metric {
            BreakerMetric::NetworkErrorRatio => {
                let (mut total, mut errors) = (0u64, 0u64);
                for b in self.live(second) {
                    total += u64::from(b.total.load(Relaxed));
                    errors += u64::from(b.network_errors.load(Relaxed));
                }
                ratio(errors, total)
            }
            BreakerMetric::ResponseCodeRatio {
                from,
                to,
                dividend_from,
                dividend_to,
            } => ratio(
                self.codes_in(second, from, to),
                self.codes_in(second, dividend_from, dividend_to),
            ),
            BreakerMetric::LatencyAtQuantileMs(q) => {
                let mut counts = [0u64; LATENCY_BUCKETS];
                for b in self.live(second) {
                    for (sum, c) in counts.iter_mut().zip(b.latency.iter()) {
                        *sum += u64::from(c.load(Relaxed));
                    }
                }
                let total: u64 = counts.iter().sum();
                if total == 0 {
                    return 0.0;
                }
                let target = ((q / 100.0) * total as f64).ceil().max(1.0) as u64;
                let mut seen = 0;
                for (index, count) in counts.iter().enumerate() {
                    seen += count;
                    if seen >= target {
                        return latency_floor(index) as f64;
                    }
                }
                latency_floor(LATENCY_BUCKETS - 1) as f64
            }
        }
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_cover_the_last_ten_seconds_only() {
        let w = Window::default();
        w.record(1, 502, 1);
        w.record(1, 200, 1);
        w.record(5, 200, 1);
        w.record(5, 500, 1);
        assert_eq!(w.measure(5, BreakerMetric::NetworkErrorRatio), 0.25);
        let server_errors = BreakerMetric::ResponseCodeRatio {
            from: 500,
            to: 600,
            dividend_from: 0,
            dividend_to: 600,
        };
        assert_eq!(w.measure(5, server_errors), 0.5);
        // At second 11 the first second has left the window.
        assert_eq!(w.measure(11, BreakerMetric::NetworkErrorRatio), 0.0);
        w.reset();
        assert_eq!(w.measure(5, server_errors), 0.0);
    }

    #[test]
    fn a_reused_bucket_starts_empty() {
        let w = Window::default();
        w.record(3, 502, 1);
        w.record(13, 200, 1);
        assert_eq!(w.measure(13, BreakerMetric::NetworkErrorRatio), 0.0);
    }

    #[test]
    fn latency_quantiles_come_from_the_histogram() {
        let w = Window::default();
        for _ in 0..9 {
            w.record(0, 200, 5);
        }
        w.record(0, 200, 400);
        assert_eq!(w.measure(0, BreakerMetric::LatencyAtQuantileMs(50.0)), 5.0);
        let p99 = w.measure(0, BreakerMetric::LatencyAtQuantileMs(99.0));
        assert!((320.0..=400.0).contains(&p99), "{p99}");
        for ms in [0, 1, 15, 16, 17, 100, 1000, 3_600_000] {
            let floor = latency_floor(latency_bucket(ms));
            assert!(floor <= ms && ms - floor <= ms / 4, "{ms} -> {floor}");
        }
    }
}
