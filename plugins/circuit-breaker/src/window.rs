//! The rolling window the expression reads (oxy's `RTMetrics`, 10 one-second buckets), kept as
//! `kv` counters: per second, one counter per quantity the expression needs and no more.
//!
//! The quantities: the request count; the network errors (the client got 502 or 504, as oxy
//! counts them) if `NetworkErrorRatio()` is used; the responses in `[from, to)` for each range
//! a `ResponseCodeRatio` names; and for each `LatencyAtQuantileMS(q) op x`, the requests whose
//! latency (whole milliseconds) was at most `floor(x)` and at most `ceil(x) - 1`. That last pair
//! decides the comparison exactly, with no histogram: the latency at quantile `q` is above `n`
//! exactly when fewer than `ceil(q% × count)` requests took at most `n` ms.
//!
//! Cost per finished request: one `kv.increment` per quantity the outcome counts in (the request
//! count, plus the matching ones), each created with a 12 s time to live, so old seconds expire
//! by themselves. Cost per check (once per `checkPeriod` at most): one `kv.get-many` of the 10
//! seconds' counters.

use crate::expression::{CompareOp, Expression, Metric};

/// One quantity counted per second.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Quantity {
    Requests,
    NetworkErrors,
    /// Statuses in `[from, to)`.
    Codes(u16, u16),
    /// Requests that took at most this many milliseconds.
    LatencyAtMost(i64),
}

impl Quantity {
    fn counts(self, status: u16, latency_ms: u64) -> bool {
        match self {
            Quantity::Requests => true,
            Quantity::NetworkErrors => status == 502 || status == 504,
            Quantity::Codes(from, to) => (from..to).contains(&status),
            Quantity::LatencyAtMost(n) => i64::try_from(latency_ms).is_ok_and(|ms| ms <= n),
        }
    }
}

/// Seconds in the window (oxy's `counterBuckets`).
pub const SECONDS: u64 = 10;

/// How long a second's counters live: the window plus a margin for a late check.
pub const COUNTER_TTL_MS: u64 = (SECONDS + 2) * 1000;

/// The expression and the quantities it reads.
#[derive(Debug, Clone)]
pub struct Plan {
    expression: Expression,
    quantities: Vec<Quantity>,
}

/// `floor(x)` and `ceil(x) - 1` as latency thresholds (saturating; the latency is never below 0,
/// so a negative threshold counts nothing).
fn thresholds(x: f64) -> (i64, i64) {
    (x.floor() as i64, (x.ceil() as i64).saturating_sub(1))
}

impl Plan {
    pub fn new(expression: Expression) -> Plan {
        let mut comparisons = Vec::new();
        expression.comparisons(&mut comparisons);
        let mut quantities = vec![Quantity::Requests];
        let mut need = |q: Quantity| {
            if !quantities.contains(&q) {
                quantities.push(q);
            }
        };
        for (metric, _, value) in comparisons {
            match metric {
                Metric::NetworkErrorRatio => need(Quantity::NetworkErrors),
                Metric::ResponseCodeRatio {
                    from,
                    to,
                    dividend_from,
                    dividend_to,
                } => {
                    need(Quantity::Codes(from, to));
                    need(Quantity::Codes(dividend_from, dividend_to));
                }
                Metric::LatencyAtQuantileMs(_) => {
                    let (floor, ceil_less) = thresholds(value);
                    need(Quantity::LatencyAtMost(floor));
                    need(Quantity::LatencyAtMost(ceil_less));
                }
            }
        }
        Plan {
            expression,
            quantities,
        }
    }

    /// Counters per second (at least 1: the request count).
    pub fn counters(&self) -> usize {
        self.quantities.len()
    }

    /// The indexes of the counters an outcome counts in.
    pub fn counted(&self, status: u16, latency_ms: u64) -> impl Iterator<Item = usize> + '_ {
        self.quantities
            .iter()
            .enumerate()
            .filter(move |(_, q)| q.counts(status, latency_ms))
            .map(|(i, _)| i)
    }

    /// Whether the expression holds on `sums` (per counter, over the window).
    pub fn holds(&self, sums: &[i64]) -> bool {
        let sum = |q: Quantity| -> f64 {
            self.quantities
                .iter()
                .position(|have| *have == q)
                .and_then(|i| sums.get(i))
                .map_or(0.0, |n| *n as f64)
        };
        let requests = sum(Quantity::Requests);
        let ratio = |part: f64, whole: f64| if whole <= 0.0 { 0.0 } else { part / whole };
        self.expression
            .holds(&mut |metric, op, value| match metric {
                Metric::NetworkErrorRatio => {
                    op.holds(ratio(sum(Quantity::NetworkErrors), requests), value)
                }
                Metric::ResponseCodeRatio {
                    from,
                    to,
                    dividend_from,
                    dividend_to,
                } => op.holds(
                    ratio(
                        sum(Quantity::Codes(from, to)),
                        sum(Quantity::Codes(dividend_from, dividend_to)),
                    ),
                    value,
                ),
                Metric::LatencyAtQuantileMs(q) => {
                    if requests <= 0.0 {
                        // No request: the latency reads as 0, as oxy's empty histogram.
                        return op.holds(0.0, value);
                    }
                    let target = (q / 100.0 * requests).ceil().max(1.0);
                    let at_most = |n: i64| {
                        if n < 0 {
                            0.0
                        } else {
                            sum(Quantity::LatencyAtMost(n))
                        }
                    };
                    // The latency at the quantile is above `n`.
                    let above = |n: i64| at_most(n) < target;
                    let (floor, ceil_less) = thresholds(value);
                    let equal = || above(ceil_less) && !above(floor);
                    match op {
                        CompareOp::Gt => above(floor),
                        CompareOp::Ge => above(ceil_less),
                        CompareOp::Lt => !above(ceil_less),
                        CompareOp::Le => !above(floor),
                        CompareOp::Eq => equal(),
                        CompareOp::Ne => !equal(),
                    }
                }
            })
    }
}
