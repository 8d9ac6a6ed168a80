//! The htpasswd password hashes Traefik accepts, parsed once at config load and verified per
//! cold login.
//!
//! | format | made by | cost of one verification |
//! |---|---|---|
//! | `$2y$`, `$2b$`, `$2a$`, `$2x$` bcrypt | `htpasswd -B [-C cost]` | 2^cost Blowfish key schedules: ~2.7 ms at cost 5 (htpasswd's default), ~85 ms at cost 10 (in the guest, quiet 2-core VM) |
//! | `$apr1$`, `$1$` MD5-crypt | `htpasswd -m` (its default), `openssl passwd -1` | 1000 MD5 rounds |
//! | `{SHA}` base64 SHA-1 | `htpasswd -s` | one SHA-1 |
//!
//! Every comparison of a computed hash with the stored one is constant-time.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use crate::md5crypt::md5_crypt;

/// A stored password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordHash {
    /// bcrypt, the whole `$2y$NN$...` string and its cost.
    Bcrypt { hash: String, cost: u32 },
    /// MD5-crypt: magic (`$apr1$` or `$1$`), salt, and the whole hash string.
    Md5Crypt {
        magic: Vec<u8>,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    /// `{SHA}`: the SHA-1 digest.
    Sha1([u8; 20]),
}

const BCRYPT_PREFIXES: [&str; 4] = ["$2y$", "$2b$", "$2a$", "$2x$"];
const BCRYPT_ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

impl PasswordHash {
    /// Parses a stored hash; the error says which formats are supported.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(encoded) = text.strip_prefix("{SHA}") {
            let digest = STANDARD
                .decode(encoded)
                .ok()
                .and_then(|d| <[u8; 20]>::try_from(d).ok())
                .ok_or("{SHA} hash is not the base64 of a 20-byte SHA-1 digest")?;
            return Ok(PasswordHash::Sha1(digest));
        }
        if BCRYPT_PREFIXES.iter().any(|p| text.starts_with(p)) {
            return parse_bcrypt(text);
        }
        for magic in ["$apr1$", "$1$"] {
            if let Some(rest) = text.strip_prefix(magic) {
                let (salt, digest) = rest
                    .split_once('$')
                    .ok_or("MD5-crypt hash has no '$' after its salt")?;
                if salt.len() > 8 || digest.len() != 22 {
                    return Err("MD5-crypt hash is malformed (salt of at most 8 and a digest of 22 characters expected)".into());
                }
                return Ok(PasswordHash::Md5Crypt {
                    magic: magic.as_bytes().to_vec(),
                    salt: salt.as_bytes().to_vec(),
                    hash: text.as_bytes().to_vec(),
                });
            }
        }
        Err("unsupported password hash (use bcrypt `htpasswd -B`, MD5 `htpasswd -m` or SHA1 `htpasswd -s`)".into())
    }

    /// Whether `password` matches. Cost: see the module table; bcrypt passwords are cut at 72
    /// bytes, as everywhere.
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            PasswordHash::Bcrypt { hash, .. } => bcrypt::verify(password, hash).unwrap_or(false),
            PasswordHash::Md5Crypt { magic, salt, hash } => {
                md5_crypt(password, salt, magic).ct_eq(hash).into()
            }
            PasswordHash::Sha1(digest) => Sha1::digest(password).as_slice().ct_eq(digest).into(),
        }
    }
}

fn parse_bcrypt(text: &str) -> Result<PasswordHash, String> {
    let malformed = || "bcrypt hash is malformed (expected $2y$NN$ and 53 characters)".to_string();
    let rest = text.get(4..).ok_or_else(malformed)?;
    let (cost, salted) = rest.split_once('$').ok_or_else(malformed)?;
    let cost: u32 = cost.parse().map_err(|_| malformed())?;
    if !(4..=31).contains(&cost) {
        return Err(format!("bcrypt cost {cost} is outside 4..=31"));
    }
    if salted.len() != 53 || !salted.bytes().all(|b| BCRYPT_ALPHABET.contains(&b)) {
        return Err(malformed());
    }
    Ok(PasswordHash::Bcrypt {
        hash: text.to_string(),
        cost,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifies(hash: &str, good: &str) {
        let parsed = PasswordHash::parse(hash).unwrap_or_else(|e| panic!("{hash}: {e}"));
        assert!(
            parsed.verify(good.as_bytes()),
            "{hash} should accept {good:?}"
        );
        assert!(
            !parsed.verify(b"wrong"),
            "{hash} should refuse a wrong password"
        );
        assert!(
            !parsed.verify(b""),
            "{hash} should refuse an empty password"
        );
    }

    #[test]
    fn htpasswd_hashes_of_every_format_verify() {
        // All made with htpasswd (apache2-utils) or openssl passwd.
        verifies(
            "$2y$05$ZzeWa.HILIuIrOcdETjZDeZVplQrJ.Edims7tOZWEAd4k577gXn7e",
            "s3cret-b",
        );
        verifies("$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1", "s3cret-m");
        verifies("{SHA}ZnB77uxZYGhjHppL6R7KgbbYWZE=", "s3cret-s");
        verifies("$1$saltsalt$0KYFNnFDUJK/pff/lVOai.", "md5-one");
    }

    #[test]
    fn an_empty_password_can_be_hashed_and_verified() {
        let hash = PasswordHash::parse("$apr1$7e32NVVz$nHGfRwxxIzvNJU5YFvA321").unwrap();
        assert!(hash.verify(b""));
        assert!(!hash.verify(b"x"));
    }

    #[test]
    fn bcrypt_cost_is_read_and_checked() {
        assert!(matches!(
            PasswordHash::parse("$2y$10$tlIVvW/lSYxrd58wvZFF/.BkkH0//bw6PRl5tzBPZjKLEgatFqPNy"),
            Ok(PasswordHash::Bcrypt { cost: 10, .. })
        ));
        let err =
            PasswordHash::parse("$2y$03$tlIVvW/lSYxrd58wvZFF/.BkkH0//bw6PRl5tzBPZjKLEgatFqPNy");
        assert_eq!(err, Err("bcrypt cost 3 is outside 4..=31".to_string()));
    }

    #[test]
    fn malformed_and_unknown_hashes_are_refused() {
        for bad in [
            "plaintext",
            "$5$rounds=5000$salt$hash",
            "$2y$10$short",
            "$apr1$nodollar",
            "{SHA}not-base64!",
            "{SHA}AAAA",
        ] {
            assert!(PasswordHash::parse(bad).is_err(), "{bad}");
        }
    }
}
