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
    /// it: one allocation for both (see [`AccessRecord::host`] and [`AccessRecord::path`]).
    pub target: String,
    /// How much of `target` is the host; `None`: the request named none.
    pub host_len: Option<usize>,
    pub version: http::Version,
    /// Request headers whose mode is keep or redact (lower-case names), values as sent.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub entrypoint: Arc<str>,
    pub tls: bool,
    pub status: u16,
    /// The upstream's status, when the request reached one.
    pub origin_status: Option<u16>,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub duration: Duration,
    pub router: Option<Arc<str>>,
    pub service: Option<Arc<str>>,
    /// The server that answered (`ServiceURL`).
    pub service_url: Option<Arc<str>>,
    pub retry_attempts: u32,
    /// The authenticated user a plugin named (`ClientUsername`; basicAuth, digestAuth,
    /// forwardAuth's `headerField`).
    pub user: Option<Box<str>>,
    /// Requests seen since start (Traefik's `RequestCount`).
    pub request_count: u64,
}

impl AccessRecord {
    /// The `target` and `host_len` of a request to `host` for `path`.
    pub fn target(host: Option<&str>, path: &str) -> (String, Option<usize>) {
        let mut target = String::with_capacity(host.map_or(0, str::len) + path.len());
        target.push_str(host.unwrap_or(""));
        target.push_str(path);
        (target, host.map(str::len))
    }

    /// The request target as the client sent it.
    pub fn path(&self) -> &str {
        self.target.get(self.host_len.unwrap_or(0)..).unwrap_or("")
    }

    /// The request's host (`Host`, or the target's authority), when it named one.
    pub fn host(&self) -> Option<&str> {
        self.host_len.and_then(|n| self.target.get(..n))
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
