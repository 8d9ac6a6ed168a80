//! The in-process backend of the `kv` capability: integer counters and byte values with an
//! optional time to live, one [`KvScope`] per configured middleware.
//!
//! Hot path: hash the key once (the hash picks the shard and finds the entry in it:
//! [`super::hashed_key`]), lock one of [`SHARDS`] small mutexes, read or update one entry in
//! place (no lock is shared by all keys; two calls contend only when their keys share a shard;
//! no allocation when a key already there is written again). Expiry is
//! lazy: an expired entry reads as absent and is dropped when touched, or by the sweep of its
//! shard when a new key finds the shard full. Memory is bounded by the contract's caps
//! (`plugin_contract::MAX_KV_*`), split evenly over the shards; live keys are never evicted: a
//! write of a new key into a shard still full after the sweep is refused ([`KvError::Full`]).
//!
//! Scopes are looked up by middleware name ([`kv_scope_for`]) and shared while any snapshot
//! holds them, so a reload keeps each middleware's keys.

use super::hashed_key::{Hashed, KeyHasher};
use super::named_scopes::{NamedScopes, live_scope};
use hashbrown::HashTable;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use plugin_contract::{
    MAX_KV_BYTES, MAX_KV_GET_MANY, MAX_KV_KEY_BYTES, MAX_KV_KEYS, MAX_KV_VALUE_BYTES,
};

/// Shards per scope: a power of two well above the core count.
pub const SHARDS: usize = 64;

/// Why a call changed nothing (the contract's `kv-error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    #[error("the key is empty or longer than {MAX_KV_KEY_BYTES} bytes")]
    InvalidKey,
    #[error("the value is longer than {MAX_KV_VALUE_BYTES} bytes")]
    ValueTooLarge,
    #[error("the middleware's kv store is full")]
    Full,
    #[error("the value is not a decimal integer, or the result is out of range")]
    NotAnInteger,
    /// The Redis backend (`redis_kv`) gave no answer; never from the in-process store.
    #[error("{0}")]
    Backend(Box<str>),
}

/// A stored value: counters stay integers (no text round trip per `increment`) and read as
/// decimal text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Int(i64),
    Bytes(Box<[u8]>),
}

impl Value {
    fn to_bytes(&self) -> Vec<u8> {
        match self {
            Value::Int(n) => n.to_string().into_bytes(),
            Value::Bytes(b) => b.to_vec(),
        }
    }

    fn size(&self) -> usize {
        match self {
            Value::Int(_) => 8,
            Value::Bytes(b) => b.len(),
        }
    }

    fn equals(&self, bytes: &[u8]) -> bool {
        match self {
            Value::Int(n) => n.to_string().as_bytes() == bytes,
            Value::Bytes(b) => **b == *bytes,
        }
    }

    fn as_int(&self) -> Result<i64, KvError> {
        match self {
            Value::Int(n) => Ok(*n),
            Value::Bytes(b) => std::str::from_utf8(b)
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or(KvError::NotAnInteger),
        }
    }
}

#[derive(Debug)]
struct Entry {
    value: Value,
    /// Nanoseconds (scope clock) after which the entry is gone; 0: never.
    expires: u64,
}

impl Entry {
    fn live(&self, now: u64) -> bool {
        self.expires == 0 || now < self.expires
    }
}

/// One shard's entries, in a table addressed by the scope's hash of the key ([`Hashed`]), the
/// same hash that chose the shard.
#[derive(Default)]
struct Shard {
    entries: HashTable<(Box<str>, Entry)>,
    /// Bytes of keys and values held.
    bytes: usize,
    /// No entry expires before this (scope clock), so a sweep before it finds nothing.
    next_expiry: u64,
}

/// Bytes an entry counts for: its key and its value.
fn footprint(key: &str, entry: &Entry) -> usize {
    key.len() + entry.value.size()
}

impl Shard {
    /// The live entry under `key`; an expired one is dropped on the way.
    fn live(&mut self, key: Hashed<'_>, now: u64) -> Option<&mut Entry> {
        match self.entries.find_entry(key.hash, key.is()) {
            Err(_) => None,
            Ok(found) if found.get().1.live(now) => Some(&mut found.into_mut().1),
            Ok(expired) => {
                let ((k, entry), _) = expired.remove();
                self.bytes -= footprint(&k, &entry);
                None
            }
        }
    }

    fn remove(&mut self, key: Hashed<'_>) -> Option<Entry> {
        let found = self.entries.find_entry(key.hash, key.is()).ok()?;
        let ((k, entry), _) = found.remove();
        self.bytes -= footprint(&k, &entry);
        Some(entry)
    }

    /// Drops every expired entry; remembers the next expiry so that a full shard of live keys
    /// is not swept again before one can have expired. Cost: one pass over the shard.
    fn sweep(&mut self, now: u64) {
        if now < self.next_expiry {
            return;
        }
        let mut freed = 0;
        let mut next = u64::MAX;
        self.entries.retain(|(key, entry)| {
            if entry.live(now) {
                if entry.expires != 0 {
                    next = next.min(entry.expires);
                }
                true
            } else {
                freed += footprint(key, entry);
                false
            }
        });
        self.bytes -= freed;
        self.next_expiry = next;
    }

    /// Whether `size` bytes of key and value under `key` fit the shard's caps, the key's
    /// current entry (which they replace) not counted.
    fn fits(&self, key: Hashed<'_>, size: usize, (max_keys, max_bytes): (usize, usize)) -> bool {
        let (keys, bytes) = match self.entries.find(key.hash, key.is()) {
            Some((k, entry)) => (self.entries.len() - 1, self.bytes - footprint(k, entry)),
            None => (self.entries.len(), self.bytes),
        };
        keys < max_keys && bytes + size <= max_bytes
    }

    /// Stores `value` under `key` (replacing any entry, in place), if the shard's caps allow
    /// it; a refused write changes nothing (but a sweep of expired entries). `rehash`: the
    /// scope's, for a table that regrows.
    fn put(
        &mut self,
        key: Hashed<'_>,
        value: Value,
        expires: u64,
        now: u64,
        caps: (usize, usize),
        rehash: impl Fn(&(Box<str>, Entry)) -> u64,
    ) -> Result<(), KvError> {
        let size = key.key.len() + value.size();
        if !self.fits(key, size, caps) {
            self.sweep(now);
            if !self.fits(key, size, caps) {
                return Err(KvError::Full);
            }
        }
        if expires != 0 {
            self.next_expiry = self.next_expiry.min(expires);
        }
        let entry = Entry { value, expires };
        match self.entries.find_mut(key.hash, key.is()) {
            Some((k, old)) => {
                self.bytes = self.bytes - footprint(k, old) + size;
                *old = entry;
            }
            None => {
                self.bytes += size;
                self.entries
                    .insert_unique(key.hash, (Box::from(key.key), entry), rehash);
            }
        }
        Ok(())
    }
}

/// One middleware's store.
pub struct KvScope {
    shards: Box<[Mutex<Shard>]>,
    hasher: KeyHasher,
    origin: Instant,
    /// Keys and bytes one shard may hold.
    per_shard: (usize, usize),
}

impl std::fmt::Debug for KvScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvScope")
            .field("max_keys", &(self.per_shard.0 * SHARDS))
            .finish_non_exhaustive()
    }
}

/// Two stores are equal when they are the same store.
impl PartialEq for KvScope {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Default for KvScope {
    fn default() -> Self {
        Self::with_caps(MAX_KV_KEYS, MAX_KV_BYTES)
    }
}

pub(super) fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() || key.len() > MAX_KV_KEY_BYTES {
        return Err(KvError::InvalidKey);
    }
    Ok(())
}

pub(super) fn check_value(value: &[u8]) -> Result<(), KvError> {
    if value.len() > MAX_KV_VALUE_BYTES {
        return Err(KvError::ValueTooLarge);
    }
    Ok(())
}

impl KvScope {
    /// A scope holding at most `max_keys` keys and `max_bytes` bytes of keys and values (each
    /// shard 1/[`SHARDS`] of both, rounded up).
    pub fn with_caps(max_keys: usize, max_bytes: usize) -> Self {
        KvScope {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: KeyHasher::default(),
            origin: Instant::now(),
            per_shard: (
                max_keys.div_ceil(SHARDS).max(1),
                max_bytes
                    .div_ceil(SHARDS)
                    .max(MAX_KV_KEY_BYTES + MAX_KV_VALUE_BYTES),
            ),
        }
    }

    /// `key` hashed, and its shard locked.
    fn shard<'k>(&self, key: &'k str) -> (Hashed<'k>, MutexGuard<'_, Shard>) {
        let key = self.hasher.hash(key);
        let shard = &self.shards[key.shard_index(SHARDS)];
        // A poisoned shard only means a panic elsewhere mid-update; the entries stay usable.
        (key, shard.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// [`Shard::put`] with this scope's caps and hasher.
    fn put(
        &self,
        shard: &mut Shard,
        key: Hashed<'_>,
        value: Value,
        expires: u64,
        now: u64,
    ) -> Result<(), KvError> {
        shard.put(
            key,
            value,
            expires,
            now,
            self.per_shard,
            self.hasher.rehash(),
        )
    }

    fn now(&self) -> u64 {
        // Never 0, so that 0 can mean "no expiry" without a clash.
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX) | 1
    }

    fn expiry(now: u64, ttl_ms: u64) -> u64 {
        if ttl_ms == 0 {
            0
        } else {
            now.saturating_add(ttl_ms.saturating_mul(1_000_000))
        }
    }

    /// Adds `delta` to the integer under `key`; an absent key counts as 0 and is created with
    /// `ttl_ms` (0: no expiry), an existing one keeps its expiry.
    pub fn increment(&self, key: &str, delta: i64, ttl_ms: u64) -> Result<i64, KvError> {
        self.increment_at(key, delta, ttl_ms, self.now())
    }

    fn increment_at(&self, key: &str, delta: i64, ttl_ms: u64, now: u64) -> Result<i64, KvError> {
        check_key(key)?;
        let (key, mut shard) = self.shard(key);
        let (sum, expires) = match shard.live(key, now) {
            Some(entry) => {
                let sum = entry
                    .value
                    .as_int()?
                    .checked_add(delta)
                    .ok_or(KvError::NotAnInteger)?;
                if let Value::Int(n) = &mut entry.value {
                    *n = sum;
                    return Ok(sum);
                }
                // A text value becomes an integer one (same expiry).
                (sum, entry.expires)
            }
            None => (delta, Self::expiry(now, ttl_ms)),
        };
        let value = Value::Int(sum);
        self.put(&mut shard, key, value, expires, now)?;
        Ok(sum)
    }

    /// The value under `key`, or `None` when absent or expired.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.get_at(key, self.now())
    }

    fn get_at(&self, key: &str, now: u64) -> Result<Option<Vec<u8>>, KvError> {
        check_key(key)?;
        let (key, mut shard) = self.shard(key);
        Ok(shard.live(key, now).map(|e| e.value.to_bytes()))
    }

    /// The values under `keys`, in order (at most `MAX_KV_GET_MANY` keys).
    pub fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
        if keys.len() > MAX_KV_GET_MANY {
            return Err(KvError::InvalidKey);
        }
        let now = self.now();
        keys.iter().map(|key| self.get_at(key, now)).collect()
    }

    /// Stores `value` under `key` with `ttl_ms` (0: no expiry), replacing value and expiry.
    pub fn set(&self, key: &str, value: &[u8], ttl_ms: u64) -> Result<(), KvError> {
        self.set_at(key, value, ttl_ms, self.now())
    }

    fn set_at(&self, key: &str, value: &[u8], ttl_ms: u64, now: u64) -> Result<(), KvError> {
        check_key(key)?;
        check_value(value)?;
        let expires = Self::expiry(now, ttl_ms);
        let value = Value::Bytes(value.into());
        let (key, mut shard) = self.shard(key);
        self.put(&mut shard, key, value, expires, now)
    }

    /// Stores `new` under `key` only if the live value there is `expected` (`None`: absent);
    /// true when stored. Atomic under the shard's lock.
    pub fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        ttl_ms: u64,
    ) -> Result<bool, KvError> {
        self.compare_and_swap_at(key, expected, new, ttl_ms, self.now())
    }

    fn compare_and_swap_at(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        ttl_ms: u64,
        now: u64,
    ) -> Result<bool, KvError> {
        check_key(key)?;
        check_value(new)?;
        let (key, mut shard) = self.shard(key);
        let matches = match (shard.live(key, now), expected) {
            (None, None) => true,
            (Some(entry), Some(expected)) => entry.value.equals(expected),
            _ => false,
        };
        if !matches {
            return Ok(false);
        }
        let expires = Self::expiry(now, ttl_ms);
        let new = Value::Bytes(new.into());
        self.put(&mut shard, key, new, expires, now)?;
        Ok(true)
    }

    /// Removes `key`; true when it held a live value.
    pub fn delete(&self, key: &str) -> Result<bool, KvError> {
        check_key(key)?;
        let now = self.now();
        let (key, mut shard) = self.shard(key);
        Ok(shard.remove(key).is_some_and(|e| e.live(now)))
    }

    /// Keys held now, expired ones not yet reclaimed included (tests).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).entries.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The store of middleware `name`: the one live scope of that name if a snapshot still holds
/// it (a reload keeps the keys), else a new one. Config time only.
pub fn kv_scope_for(name: &str) -> Arc<KvScope> {
    static SCOPES: NamedScopes<KvScope> = OnceLock::new();
    live_scope(&SCOPES, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn counters_count_from_zero_and_read_as_decimal_text() {
        let kv = KvScope::default();
        assert_eq!(kv.increment_at("n", 5, 0, 1), Ok(5));
        assert_eq!(kv.increment_at("n", -7, 0, 1), Ok(-2));
        assert_eq!(kv.get_at("n", 1), Ok(Some(b"-2".to_vec())));
        kv.set_at("t", b"40", 0, 1).unwrap();
        assert_eq!(kv.increment_at("t", 2, 0, 1), Ok(42));
        kv.set_at("x", b"forty", 0, 1).unwrap();
        assert_eq!(kv.increment_at("x", 1, 0, 1), Err(KvError::NotAnInteger));
        kv.set_at("max", i64::MAX.to_string().as_bytes(), 0, 1)
            .unwrap();
        assert_eq!(kv.increment_at("max", 1, 0, 1), Err(KvError::NotAnInteger));
        assert_eq!(kv.get_at("x", 1), Ok(Some(b"forty".to_vec())));
    }

    #[test]
    fn a_ttl_expires_the_key_and_increment_keeps_the_first_expiry() {
        let kv = KvScope::default();
        assert_eq!(kv.increment_at("w", 1, 10, 1), Ok(1));
        // A later increment with another TTL does not move the window's end.
        assert_eq!(kv.increment_at("w", 1, 1000, 5 * MS), Ok(2));
        assert_eq!(kv.get_at("w", 10 * MS), Ok(Some(b"2".to_vec())));
        assert_eq!(kv.get_at("w", 10 * MS + 1), Ok(None));
        // Expired: counts from zero again, with the new TTL.
        assert_eq!(kv.increment_at("w", 1, 1000, 11 * MS), Ok(1));
        kv.set_at("s", b"v", 1, 1).unwrap();
        assert_eq!(kv.get_at("s", MS), Ok(Some(b"v".to_vec())));
        assert_eq!(kv.get_at("s", MS + 1), Ok(None));
        // TTL 0: never expires.
        kv.set_at("forever", b"v", 0, 1).unwrap();
        assert_eq!(kv.get_at("forever", u64::MAX - 1), Ok(Some(b"v".to_vec())));
        // An expired key is absent for compare-and-swap.
        kv.set_at("c", b"old", 1, 1).unwrap();
        assert_eq!(
            kv.compare_and_swap_at("c", None, b"new", 0, 2 * MS),
            Ok(true)
        );
        assert!(!kv.delete("nothing").unwrap());
        assert!(kv.delete("c").unwrap());
    }

    #[test]
    fn compare_and_swap_races_have_exactly_one_winner_per_value() {
        let kv = Arc::new(KvScope::default());
        kv.set("v", b"0", 0).unwrap();
        // 8 threads each add 1000 by read + CAS retry loops: no update is lost.
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let kv = kv.clone();
                std::thread::spawn(move || {
                    let mut wins = 0;
                    while wins < 1000 {
                        let old = kv.get("v").unwrap().unwrap();
                        let n: u64 = std::str::from_utf8(&old).unwrap().parse().unwrap();
                        let new = (n + 1).to_string();
                        if kv
                            .compare_and_swap("v", Some(&old), new.as_bytes(), 0)
                            .unwrap()
                        {
                            wins += 1;
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(kv.get("v").unwrap(), Some(b"8000".to_vec()));
        // Creating a key that is absent: one winner among many.
        let winners: usize = (0..8)
            .map(|i| {
                let kv = kv.clone();
                std::thread::spawn(move || {
                    usize::from(kv.compare_and_swap("once", None, &[i], 0).unwrap())
                })
            })
            .map(|t| t.join().unwrap())
            .sum();
        assert_eq!(winners, 1);
    }

    #[test]
    fn increments_from_many_threads_are_not_lost() {
        let kv = Arc::new(KvScope::default());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let kv = kv.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        kv.increment("n", 1, 0).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(kv.increment("n", 0, 0), Ok(80_000));
    }

    #[test]
    fn keys_and_values_are_capped_and_a_full_store_keeps_its_live_keys() {
        let kv = KvScope::with_caps(SHARDS * 4, usize::MAX / 2);
        assert_eq!(kv.set("", b"v", 0), Err(KvError::InvalidKey));
        let long = "k".repeat(MAX_KV_KEY_BYTES + 1);
        assert_eq!(kv.get(&long), Err(KvError::InvalidKey));
        let big = vec![0; MAX_KV_VALUE_BYTES + 1];
        assert_eq!(kv.set("k", &big, 0), Err(KvError::ValueTooLarge));
        assert_eq!(kv.set("k", &big[1..], 0), Ok(()));
        let too_many = vec!["k".to_string(); MAX_KV_GET_MANY + 1];
        assert_eq!(kv.get_many(&too_many), Err(KvError::InvalidKey));
        // A flood of live keys: refused once full, never more than the cap held.
        let mut refused = 0;
        for i in 0..10_000 {
            match kv.set_at(&format!("k{i}"), b"v", 0, 1) {
                Ok(()) => {}
                Err(KvError::Full) => refused += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(kv.len() <= SHARDS * 4, "{} keys", kv.len());
        assert!(refused >= 10_000 - SHARDS * 4);
        // The first key is still there: nothing live was evicted.
        assert_eq!(kv.get_at("k0", 2), Ok(Some(b"v".to_vec())));
        // Keys with a TTL make room once expired.
        let kv = KvScope::with_caps(SHARDS, usize::MAX / 2);
        for i in 0..1000 {
            let _ = kv.set_at(&format!("e{i}"), b"v", 1, 1);
        }
        let held = kv.len();
        let ok = (0..1000)
            .filter(|i| kv.set_at(&format!("f{i}"), b"v", 0, 2 * MS).is_ok())
            .count();
        assert!(ok >= held, "{ok} new keys after {held} expired");
        assert!(kv.len() <= SHARDS);
        // Bytes are capped too.
        let kv = KvScope::with_caps(MAX_KV_KEYS, 0);
        let value = vec![7; MAX_KV_VALUE_BYTES];
        let stored = (0..100)
            .filter(|i| kv.set(&format!("b{i}"), &value, 0).is_ok())
            .count();
        assert!((1..100).contains(&stored), "{stored}");
    }

    /// A key other than `key` that lands in `key`'s shard of `kv`.
    fn neighbour_in(kv: &KvScope, key: &str) -> String {
        let shard = kv.hasher.hash(key).shard_index(SHARDS);
        (0..)
            .map(|i| format!("o{i}"))
            .find(|o| kv.hasher.hash(o).shard_index(SHARDS) == shard)
            .unwrap_or_default()
    }

    /// Bytes of keys and values the scope's shards account for.
    fn bytes_held(kv: &KvScope) -> usize {
        kv.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).bytes)
            .sum()
    }

    #[test]
    fn every_key_finds_its_entry_after_the_tables_grow() {
        // The tables regrow several times on the way to 5000 keys: a regrow that rehashed with
        // another hasher than the look-ups would lose keys.
        let kv = KvScope::default();
        for i in 0..5000u64 {
            kv.set_at(&format!("k{i}"), i.to_string().as_bytes(), 0, 1)
                .unwrap();
        }
        assert_eq!(kv.len(), 5000);
        for i in 0..5000u64 {
            let want = i.to_string().into_bytes();
            assert_eq!(kv.get_at(&format!("k{i}"), 1), Ok(Some(want)), "k{i}");
            assert_eq!(kv.increment_at(&format!("k{i}"), 1, 0, 1), Ok(i as i64 + 1));
        }
        assert_eq!(kv.len(), 5000);
    }

    #[test]
    fn writing_a_key_again_replaces_it_in_place_and_keeps_the_byte_count() {
        // Two keys a shard: "k" and another key of its shard fill it, and the full shard still
        // takes new values for "k". (Keys are placed by the scope's random hash: the test picks
        // the ones it needs by asking it.)
        let kv = KvScope::with_caps(SHARDS * 2, SHARDS * 64);
        let neighbour = neighbour_in(&kv, "k");
        let shard_of = |key: &str| kv.hasher.hash(key).shard_index(SHARDS);
        let elsewhere = (0..)
            .map(|i| format!("e{i}"))
            .find(|e| shard_of(e) != shard_of("k"))
            .unwrap_or_default();
        kv.set_at(&neighbour, b"n", 0, 1).unwrap();
        let base = neighbour.len() + 1;
        for (i, value) in [&b"v"[..], b"longer value", b"", b"x"]
            .into_iter()
            .enumerate()
        {
            kv.set_at("k", value, 0, 1).unwrap();
            assert_eq!(kv.len(), 2, "write {i}");
            assert_eq!(bytes_held(&kv), base + 1 + value.len(), "write {i}");
        }
        assert_eq!(kv.increment_at(&elsewhere, 5, 0, 1), Ok(5));
        assert_eq!(kv.increment_at(&elsewhere, 5, 0, 1), Ok(10));
        assert_eq!(bytes_held(&kv), base + 1 + 1 + elsewhere.len() + 8);
        for key in ["k", neighbour.as_str(), elsewhere.as_str()] {
            assert!(kv.delete(key).unwrap(), "{key}");
        }
        assert_eq!((kv.len(), bytes_held(&kv)), (0, 0));
        // A new value that the shard's bytes cannot hold beside its neighbour's is refused,
        // and the old value stays (each shard holds one largest key and value).
        let kv = KvScope::with_caps(SHARDS * 4, 0);
        let largest = vec![7; MAX_KV_VALUE_BYTES];
        kv.set_at(&neighbour_in(&kv, "k"), &largest, 0, 1).unwrap();
        kv.set_at("k", b"small", 0, 1).unwrap();
        let held = bytes_held(&kv);
        assert_eq!(kv.set_at("k", &largest, 0, 1), Err(KvError::Full));
        assert_eq!(kv.get_at("k", 1), Ok(Some(b"small".to_vec())));
        assert_eq!((kv.len(), bytes_held(&kv)), (2, held));
    }

    #[test]
    fn a_middleware_name_keeps_its_store_while_held() {
        let a = kv_scope_for("kv-test-mw");
        a.set("k", b"v", 0).unwrap();
        assert_eq!(kv_scope_for("kv-test-mw").get("k"), Ok(Some(b"v".to_vec())));
        assert!(!Arc::ptr_eq(&a, &kv_scope_for("kv-test-other")));
    }
}
