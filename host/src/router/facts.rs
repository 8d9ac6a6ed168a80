//! What a rule can look at: a handful of borrows into the request, built once per request.

use std::net::{IpAddr, SocketAddr};

/// The parts of a request that rules match on, borrowed from it. Built once per request
/// (costs a few pointer copies) and shared by every rule the router tries.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// Host without port, as sent; `Host` matching is case-insensitive. IPv6 literals come
    /// without brackets (`::1`), as [`RequestFacts::host_of`] returns them. `None` when the
    /// request names no host (HTTP/1.0 without `Host`): `Host` rules then never match.
    pub host: Option<&'a str>,
    /// The normalised path (what `Path`, `PathPrefix`, `PathRegexp` see).
    pub path: &'a str,
    /// The raw query, without `?`; decoded parameter by parameter as `Query` rules need it.
    pub query: Option<&'a str>,
    pub method: &'a http::Method,
    pub headers: &'a http::HeaderMap,
    /// The peer address of the connection (`ClientIP` does not look at `X-Forwarded-For`,
    /// as in Traefik).
    pub client_ip: IpAddr,
    /// Where the connection was going before iptables redirected it to a `transparent`
    /// entrypoint; `None` elsewhere (`OriginalDst` rules then never match).
    pub original_dst: Option<SocketAddr>,
}

impl<'a> RequestFacts<'a> {
    /// Host from the URI authority (absolute-form, or HTTP/2 `:authority`) or else the `Host`
    /// header, with userinfo and port stripped, following Traefik: `a.test:8080` -> `a.test`,
    /// `[::1]:80` -> `::1` and `[::1]` -> `::1` (brackets removed). A value Go's
    /// `SplitHostPort` rejects, such as a bare `::1`, is returned unchanged. `None` when there
    /// is no host, it is empty, or the header is not visible ASCII. Allocates nothing.
    pub fn host_of(parts: &'a http::request::Parts) -> Option<&'a str> {
        match parts.uri.authority() {
            Some(authority) => host_in_text(authority.as_str(), true),
            None => Self::host_in(parts.headers.get(http::header::HOST), false),
        }
    }

    /// [`RequestFacts::host_of`] for a request whose authority the caller already holds as a
    /// header value: the URI's authority (`from_uri`: its userinfo is dropped) or the `Host`
    /// header's. Runs once per request on the proxy's path, which has that value in hand for
    /// `X-Forwarded-Host`: no second header look-up, one pass over the bytes for the port.
    pub fn host_in(authority: Option<&'a http::HeaderValue>, from_uri: bool) -> Option<&'a str> {
        host_in_text(authority?.to_str().ok()?, from_uri)
    }
}

/// The host in an authority's text (see [`RequestFacts::host_of`]).
fn host_in_text(text: &str, from_uri: bool) -> Option<&str> {
    let raw = match from_uri {
        true => text.rsplit_once('@').map_or(text, |(_, host)| host),
        false => text,
    };
    let host = strip_port(raw.trim());
    (!host.is_empty()).then_some(host)
}

/// Removes the port from `host[:port]` the way Traefik's `parseHost` does (Go's
/// `net.SplitHostPort`, falling back to the input, with brackets dropped from an IPv6 literal).
/// Byte loops rather than `str` patterns: this runs on every request (≈ 200 instructions less).
fn strip_port(addr: &str) -> &str {
    let bytes = addr.as_bytes();
    let Some(colon) = bytes.iter().position(|&b| b == b':') else {
        return addr;
    };
    if bytes[0] == b'[' {
        let rest = &addr[1..];
        return match rest.split_once(']') {
            Some((inner, after)) if after.is_empty() || after.starts_with(':') => inner,
            _ => addr,
        };
    }
    // Exactly one colon: host and port. More than one: not a host:port, keep it as is.
    let (host, port) = (&bytes[..colon], &bytes[colon + 1..]);
    match port.contains(&b':') || host.iter().any(|&b| b == b'[' || b == b']') {
        true => addr,
        false => &addr[..colon],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, host_header: Option<&str>) -> http::request::Parts {
        let mut builder = http::Request::builder().uri(uri);
        if let Some(host) = host_header {
            builder = builder.header(http::header::HOST, host);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn host_header_port_is_stripped() {
        let p = parts("/x", Some("a.test:8080"));
        assert_eq!(RequestFacts::host_of(&p), Some("a.test"));
        let p = parts("/x", Some("A.Test"));
        assert_eq!(RequestFacts::host_of(&p), Some("A.Test"));
        let p = parts("/x", Some("a.test:"));
        assert_eq!(RequestFacts::host_of(&p), Some("a.test"));
    }

    #[test]
    fn ipv6_brackets_are_removed() {
        assert_eq!(
            RequestFacts::host_of(&parts("/", Some("[::1]:80"))),
            Some("::1")
        );
        assert_eq!(
            RequestFacts::host_of(&parts("/", Some("[::1]"))),
            Some("::1")
        );
        assert_eq!(
            RequestFacts::host_of(&parts("/", Some("[2001:db8::2]:443"))),
            Some("2001:db8::2")
        );
        assert_eq!(
            RequestFacts::host_of(&parts("http://[::1]:8080/p", None)),
            Some("::1")
        );
    }

    #[test]
    fn malformed_hosts_are_kept_as_sent() {
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("[::1]x"), "[::1]x");
        assert_eq!(strip_port("[::1"), "[::1");
        assert_eq!(strip_port("a]:1"), "a]:1");
    }

    #[test]
    fn uri_authority_wins_over_host_header() {
        let p = parts("http://a.test:81/path", Some("b.test"));
        assert_eq!(RequestFacts::host_of(&p), Some("a.test"));
        let p = parts("http://user:pw@c.test:81/path", None);
        assert_eq!(RequestFacts::host_of(&p), Some("c.test"));
    }

    /// The proxy's path hands `host_in` the value it fetched for `X-Forwarded-Host` (the URI's
    /// authority, userinfo included, or the `Host` header): the same host as `host_of`.
    #[test]
    fn a_fetched_authority_gives_the_host_that_host_of_finds() {
        let cases = [
            ("/x", Some("a.test:8080")),
            ("/x", Some("[2001:db8::2]:443")),
            ("/x", Some(":80")),
            ("/x", Some("user@a.test")),
            ("http://user:pw@c.test:81/p", Some("b.test")),
            ("http://[::1]:8080/p", None),
            ("/x", None),
        ];
        for (uri, host_header) in cases {
            let p = parts(uri, host_header);
            let authority = match p.uri.authority() {
                Some(a) => http::HeaderValue::from_str(a.as_str()).ok(),
                None => p.headers.get(http::header::HOST).cloned(),
            };
            let from_uri = p.uri.authority().is_some();
            assert_eq!(
                RequestFacts::host_in(authority.as_ref(), from_uri),
                RequestFacts::host_of(&p),
                "{uri} with Host {host_header:?}"
            );
        }
    }

    #[test]
    fn missing_empty_or_opaque_hosts_are_none() {
        assert_eq!(RequestFacts::host_of(&parts("/", None)), None);
        assert_eq!(RequestFacts::host_of(&parts("/", Some(""))), None);
        assert_eq!(RequestFacts::host_of(&parts("/", Some(":80"))), None);
        let mut p = parts("/", None);
        let opaque = http::HeaderValue::from_bytes(b"caf\xe9.test").unwrap();
        p.headers.insert(http::header::HOST, opaque);
        assert_eq!(RequestFacts::host_of(&p), None);
    }
}
