//! Recent password verifications, per instance, so that a slow hash (bcrypt) is paid once per
//! user and minute rather than once per request: the gateway's answer to "password checks must
//! not be a denial-of-service lever".
//!
//! - A successful verification is remembered per user (so per (user, stored hash): a user has one
//!   hash per config) for [`TTL_NANOS`]: a later request with the same password costs one keyed
//!   128-bit digest of the credentials and a constant-time comparison instead of the hash
//!   function.
//! - A failed one is remembered too, per (user, password), so that a client retrying the same
//!   wrong credentials in a loop costs as little; distinct wrong passwords still each pay the
//!   hash, as anywhere.
//! - Passwords are never stored: entries hold a keyed digest of the decoded `user:password`
//!   (SipHash-2-4 under two independent keys, see [`crate::siphash`]), with a 256-bit key drawn
//!   from WASI random numbers when the instance starts. Without the key nobody can predict or
//!   collide a digest, so a wrong password matches a remembered one with probability 2^-128; with
//!   the key (read out of the instance's memory), a digest is as easy to brute-force as with
//!   the keyed SHA-256 this replaced (both are fast hashes), which cost ~0.7 µs per request
//!   instead of ~0.05 µs.
//! - Both maps are bounded ([`MAX_ENTRIES`] each): inserting into a full map drops expired
//!   entries, then the one closest to expiry.
//!
//! The cache lives in the instance: `pooled` mode (the default) keeps it warm across requests;
//! `per-request` mode starts every request cold.

use std::cell::RefCell;
use std::collections::HashMap;

use subtle::ConstantTimeEq;

use crate::siphash::Key;

/// How long a verification is remembered: 60 s.
pub const TTL_NANOS: u64 = 60 * 1_000_000_000;
/// Most entries per map (successes, failures).
pub const MAX_ENTRIES: usize = 1024;

/// What the cache knows about a (user, password) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cached {
    /// Verified recently.
    Valid,
    /// Refused recently.
    Invalid,
    /// Not seen recently: verify, then [`VerificationCache::record`].
    Unknown,
}

/// A keyed digest of a credential.
pub type CredentialDigest = [u8; 16];

/// The per-instance cache; interior mutability because hooks borrow the middleware shared.
#[derive(Debug)]
pub struct VerificationCache {
    key: Key,
    valid: RefCell<HashMap<String, (CredentialDigest, u64)>>,
    invalid: RefCell<HashMap<CredentialDigest, u64>>,
}

impl VerificationCache {
    /// A cache keyed with `key` (random per instance).
    pub fn new(key: [u8; 32]) -> Self {
        VerificationCache {
            key: Key::new(key),
            valid: RefCell::new(HashMap::new()),
            invalid: RefCell::new(HashMap::new()),
        }
    }

    /// The keyed digest of a credential, also what [`VerificationCache::record`] stores.
    /// `credentials` is the decoded `user:password` of a Basic header: a user name holds no `:`,
    /// so the bytes name the pair unambiguously.
    pub fn digest(&self, credentials: &[u8]) -> CredentialDigest {
        self.key.digest(credentials)
    }

    /// What is known about the credential whose digest is `digest`, at time `now` (ns).
    pub fn lookup(&self, user: &str, digest: &CredentialDigest, now: u64) -> Cached {
        if let Some((stored, expires)) = self.valid.borrow().get(user)
            && now < *expires
            && bool::from(stored.ct_eq(digest))
        {
            return Cached::Valid;
        }
        match self.invalid.borrow().get(digest) {
            Some(expires) if now < *expires => Cached::Invalid,
            _ => Cached::Unknown,
        }
    }

    /// Remembers a verification made at `now` (ns) for [`TTL_NANOS`].
    pub fn record(&self, user: &str, digest: CredentialDigest, valid: bool, now: u64) {
        let expires = now.saturating_add(TTL_NANOS);
        if valid {
            let mut map = self.valid.borrow_mut();
            if !map.contains_key(user) {
                make_room(&mut map, now);
            }
            map.insert(user.to_string(), (digest, expires));
        } else {
            let mut map = self.invalid.borrow_mut();
            make_room(&mut map, now);
            map.insert(digest, expires);
        }
    }

    /// Entries held (successes, failures), for tests.
    pub fn len(&self) -> (usize, usize) {
        (self.valid.borrow().len(), self.invalid.borrow().len())
    }
}

/// Entries whose expiry time can be read, so one eviction rule serves both maps.
trait Expiring {
    fn expires(&self) -> u64;
}

impl Expiring for (CredentialDigest, u64) {
    fn expires(&self) -> u64 {
        self.1
    }
}

impl Expiring for u64 {
    fn expires(&self) -> u64 {
        *self
    }
}

/// Before an insert into a full map: drop what expired, then (still full) the entry closest to
/// expiry. O(entries), only when the map is full.
fn make_room<K: Clone + Eq + std::hash::Hash, V: Expiring>(map: &mut HashMap<K, V>, now: u64) {
    if map.len() < MAX_ENTRIES {
        return;
    }
    map.retain(|_, v| v.expires() > now);
    if map.len() >= MAX_ENTRIES
        && let Some(oldest) = map
            .iter()
            .min_by_key(|(_, v)| v.expires())
            .map(|(k, _)| k.clone())
    {
        map.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_is_remembered_for_a_minute_for_that_password_only() {
        let cache = VerificationCache::new([7; 32]);
        let good = cache.digest(b"alice:pw");
        assert_eq!(cache.lookup("alice", &good, 0), Cached::Unknown);
        cache.record("alice", good, true, 0);
        assert_eq!(cache.lookup("alice", &good, TTL_NANOS - 1), Cached::Valid);
        assert_eq!(cache.lookup("alice", &good, TTL_NANOS), Cached::Unknown);
        let other = cache.digest(b"alice:other");
        assert_eq!(cache.lookup("alice", &other, 1), Cached::Unknown);
        assert_eq!(
            cache.lookup("bob", &cache.digest(b"bob:pw"), 1),
            Cached::Unknown
        );
    }

    #[test]
    fn a_failure_is_remembered_per_user_and_password() {
        let cache = VerificationCache::new([1; 32]);
        let wrong = cache.digest(b"alice:wrong");
        cache.record("alice", wrong, false, 10);
        assert_eq!(cache.lookup("alice", &wrong, 11), Cached::Invalid);
        assert_eq!(
            cache.lookup("alice", &cache.digest(b"alice:wrong2"), 11),
            Cached::Unknown
        );
    }

    #[test]
    fn digests_separate_user_and_password() {
        let cache = VerificationCache::new([0; 32]);
        assert_ne!(cache.digest(b"ab:c"), cache.digest(b"a:bc"));
        assert_ne!(
            VerificationCache::new([1; 32]).digest(b"a:b"),
            cache.digest(b"a:b"),
            "the instance key changes every digest"
        );
    }

    #[test]
    fn maps_stay_bounded_under_a_flood_of_distinct_credentials() {
        let cache = VerificationCache::new([2; 32]);
        for i in 0..(MAX_ENTRIES * 3) {
            let user = format!("user{i}");
            let d = cache.digest(format!("{user}:x").as_bytes());
            cache.record(&user, d, i % 2 == 0, i as u64);
        }
        let (valid, invalid) = cache.len();
        assert!(valid <= MAX_ENTRIES && invalid <= MAX_ENTRIES);
        let last = format!("user{}", MAX_ENTRIES * 3 - 2);
        let d = cache.digest(format!("{last}:x").as_bytes());
        assert_eq!(cache.lookup(&last, &d, 0), Cached::Valid, "newest kept");
    }
}
