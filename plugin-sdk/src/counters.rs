//! The `counters` capability: token buckets the host keeps for this middleware, shared by all
//! its instances (see `interface counters` in the WIT).
//!
//! A plugin that calls [`take`] imports `counters`, and the gateway loads it only for a
//! middleware whose config grants `counters`; a plugin that never calls it does not import it.
//! Natively (unit tests) the buckets live in the calling thread, so tests do not share them.

/// What [`take`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// The tokens were taken.
    Allowed,
    /// Not enough tokens; none were taken. `wait_ns`: nanoseconds until there will be
    /// (`u64::MAX`: never, the cost is above the burst).
    Denied { wait_ns: u64 },
}

/// Takes `cost` tokens from bucket `key` if it holds them. The bucket refills at
/// `rate_per_second` tokens a second up to `burst` and starts full; a rate not above 0 means no
/// limit. Cost: one host call (one short lock of one shard of the host's map).
pub fn take(key: &str, cost: u32, rate_per_second: f64, burst: u32) -> Take {
    imp::take(key, cost, rate_per_second, burst)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Take;
    use crate::guest::wit::counters::{self, TakeResult};

    pub(super) fn take(key: &str, cost: u32, rate: f64, burst: u32) -> Take {
        match counters::take(key, cost, rate, burst) {
            TakeResult::Allowed => Take::Allowed,
            TakeResult::Denied(wait_ns) => Take::Denied { wait_ns },
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::Take;
    use std::cell::RefCell;
    use std::collections::HashMap;

    thread_local! {
        static BUCKETS: RefCell<HashMap<String, (f64, u64)>> = RefCell::new(HashMap::new());
    }

    /// The host's semantics on the calling thread's buckets (no key bound: tests are small).
    pub(super) fn take(key: &str, cost: u32, rate: f64, burst: u32) -> Take {
        if rate.is_nan() || rate <= 0.0 {
            return Take::Allowed;
        }
        let now = crate::monotonic_now();
        let (cost, burst) = (f64::from(cost), f64::from(burst));
        BUCKETS.with_borrow_mut(|buckets| {
            let (tokens, at) = buckets.entry(key.to_string()).or_insert((burst, now));
            *tokens = (*tokens + now.saturating_sub(*at) as f64 / 1e9 * rate).min(burst);
            *at = now;
            if *tokens >= cost {
                *tokens -= cost;
                Take::Allowed
            } else if cost > burst {
                Take::Denied { wait_ns: u64::MAX }
            } else {
                Take::Denied {
                    wait_ns: ((cost - *tokens) / rate * 1e9).ceil() as u64,
                }
            }
        })
    }
}
