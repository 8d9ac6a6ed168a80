//! The `kv` capability: a small key-value store the host keeps for this middleware, shared by
//! all its instances — integer counters ([`increment`]) and byte values ([`get`], [`set`],
//! [`compare_and_swap`]), each with an optional time to live (see `interface kv` in the WIT).
//!
//! A plugin that calls any of these imports `kv`, and the gateway loads it only for a middleware
//! whose config grants `kv` (`capabilities: [kv]`); a plugin that never calls it does not import
//! it. Any hook may call it, `on_complete` included. Cost: one host call, one short lock of one
//! of the host's 64 shards.
//!
//! Caps (the host's, per middleware): keys of 1 to [`MAX_KEY_BYTES`] bytes, values of at most
//! [`MAX_VALUE_BYTES`], at most [`MAX_KEYS`] keys and [`MAX_BYTES`] bytes in all; a write of a
//! new key when full is refused with [`KvError::Full`] (live keys are never evicted).
//!
//! Natively (unit tests) the store lives in the calling thread, with the host's semantics, so
//! tests do not share it; [`testing::clear_kv`](crate::testing::clear_kv) empties it.
//!
//! ```ignore
//! // Requests per client in fixed one-minute windows.
//! let window = plugin_sdk::monotonic_now() / 60_000_000_000;
//! let n = kv::increment(&format!("{client}/{window}"), 1, Duration::from_secs(60))?;
//! ```

use std::time::Duration;

pub use plugin_contract::{
    MAX_KV_BYTES as MAX_BYTES, MAX_KV_GET_MANY as MAX_GET_MANY, MAX_KV_KEY_BYTES as MAX_KEY_BYTES,
    MAX_KV_KEYS as MAX_KEYS, MAX_KV_VALUE_BYTES as MAX_VALUE_BYTES,
};

/// Why a call changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvError {
    /// The key is empty or longer than [`MAX_KEY_BYTES`] (or more than [`MAX_GET_MANY`] keys
    /// were asked at once).
    InvalidKey,
    /// The value is longer than [`MAX_VALUE_BYTES`].
    ValueTooLarge,
    /// The middleware's store is at its cap and nothing in it has expired.
    Full,
    /// [`increment`] of a value that is not a decimal `i64`, or a result out of range.
    NotAnInteger,
    /// The backend failed.
    Backend(String),
}

impl std::fmt::Display for KvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KvError::InvalidKey => write!(f, "kv: invalid key"),
            KvError::ValueTooLarge => write!(f, "kv: value too large"),
            KvError::Full => write!(f, "kv: store full"),
            KvError::NotAnInteger => write!(f, "kv: not an integer"),
            KvError::Backend(why) => write!(f, "kv: {why}"),
        }
    }
}

impl std::error::Error for KvError {}

/// A time to live in the host's milliseconds (`Duration::ZERO`: no expiry; a nonzero duration
/// under a millisecond counts as one).
fn ttl_ms(ttl: Duration) -> u64 {
    if ttl.is_zero() {
        return 0;
    }
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Adds `delta` (negative to subtract) to the counter `key` and returns its new value. An absent
/// or expired key counts as 0 and is created with time to live `ttl` (`Duration::ZERO`: none);
/// an existing key keeps its expiry, so a counter created with a TTL is a fixed window.
pub fn increment(key: &str, delta: i64, ttl: Duration) -> Result<i64, KvError> {
    imp::increment(key, delta, ttl_ms(ttl))
}

/// The value under `key` (counters read as decimal text), `None` when absent or expired.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, KvError> {
    imp::get(key)
}

/// The values under `keys`, in order, in one host call (at most [`MAX_GET_MANY`] keys).
pub fn get_many(keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
    imp::get_many(keys)
}

/// The counter under `key` (0 when absent, expired or not a decimal integer).
pub fn get_counter(key: &str) -> Result<i64, KvError> {
    Ok(parse_counter(get(key)?.as_deref()))
}

/// A value read by [`get`] / [`get_many`] as a counter: 0 when absent or not a decimal integer.
pub fn parse_counter(value: Option<&[u8]>) -> i64 {
    value
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

/// Stores `value` under `key` with time to live `ttl` (`Duration::ZERO`: none), replacing any
/// value and expiry.
pub fn set(key: &str, value: &[u8], ttl: Duration) -> Result<(), KvError> {
    imp::set(key, value, ttl_ms(ttl))
}

/// Stores `new` under `key` (time to live `ttl`) only if the value there is `expected` (`None`:
/// absent or expired); `true` when stored. Of two instances swapping the same `expected`,
/// exactly one wins.
pub fn compare_and_swap(
    key: &str,
    expected: Option<&[u8]>,
    new: &[u8],
    ttl: Duration,
) -> Result<bool, KvError> {
    imp::compare_and_swap(key, expected, new, ttl_ms(ttl))
}

/// Removes `key`; `true` when it held a live value.
pub fn delete(key: &str) -> Result<bool, KvError> {
    imp::delete(key)
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn clear_native() {
    imp::clear();
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::KvError;
    use crate::guest::wit::kv::{self, KvError as Wit};

    fn from_wit(e: Wit) -> KvError {
        match e {
            Wit::InvalidKey => KvError::InvalidKey,
            Wit::ValueTooLarge => KvError::ValueTooLarge,
            Wit::Full => KvError::Full,
            Wit::NotAnInteger => KvError::NotAnInteger,
            Wit::Backend(why) => KvError::Backend(why),
        }
    }

    pub(super) fn increment(key: &str, delta: i64, ttl_ms: u64) -> Result<i64, KvError> {
        kv::increment(key, delta, ttl_ms).map_err(from_wit)
    }

    pub(super) fn get(key: &str) -> Result<Option<Vec<u8>>, KvError> {
        kv::get(key).map_err(from_wit)
    }

    pub(super) fn get_many(keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
        kv::get_many(keys).map_err(from_wit)
    }

    pub(super) fn set(key: &str, value: &[u8], ttl_ms: u64) -> Result<(), KvError> {
        kv::set(key, value, ttl_ms).map_err(from_wit)
    }

    pub(super) fn compare_and_swap(
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        ttl_ms: u64,
    ) -> Result<bool, KvError> {
        kv::compare_and_swap(key, expected, new, ttl_ms).map_err(from_wit)
    }

    pub(super) fn delete(key: &str) -> Result<bool, KvError> {
        kv::delete(key).map_err(from_wit)
    }
}

/// The host's semantics on the calling thread's map (key and value caps checked; the key-count
/// cap is not: tests are small).
#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{KvError, MAX_GET_MANY, MAX_KEY_BYTES, MAX_VALUE_BYTES};
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// Value and expiry (monotonic nanoseconds; 0: never).
    type Entry = (Vec<u8>, u64);

    thread_local! {
        static STORE: RefCell<HashMap<String, Entry>> = RefCell::new(HashMap::new());
    }

    pub(super) fn clear() {
        STORE.with_borrow_mut(HashMap::clear);
    }

    fn check(key: &str, value: &[u8]) -> Result<(), KvError> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(KvError::InvalidKey);
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(KvError::ValueTooLarge);
        }
        Ok(())
    }

    fn expiry(ttl_ms: u64) -> u64 {
        if ttl_ms == 0 {
            0
        } else {
            crate::monotonic_now().saturating_add(ttl_ms.saturating_mul(1_000_000))
        }
    }

    /// The live entry under `key` (an expired one is dropped).
    fn live(store: &mut HashMap<String, Entry>, key: &str) -> Option<Entry> {
        let now = crate::monotonic_now();
        match store.get(key) {
            Some((_, expires)) if *expires != 0 && now >= *expires => {
                store.remove(key);
                None
            }
            other => other.cloned(),
        }
    }

    pub(super) fn increment(key: &str, delta: i64, ttl_ms: u64) -> Result<i64, KvError> {
        check(key, &[])?;
        STORE.with_borrow_mut(|store| {
            let (sum, expires) = match live(store, key) {
                Some((value, expires)) => {
                    let n: i64 = std::str::from_utf8(&value)
                        .ok()
                        .and_then(|t| t.parse().ok())
                        .ok_or(KvError::NotAnInteger)?;
                    (n.checked_add(delta).ok_or(KvError::NotAnInteger)?, expires)
                }
                None => (delta, expiry(ttl_ms)),
            };
            store.insert(key.to_string(), (sum.to_string().into_bytes(), expires));
            Ok(sum)
        })
    }

    pub(super) fn get(key: &str) -> Result<Option<Vec<u8>>, KvError> {
        check(key, &[])?;
        Ok(STORE.with_borrow_mut(|store| live(store, key).map(|(v, _)| v)))
    }

    pub(super) fn get_many(keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
        if keys.len() > MAX_GET_MANY {
            return Err(KvError::InvalidKey);
        }
        keys.iter().map(|k| get(k)).collect()
    }

    pub(super) fn set(key: &str, value: &[u8], ttl_ms: u64) -> Result<(), KvError> {
        check(key, value)?;
        STORE.with_borrow_mut(|store| {
            store.insert(key.to_string(), (value.to_vec(), expiry(ttl_ms)));
        });
        Ok(())
    }

    pub(super) fn compare_and_swap(
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        ttl_ms: u64,
    ) -> Result<bool, KvError> {
        check(key, new)?;
        STORE.with_borrow_mut(|store| {
            let current = live(store, key);
            if current.as_ref().map(|(v, _)| v.as_slice()) != expected {
                return Ok(false);
            }
            store.insert(key.to_string(), (new.to_vec(), expiry(ttl_ms)));
            Ok(true)
        })
    }

    pub(super) fn delete(key: &str) -> Result<bool, KvError> {
        check(key, &[])?;
        Ok(
            STORE
                .with_borrow_mut(|store| live(store, key).is_some() && store.remove(key).is_some()),
        )
    }
}
