//! Bundled plugin `digest-auth`: Traefik's `digestAuth` middleware (RFC 2617 Digest, MD5,
//! `qop=auth`, as Traefik's `go-http-auth` implements it).
//!
//! Options (Traefik v3 names and semantics):
//! - `users`: htdigest lines `user:realm:HA1` (`htdigest` from apache2-utils writes them); only
//!   entries for this middleware's realm can match;
//! - `usersFile`: an htdigest file, read by the gateway at config load (relative to the config
//!   file that names it) and handed to the plugin as `users` entries before the inline ones;
//! - `realm` (default `traefik`);
//! - `removeHeader`: remove `Authorization` before forwarding;
//! - `headerField`: a header set to the authenticated user name for the upstream.
//!
//! A request without valid credentials gets `401` with `WWW-Authenticate: Digest realm="..",
//! nonce="..", opaque="..", algorithm="MD5", qop="auth"` (plus `stale=true` when the credentials
//! were right but the nonce expired or its count did not grow), `Content-Type: text/plain` and
//! `401 Unauthorized\n`. Nonces work across the middleware's instances (see [`nonce`]).
//!
//! Cost per request: three MD5 and one HMAC-SHA256 over a few dozen bytes.

mod config;
pub mod nonce;
mod params;

use md5::{Digest, Md5};
use plugin_sdk::{Action, Middleware, Reply, Request};
use subtle::ConstantTimeEq;

pub use config::{DEFAULT_REALM, DigestAuthConfig};
use nonce::{NonceCheck, Nonces, hex};
use params::digest_params;

/// The `digestAuth` middleware.
pub struct DigestAuth {
    config: DigestAuthConfig,
    nonces: Nonces,
    opaque: String,
}

/// What the credentials of a request are worth.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Valid: the user name.
    User(String),
    /// Right credentials on an expired or replayed nonce.
    Stale,
    /// Missing or wrong.
    Denied,
}

impl Middleware for DigestAuth {
    /// Request-only: the gateway skips the response hook (one call per request saved).
    fn wants_response_hook(&self) -> bool {
        false
    }

    fn from_config(config: &str) -> Result<Self, String> {
        let parsed = DigestAuthConfig::parse(config)?;
        let nonces = Nonces::new(config);
        let opaque = nonces.opaque();
        Ok(DigestAuth {
            config: parsed,
            nonces,
            opaque,
        })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let now = plugin_sdk::monotonic_now();
        let user = match self.check(req, now) {
            Outcome::User(user) => user,
            Outcome::Stale => return Action::Respond(self.challenge(now, true)),
            Outcome::Denied => return Action::Respond(self.challenge(now, false)),
        };
        plugin_sdk::identity::set_user(req, &user);
        if let Some(field) = &self.config.header_field
            && let Err(e) = req.set_header(field, &user)
        {
            plugin_sdk::warn!("digest-auth: cannot set {field}: {e}");
        }
        if self.config.remove_header {
            req.remove_header("authorization");
        }
        Action::Continue
    }
}

impl DigestAuth {
    fn check(&self, req: &Request<'_>, now: u64) -> Outcome {
        let Some(header) = req.header_str("authorization") else {
            return Outcome::Denied;
        };
        let Some(params) = digest_params(&header) else {
            return Outcome::Denied;
        };
        let get = |k: &str| params.get(k).map_or("", String::as_str);
        let algorithm = params.get("algorithm").map_or("MD5", String::as_str);
        if get("opaque") != self.opaque || algorithm != "MD5" || get("qop") != "auth" {
            return Outcome::Denied;
        }
        let uri = get("uri");
        if !uri_matches(uri, req) {
            return Outcome::Denied;
        }
        let user = get("username");
        let ha1 = self.config.ha1(user).unwrap_or("");
        let ha2 = md5_hex(&[&req.method(), ":", uri]);
        let nonce = get("nonce");
        let expected = md5_hex(&[
            ha1,
            ":",
            nonce,
            ":",
            get("nc"),
            ":",
            get("cnonce"),
            ":",
            get("qop"),
            ":",
            &ha2,
        ]);
        if !bool::from(expected.as_bytes().ct_eq(get("response").as_bytes())) {
            return Outcome::Denied;
        }
        let Ok(nc) = u64::from_str_radix(get("nc"), 16) else {
            return Outcome::Denied;
        };
        match self.nonces.check(nonce, nc, now) {
            NonceCheck::Valid => Outcome::User(user.to_string()),
            NonceCheck::Stale => Outcome::Stale,
            NonceCheck::Forged => Outcome::Denied,
        }
    }

    fn challenge(&self, now: u64, stale: bool) -> Reply {
        let mut value = format!(
            "Digest realm=\"{}\", nonce=\"{}\", opaque=\"{}\", algorithm=\"MD5\", qop=\"auth\"",
            self.config.realm,
            self.nonces.issue(now),
            self.opaque
        );
        if stale {
            value.push_str(", stale=true");
        }
        Reply::new(401)
            .header("content-type", "text/plain")
            .header("www-authenticate", value)
            .body("401 Unauthorized\n")
    }
}

/// `go-http-auth`'s check: the digest's `uri` is the request target as sent, or a URI whose
/// path is a prefix of the request's path.
fn uri_matches(uri: &str, req: &Request<'_>) -> bool {
    let path = req.raw_path();
    let target = match req.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.clone(),
    };
    if uri == target {
        return true;
    }
    let uri_path = uri.split(['?', '#']).next().unwrap_or("");
    path.starts_with(uri_path)
}

/// Lower-case hex MD5 of the concatenated parts (Go's `H`).
fn md5_hex(parts: &[&str]) -> String {
    let mut h = Md5::new();
    for part in parts {
        h.update(part.as_bytes());
    }
    hex(&h.finalize())
}

plugin_sdk::export_middleware!(DigestAuth);

#[cfg(test)]
mod tests;
