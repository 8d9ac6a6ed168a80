//! Bundled plugin `basic-auth`: Traefik's `basicAuth` middleware.
//!
//! Options (Traefik v3 names and semantics):
//! - `users`: htpasswd lines `name:hash`, with bcrypt (`htpasswd -B`), MD5-crypt (`$apr1$`,
//!   `htpasswd -m`; also `$1$`) or SHA1 (`{SHA}`, `htpasswd -s`) hashes;
//! - `usersFile`: an htpasswd file, read by the gateway at config load (relative to the config
//!   file that names it) and handed to the plugin as `users` entries before the inline ones;
//! - `realm` (default `traefik`), sent as `WWW-Authenticate: Basic realm="<realm>"`;
//! - `removeHeader`: remove `Authorization` before forwarding;
//! - `headerField`: a header set to the authenticated user name for the upstream.
//!
//! A request without valid credentials gets `401` with `WWW-Authenticate`, `Content-Type:
//! text/plain` and the body `401 Unauthorized\n`; the upstream is not contacted.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     staff:
//!       basicAuth:
//!         users: ["bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1"]
//!         realm: Staff
//!         headerField: X-WebAuth-User
//!         removeHeader: true
//! ```
//!
//! Cost: a hash verification on a cold (user, password) — bcrypt dominates, 2^cost rounds: ~2.7 ms
//! at cost 5, ~85 ms at cost 10 — then, for a minute, per request: two host calls (the header,
//! `identity.set-user`; the clock only every 16th request, see [`clock`]), one base64 decode
//! into a stack buffer, one hash-map look-up (the user: hash and cache slot) and one keyed
//! 128-bit SipHash digest (see [`cache`]): ~1.3 µs per request in the `plugin_call` bench on a
//! busy 2-core VM, of which ≈ 0.22 µs guest code and ≈ 0.32 µs the two host calls (bench/README,
//! branch hookcost). Keep this middleware `pooled` (the default) so the cache stays warm.

pub mod cache;
mod clock;
mod config;
mod hash;
mod md5crypt;
pub use plugin_contract::siphash;

use std::collections::HashMap;

use base64::DecodeSliceError;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use plugin_sdk::{Action, Middleware, Reply, Request};

use cache::{Cached, UserSlot, VerificationCache};
use clock::CoarseClock;
pub use config::{BasicAuthConfig, DEFAULT_REALM};
pub use hash::PasswordHash;

/// Go's `base64.StdEncoding`: padding required, non-zero trailing bits tolerated.
const GO_STD_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// A configured user: the stored hash and the user's slot in the verification cache.
struct User {
    hash: PasswordHash,
    slot: UserSlot,
}

/// The `basicAuth` middleware: parsed users and the instance's verification cache.
pub struct BasicAuth {
    config: BasicAuthConfig,
    /// `config.users`, numbered: one look-up of the request's user name finds both the hash and
    /// the cache entry.
    users: HashMap<String, User>,
    cache: VerificationCache,
    /// The cache's clock, read every few lookups (`clock`).
    clock: CoarseClock,
    challenge: String,
}

impl Middleware for BasicAuth {
    /// Request-only: the gateway skips the response hook (one call per request saved).
    fn wants_response_hook(&self) -> bool {
        false
    }

    /// The verdict is the `Authorization` value's alone (valid credentials of a configured user:
    /// `continue`, naming the user, setting `headerField`, removing the header as configured),
    /// so the gateway may remember it for as long as this plugin's cache would (a minute) and
    /// not call the hook for a value it saw: one slot per user and some room (the gateway's
    /// memo is direct-mapped: a value whose slot is taken replaces its entry). Refusals are
    /// never remembered: every wrong password still comes here. A reload (users changed)
    /// starts an empty memo.
    fn verdict_memo(&self) -> Option<plugin_sdk::verdict_memo::VerdictMemo> {
        Some(plugin_sdk::verdict_memo::VerdictMemo {
            header: "authorization".to_owned(),
            ttl_ms: cache::TTL_NANOS / 1_000_000,
            max_entries: u32::try_from(self.users.len().saturating_mul(4).clamp(16, 4096))
                .unwrap_or(4096),
        })
    }

    fn from_config(config: &str) -> Result<Self, String> {
        let mut config = BasicAuthConfig::parse(config)?;
        // The cache's digests are only unforgeable under a secret key: no random numbers, no
        // middleware (the gateway provides WASI random, so this is a broken host).
        let mut key = [0u8; 32];
        plugin_sdk::random::fill(&mut key)
            .map_err(|e| format!("no random numbers for the verification cache key: {e}"))?;
        let challenge = format!("Basic realm=\"{}\"", config.realm);
        let users: HashMap<String, User> = std::mem::take(&mut config.users)
            .into_iter()
            .enumerate()
            .map(|(slot, (name, hash))| (name, User { hash, slot }))
            .collect();
        Ok(BasicAuth {
            config,
            cache: VerificationCache::new(key, users.len()),
            users,
            clock: CoarseClock::default(),
            challenge,
        })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let Some(user) = self.authenticate(req) else {
            return Action::Respond(
                Reply::new(401)
                    .header("content-type", "text/plain")
                    .header("www-authenticate", &self.challenge)
                    .body("401 Unauthorized\n"),
            );
        };
        plugin_sdk::identity::set_user(req, user);
        if let Some(field) = &self.config.header_field
            && let Err(e) = req.set_header(field, user)
        {
            plugin_sdk::warn!("basic-auth: cannot set {field}: {e}");
        }
        if self.config.remove_header {
            req.remove_header("authorization");
        }
        Action::Continue
    }
}

impl BasicAuth {
    /// The configured name of the user whose `Authorization: Basic` credentials the request
    /// carries, if they are valid. The name is the config's own string (the same bytes as the
    /// request's), so it is checked as UTF-8 once per request.
    fn authenticate(&self, req: &Request<'_>) -> Option<&str> {
        let header = req.header("authorization")?;
        let credentials = parse_basic(&header)?;
        let (user, password) = credentials.split()?;
        let (user, User { hash, slot }) = self.users.get_key_value(user)?;
        let now = self.clock.for_lookup(plugin_sdk::monotonic_now);
        let digest = self.cache.digest(credentials.decoded());
        let valid = match self.cache.lookup(*slot, &digest, now) {
            Cached::Valid => true,
            Cached::Invalid => false,
            Cached::Unknown => {
                let valid = hash.verify(password);
                let now = self.clock.fresh(plugin_sdk::monotonic_now);
                self.cache.record(*slot, digest, valid, now);
                valid
            }
        };
        valid.then_some(user.as_str())
    }
}

/// Decoded credentials up to this many bytes are held on the stack (no allocation in the
/// guest per request); longer ones (rare: a 96-byte `user:password`) are decoded into a `Vec`.
const INLINE_CREDENTIALS: usize = 96;

/// Where the decoded `user:password` lives.
#[derive(Debug)]
enum Decoded {
    Inline([u8; INLINE_CREDENTIALS], usize),
    Heap(Vec<u8>),
}

/// Decoded Basic credentials: `user:password`, split at the first `:`.
#[derive(Debug)]
struct Credentials {
    decoded: Decoded,
    colon: usize,
}

impl Credentials {
    /// The decoded `user:password`.
    fn decoded(&self) -> &[u8] {
        match &self.decoded {
            Decoded::Inline(bytes, len) => &bytes[..*len],
            Decoded::Heap(bytes) => bytes,
        }
    }

    /// The user name and the password; `None` when the name is not UTF-8 (it can match no
    /// configured user).
    fn split(&self) -> Option<(&str, &[u8])> {
        let (user, password) = self.decoded().split_at(self.colon);
        Some((std::str::from_utf8(user).ok()?, &password[1..]))
    }
}

/// Go's `Request.BasicAuth`: `Basic ` (any case), base64 of `user:password`, split at the first
/// `:` ([`Credentials::split`] then wants the user name UTF-8). No allocation for credentials
/// up to [`INLINE_CREDENTIALS`] bytes.
fn parse_basic(header: &[u8]) -> Option<Credentials> {
    const PREFIX: &[u8] = b"basic ";
    let (prefix, encoded) = header.split_at_checked(PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let mut inline = [0u8; INLINE_CREDENTIALS];
    let decoded = match GO_STD_BASE64.decode_slice(encoded, &mut inline) {
        Ok(len) => Decoded::Inline(inline, len),
        Err(DecodeSliceError::OutputSliceTooSmall) => {
            Decoded::Heap(GO_STD_BASE64.decode(encoded).ok()?)
        }
        Err(DecodeSliceError::DecodeError(_)) => return None,
    };
    let mut credentials = Credentials { decoded, colon: 0 };
    credentials.colon = credentials.decoded().iter().position(|&b| b == b':')?;
    Some(credentials)
}

plugin_sdk::export_middleware!(BasicAuth);

#[cfg(test)]
mod tests;
