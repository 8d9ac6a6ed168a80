//! The request view lent to the hooks.

use crate::EditError;

/// The request being processed, lent to [`Middleware::on_request`](crate::Middleware::on_request)
/// and [`Middleware::on_response`](crate::Middleware::on_response).
///
/// In the component this is a handle to the head the host owns: every method is one host call
/// and copies only what it returns. Natively it wraps a `testing::TestRequest` that
/// applies the host's edit rules. Header names are case-insensitive.
pub struct Request<'a> {
    head: RequestRef<'a>,
}

#[cfg(target_arch = "wasm32")]
pub(crate) type RequestRef<'a> = &'a crate::guest::wit::http::Request;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type RequestRef<'a> = &'a mut crate::testing::TestRequest;

/// The operations a request backend (host resource or test double) provides.
pub(crate) trait RequestHead {
    fn method(&self) -> String;
    fn scheme(&self) -> String;
    fn authority(&self) -> Option<String>;
    fn path(&self) -> String;
    fn raw_path(&self) -> String;
    fn query(&self) -> Option<String>;
    fn set_path(&mut self, path: &str) -> Result<(), EditError>;
    fn set_query(&mut self, query: Option<&str>) -> Result<(), EditError>;
    fn header(&self, name: &str) -> Option<Vec<u8>>;
    fn header_all(&self, name: &str) -> Vec<Vec<u8>>;
    fn headers(&self) -> Vec<(String, Vec<u8>)>;
    fn set_header(&mut self, name: &str, value: &[u8]) -> Result<(), EditError>;
    fn append_header(&mut self, name: &str, value: &[u8]) -> Result<(), EditError>;
    fn remove_header(&mut self, name: &str);
    fn client_addr(&self) -> String;
    fn is_tls(&self) -> bool;
    fn router_name(&self) -> String;
    fn state(&self) -> Option<Vec<u8>>;
    fn set_state(&mut self, value: &[u8]) -> Result<(), EditError>;
}

impl<'a> Request<'a> {
    pub(crate) fn new(head: RequestRef<'a>) -> Self {
        Request { head }
    }

    /// The host resource (or test double) behind this view, for capability calls.
    pub(crate) fn backend(&mut self) -> &mut RequestRef<'a> {
        &mut self.head
    }

    /// The same, for read-only capability calls.
    pub(crate) fn backend_ref(&self) -> &RequestRef<'a> {
        &self.head
    }

    /// Method, upper-case as received (`GET`, `POST`...).
    pub fn method(&self) -> String {
        RequestHead::method(&self.head)
    }

    /// `http` or `https`: the scheme the client used to reach the gateway.
    pub fn scheme(&self) -> String {
        RequestHead::scheme(&self.head)
    }

    /// Host (and port, if given) from the request target or the `Host` header.
    pub fn authority(&self) -> Option<String> {
        RequestHead::authority(&self.head)
    }

    /// The path the router matched and the upstream receives, without the query: the
    /// gateway's one normalisation of the client's path (`router::path` in the host; the
    /// contract's `path` in `wit/plugin.wit`).
    ///
    /// What it decodes: only percent-escapes of *unreserved* characters (`A-Z a-z 0-9 - . _ ~`),
    /// so `/%61dmin` reads `/admin`. Dot segments are resolved (`/api/../admin` and
    /// `/api/%2e%2e/admin` read `/admin`; `..` never climbs above `/`) and runs of `/` are
    /// merged.
    ///
    /// What it does not decode: every other escape stays encoded, with upper-case hex digits —
    /// `%2F` stays `%2F` (never a separator), `%20` stays `%20`, `%C3%A9` stays `%C3%A9` (not
    /// `é`), `%25` stays `%25` (so `%252e` is never read as `.`). It is never decoded twice. `+`
    /// is not a space. A path with a `%` that starts no escape never reaches a plugin (the
    /// gateway answers 400). For the bytes as the client sent them, use [`Request::raw_path`];
    /// to compare with text containing non-ASCII characters, percent-encode that text with
    /// upper-case hex digits first.
    pub fn path(&self) -> String {
        RequestHead::path(&self.head)
    }

    /// The path exactly as the client sent it, before normalisation, without the query.
    pub fn raw_path(&self) -> String {
        RequestHead::raw_path(&self.head)
    }

    /// The query string without the leading `?`, if the target had one.
    pub fn query(&self) -> Option<String> {
        RequestHead::query(&self.head)
    }

    /// Replace the path sent upstream; it must start with `/` (see [`rules::check_path`](crate::rules::check_path)).
    pub fn set_path(&mut self, path: &str) -> Result<(), EditError> {
        RequestHead::set_path(&mut self.head, path)
    }

    /// Replace (or with `None`, remove) the query sent upstream.
    pub fn set_query(&mut self, query: Option<&str>) -> Result<(), EditError> {
        RequestHead::set_query(&mut self.head, query)
    }

    /// First value of a header, if present.
    pub fn header(&self, name: &str) -> Option<Vec<u8>> {
        RequestHead::header(&self.head, name)
    }

    /// First value of a header as text. Lossless only if the value is UTF-8: other bytes become
    /// U+FFFD, so compare raw bytes from [`Request::header`] where that matters (secrets, tokens).
    pub fn header_str(&self, name: &str) -> Option<String> {
        self.header(name).map(bytes_to_string)
    }

    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<Vec<u8>> {
        RequestHead::header_all(&self.head, name)
    }

    /// Every header (lower-case name, value) in order. Copies the whole head: use it only when the
    /// plugin really needs all of it.
    pub fn headers(&self) -> Vec<(String, Vec<u8>)> {
        RequestHead::headers(&self.head)
    }

    /// Replace every value of a header with one value.
    pub fn set_header(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), EditError> {
        RequestHead::set_header(&mut self.head, name, value.as_ref())
    }

    /// Add a value after the existing ones.
    pub fn append_header(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), EditError> {
        RequestHead::append_header(&mut self.head, name, value.as_ref())
    }

    /// Remove every value of a header; removing an absent header is not an error.
    pub fn remove_header(&mut self, name: &str) {
        RequestHead::remove_header(&mut self.head, name);
    }

    /// The client's address as `ip:port` (the TCP peer, not `X-Forwarded-For`).
    pub fn client_addr(&self) -> String {
        RequestHead::client_addr(&self.head)
    }

    /// The client's IP address (the TCP peer of [`client_addr`](Self::client_addr), without the
    /// port), as the socket gives it: an IPv4 client of a dual-stack listener may come as an
    /// IPv4-mapped IPv6 address.
    ///
    /// One host call (the `client-ip` import) that copies the address: no text is formatted or
    /// allocated on either side, so it costs less than [`client_addr`](Self::client_addr) and
    /// a parse. A plugin that never calls it does not import `client-ip`; needs no grant.
    pub fn client_ip(&self) -> std::net::IpAddr {
        client_ip::of(&self.head)
    }

    /// Whether the client connection to the gateway used TLS.
    pub fn is_tls(&self) -> bool {
        RequestHead::is_tls(&self.head)
    }

    /// Name of the router that matched this request.
    pub fn router_name(&self) -> String {
        RequestHead::router_name(&self.head)
    }

    /// This middleware's per-request scratch, as last set by [`Request::set_state`] for this
    /// request (typically in `on_request`, read back in `on_response`). The host keeps it, since
    /// an instance is not held across the upstream round trip.
    pub fn state(&self) -> Option<Vec<u8>> {
        RequestHead::state(&self.head)
    }

    /// Replace this middleware's scratch for the current request; at most
    /// [`MAX_STATE_BYTES`](crate::rules::MAX_STATE_BYTES), else [`EditError::LimitExceeded`].
    pub fn set_state(&mut self, value: impl AsRef<[u8]>) -> Result<(), EditError> {
        RequestHead::set_state(&mut self.head, value.as_ref())
    }
}

/// Header bytes as text, copying only when they are not UTF-8.
pub(crate) fn bytes_to_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(target_arch = "wasm32")]
mod client_ip {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::RequestRef;
    use crate::guest::wit::client_ip::{self as wit, IpAddress};

    // The host answers for the request of the current hook call, which is `req`'s.
    pub(super) fn of(_req: &RequestRef<'_>) -> IpAddr {
        match wit::client_ip() {
            IpAddress::Ipv4((a, b, c, d)) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
            IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h))
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod client_ip {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};

    use super::RequestRef;

    /// The test double's `client_addr` (`ip:port`, or a bare IP); `0.0.0.0` when it is neither,
    /// as a socket would never give.
    pub(super) fn of(req: &RequestRef<'_>) -> IpAddr {
        let text = req.client_addr.as_str();
        text.parse::<SocketAddr>()
            .map(|addr| addr.ip())
            .or_else(|_| text.parse::<IpAddr>())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}
