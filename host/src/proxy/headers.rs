//! Header hygiene between client, plugins and upstream: hop-by-hop removal and forwarding
//! headers. Runs once per request before the plugins (so they see what the upstream will see)
//! and once per upstream response.

use std::net::SocketAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Hop-by-hop headers (RFC 9110 §7.6.1 plus the legacy ones proxies strip).
const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// Whether `name` is one of the headers [`strip_hop_by_hop`] may remove or inspect.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(name) || name == header::UPGRADE || name == header::TE
}

/// Removes hop-by-hop headers, every header named in `Connection`, `Upgrade`, and `TE` unless it
/// is exactly `trailers` (which gRPC needs end to end).
///
/// Cost: one pass over the header names (standard names compare as integers) for a message
/// that carries none of them, the common case; otherwise a dozen map removals.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(header::UPGRADE);
    let te_is_trailers = headers
        .get(header::TE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    if !te_is_trailers {
        headers.remove(header::TE);
    }
}

pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
pub static X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");

/// The forwarding header names as constants, for appending by value: each use is the name
/// built at compile time (a static string's bytes), where appending `&X_FORWARDED_FOR` cloned
/// the static's name through `Bytes`' vtable, once per header per request. Never borrowed (a
/// borrow would be of a temporary).
#[allow(clippy::declare_interior_mutable_const)]
mod owned_names {
    use http::HeaderName;

    pub(super) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
    pub(super) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
    pub(super) const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
    pub(super) const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
    pub(super) const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
}

/// The forwarding header values that depend only on the client connection, built once per
/// connection so requests only clone them (a reference count, no allocation).
#[derive(Debug, Clone)]
pub struct ForwardedValues {
    /// The client's IP, for `X-Forwarded-For` and `X-Real-Ip`.
    pub client_ip: HeaderValue,
    /// The gateway port the client connected to, for `X-Forwarded-Port`.
    pub port: HeaderValue,
    /// `http` or `https`, for `X-Forwarded-Proto`.
    pub proto: HeaderValue,
}

impl ForwardedValues {
    /// Runs once per accepted connection.
    pub fn new(client: SocketAddr, local_port: u16, tls: bool) -> Self {
        let ip = client.ip().to_string();
        ForwardedValues {
            // An IP address is always a valid header value.
            client_ip: HeaderValue::from_str(&ip)
                .unwrap_or_else(|_| HeaderValue::from_static("unknown")),
            port: HeaderValue::from(local_port),
            proto: HeaderValue::from_static(if tls { "https" } else { "http" }),
        }
    }
}

/// `X-Forwarded-For/-Proto/-Host/-Port`, `X-Real-Ip` and `Forwarded`, as Traefik's
/// `forwardedHeaders` does. From an untrusted client they are removed first (a client must not
/// speak for the gateway); from a trusted one (a load balancer in front) they are kept. Then
/// the client's IP is appended to `X-Forwarded-For`, and the others are set where absent.
/// `host` is the host the client addressed (for `X-Forwarded-Host`).
///
/// Cost: a request that carries none of these headers (the common case) costs one scan of its
/// header names and five appends (one table growth at most); otherwise a few lookups per name.
/// No allocation unless a trusted client sent a chain to append to.
pub fn set_forwarded(
    headers: &mut HeaderMap,
    values: &ForwardedValues,
    host: Option<&HeaderValue>,
    trusted: bool,
) {
    if !headers.keys().any(is_forwarding) {
        // Nothing to remove or keep: every header is absent, appended without looking; the
        // names by value (`owned_names`), not cloned from the statics.
        headers.reserve(5);
        headers.append(owned_names::X_FORWARDED_FOR, values.client_ip.clone());
        headers.append(owned_names::X_REAL_IP, values.client_ip.clone());
        headers.append(owned_names::X_FORWARDED_PROTO, values.proto.clone());
        headers.append(owned_names::X_FORWARDED_PORT, values.port.clone());
        if let Some(v) = host {
            headers.append(owned_names::X_FORWARDED_HOST, v.clone());
        }
        return;
    }
    if !trusted {
        for name in [
            &X_FORWARDED_FOR,
            &X_FORWARDED_PROTO,
            &X_FORWARDED_HOST,
            &X_FORWARDED_PORT,
            &X_REAL_IP,
        ] {
            headers.remove(name);
        }
        headers.remove(header::FORWARDED);
    }
    let xff = if trusted && headers.contains_key(&X_FORWARDED_FOR) {
        let chain: Vec<&str> = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let ip = values.client_ip.to_str().unwrap_or("unknown");
        HeaderValue::from_str(&format!("{}, {ip}", chain.join(", "))).ok()
    } else {
        Some(values.client_ip.clone())
    };
    if let Some(v) = xff {
        headers.insert(&X_FORWARDED_FOR, v);
    }
    if !headers.contains_key(&X_REAL_IP) {
        headers.insert(&X_REAL_IP, values.client_ip.clone());
    }
    if !headers.contains_key(&X_FORWARDED_PROTO) {
        headers.insert(&X_FORWARDED_PROTO, values.proto.clone());
    }
    if !headers.contains_key(&X_FORWARDED_PORT) {
        headers.insert(&X_FORWARDED_PORT, values.port.clone());
    }
    if !headers.contains_key(&X_FORWARDED_HOST)
        && let Some(v) = host
    {
        headers.insert(&X_FORWARDED_HOST, v.clone());
    }
}

/// One of the headers [`set_forwarded`] removes or keeps.
fn is_forwarding(name: &HeaderName) -> bool {
    name == X_FORWARDED_FOR
        || name == X_FORWARDED_PROTO
        || name == X_FORWARDED_HOST
        || name == X_FORWARDED_PORT
        || name == X_REAL_IP
        || name == header::FORWARDED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_named_headers_and_hop_by_hop_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, X-Secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(header::TE, HeaderValue::from_static("gzip"));
        h.insert("x-kept", HeaderValue::from_static("yes"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert_eq!(h.get("x-kept").map(|v| v.as_bytes()), Some(&b"yes"[..]));
    }

    #[test]
    fn te_trailers_survives_for_grpc() {
        let mut h = HeaderMap::new();
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        strip_hop_by_hop(&mut h);
        assert!(h.contains_key(header::TE));
    }

    #[test]
    fn client_forwarded_headers_are_replaced() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        h.insert(header::FORWARDED, HeaderValue::from_static("for=6.6.6.6"));
        let values = ForwardedValues::new("10.1.2.3:5555".parse().unwrap(), 8080, false);
        set_forwarded(
            &mut h,
            &values,
            Some(&HeaderValue::from_static("a.test")),
            false,
        );
        assert_eq!(h.get("x-forwarded-for").unwrap(), "10.1.2.3");
        assert_eq!(h.get("x-forwarded-proto").unwrap(), "http");
        assert_eq!(h.get("x-forwarded-host").unwrap(), "a.test");
        assert_eq!(h.get("x-forwarded-port").unwrap(), "8080");
        assert!(!h.contains_key(header::FORWARDED));
    }

    #[test]
    fn a_request_without_forwarding_headers_gets_each_once() {
        for trusted in [false, true] {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_static("a.test"));
            let values = ForwardedValues::new("10.1.2.3:5555".parse().unwrap(), 8080, false);
            set_forwarded(
                &mut h,
                &values,
                Some(&HeaderValue::from_static("a.test")),
                trusted,
            );
            for (name, value) in [
                ("x-forwarded-for", "10.1.2.3"),
                ("x-real-ip", "10.1.2.3"),
                ("x-forwarded-proto", "http"),
                ("x-forwarded-port", "8080"),
                ("x-forwarded-host", "a.test"),
            ] {
                let all: Vec<_> = h.get_all(name).iter().collect();
                assert_eq!(all, [value], "{name}");
            }
            assert_eq!(h.len(), 6);
        }
    }
}

#[cfg(test)]
mod trusted_tests {
    use super::*;

    #[test]
    fn a_trusted_forwarder_keeps_the_chain_and_the_client_ip_is_appended() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        h.insert("x-real-ip", HeaderValue::from_static("203.0.113.7"));
        let values = ForwardedValues::new("10.0.0.2:4000".parse().unwrap(), 80, false);
        set_forwarded(
            &mut h,
            &values,
            Some(&HeaderValue::from_static("a.test")),
            true,
        );
        assert_eq!(h.get("x-forwarded-for").unwrap(), "203.0.113.7, 10.0.0.2");
        assert_eq!(h.get("x-forwarded-proto").unwrap(), "https");
        assert_eq!(h.get("x-real-ip").unwrap(), "203.0.113.7");
        assert_eq!(h.get("x-forwarded-host").unwrap(), "a.test");
    }
}
