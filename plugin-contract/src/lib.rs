//! The numeric rules of the plugin contract: what the host enforces on a plugin's edits and
//! replies, what the SDK checks up front (`plugin_sdk::rules`), and what `wit/plugin.wit`
//! documents. The host and the SDK both take their values from here, and this crate's test
//! (`tests/wit_documents_the_rules.rs`) fails when the WIT's text says otherwise, so the three
//! cannot drift apart.
//!
//! Constants only, no dependencies: linking it costs a guest nothing. One piece of behaviour
//! besides: [`peer_key`], the text of a client address as a rate-limit key, which the host (a
//! declared pre-take) and the `rate-limit` plugin must compute byte for byte alike (a guest
//! that does not call it links none of it); and [`siphash`], the keyed digest the host's
//! verdict memo and the `basic-auth` plugin's cache key credentials with.
//!
//! Changing a limit here changes what a deployed plugin may do; the WIT text changes with it
//! (the test says where), and a tightening is a breaking change of the package.

use std::ops::RangeInclusive;

pub mod peer_key;
pub mod siphash;

/// Lowest status a plugin may set (`set-status`) or reply with: a plugin cannot produce an
/// interim 1xx response.
pub const MIN_STATUS: u16 = 200;
/// Highest status a plugin may set or reply with.
pub const MAX_STATUS: u16 = 599;
/// [`MIN_STATUS`]`..=`[`MAX_STATUS`].
pub const STATUS_RANGE: RangeInclusive<u16> = MIN_STATUS..=MAX_STATUS;

/// Largest header value a plugin may write (edit or reply); a longer one is `limit-exceeded`.
pub const MAX_HEADER_VALUE_BYTES: usize = 16 * 1024;

/// Largest per-request scratch (`set-state`) a middleware may keep; more is `limit-exceeded`.
pub const MAX_STATE_BYTES: usize = 64 * 1024;

/// Cap on a middleware's declared `response-body-peek`: the host holds at most this many bytes
/// of a response for the body hook.
pub const MAX_BODY_PEEK: usize = 64 * 1024;

/// Default cap on the body of a reply (`plugins.defaults.maxReplyBodySize`; configurable per
/// middleware).
pub const DEFAULT_MAX_REPLY_BODY: usize = 64 * 1024;

/// Default cap on the header count of a reply, and of a head after an edit
/// (`plugins.defaults.maxHeaders`; configurable per middleware).
pub const DEFAULT_MAX_HEADERS: usize = 100;

/// The largest body of an `outbound-http` subrequest.
pub const MAX_SUBREQUEST_BODY: usize = 64 * 1024;

/// The most response-body bytes the host reads from a subrequest's answer, whatever the plugin
/// asks for.
pub const MAX_SUBRESPONSE_BODY: usize = 1024 * 1024;

/// Subrequests one request may send through one middleware.
pub const MAX_SUBREQUESTS_PER_MIDDLEWARE: usize = 4;

/// Longest `kv` key (bytes); an empty or longer key is `invalid-key`.
pub const MAX_KV_KEY_BYTES: usize = 256;

/// Longest `kv` value (bytes); a longer one is `value-too-large`.
pub const MAX_KV_VALUE_BYTES: usize = 4096;

/// Most live `kv` keys one middleware holds.
pub const MAX_KV_KEYS: usize = 65536;

/// Most bytes of `kv` keys and values one middleware holds.
pub const MAX_KV_BYTES: usize = 16 * 1024 * 1024;

/// Most keys one `kv.get-many` call reads.
pub const MAX_KV_GET_MANY: usize = 256;
