//! The eleven Traefik v3 matchers and the mesh's two (`OriginalDst`, `OriginalDstPort`), compiled (see `compile.rs`), evaluated per request against
//! [`RequestFacts`] without allocating.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderName, Method};
use ipnet::IpNet;
use regex::Regex;

use super::facts::RequestFacts;
use super::query;

/// A matcher with its arguments compiled: lowercased hosts, parsed header names, methods and
/// networks, built regexes.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// Lowercase host, brackets of an IPv6 literal removed.
    Host(Box<str>),
    /// Matched case-insensitively against the host (Traefik lowercases the host first).
    HostRegexp(Regex),
    Path(Box<str>),
    /// Plain string prefix: `/api` matches `/api`, `/api/x` and `/apix`.
    PathPrefix(Box<str>),
    PathRegexp(Regex),
    Method(Method),
    Header(HeaderName, Box<[u8]>),
    HeaderRegexp(HeaderName, regex::bytes::Regex),
    /// Key, and the value one of the key's values must equal (`None`: the key is present).
    Query(Box<str>, Option<Box<str>>),
    QueryRegexp(Box<str>, regex::bytes::Regex),
    /// A single address is stored as a /32 or /128 network; IPv4-mapped IPv6 is stored as IPv4.
    ClientIp(IpNet),
    /// The connection's destination before iptables redirected it (`transparent`).
    OriginalDst(SocketAddr),
    OriginalDstPort(u16),
}

impl Matcher {
    /// Whether this matcher accepts the request. Allocates nothing (a `QueryRegexp` value with
    /// escapes longer than 512 bytes is the one exception, see [`query::with_decoded`]).
    pub fn matches(&self, facts: &RequestFacts<'_>) -> bool {
        match self {
            Matcher::Host(host) => facts.host.is_some_and(|req| host_equals(host, req)),
            Matcher::HostRegexp(re) => re.is_match(facts.host.unwrap_or("")),
            Matcher::Path(path) => facts.path == &**path,
            Matcher::PathPrefix(prefix) => facts.path.starts_with(&**prefix),
            Matcher::PathRegexp(re) => re.is_match(facts.path),
            Matcher::Method(method) => facts.method == method,
            Matcher::Header(name, value) => facts
                .headers
                .get_all(name)
                .iter()
                .any(|v| v.as_bytes() == &**value),
            Matcher::HeaderRegexp(name, re) => facts
                .headers
                .get_all(name)
                .iter()
                .any(|v| re.is_match(v.as_bytes())),
            Matcher::Query(key, value) => query_values(facts, key).any(|raw| match value {
                None => true,
                Some(value) => query::decoded_eq(raw, value),
            }),
            Matcher::QueryRegexp(key, re) => query_values(facts, key)
                .any(|raw| query::with_decoded(raw, |value| re.is_match(value))),
            Matcher::ClientIp(net) => net.contains(&canonical_ip(facts.client_ip)),
            Matcher::OriginalDst(addr) => facts.original_dst == Some(*addr),
            Matcher::OriginalDstPort(port) => {
                facts.original_dst.is_some_and(|dst| dst.port() == *port)
            }
        }
    }
}

/// Traefik's host comparison: case-insensitive, and one trailing dot on either side is ignored.
fn host_equals(rule_host: &str, req_host: &str) -> bool {
    if req_host.is_empty() {
        return false;
    }
    req_host.eq_ignore_ascii_case(rule_host)
        || rule_host
            .strip_suffix('.')
            .is_some_and(|h| req_host.eq_ignore_ascii_case(h))
        || req_host
            .strip_suffix('.')
            .is_some_and(|h| h.eq_ignore_ascii_case(rule_host))
}

/// The raw values of query parameter `key` (matched after decoding), in order.
fn query_values<'f>(facts: &RequestFacts<'f>, key: &'f str) -> impl Iterator<Item = &'f str> {
    query::pairs(facts.query.unwrap_or(""))
        .filter(move |(raw_key, _)| query::decoded_eq(raw_key, key))
        .map(|(_, raw_value)| raw_value)
}

/// The client address with IPv4-mapped IPv6 (`::ffff:1.2.3.4`) turned into IPv4.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_equality_ignores_case_and_one_trailing_dot() {
        assert!(host_equals("a.test", "A.Test"));
        assert!(host_equals("a.test", "a.test."));
        assert!(host_equals("a.test.", "a.test"));
        assert!(!host_equals("a.test", "a.test.."));
        assert!(!host_equals("a.test", "b.a.test"));
        assert!(!host_equals("a.test", ""));
    }

    #[test]
    fn ipv4_mapped_client_addresses_count_as_ipv4() {
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(canonical_ip(mapped), "10.1.2.3".parse::<IpAddr>().unwrap());
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(canonical_ip(v6), v6);
    }
}
