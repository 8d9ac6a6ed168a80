//! A middleware's declared pre-take (`pre-take`): the take its `on-request` makes, made by the
//! chain itself before the hook, natively. When the take is allowed the request goes on as if
//! `on-request` had continued, without an instance or a hook call; when it is refused the hook
//! is called as usual (it takes again on the same key, is refused, and builds its reply: the
//! bundled `rate-limit`'s 429 with `Retry-After` and `X-Retry-In`).
//!
//! The key must be the plugin's byte for byte, or the two takes would land in two buckets (and
//! a limit would double): the client IP's text is `plugin_contract::peer_key::PeerKey`, the
//! code the plugin runs; a header's value and the host are read as the `request.header` and
//! `request.authority` host calls read them, then turned into text as plugin-sdk does.
//!
//! When it runs: per request, at the middleware's place in the chain, only for a middleware
//! whose `counters` are in process (with `redis` the hook is called as before, and parks the
//! request for Redis). Cost: the key's text (on the stack for the client IP; a header lookup,
//! or the host's text) and one in-process bucket update (`CounterScope::reserve`), ≈ 0.1 µs,
//! instead of an instance checkout, a hook call, two host calls and the post-return (≈ 1 µs).

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderName;
use plugin_contract::peer_key::PeerKey;

use super::bindings::pre_take::{KeySource as WitKeySource, TakeSpec};
use super::counters::{CounterScope, Reservation, Take};
use super::heads::authority_of;

/// Where the key comes from.
#[derive(Debug)]
enum KeySource {
    /// The TCP peer's address text, IPv6 masked to this many bits when set.
    ClientIp(Option<u8>),
    /// A header's first value; `None`: a name `request.header` finds no header under (an
    /// invalid name), so the key is always "".
    Header(Option<HeaderName>),
    /// The request's authority.
    Host,
}

/// A checked pre-take, with the scope and the wait it takes under. Config time.
#[derive(Debug)]
pub struct PreTake {
    source: KeySource,
    cost: u32,
    rate_per_second: f64,
    burst: u32,
    scope: Arc<CounterScope>,
    /// The `rateLimit` grant's wait for a close token (`counters_import`); 0: none.
    max_wait_ns: u64,
}

impl PreTake {
    /// Checks a declared spec for a middleware whose in-process `scope` the hook's takes use.
    /// An IPv6 subnet outside 1..=128 is refused (the plugin's config parser refuses it too).
    pub fn check(
        spec: TakeSpec,
        scope: Arc<CounterScope>,
        max_wait_ns: u64,
    ) -> Result<PreTake, String> {
        let source = match spec.source {
            WitKeySource::ClientIp(Some(bits)) if !(1..=128).contains(&bits) => {
                return Err(format!("ipv6-subnet {bits} is not in 1..=128"));
            }
            WitKeySource::ClientIp(bits) => KeySource::ClientIp(bits),
            // As `HeaderMap::get(&str)` in the `request.header` host call: an invalid name
            // finds nothing.
            WitKeySource::RequestHeader(name) => {
                KeySource::Header(HeaderName::from_bytes(name.as_bytes()).ok())
            }
            WitKeySource::RequestHost => KeySource::Host,
        };
        Ok(PreTake {
            source,
            cost: spec.cost,
            rate_per_second: spec.rate_per_second,
            burst: spec.burst,
            scope,
            max_wait_ns,
        })
    }

    /// Calls `f` with the key of a request (its `parts`, its TCP peer `client`), as the plugin
    /// computes it.
    fn with_key<R>(
        &self,
        parts: &http::request::Parts,
        client: SocketAddr,
        f: impl FnOnce(&str) -> R,
    ) -> R {
        match &self.source {
            KeySource::ClientIp(bits) => f(PeerKey::peer(client.ip(), *bits).as_str()),
            KeySource::Header(name) => {
                let value = name.as_ref().and_then(|n| parts.headers.get(n));
                // plugin-sdk's `header_str`: the bytes as UTF-8, invalid sequences replaced.
                let text =
                    value.map_or(Cow::Borrowed(""), |v| String::from_utf8_lossy(v.as_bytes()));
                f(&text)
            }
            KeySource::Host => f(authority_of(parts).unwrap_or_default()),
        }
    }

    /// Makes the take for a request's `parts` from `client` (the native step,
    /// `chain_fixed::native_request_step`, on either path); the caller applies the wait
    /// ([`delay`]).
    pub fn take(&self, parts: &http::request::Parts, client: SocketAddr) -> Reservation {
        let (scope, cost, rate, burst) = (&self.scope, self.cost, self.rate_per_second, self.burst);
        let max_wait_ns = self.max_wait_ns;
        self.with_key(parts, client, |key| {
            reserve(scope, key, cost, rate, burst, max_wait_ns)
        })
    }
}

/// A request hook's in-process take (`counters.take` in `on-request`, `counters_import`, and a
/// pre-take): with `max_wait_ns` above 0 (the `rateLimit` grant) a token at most that far
/// away is reserved ([`Reservation::After`]: see [`delay`]), else only a token there now is
/// taken.
pub(super) fn reserve(
    scope: &CounterScope,
    key: &str,
    cost: u32,
    rate: f64,
    burst: u32,
    max_wait_ns: u64,
) -> Reservation {
    if max_wait_ns == 0 {
        return match scope.take(key, cost, rate, burst) {
            Take::Allowed => Reservation::Now,
            Take::Denied(wait) => Reservation::Denied(wait),
        };
    }
    scope.reserve(key, cost, rate, burst, max_wait_ns)
}

/// What a request's take answers: a token reserved ahead makes the request wait for it after
/// its request hooks, on its own task (`proxy::handler`).
pub(super) fn delay(take_delay_ns: &mut u64, reservation: Reservation) -> Take {
    match reservation {
        Reservation::Now => Take::Allowed,
        Reservation::After(wait) => {
            *take_delay_ns = (*take_delay_ns).max(wait);
            Take::Allowed
        }
        Reservation::Denied(wait) => Take::Denied(wait),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::heads::RequestHead;

    /// The take the native step makes for `head`: whether it was allowed; a close token
    /// reserved raises the head's wait.
    fn admits(take: &PreTake, head: &mut RequestHead) -> bool {
        let reservation = take.take(&head.parts, head.client_addr);
        delay(&mut head.take_delay_ns, reservation) == Take::Allowed
    }

    fn head(peer: SocketAddr, headers: &[(&str, &[u8])], uri: &str) -> RequestHead {
        let mut builder = http::Request::builder().uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let (parts, ()) = builder.body(()).expect("valid").into_parts();
        RequestHead::at(parts, peer)
    }

    fn pre_take(source: WitKeySource, rate: f64, burst: u32, max_wait_ns: u64) -> PreTake {
        let spec = TakeSpec {
            source,
            cost: 1,
            rate_per_second: rate,
            burst,
        };
        PreTake::check(spec, Arc::default(), max_wait_ns).expect("valid")
    }

    fn key(take: &PreTake, head: &RequestHead) -> String {
        take.with_key(&head.parts, head.client_addr, str::to_owned)
    }

    /// The examples `traefik-options`' peer key test pins
    /// (`the_peer_key_from_the_typed_ip_is_the_key_from_the_address_text`), from a request's
    /// TCP peer: IPv4, IPv6, IPv4-mapped, subnets.
    #[test]
    fn the_client_ip_key_is_the_text_the_rate_limit_plugin_keys_by() {
        for (ip, bits, expected) in plugin_contract::peer_key::PEER_KEY_EXAMPLES {
            let peer = SocketAddr::new(ip.parse().expect("valid"), 4321);
            let take = pre_take(WitKeySource::ClientIp(*bits), 1.0, 1, 0);
            assert_eq!(
                key(&take, &head(peer, &[], "/")),
                *expected,
                "{ip} {bits:?}"
            );
        }
        // Literally, for the common cases.
        let take = pre_take(WitKeySource::ClientIp(Some(64)), 1.0, 1, 0);
        let v6: SocketAddr = "[2001:db8:1:2:3:4:5:6]:443".parse().expect("valid");
        assert_eq!(key(&take, &head(v6, &[], "/")), "2001:db8:1:2::");
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:5000".parse().expect("valid");
        assert_eq!(key(&take, &head(mapped, &[], "/")), "10.0.0.1");
        let v4: SocketAddr = "10.0.0.1:5000".parse().expect("valid");
        assert_eq!(key(&take, &head(v4, &[], "/")), "10.0.0.1");
    }

    #[test]
    fn the_header_and_host_keys_are_what_the_plugin_reads() {
        let peer: SocketAddr = "10.0.0.1:1".parse().expect("valid");
        let by_key = pre_take(WitKeySource::RequestHeader("X-Api-Key".into()), 1.0, 1, 0);
        let first = head(peer, &[("x-api-key", b"a"), ("x-api-key", b"b")], "/");
        assert_eq!(key(&by_key, &first), "a", "the first value");
        assert_eq!(key(&by_key, &head(peer, &[], "/")), "", "absent");
        let latin1 = head(peer, &[("x-api-key", b"caf\xe9")], "/");
        assert_eq!(key(&by_key, &latin1), "caf\u{fffd}", "lossy, as header_str");
        let invalid = pre_take(WitKeySource::RequestHeader("bad name".into()), 1.0, 1, 0);
        assert_eq!(key(&invalid, &first), "");

        let by_host = pre_take(WitKeySource::RequestHost, 1.0, 1, 0);
        let host = head(peer, &[("host", b"example.test:8080")], "/");
        assert_eq!(key(&by_host, &host), "example.test:8080");
        let absolute = head(peer, &[("host", b"other")], "http://abs.test/x");
        assert_eq!(key(&by_host, &absolute), "abs.test");
        assert_eq!(key(&by_host, &head(peer, &[], "/")), "");
    }

    #[test]
    fn a_pre_take_admits_the_burst_then_refuses_and_a_close_token_delays() {
        let peer: SocketAddr = "10.0.0.1:1".parse().expect("valid");
        let take = pre_take(WitKeySource::ClientIp(None), 0.001, 2, 0);
        let mut h = head(peer, &[], "/");
        assert!(admits(&take, &mut h));
        assert!(admits(&take, &mut h));
        assert!(!admits(&take, &mut h), "the burst is spent");
        assert_eq!(h.take_delay_ns, 0);
        // The same bucket as the hook's take: refused there too.
        assert!(matches!(
            take.scope.take("10.0.0.1", 1, 0.001, 2),
            Take::Denied(_)
        ));

        // 10 a second with a 100 ms wait allowed: the second request waits for its token.
        let close = pre_take(WitKeySource::ClientIp(None), 10.0, 1, 100_000_000);
        let mut h = head(peer, &[], "/");
        assert!(admits(&close, &mut h));
        assert_eq!(h.take_delay_ns, 0);
        assert!(admits(&close, &mut h));
        assert!(h.take_delay_ns > 0 && h.take_delay_ns <= 100_000_000);
    }

    /// The plain path's take (`chain_fixed`, before a request head exists) keys and counts as
    /// the chain path's: one bucket for both.
    #[test]
    fn a_take_on_the_request_parts_is_the_take_on_its_head() {
        let peer: SocketAddr = "10.0.0.1:1".parse().expect("valid");
        let take = pre_take(WitKeySource::RequestHost, 0.001, 2, 0);
        let h = head(peer, &[("host", b"example.test")], "/");
        assert_eq!(take.take(&h.parts, peer), Reservation::Now);
        let mut h = head(peer, &[("host", b"example.test")], "/");
        assert!(admits(&take, &mut h), "the second token of the burst");
        assert!(matches!(take.take(&h.parts, peer), Reservation::Denied(_)));
        let other = head(peer, &[("host", b"other.test")], "/");
        assert_eq!(
            take.take(&other.parts, peer),
            Reservation::Now,
            "its own bucket"
        );

        // A close token's wait goes where the caller says.
        let close = pre_take(WitKeySource::ClientIp(None), 10.0, 1, 100_000_000);
        let mut wait = 0;
        let h = head(peer, &[], "/");
        assert_eq!(delay(&mut wait, close.take(&h.parts, peer)), Take::Allowed);
        assert_eq!(wait, 0);
        assert_eq!(delay(&mut wait, close.take(&h.parts, peer)), Take::Allowed);
        assert!(wait > 0 && wait <= 100_000_000);
    }

    #[test]
    fn an_ipv6_subnet_outside_the_address_is_refused() {
        for bits in [0u8, 129] {
            let spec = TakeSpec {
                source: WitKeySource::ClientIp(Some(bits)),
                cost: 1,
                rate_per_second: 1.0,
                burst: 1,
            };
            assert!(PreTake::check(spec, Arc::default(), 0).is_err());
        }
    }
}
