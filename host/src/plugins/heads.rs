//! Request and response heads as the plugins see them: host-owned, lent to a hook call.
//!
//! A head moves into its instance's lent-head slot (`lent`) for one hook call and comes back
//! out after it (a move of a few hundred bytes, no copy of headers). Every edit a plugin makes
//! goes through the checks in `head_edits`, so whatever a plugin does, the head stays a valid
//! HTTP head within the budget. (The types live apart from their edits because `bindings` maps
//! the WIT resources onto them, and the edits return the generated `EditError`.)

use std::net::SocketAddr;
use std::sync::Arc;

use super::connection_facts::ConnectionFacts;
use super::counters::InFlightLease;
use super::outbound::Subrequest;

/// The contract's limits (shared with plugin-sdk and stated in the WIT): the largest single
/// header value a plugin may write, the largest per-request scratch a middleware may keep, the
/// statuses a plugin may set or reply with.
pub use plugin_contract::{MAX_HEADER_VALUE_BYTES, MAX_STATE_BYTES, STATUS_RANGE};

/// The request head lent to `on-request` / `on-response`: boxed, so the many moves of a hook
/// call (handler -> chain -> middleware -> instance -> lent slot and back) move a pointer, not
/// a few hundred bytes. One allocation per request that has a plugin chain.
#[derive(Debug)]
pub struct RequestHead(Box<RequestHeadFields>);

impl std::ops::Deref for RequestHead {
    type Target = RequestHeadFields;
    fn deref(&self) -> &RequestHeadFields {
        &self.0
    }
}

impl std::ops::DerefMut for RequestHead {
    fn deref_mut(&mut self) -> &mut RequestHeadFields {
        &mut self.0
    }
}

/// What a [`RequestHead`] holds.
#[derive(Debug)]
pub struct RequestHeadFields {
    /// Method, URI (path and query as they will be sent upstream), version and headers.
    pub parts: http::request::Parts,
    /// The path exactly as the client sent it, before normalisation.
    pub raw_path: RawPath,
    /// The TCP peer of the client connection.
    pub client_addr: SocketAddr,
    /// Whether the client reached the gateway over TLS.
    pub tls: bool,
    /// The client connection's facts (`connection` interface), shared by its requests.
    pub connection: Arc<ConnectionFacts>,
    /// Name of the router that matched.
    pub router: Arc<str>,
    /// Per-middleware scratch (index = position in the chain); allocated on the first
    /// `set-state`, so requests whose plugins keep no state pay nothing for it.
    pub(super) states: Vec<Option<Vec<u8>>>,
    /// Length of the chain (the number of scratch slots that may be used).
    pub(super) chain_len: usize,
    /// Chain position of the middleware currently being called; selects its scratch.
    pub(crate) current: usize,
    /// Header count a plugin may grow the head to (set per call from the middleware's budget).
    pub(crate) max_headers: usize,
    /// In-flight counts taken for this request (`counters.acquire-in-flight`), with the chain
    /// position of the middleware that took each; released when the head is dropped, however
    /// the request ends (those of a middleware that asked for `on-complete` move to the
    /// request's `completion::PendingCompletion` after the request hooks).
    pub(crate) in_flight: Vec<(usize, InFlightLease)>,
    /// The subrequest the current hook recorded (`outbound-http.send`), taken by the chain when
    /// the hook returns.
    pub(crate) pending_subrequest: Option<Box<Subrequest>>,
    /// Subrequests recorded so far, by chain position; allocated on the first one.
    subrequest_counts: Vec<u8>,
    /// Takes from a Redis-backed bucket (`remote_take`); allocated on the first one.
    pub(crate) remote_takes: Option<Box<super::remote_take::RemoteTakes>>,
    /// The journal lent to the current hook call of a middleware whose `kv` lives in Redis
    /// (`kv_journal`); `None` otherwise.
    pub(crate) kv_journal: Option<Box<super::kv_journal::KvJournal>>,
    /// How long the request waits, after its request hooks, for tokens an in-process `take`
    /// reserved for it (`counters::Reservation::After`); the longest such wait. 0: none.
    pub take_delay_ns: u64,
    /// The authenticated user a request hook named (`identity.set-user`), for the access log's
    /// `ClientUsername`. `None` unless a plugin named one.
    pub user: Option<std::sync::Arc<str>>,
    /// During an `on-request` call of a middleware with a verdict memo that missed: what the
    /// call does, recorded by the host calls (`verdict_memo`); `None` otherwise.
    pub(crate) memo_record: Option<Box<super::memo_record::MemoRecord>>,
}

impl RequestHead {
    /// Wraps a request head for a chain of `chain_len` middlewares, on the connection
    /// `connection`.
    pub fn new(
        parts: http::request::Parts,
        raw_path: RawPath,
        client_addr: SocketAddr,
        tls: bool,
        connection: Arc<ConnectionFacts>,
        router: Arc<str>,
        chain_len: usize,
    ) -> Self {
        RequestHead(Box::new(RequestHeadFields {
            parts,
            raw_path,
            client_addr,
            tls,
            connection,
            router,
            states: Vec::new(),
            chain_len,
            current: 0,
            max_headers: usize::MAX,
            in_flight: Vec::new(),
            pending_subrequest: None,
            subrequest_counts: Vec::new(),
            remote_takes: None,
            kv_journal: None,
            take_delay_ns: 0,
            user: None,
            memo_record: None,
        }))
    }
}

/// A request's host (with port): the URI's authority, else the `Host` header's (the
/// `request.authority` host call, and a declared take keyed by the host, `pre_take`).
pub fn authority_of(parts: &http::request::Parts) -> Option<&str> {
    match parts.uri.authority() {
        Some(a) => Some(a.as_str()),
        None => parts
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok()),
    }
}

impl RequestHeadFields {
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// Host (with port) from the URI authority or else the `Host` header.
    pub fn authority(&self) -> Option<String> {
        authority_of(&self.parts).map(str::to_owned)
    }

    pub fn path(&self) -> &str {
        self.parts.uri.path()
    }

    /// The client's address as `SocketAddr`'s text (`a.b.c.d:port`, `[v6]:port`), for
    /// `request.client-addr`. An IPv4 peer is written digit by digit (per request for a rate
    /// limit by peer: `fmt` cost several times more).
    pub fn client_addr_text(&self) -> String {
        let SocketAddr::V4(v4) = self.client_addr else {
            return self.client_addr.to_string();
        };
        let mut out = String::with_capacity(21);
        for (i, octet) in v4.ip().octets().into_iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            push_decimal(&mut out, u32::from(octet));
        }
        out.push(':');
        push_decimal(&mut out, u32::from(v4.port()));
        out
    }

    pub fn query(&self) -> Option<&str> {
        self.parts.uri.query()
    }

    pub fn state(&self) -> Option<Vec<u8>> {
        self.states.get(self.current).cloned().flatten()
    }

    /// Subrequests the middleware at chain position `i` has recorded for this request.
    pub(crate) fn subrequests_sent(&self, i: usize) -> usize {
        self.subrequest_counts.get(i).map_or(0, |n| usize::from(*n))
    }

    pub(crate) fn count_subrequest(&mut self, i: usize) {
        if self.subrequest_counts.len() <= i {
            self.subrequest_counts.resize(i + 1, 0);
        }
        self.subrequest_counts[i] = self.subrequest_counts[i].saturating_add(1);
    }
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut start = digits.len();
    loop {
        start -= 1;
        // `n % 10` is a digit: the cast cannot truncate.
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[start..] {
        out.push(char::from(d));
    }
}

/// The request target's path exactly as the client sent it (`request.raw-path`): kept as the
/// client's URI, whose bytes the request already shares (a reference count per chain request,
/// where copying the path into a `String` cost an allocation and its free), or as text for
/// heads made up outside a connection (tests, `plugin test`).
#[derive(Debug, Clone)]
pub enum RawPath {
    Uri(http::Uri),
    Text(String),
}

impl RawPath {
    pub fn as_str(&self) -> &str {
        match self {
            RawPath::Uri(uri) => uri.path(),
            RawPath::Text(text) => text,
        }
    }
}

impl From<String> for RawPath {
    fn from(text: String) -> Self {
        RawPath::Text(text)
    }
}

impl From<&str> for RawPath {
    fn from(text: &str) -> Self {
        RawPath::Text(text.to_owned())
    }
}

/// The response head lent to `on-response`.
#[derive(Debug)]
pub struct ResponseHead {
    pub parts: http::response::Parts,
    pub(crate) max_headers: usize,
}

impl ResponseHead {
    pub fn new(parts: http::response::Parts) -> Self {
        ResponseHead {
            parts,
            max_headers: usize::MAX,
        }
    }
}

#[cfg(test)]
impl RequestHead {
    /// Unit tests' head: `parts` on a plain connection from `peer`, path `/`, router `r`, a
    /// one-middleware chain.
    pub(crate) fn at(parts: http::request::Parts, peer: SocketAddr) -> RequestHead {
        let connection = Arc::new(ConnectionFacts::at(peer));
        RequestHead::new(parts, "/".into(), peer, false, connection, "r".into(), 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_text_is_socket_addrs_own() {
        for addr in [
            "1.2.3.4:5",
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "10.20.30.40:8080",
            "[::1]:80",
            "[2001:db8::7]:443",
        ] {
            let addr: SocketAddr = addr.parse().expect("valid");
            let (parts, ()) = http::Request::new(()).into_parts();
            let head = RequestHead::at(parts, addr);
            assert_eq!(head.client_addr_text(), addr.to_string());
        }
    }

    #[test]
    fn the_raw_path_of_a_client_uri_is_its_path_as_sent() {
        let uri: http::Uri = "http://example.test/a/%2e%2e//b?q=1"
            .parse()
            .expect("valid");
        assert_eq!(RawPath::Uri(uri).as_str(), "/a/%2e%2e//b");
        assert_eq!(RawPath::from("/x%2Fy").as_str(), "/x%2Fy");
    }
}
