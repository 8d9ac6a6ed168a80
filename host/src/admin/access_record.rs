//! One request as the access log sees it, and the spellings both line formats share.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a redacted field or header reads.
pub(super) const REDACTED: &str = "REDACTED";

/// One request as the access log sees it. Built only when the access log is on.
#[derive(Debug)]
pub struct AccessRecord {
    /// When the request arrived; the writer turns it into wall-clock time
    /// (`super::timefmt::WallClock`), so the request path reads no wall clock.
    pub started: Instant,
    pub client: SocketAddr,
    pub method: http::Method,
    /// `Host` (or the target's authority) followed by the request target as the client sent
    /// it, inline when short (see [`AccessRecord::host`] and [`AccessRecord::path`]).
    pub target: TargetText,
    /// How much of `target` is the host; `None`: the request named none.
    pub host_len: Option<usize>,
    pub version: http::Version,
    /// The request's headers the log keeps or redacts (`request_<Name>`), as they arrived;
    /// empty when it logs no header (Traefik's default).
    pub headers: HeaderList,
    pub entrypoint: Arc<str>,
    pub tls: bool,
    pub status: u16,
    /// The upstream's status, when the request reached one.
    pub origin_status: Option<u16>,
    /// When the request went to its service (Traefik's `OriginDuration` runs from then to the
    /// end, `Overhead` is the rest of `Duration`); `None`: it never did (a middleware or the
    /// router answered).
    pub forwarded_at: Option<Instant>,
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// The upstream's body bytes where they differ from `response_bytes` (a middleware
    /// compressed, translated or rewrote the body: `admin::OriginBytes`); `None`: the same.
    pub origin_bytes: Option<u64>,
    pub duration: Duration,
    pub router: Option<Arc<str>>,
    pub service: Option<Arc<str>>,
    /// The server that answered (`ServiceURL`).
    pub service_url: Option<Arc<str>>,
    pub retry_attempts: u32,
    /// The authenticated user a plugin named (`ClientUsername`; basicAuth, digestAuth,
    /// forwardAuth's `headerField`).
    pub user: Option<std::sync::Arc<str>>,
    /// Requests seen since start (Traefik's `RequestCount`).
    pub request_count: u64,
    /// The TLS connection's facts (`TLSVersion`, `TLSCipher`, `TLSClientSubject`); `None` on
    /// a plain connection.
    pub tls_facts: Option<Arc<TlsFacts>>,
    /// `X-Forwarded-For` as a trusted forwarder sent it (its first header line, as Go's
    /// `Header.Get` reads it): Traefik logs it as `ClientHost` in place of the peer's address. `None` from an untrusted client (its
    /// header is not believed) or when absent.
    pub forwarded_for: Option<http::HeaderValue>,
    /// The upstream's response headers and those sent to the client that the log keeps or
    /// redacts (`origin_<Name>`, `downstream_<Name>`); `None` when it logs no header.
    pub response_headers: Option<Box<ResponseHeaders>>,
}

/// Headers as the access log keeps them: name and value, in the order they came, a repeated
/// header once per value.
pub type HeaderList = Vec<(http::HeaderName, http::HeaderValue)>;

/// The upstream response's headers the access log logs, carried in the response's extensions
/// from the moment it answered to the recorder (the response hooks may change the head).
#[derive(Debug, Clone)]
pub struct OriginHeaders(pub HeaderList);

/// A response's headers for the access log: Traefik's `origin_` (the upstream's, before the
/// response hooks) and `downstream_` (what the client was sent) fields.
#[derive(Debug, Default)]
pub struct ResponseHeaders {
    /// Empty when no upstream answered.
    pub origin: HeaderList,
    pub downstream: HeaderList,
}

/// The headers of `headers` that `fields` keeps or redacts; `None` when it logs no header at
/// all (`fields.headers` all dropped, Traefik's default), without looking at them: that check
/// is inlined where a request is recorded (four places), the copy is not.
#[inline]
pub fn logged_headers(
    fields: &crate::config::AccessLogFields,
    headers: &http::HeaderMap,
) -> Option<HeaderList> {
    match fields.logs_headers() {
        true => Some(kept_headers(fields, headers)),
        false => None,
    }
}

/// The headers `fields` keeps or redacts, copied.
fn kept_headers(fields: &crate::config::AccessLogFields, headers: &http::HeaderMap) -> HeaderList {
    use crate::config::FieldMode;
    headers
        .iter()
        .filter(|(n, _)| fields.header_mode(n.as_str()) != FieldMode::Drop)
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

/// A logged header's value as Traefik's `redactHeaders` writes it, from its `values` in the
/// order they came: joined by `,` when `name` (lower case) is kept, `REDACTED` when redacted;
/// `None` when dropped or without a value. Shared by the CLF and JSON lines (writer thread).
pub(super) fn header_text<'v>(
    fields: &crate::config::AccessLogFields,
    name: &str,
    values: impl IntoIterator<Item = &'v http::HeaderValue>,
) -> Option<String> {
    use crate::config::FieldMode;
    let mut values = values.into_iter();
    let first = values.next()?;
    match fields.header_mode(name) {
        FieldMode::Drop => None,
        FieldMode::Redact => Some(REDACTED.to_string()),
        FieldMode::Keep => {
            let mut joined = String::from_utf8_lossy(first.as_bytes()).into_owned();
            for value in values {
                joined.push(',');
                joined.push_str(&String::from_utf8_lossy(value.as_bytes()));
            }
            Some(joined)
        }
    }
}

/// What the access log says about a TLS connection: Traefik's `TLSVersion`, `TLSCipher` and
/// `TLSClientSubject`. Worked out once per connection after its handshake (`tls::session_facts`)
/// and shared by the records of its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFacts {
    /// `1.2` or `1.3`, as Traefik writes it.
    pub version: &'static str,
    /// The suite's name as Traefik (Go) writes it: `TLS_AES_128_GCM_SHA256`,
    /// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub cipher: &'static str,
    /// The client certificate's subject as Go's `pkix.Name.String()` writes it
    /// (`CN=client,O=Example`), when the client presented one.
    pub client_subject: Option<Box<str>>,
}

impl AccessRecord {
    /// The `target` and `host_len` of a request to `host` for `path`.
    pub fn target(host: Option<&str>, path: &str) -> (TargetText, Option<usize>) {
        (
            TargetText::new(host.unwrap_or(""), path),
            host.map(str::len),
        )
    }

    /// The request target as the client sent it.
    pub fn path(&self) -> &str {
        self.target
            .as_str()
            .get(self.host_len.unwrap_or(0)..)
            .unwrap_or("")
    }

    /// The request's host (`Host`, or the target's authority), when it named one.
    pub fn host(&self) -> Option<&str> {
        self.host_len.and_then(|n| self.target.as_str().get(..n))
    }

    /// Traefik's `OriginDuration`: from the forward to the end of the exchange.
    pub fn origin_duration(&self) -> Option<Duration> {
        let end = self.started + self.duration;
        self.forwarded_at
            .map(|at| end.saturating_duration_since(at))
    }

    /// Traefik's `ClientHost` when a trusted forwarder named the client (`X-Forwarded-For`);
    /// `None`: the peer's address is the client host.
    pub fn forwarded_client_host(&self) -> Option<&str> {
        self.forwarded_for
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
    }
}

/// How many bytes of host and target a record holds without allocating: a host and a path
/// of usual length (`api.example.com` and `/v1/items?page=2`) fit.
const INLINE_TARGET: usize = 94;

/// Two strings one after the other (the host and the request target), kept in the record
/// itself when they are short: no allocation on the request path, and no free on the
/// access-log writer thread of memory another thread allocated (which made glibc's arenas
/// consolidate under load). Longer ones go to the heap.
#[derive(Debug)]
pub enum TargetText {
    Inline { len: u8, bytes: [u8; INLINE_TARGET] },
    Heap(Box<str>),
}

impl TargetText {
    /// `first` then `second`. On the request path: a copy of both, an allocation only when
    /// they are longer than [`INLINE_TARGET`] together.
    pub fn new(first: &str, second: &str) -> TargetText {
        let len = first.len() + second.len();
        match u8::try_from(len) {
            Ok(short) if len <= INLINE_TARGET => {
                let mut bytes = [0; INLINE_TARGET];
                bytes[..first.len()].copy_from_slice(first.as_bytes());
                bytes[first.len()..len].copy_from_slice(second.as_bytes());
                TargetText::Inline { len: short, bytes }
            }
            _ => TargetText::Heap([first, second].concat().into_boxed_str()),
        }
    }

    /// The two strings' bytes, without `as_str`'s UTF-8 check (the access log's JSON line
    /// writes them as they are).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            TargetText::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or(&[]),
            TargetText::Heap(s) => s.as_bytes(),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            // Copied from two `&str` whole: valid UTF-8 (the check is a short ASCII scan).
            TargetText::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or(""),
            TargetText::Heap(s) => s,
        }
    }
}

/// The `RequestProtocol` spelling of a version.
pub(super) fn protocol(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_path_read_back_inline_and_on_the_heap() {
        let long = format!("/{}", "x".repeat(200));
        for path in ["/a?b=1", long.as_str()] {
            let (target, host_len) = AccessRecord::target(Some("example.com:8080"), path);
            assert_eq!(matches!(target, TargetText::Inline { .. }), path.len() < 50);
            assert_eq!(target.as_str(), format!("example.com:8080{path}"));
            assert_eq!(host_len, Some(16));
        }
        let (target, host_len) = AccessRecord::target(None, "/");
        assert_eq!((target.as_str(), host_len), ("/", None));
    }
}
