//! Client-side credentials for the auth rows: Basic headers, RFC 2617 Digest responses, and the
//! configs of the cold bcrypt rows (many users sharing one hash, so every sample is a user the
//! verification cache has not seen).

use md5::{Digest, Md5};

/// `Basic base64(user:password)`.
pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A browser answering one Digest challenge, with a growing nonce count.
pub struct DigestClient {
    nonce: String,
    opaque: String,
    ha1: String,
    nc: u64,
}

/// The user, realm, password and request the Digest row uses (see `cases::CONFIG`).
const DIGEST_USER: &str = "carol";
const DIGEST_REALM: &str = "traefik";
const DIGEST_PASSWORD: &str = "digest-pw";
const DIGEST_METHOD: &str = "GET";
pub const DIGEST_URI: &str = "/api/v1/users?page=2";

impl DigestClient {
    /// From a `WWW-Authenticate: Digest ...` challenge; `None` when it lacks a nonce or opaque.
    pub fn from_challenge(challenge: &str) -> Option<Self> {
        let param = |name: &str| {
            challenge
                .split(", ")
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim_start_matches("Digest ") == name)
                .map(|(_, v)| v.trim_matches('"').to_string())
        };
        Some(DigestClient {
            nonce: param("nonce")?,
            opaque: param("opaque")?,
            ha1: md5_hex(&format!("{DIGEST_USER}:{DIGEST_REALM}:{DIGEST_PASSWORD}")),
            nc: 0,
        })
    }

    /// The next request's `Authorization` value.
    pub fn next(&mut self) -> String {
        self.nc += 1;
        let nc = format!("{:08x}", self.nc);
        let ha2 = md5_hex(&format!("{DIGEST_METHOD}:{DIGEST_URI}"));
        let response = md5_hex(&format!("{}:{}:{nc}:4a2b:auth:{ha2}", self.ha1, self.nonce));
        format!(
            r#"Digest username="{DIGEST_USER}", realm="{DIGEST_REALM}", nonce="{}", uri="{DIGEST_URI}", algorithm=MD5, qop=auth, nc={nc}, cnonce="4a2b", response="{response}", opaque="{}""#,
            self.nonce, self.opaque
        )
    }
}

/// One cold bcrypt row: a stored hash, its password, and how many users share it.
pub struct ColdBcrypt {
    pub label: &'static str,
    pub hash: &'static str,
    pub password: &'static str,
}

/// `htpasswd -nbB alice s3cret-b` (cost 5, htpasswd's default) and
/// `htpasswd -nbB -C 10 carol cost10pass`.
pub const COLD: [ColdBcrypt; 2] = [
    ColdBcrypt {
        label: "basic-auth:cold-bcrypt5",
        hash: "$2y$05$ZzeWa.HILIuIrOcdETjZDeZVplQrJ.Edims7tOZWEAd4k577gXn7e",
        password: "s3cret-b",
    },
    ColdBcrypt {
        label: "basic-auth:cold-bcrypt10",
        hash: "$2y$10$tlIVvW/lSYxrd58wvZFF/.BkkH0//bw6PRl5tzBPZjKLEgatFqPNy",
        password: "cost10pass",
    },
];

impl ColdBcrypt {
    /// A Traefik config with users `u0`..`u{users-1}`, all with this hash, as middleware `cold`;
    /// with `deadline`, `plugins.defaults.deadline` is set to it.
    pub fn config(&self, users: usize, deadline: Option<&str>) -> String {
        let list: Vec<String> = (0..users)
            .map(|i| format!("\"u{i}:{}\"", self.hash))
            .collect();
        let defaults = deadline
            .map(|d| format!("plugins:\n  defaults: {{ deadline: {d} }}\n"))
            .unwrap_or_default();
        format!(
            "entryPoints:\n  web: {{ address: \"127.0.0.1:0\" }}\n{defaults}http:\n  middlewares:\n    cold:\n      basicAuth:\n        users: [{}]\n",
            list.join(", ")
        )
    }
}
