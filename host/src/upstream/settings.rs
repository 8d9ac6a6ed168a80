//! A servers transport's settings, and how a server is spoken to (decided by its URL scheme at
//! config time).

use std::time::Duration;

/// Connection and timeout settings of a transport.
#[derive(Debug, Clone)]
pub struct TransportSettings {
    pub dial_timeout: Duration,
    /// `None`: wait for the response head as long as the client does.
    pub response_header_timeout: Option<Duration>,
    pub idle_conn_timeout: Duration,
    pub max_idle_conns_per_host: usize,
    /// Open connections per server (`None`: unlimited).
    pub max_conns_per_host: Option<usize>,
    /// TLS for `https://` servers (`None`: no trust anchors, `https://` servers fail).
    pub tls: Option<super::tls::UpstreamTls>,
    pub http2: Http2Settings,
}

/// HTTP/2 to upstreams: health pings and whether `https://` servers may pick it.
#[derive(Debug, Clone)]
pub struct Http2Settings {
    /// A PING after this long without a received frame (`None`: no pings).
    pub read_idle_timeout: Option<Duration>,
    /// An unanswered PING closes the connection after this long.
    pub ping_timeout: Duration,
    /// `https://` servers are offered HTTP/1.1 only by ALPN.
    pub disabled: bool,
}

impl Default for Http2Settings {
    fn default() -> Self {
        Http2Settings {
            read_idle_timeout: None,
            ping_timeout: Duration::from_secs(15),
            disabled: false,
        }
    }
}

/// How a server is spoken to, decided by its URL scheme at config time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpstreamProtocol {
    /// `http://` (and `https://`): HTTP/1.1, upgrades (WebSocket) supported.
    Http1,
    /// `h2c://`: HTTP/2 with prior knowledge over plain TCP.
    H2c,
}
