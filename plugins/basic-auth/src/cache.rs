//! Recent password verifications, per instance, so that a slow hash (bcrypt) is paid once per
//! user and minute rather than once per request: the gateway's answer to "password checks must
//! not be a denial-of-service lever".
//!
//! - A successful verification is remembered per user (so per (user, stored hash): a user has one
//!   hash per config) for [`TTL_NANOS`], in the user's slot (users are numbered at config time,
//!   so the request's one look-up of its user name serves both the stored hash and this entry):
//!   a later request with the same password costs one keyed 128-bit digest of the credentials
//!   and a constant-time comparison instead of the hash function.
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
//! - Both are bounded: successes by the number of configured users (one slot each), failures
//!   by [`MAX_ENTRIES`] (inserting into a full map drops expired entries, then the one closest
//!   to expiry).
//!
//! The cache lives in the instance: `pooled` mode (the default) keeps it warm across requests;
//! `per-request` mode starts every request cold.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use subtle::ConstantTimeEq;

use crate::siphash::Key;

/// How long a verification is remembered: 60 s.
pub const TTL_NANOS: u64 = 60 * 1_000_000_000;
/// Most remembered failures.
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

/// A user's last verified credentials: their digest and when the entry expires (ns).
type Verified = Option<(CredentialDigest, u64)>;

/// A configured user's number (0 .. the number of users), given at config time.
pub type UserSlot = usize;

/// The per-instance cache; interior mutability because hooks borrow the middleware shared.
#[derive(Debug)]
pub struct VerificationCache {
    key: Key,
    /// Per user slot: the digest of the credentials last verified and when that expires.
    valid: Box<[Cell<Verified>]>,
    invalid: RefCell<HashMap<CredentialDigest, u64>>,
}

impl VerificationCache {
    /// A cache keyed with `key` (random per instance) for `users` configured users (slots
    /// `0..users`).
    pub fn new(key: [u8; 32], users: usize) -> Self {
        VerificationCache {
            key: Key::new(key),
            valid: (0..users).map(|_| Cell::new(None)).collect(),
            invalid: RefCell::new(HashMap::new()),
        }
    }

    /// The keyed digest of a credential, also what [`VerificationCache::record`] stores.
    /// `credentials` is the decoded `user:password` of a Basic header: a user name holds no `:`,
    /// so the bytes name the pair unambiguously.
    pub fn digest(&self, credentials: &[u8]) -> CredentialDigest {
        self.key.digest(credentials)
    }

    /// What is known about the credential of user `user` whose digest is `digest`, at time
    /// `now` (ns).
    pub fn lookup(&self, user: UserSlot, digest: &CredentialDigest, now: u64) -> Cached {
        if let Some((stored, expires)) = self.valid.get(user).and_then(Cell::get)
            && now < expires
            && digests_equal(&stored, digest)
        {
            return Cached::Valid;
        }
        match self.invalid.borrow().get(digest) {
            Some(expires) if now < *expires => Cached::Invalid,
            _ => Cached::Unknown,
        }
    }

    /// Remembers a verification made at `now` (ns) for [`TTL_NANOS`].
    /// A success for a slot out of range is not remembered.
    pub fn record(&self, user: UserSlot, digest: CredentialDigest, valid: bool, now: u64) {
        let expires = now.saturating_add(TTL_NANOS);
        if valid {
            if let Some(slot) = self.valid.get(user) {
                slot.set(Some((digest, expires)));
            }
        } else {
            let mut map = self.invalid.borrow_mut();
            make_room(&mut map, now);
            map.insert(digest, expires);
        }
    }

    /// Entries held (successes, failures), for tests.
    pub fn len(&self) -> (usize, usize) {
        let valid = self
            .valid
            .iter()
            .filter(|slot| slot.get().is_some())
            .count();
        (valid, self.invalid.borrow().len())
    }
}

/// Whether two digests are equal, in constant time: the two 64-bit halves' differences are
/// folded with `^` and `|` (no branch on the data), then one `subtle` comparison with zero. A
/// byte-wise `ct_eq` of the arrays does the same with 16 optimisation barriers (≈ 0.03 µs per
/// request in the guest, `plugin_call` profile; bench/README, branch hookcost).
fn digests_equal(a: &CredentialDigest, b: &CredentialDigest) -> bool {
    let halves = |d: &CredentialDigest| {
        let (lo, hi) = d.split_at(8);
        let word = |half: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(half);
            u64::from_le_bytes(w)
        };
        (word(lo), word(hi))
    };
    let ((a0, a1), (b0, b1)) = (halves(a), halves(b));
    bool::from(((a0 ^ b0) | (a1 ^ b1)).ct_eq(&0))
}

/// Before an insert into a full map of failures: drop what expired, then (still full) the
/// entry closest to expiry. O(entries), only when the map is full.
fn make_room(map: &mut HashMap<CredentialDigest, u64>, now: u64) {
    if map.len() < MAX_ENTRIES {
        return;
    }
    map.retain(|_, expires| *expires > now);
    if map.len() >= MAX_ENTRIES
        && let Some(oldest) = map
            .iter()
            .min_by_key(|(_, expires)| **expires)
            .map(|(k, _)| *k)
    {
        map.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: UserSlot = 0;
    const BOB: UserSlot = 1;

    #[test]
    fn a_success_is_remembered_for_a_minute_for_that_password_only() {
        let cache = VerificationCache::new([7; 32], 2);
        let good = cache.digest(b"alice:pw");
        assert_eq!(cache.lookup(ALICE, &good, 0), Cached::Unknown);
        cache.record(ALICE, good, true, 0);
        assert_eq!(cache.lookup(ALICE, &good, TTL_NANOS - 1), Cached::Valid);
        assert_eq!(cache.lookup(ALICE, &good, TTL_NANOS), Cached::Unknown);
        let other = cache.digest(b"alice:other");
        assert_eq!(cache.lookup(ALICE, &other, 1), Cached::Unknown);
        assert_eq!(
            cache.lookup(BOB, &cache.digest(b"bob:pw"), 1),
            Cached::Unknown
        );
    }

    #[test]
    fn a_failure_is_remembered_per_user_and_password() {
        let cache = VerificationCache::new([1; 32], 2);
        let wrong = cache.digest(b"alice:wrong");
        cache.record(ALICE, wrong, false, 10);
        assert_eq!(cache.lookup(ALICE, &wrong, 11), Cached::Invalid);
        assert_eq!(
            cache.lookup(ALICE, &cache.digest(b"alice:wrong2"), 11),
            Cached::Unknown
        );
    }

    #[test]
    fn digests_are_equal_only_when_every_byte_is() {
        let d = [0x5au8; 16];
        assert!(digests_equal(&d, &d));
        for byte in 0..16 {
            for bit in 0..8 {
                let mut other = d;
                other[byte] ^= 1 << bit;
                assert!(!digests_equal(&d, &other), "byte {byte} bit {bit}");
            }
        }
        let cache = VerificationCache::new([3; 32], 2);
        let good = cache.digest(b"alice:pw");
        cache.record(ALICE, good, true, 0);
        let mut forged = good;
        forged[15] ^= 0x80;
        assert_eq!(cache.lookup(ALICE, &forged, 1), Cached::Unknown);
    }

    #[test]
    fn digests_separate_user_and_password() {
        let cache = VerificationCache::new([0; 32], 2);
        assert_ne!(cache.digest(b"ab:c"), cache.digest(b"a:bc"));
        assert_ne!(
            VerificationCache::new([1; 32], 2).digest(b"a:b"),
            cache.digest(b"a:b"),
            "the instance key changes every digest"
        );
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_distinct_credentials() {
        let users = 4;
        let cache = VerificationCache::new([2; 32], users);
        for i in 0..(MAX_ENTRIES * 3) {
            let user = i % users;
            let d = cache.digest(format!("user{user}:x{i}").as_bytes());
            cache.record(user, d, i % 2 == 0, i as u64);
        }
        let (valid, invalid) = cache.len();
        assert!(valid <= users && invalid <= MAX_ENTRIES);
        let last = MAX_ENTRIES * 3 - 2;
        let d = cache.digest(format!("user{}:x{last}", last % users).as_bytes());
        assert_eq!(
            cache.lookup(last % users, &d, 0),
            Cached::Valid,
            "newest kept"
        );
        let newest_failure = MAX_ENTRIES * 3 - 1;
        let d =
            cache.digest(format!("user{}:x{newest_failure}", newest_failure % users).as_bytes());
        assert_eq!(cache.lookup(newest_failure % users, &d, 0), Cached::Invalid);
    }

    #[test]
    fn a_slot_out_of_range_is_never_valid() {
        let cache = VerificationCache::new([4; 32], 1);
        let d = cache.digest(b"ghost:pw");
        cache.record(5, d, true, 0);
        assert_eq!(cache.lookup(5, &d, 1), Cached::Unknown);
        assert_eq!(cache.len(), (0, 0));
    }
}
