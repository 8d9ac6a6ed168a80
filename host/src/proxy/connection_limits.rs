//! Per-entrypoint connection limits: what a listener and hyper's connection builder enforce
//! for each client connection (head size and time, body size and timeouts, HTTP/2 streams).

use std::time::Duration;

use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto;

use super::head_timer::HeadTimer;
use crate::config::{EntryPointLimits, H2cUpgrade};

/// Per-entrypoint protocol limits. Defaults are safe for an internet-facing listener.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Open client connections; beyond it new connections get 503 and are closed.
    pub max_connections: usize,
    /// Largest HTTP/1 request head (request line + headers): beyond it, 431 (or 414 for the
    /// request line alone).
    pub max_head_bytes: usize,
    /// Time a client has to send a complete request head; then the connection is closed
    /// (slowloris). hyper closes without a response, as nginx does.
    pub header_read_timeout: Duration,
    /// Request body size; larger bodies get 413 (`None`: unlimited, the default, as in
    /// Traefik).
    pub max_body_bytes: Option<u64>,
    /// Longest pause between two pieces of a request body (408 and close).
    pub body_read_timeout: Option<Duration>,
    /// Time from the request head to the end of its body (408 and close).
    pub read_timeout: Option<Duration>,
    /// Overall request deadline from the request head (504 before the response head; the
    /// response body is aborted after it).
    pub write_timeout: Option<Duration>,
    /// A connection with no bytes moving for this long is shut down gracefully.
    pub idle_timeout: Option<Duration>,
    /// What an HTTP/1.1 `Upgrade: h2c` request gets.
    pub h2c_upgrade: H2cUpgrade,
    /// HTTP/2: concurrent streams per connection.
    pub h2_max_concurrent_streams: u32,
    /// HTTP/2: decoded header list size.
    pub h2_max_header_list_size: u32,
    /// HTTP/2: streams reset by the client before the server accepted them (rapid reset).
    pub h2_max_pending_accept_reset_streams: usize,
    /// Requests a connection may abandon before their response head (a reset after accept)
    /// before the premature-reset ratio is checked (`reset_guard`).
    pub h2_max_premature_resets: u32,
}

/// HTTP/2 decoded header list size (not configurable).
const H2_MAX_HEADER_LIST_SIZE: u32 = 64 << 10;
/// HTTP/2 streams reset before accept (rapid reset; not configurable).
const H2_MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;
/// Premature resets before the ratio is checked (not configurable).
const H2_MAX_PREMATURE_RESETS: u32 = 20;

/// The defaults of the config model ([`EntryPointLimits::default`]), the one place they are
/// written, plus the limits the config does not expose.
impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits::from(&EntryPointLimits::default())
    }
}

impl From<&EntryPointLimits> for ConnectionLimits {
    fn from(c: &EntryPointLimits) -> Self {
        ConnectionLimits {
            max_connections: c.max_connections,
            max_head_bytes: c.max_header_bytes,
            header_read_timeout: c.header_read_timeout,
            max_body_bytes: c.max_body_bytes,
            body_read_timeout: c.body_read_timeout,
            read_timeout: c.read_timeout,
            write_timeout: c.write_timeout,
            idle_timeout: c.idle_timeout,
            h2c_upgrade: c.h2c_upgrade,
            h2_max_concurrent_streams: c.h2_max_concurrent_streams,
            h2_max_header_list_size: H2_MAX_HEADER_LIST_SIZE,
            h2_max_pending_accept_reset_streams: H2_MAX_PENDING_ACCEPT_RESET_STREAMS,
            h2_max_premature_resets: H2_MAX_PREMATURE_RESETS,
        }
    }
}

impl ConnectionLimits {
    /// A connection builder with these limits (HTTP/1.1 and HTTP/2 prior knowledge), for one
    /// connection: its HTTP/1 head deadlines share one timer entry ([`HeadTimer`]).
    pub(super) fn builder(&self) -> auto::Builder<TokioExecutor> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(HeadTimer::default())
            .max_buf_size(self.max_head_bytes)
            .header_read_timeout(self.header_read_timeout);
        builder
            .http2()
            .timer(hyper_util::rt::TokioTimer::new())
            .max_concurrent_streams(self.h2_max_concurrent_streams)
            .max_header_list_size(self.h2_max_header_list_size)
            .max_pending_accept_reset_streams(self.h2_max_pending_accept_reset_streams);
        builder
    }
}
