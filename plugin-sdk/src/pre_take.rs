//! A rate limit's take declared up front (the `pre-take` export): when `on_request` is "take
//! `cost` from the bucket of a key read from the request, continue when allowed", return that
//! take from [`Middleware::pre_take`](crate::Middleware::pre_take) and the gateway makes it
//! itself before the hook, natively: an admitted request gets no instance and no hook call
//! (about 1 µs per request saved for a `pooled` middleware); a refused one gets `on_request`
//! called as usual, which takes again on the same key, is refused, and builds its reply.
//!
//! The gateway computes the key as described on [`KeySource`]; the hook must compute the same
//! text (the bundled `rate-limit` uses `traefik-options`' `Source::with_key`, whose peer key is
//! [`plugin_contract::peer_key::PeerKey`], shared with the gateway).
//!
//! ```
//! use plugin_sdk::pre_take::{KeySource, PreTake};
//!
//! let take = PreTake { source: KeySource::ClientIp { ipv6_subnet: Some(64) }, cost: 1,
//!     rate_per_second: 100.0, burst: 50 };
//! assert_eq!(take.cost, 1);
//! ```

/// Where the take's key comes from (the contract's `key-source`).
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// The client's IP ([`crate::Request::client_ip`]) as
    /// [`PeerKey`](plugin_contract::peer_key::PeerKey) writes it: IPv4 (an IPv4-mapped IPv6
    /// address included) as `a.b.c.d`, IPv6 in its canonical text, masked to `ipv6_subnet` bits
    /// when set (1 to 128).
    ClientIp { ipv6_subnet: Option<u8> },
    /// The first value of this request header as [`crate::Request::header_str`] reads it
    /// (invalid UTF-8 replaced by U+FFFD); "" when absent.
    RequestHeader(String),
    /// [`crate::Request::authority`]; "" when there is none.
    RequestHost,
}

/// The take `on_request` makes, as [`counters::take`](crate::counters::take)'s arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct PreTake {
    pub source: KeySource,
    pub cost: u32,
    pub rate_per_second: f64,
    pub burst: u32,
}
