//! Server nonces that every instance of a middleware accepts, and per-instance replay detection.
//!
//! Traefik keeps the nonces it issued in one process-wide map. A wasmgate middleware runs in many
//! instances (a pool, or one per request), which share nothing, so a nonce here carries its own
//! proof: `<issue time, 16 hex digits><HMAC-SHA256(key, issue time), 32 hex digits>`, with a key
//! derived from the middleware's config (which holds the users' secrets). Any instance can check
//! that the gateway issued a nonce and how old it is; a nonce older than [`NONCE_TTL_NANOS`] is
//! *stale* and the client is asked to retry with a fresh one (`stale=true`), as browsers do
//! silently.
//!
//! Nonce counts (`nc`) must grow per nonce, as in Traefik; that is checked within one instance
//! (bounded map, [`MAX_TRACKED`] nonces), so in `pooled` mode a replayed request can succeed once
//! per instance it lands on while its nonce is fresh.
//!
//! The plugin uses ordered maps only: std's `HashMap` seeds itself through WASI random, which
//! the nonces do not need.

use std::cell::RefCell;
use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long an issued nonce is accepted: 5 minutes.
pub const NONCE_TTL_NANOS: u64 = 300 * 1_000_000_000;
/// Most nonces whose counts an instance remembers.
pub const MAX_TRACKED: usize = 1000;

const TIME_HEX: usize = 16;
const MAC_HEX: usize = 32;

/// What a presented nonce is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// Issued by this middleware, fresh, with a count above any seen before.
    Valid,
    /// Issued by this middleware but too old, or its count did not grow: retry with a new one.
    Stale,
    /// Not issued by this middleware.
    Forged,
}

/// Issues and checks nonces for one middleware; one per instance.
#[derive(Debug)]
pub struct Nonces {
    key: [u8; 32],
    counts: RefCell<BTreeMap<String, u64>>,
}

impl Nonces {
    /// Keyed from the middleware's config text: every instance of it derives the same key.
    pub fn new(config: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"wasmgate digest-auth nonce key\0");
        h.update(config.as_bytes());
        Nonces {
            key: h.finalize().into(),
            counts: RefCell::new(BTreeMap::new()),
        }
    }

    /// The `opaque` value of this middleware's challenges (fixed per config).
    pub fn opaque(&self) -> String {
        hex(&self.mac(b"opaque"))[..MAC_HEX].to_string()
    }

    /// A nonce issued at `now` (ns on the gateway's monotonic clock).
    pub fn issue(&self, now: u64) -> String {
        let time = format!("{now:016x}");
        let mac = hex(&self.mac(time.as_bytes()));
        format!("{time}{}", &mac[..MAC_HEX])
    }

    /// Checks `nonce` presented at `now` with count `nc`, and remembers the count.
    pub fn check(&self, nonce: &str, nc: u64, now: u64) -> NonceCheck {
        if nonce.len() != TIME_HEX + MAC_HEX || !nonce.is_ascii() {
            return NonceCheck::Forged;
        }
        let (time, mac) = nonce.split_at(TIME_HEX);
        let expected = hex(&self.mac(time.as_bytes()));
        if !bool::from(mac.as_bytes().ct_eq(&expected.as_bytes()[..MAC_HEX])) {
            return NonceCheck::Forged;
        }
        let Ok(issued) = u64::from_str_radix(time, 16) else {
            return NonceCheck::Forged;
        };
        if issued > now || now - issued > NONCE_TTL_NANOS {
            return NonceCheck::Stale;
        }
        let mut counts = self.counts.borrow_mut();
        match counts.get(nonce) {
            Some(&seen) if seen != 0 && seen >= nc => return NonceCheck::Stale,
            Some(_) => {}
            None if counts.len() >= MAX_TRACKED => {
                // The issue time leads the nonce, so the ordered map holds the oldest first.
                while counts.len() > MAX_TRACKED - MAX_TRACKED / 5 {
                    counts.pop_first();
                }
            }
            None => {}
        }
        counts.insert(nonce.to_string(), nc);
        NonceCheck::Valid
    }

    fn mac(&self, data: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length, so this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return [0; 32];
        };
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_nonce_is_valid_in_any_instance_of_the_same_config() {
        let a = Nonces::new("{\"users\":[]}");
        let b = Nonces::new("{\"users\":[]}");
        let nonce = a.issue(1_000);
        assert_eq!(nonce.len(), 48);
        assert_eq!(b.check(&nonce, 1, 2_000), NonceCheck::Valid);
        assert_eq!(a.opaque(), b.opaque());
    }

    #[test]
    fn another_configs_or_a_tampered_nonce_is_forged() {
        let a = Nonces::new("a");
        let nonce = a.issue(5);
        assert_eq!(Nonces::new("b").check(&nonce, 1, 6), NonceCheck::Forged);
        let mut tampered = nonce.into_bytes();
        tampered[15] = if tampered[15] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(a.check(&tampered, 1, 6), NonceCheck::Forged);
        assert_eq!(a.check("short", 1, 6), NonceCheck::Forged);
    }

    #[test]
    fn an_old_nonce_is_stale() {
        let a = Nonces::new("x");
        let nonce = a.issue(10);
        assert_eq!(a.check(&nonce, 1, 10 + NONCE_TTL_NANOS), NonceCheck::Valid);
        assert_eq!(a.check(&nonce, 2, 11 + NONCE_TTL_NANOS), NonceCheck::Stale);
        assert_eq!(
            a.check(&a.issue(100), 1, 50),
            NonceCheck::Stale,
            "from the future"
        );
    }

    #[test]
    fn counts_must_grow_per_nonce() {
        let a = Nonces::new("x");
        let nonce = a.issue(0);
        assert_eq!(a.check(&nonce, 1, 1), NonceCheck::Valid);
        assert_eq!(a.check(&nonce, 2, 1), NonceCheck::Valid);
        assert_eq!(a.check(&nonce, 2, 1), NonceCheck::Stale, "replayed");
        assert_eq!(a.check(&nonce, 1, 1), NonceCheck::Stale, "out of order");
    }

    #[test]
    fn the_count_map_stays_bounded() {
        let a = Nonces::new("x");
        for t in 0..(MAX_TRACKED as u64 * 2) {
            assert_eq!(a.check(&a.issue(t), 1, t), NonceCheck::Valid);
        }
        assert!(a.counts.borrow().len() <= MAX_TRACKED);
    }
}
