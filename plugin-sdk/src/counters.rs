//! The `counters` capability: token buckets the host keeps for this middleware, shared by all
//! its instances (see `interface counters` in the WIT).
//!
//! A plugin that calls [`take`] imports `counters`, and the gateway loads it only for a
//! middleware whose config grants `counters`; a plugin that never calls it does not import it.
//! Natively (unit tests) the buckets and counts live in the calling thread, so tests do not
//! share them.

use crate::Request;

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

/// Counts this request as one of at most `limit` requests in flight under `key`: `true` (and
/// counted) if fewer than `limit` were, else `false` (nothing counted). The host releases the
/// count when the request is done with — its response head ready, a failure, or the client
/// gone — so the plugin never does; call it once per key per request. Natively the count is
/// released by [`testing::release_in_flight`](crate::testing::release_in_flight).
pub fn acquire_in_flight(req: &mut Request<'_>, key: &str, limit: u32) -> bool {
    imp::acquire_in_flight(req.backend(), key, limit)
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn release_native(keys: Vec<String>) {
    imp::release(keys);
}

/// Natively: counts one under `key` if fewer than `limit` are counted (the host's rule).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn acquire_native(key: &str, limit: u32) -> bool {
    imp::acquire(key, limit)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Take;
    use crate::guest::wit::counters::{self, TakeResult};
    use crate::request::RequestRef;

    /// The host counts the request of the current hook call, which is `req`.
    pub(super) fn acquire_in_flight(_req: &mut RequestRef<'_>, key: &str, limit: u32) -> bool {
        counters::acquire_in_flight(key, limit)
    }

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
        static IN_FLIGHT: RefCell<HashMap<String, u32>> = RefCell::new(HashMap::new());
    }

    pub(super) fn acquire_in_flight(
        req: &mut &mut crate::testing::TestRequest,
        key: &str,
        limit: u32,
    ) -> bool {
        let counted = acquire(key, limit);
        if counted {
            req.in_flight.push(key.to_string());
        }
        counted
    }

    pub(super) fn acquire(key: &str, limit: u32) -> bool {
        IN_FLIGHT.with_borrow_mut(|counts| {
            let count = counts.entry(key.to_string()).or_insert(0);
            if *count >= limit {
                return false;
            }
            *count += 1;
            true
        })
    }

    pub(super) fn release(keys: Vec<String>) {
        IN_FLIGHT.with_borrow_mut(|counts| {
            for key in keys {
                if let Some(count) = counts.get_mut(&key) {
                    *count = count.saturating_sub(1);
                }
            }
        })
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
