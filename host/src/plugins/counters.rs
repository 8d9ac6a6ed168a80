//! The in-process backend of the `counters` capability: token buckets keyed by string, one
//! [`CounterScope`] per configured middleware.
//!
//! Hot path: hash the key once (the hash picks the shard and finds the bucket in it:
//! [`super::hashed_key`]), lock one of [`SHARDS`] small mutexes, update one bucket (no
//! allocation once the key exists). Two requests contend only when their keys share a shard.
//! Each scope holds at most [`MAX_KEYS`] keys: a shard over its share first drops the buckets
//! that have refilled (indistinguishable from a fresh one, so nothing is lost), then, under a
//! flood of distinct keys, the least recently used ones, so memory stays bounded.
//!
//! Scopes are looked up by middleware name ([`scope_for`]) and shared while any snapshot holds
//! them, so a reload keeps each middleware's buckets.

use super::hashed_key::{Hashed, KeyHasher};
use super::named_scopes::{NamedScopes, live_scope};
use hashbrown::HashTable;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// Shards per scope: a power of two well above the core count.
pub const SHARDS: usize = 64;

/// Keys one middleware may hold (Traefik's rateLimit keeps 65536 sources).
pub const MAX_KEYS: usize = 65536;

/// What a `take` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    Allowed,
    /// Nanoseconds until the bucket holds the cost (`u64::MAX`: never).
    Denied(u64),
}

/// What a [`CounterScope::reserve`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Taken; go on now.
    Now,
    /// Taken ahead of the refill: go on after this many nanoseconds.
    After(u64),
    /// Nothing taken: nanoseconds until the bucket holds the cost (`u64::MAX`: never).
    Denied(u64),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    /// Nanoseconds since the scope's origin at the last update.
    at: u64,
}

/// One shard's keys, in tables addressed by the scope's hash of the key ([`Hashed`]), the
/// same hash that chose the shard: a key is hashed once per use (SipHash, keyed per scope, so
/// a client cannot aim keys at one slot).
#[derive(Default)]
struct Shard {
    buckets: HashTable<(Box<str>, Bucket)>,
    /// Requests in flight by key; a key is present only while its count is above 0, so the
    /// table is bounded by the requests in flight.
    in_flight: HashTable<(Box<str>, u32)>,
}

/// One request counted in flight under a key of a scope; dropping it releases the count
/// (exactly once: it is not `Clone`). The request head holds it, so a request that ends in any
/// way (response head ready, failure, client gone) releases it.
#[derive(Debug)]
pub struct InFlightLease {
    scope: Arc<CounterScope>,
    key: Box<str>,
}

impl Drop for InFlightLease {
    fn drop(&mut self) {
        let (key, mut shard) = self.scope.shard(&self.key);
        if let Ok(mut entry) = shard.in_flight.find_entry(key.hash, key.is()) {
            entry.get_mut().1 -= 1;
            if entry.get().1 == 0 {
                entry.remove();
            }
        }
    }
}

/// One middleware's counters.
pub struct CounterScope {
    shards: Box<[Mutex<Shard>]>,
    hasher: KeyHasher,
    origin: Instant,
    per_shard: usize,
}

impl std::fmt::Debug for CounterScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterScope")
            .field("max_keys", &(self.per_shard * SHARDS))
            .finish_non_exhaustive()
    }
}

/// Two scopes are equal when they are the same scope.
impl PartialEq for CounterScope {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Default for CounterScope {
    fn default() -> Self {
        Self::with_capacity(MAX_KEYS)
    }
}

impl CounterScope {
    /// A scope holding at most `max_keys` keys (rounded up to a multiple of [`SHARDS`]).
    pub fn with_capacity(max_keys: usize) -> Self {
        CounterScope {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: KeyHasher::default(),
            origin: Instant::now(),
            per_shard: max_keys.div_ceil(SHARDS).max(1),
        }
    }

    /// `key` hashed, and its shard locked.
    fn shard<'k>(&self, key: &'k str) -> (Hashed<'k>, std::sync::MutexGuard<'_, Shard>) {
        let key = self.hasher.hash(key);
        let shard = &self.shards[key.shard_index(SHARDS)];
        // A poisoned shard only means a panic elsewhere mid-update; the counts stay usable.
        (key, shard.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Counts one request in flight under `key` if fewer than `limit` are; the lease releases it.
    pub fn acquire_in_flight(self: &Arc<Self>, key: &str, limit: u32) -> Option<InFlightLease> {
        let (hashed, mut shard) = self.shard(key);
        match shard.in_flight.find_mut(hashed.hash, hashed.is()) {
            Some((_, count)) if *count >= limit => return None,
            Some((_, count)) => *count += 1,
            None if limit == 0 => return None,
            None => {
                shard.in_flight.insert_unique(
                    hashed.hash,
                    (Box::from(key), 1),
                    self.hasher.rehash(),
                );
            }
        }
        Some(InFlightLease {
            scope: self.clone(),
            key: Box::from(key),
        })
    }

    /// Requests counted in flight under `key` now.
    pub fn in_flight(&self, key: &str) -> u32 {
        let (hashed, shard) = self.shard(key);
        shard
            .in_flight
            .find(hashed.hash, hashed.is())
            .map_or(0, |(_, count)| *count)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Takes `cost` tokens from bucket `key` (rate tokens a second, at most `burst`, starts
    /// full) if it holds them. A rate that is not above 0 means no limit.
    pub fn take(&self, key: &str, cost: u32, rate: f64, burst: u32) -> Take {
        self.take_at(key, cost, rate, burst, self.now())
    }

    fn take_at(&self, key: &str, cost: u32, rate: f64, burst: u32, now: u64) -> Take {
        match self.reserve_at(key, cost, rate, burst, 0, now) {
            Reservation::Now | Reservation::After(_) => Take::Allowed,
            Reservation::Denied(wait) => Take::Denied(wait),
        }
    }

    /// As [`take`](Self::take), but when the bucket will hold `cost` tokens within
    /// `max_wait_ns`, takes them now (the bucket goes below zero, so later takes wait behind
    /// this one, as Go's `rate.Limiter::Reserve`) and answers how long the caller must wait
    /// before acting on them. Traefik's `rateLimit` semantics (`maxDelay`). Same cost as `take`.
    pub fn reserve(
        &self,
        key: &str,
        cost: u32,
        rate: f64,
        burst: u32,
        max_wait_ns: u64,
    ) -> Reservation {
        self.reserve_at(key, cost, rate, burst, max_wait_ns, self.now())
    }

    fn reserve_at(
        &self,
        key: &str,
        cost: u32,
        rate: f64,
        burst: u32,
        max_wait_ns: u64,
        now: u64,
    ) -> Reservation {
        if rate.is_nan() || rate <= 0.0 {
            return Reservation::Now;
        }
        let (cost, burst) = (f64::from(cost), f64::from(burst));
        let (hashed, mut guard) = self.shard(key);
        let shard = &mut *guard;
        let bucket = match shard.buckets.find_mut(hashed.hash, hashed.is()) {
            Some((_, bucket)) => {
                let elapsed = now.saturating_sub(bucket.at) as f64 / 1e9;
                bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
                bucket.at = now;
                bucket
            }
            None => {
                if shard.buckets.len() >= self.per_shard {
                    shard.evict(self.per_shard, now, rate, burst);
                }
                let fresh = Bucket {
                    tokens: burst,
                    at: now,
                };
                &mut shard
                    .buckets
                    .insert_unique(hashed.hash, (Box::from(key), fresh), self.hasher.rehash())
                    .into_mut()
                    .1
            }
        };
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            return Reservation::Now;
        }
        if cost > burst {
            return Reservation::Denied(u64::MAX);
        }
        let wait = (cost - bucket.tokens) / rate * 1e9;
        let wait = if wait >= u64::MAX as f64 {
            u64::MAX
        } else {
            wait.ceil() as u64
        };
        if wait <= max_wait_ns {
            bucket.tokens -= cost;
            Reservation::After(wait)
        } else {
            Reservation::Denied(wait)
        }
    }

    /// Keys held now (tests).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).buckets.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Shard {
    /// Brings a full shard down to 7/8 of `cap`: refilled buckets first (lossless), then the
    /// least recently used. Amortised: runs once per `cap / 8` new keys at most.
    fn evict(&mut self, cap: usize, now: u64, rate: f64, burst: f64) {
        let target = cap - cap / 8;
        self.buckets.retain(|(_, b)| {
            let elapsed = now.saturating_sub(b.at) as f64 / 1e9;
            b.tokens + elapsed * rate < burst
        });
        if self.buckets.len() <= target {
            return;
        }
        let mut ages: Vec<u64> = self.buckets.iter().map(|(_, b)| b.at).collect();
        let excess = self.buckets.len() - target;
        let (_, cutoff, _) = ages.select_nth_unstable(excess - 1);
        let cutoff = *cutoff;
        let mut removed = 0;
        self.buckets.retain(|(_, b)| {
            if removed < excess && b.at <= cutoff {
                removed += 1;
                false
            } else {
                true
            }
        });
    }
}

/// The scope of middleware `name`: the one live scope of that name if a snapshot still holds
/// it (a reload keeps the buckets), else a new one. Config time only.
pub fn scope_for(name: &str) -> Arc<CounterScope> {
    static SCOPES: NamedScopes<CounterScope> = OnceLock::new();
    live_scope(&SCOPES, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn a_bucket_starts_full_and_refills_at_the_rate() {
        let scope = CounterScope::default();
        for _ in 0..50 {
            assert_eq!(scope.take_at("a", 1, 100.0, 50, 0), Take::Allowed);
        }
        assert_eq!(scope.take_at("a", 1, 100.0, 50, 0), Take::Denied(SEC / 100));
        // 100 ms later: 10 tokens.
        let admitted = (0..20)
            .filter(|_| scope.take_at("a", 1, 100.0, 50, SEC / 10) == Take::Allowed)
            .count();
        assert_eq!(admitted, 10);
        // Never above burst.
        let admitted = (0..100)
            .filter(|_| scope.take_at("a", 1, 100.0, 50, 100 * SEC) == Take::Allowed)
            .count();
        assert_eq!(admitted, 50);
    }

    #[test]
    fn a_reservation_waits_for_a_close_token_and_later_takes_queue_behind_it() {
        let scope = CounterScope::default();
        // 1 token a second, burst 1, waits of up to 500 ms accepted.
        let max = SEC / 2;
        assert_eq!(scope.reserve_at("a", 1, 1.0, 1, max, 0), Reservation::Now);
        // 600 ms later the token is 400 ms away: reserved.
        assert_eq!(
            scope.reserve_at("a", 1, 1.0, 1, max, 6 * SEC / 10),
            Reservation::After(4 * SEC / 10)
        );
        // Right after, the next token is 1.4 s away (behind the reservation): refused, and
        // nothing taken.
        assert_eq!(
            scope.reserve_at("a", 1, 1.0, 1, max, 6 * SEC / 10),
            Reservation::Denied(14 * SEC / 10)
        );
        assert_eq!(
            scope.reserve_at("a", 1, 1.0, 1, max, 16 * SEC / 10),
            Reservation::After(4 * SEC / 10)
        );
        // `take` never waits.
        assert_eq!(scope.take_at("b", 1, 1.0, 1, 0), Take::Allowed);
        assert_eq!(
            scope.take_at("b", 1, 1.0, 1, 6 * SEC / 10),
            Take::Denied(4 * SEC / 10)
        );
    }

    #[test]
    fn keys_are_independent_and_rate_zero_is_no_limit() {
        let scope = CounterScope::default();
        assert_eq!(scope.take_at("a", 1, 1.0, 1, 0), Take::Allowed);
        assert!(matches!(scope.take_at("a", 1, 1.0, 1, 0), Take::Denied(_)));
        assert_eq!(scope.take_at("b", 1, 1.0, 1, 0), Take::Allowed);
        for _ in 0..1000 {
            assert_eq!(scope.take_at("a", 1, 0.0, 1, 0), Take::Allowed);
        }
        assert_eq!(scope.take_at("c", 2, 1.0, 1, 0), Take::Denied(u64::MAX));
    }

    #[test]
    fn a_flood_of_distinct_keys_stays_bounded() {
        let scope = CounterScope::with_capacity(1024);
        for i in 0..100_000u64 {
            scope.take_at(&format!("k{i}"), 1, 1.0, 10, i);
        }
        assert!(scope.len() <= 1024, "{} keys held", scope.len());
        // A key used just now survives the eviction of older ones.
        scope.take_at("hot", 1, 1.0, 10, 200_000);
        for i in 0..200u64 {
            scope.take_at(&format!("n{i}"), 1, 1.0, 10, 200_001 + i);
        }
        assert!(matches!(
            scope.take_at("hot", 10, 1.0, 10, 200_500),
            Take::Denied(_)
        ));
    }

    /// Each key is hashed once and its hash kept for the table: a table that regrows rehashes
    /// with the same keyed hasher, so every key still finds its own bucket afterwards.
    #[test]
    fn every_key_finds_its_bucket_after_the_tables_grow() {
        let scope = CounterScope::default();
        // 1 token a second, burst 1: a key's second take within the same instant is refused
        // only if the first take's bucket is found again.
        for i in 0..5000u64 {
            assert_eq!(scope.take_at(&format!("k{i}"), 1, 1.0, 1, 0), Take::Allowed);
        }
        assert_eq!(scope.len(), 5000);
        for i in 0..5000u64 {
            assert!(
                matches!(
                    scope.take_at(&format!("k{i}"), 1, 1.0, 1, 0),
                    Take::Denied(_)
                ),
                "k{i} lost its bucket"
            );
        }
        // The same for the in-flight counts.
        let scope = Arc::new(scope);
        let leases: Vec<_> = (0..2000u64)
            .map(|i| scope.acquire_in_flight(&format!("f{i}"), 1).expect("first"))
            .collect();
        for i in 0..2000u64 {
            assert!(
                scope.acquire_in_flight(&format!("f{i}"), 1).is_none(),
                "f{i}"
            );
        }
        drop(leases);
        assert!((0..2000u64).all(|i| scope.in_flight(&format!("f{i}")) == 0));
    }

    #[test]
    fn in_flight_counts_are_bounded_and_released_by_dropping_the_lease() {
        let scope = Arc::new(CounterScope::default());
        let leases: Vec<_> = (0..4)
            .map(|_| scope.acquire_in_flight("h", 4).expect("under the limit"))
            .collect();
        assert!(scope.acquire_in_flight("h", 4).is_none());
        assert!(scope.acquire_in_flight("other", 4).is_some());
        assert_eq!(scope.in_flight("h"), 4);
        drop(leases);
        assert_eq!(scope.in_flight("h"), 0);
        assert!(scope.acquire_in_flight("h", 0).is_none());
        // Released keys leave nothing behind.
        assert!(
            scope
                .shards
                .iter()
                .all(|s| s.lock().unwrap().in_flight.is_empty())
        );
    }

    #[test]
    fn a_middleware_name_keeps_its_scope_while_held() {
        let a = scope_for("counters-test-mw");
        a.take("k", 1, 1.0, 1);
        let again = scope_for("counters-test-mw");
        assert!(Arc::ptr_eq(&a, &again));
        assert!(!Arc::ptr_eq(&a, &scope_for("counters-test-other")));
    }
}
