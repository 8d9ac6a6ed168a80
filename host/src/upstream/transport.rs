//! Forwarding to upstream servers over pooled connections.
//!
//! One `UpstreamTransport` per `serversTransport` (services that name none share the default
//! one): an HTTP/1.1 client and an HTTP/2 prior-knowledge client (`h2c://` servers, gRPC), each
//! with its connection pool. Bodies stream in both directions; trailers pass through.
//!
//! hyper-util's client cannot cap connections per host, so `maxConnsPerHost` is enforced by
//! the connector (`per_host_limit`): a connection holds a per-server permit until it closes.

use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::{HeaderValue, Request, Response, Uri, Version, header};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::body::ProxyBody;
use super::error::UpstreamError;
use super::per_host_limit::LimitedConnector;
use hyper_rustls::HttpsConnector;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamProtocol {
    /// `http://` (and `https://`): HTTP/1.1, upgrades (WebSocket) supported.
    Http1,
    /// `h2c://`: HTTP/2 with prior knowledge over plain TCP.
    H2c,
}

/// Pooled clients to upstream servers.
#[derive(Clone)]
pub struct UpstreamTransport {
    client: Client<HttpsConnector<LimitedConnector>, ProxyBody>,
    h2c: Client<HttpsConnector<LimitedConnector>, ProxyBody>,
    response_header_timeout: Option<Duration>,
}

impl UpstreamTransport {
    /// Must be called inside the tokio runtime (the pool spawns its idle-connection reaper).
    pub fn new(settings: &TransportSettings) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(settings.dial_timeout));
        connector.set_nodelay(true);
        connector.enforce_http(false);
        let connector = LimitedConnector::new(
            connector,
            settings.max_conns_per_host,
            settings.dial_timeout,
        );
        let h2 = &settings.http2;
        let connector = super::tls::https_connector(connector, settings.tls.as_ref(), !h2.disabled);
        let builder = |http2_only: bool| {
            let mut builder = Client::builder(TokioExecutor::new());
            builder
                .pool_idle_timeout(settings.idle_conn_timeout)
                .pool_max_idle_per_host(settings.max_idle_conns_per_host)
                .pool_timer(hyper_util::rt::TokioTimer::new())
                .timer(hyper_util::rt::TokioTimer::new())
                .http2_only(http2_only);
            if let Some(interval) = h2.read_idle_timeout {
                // hyper pings when nothing was read for `interval` (Go's ReadIdleTimeout).
                builder
                    .http2_keep_alive_interval(interval)
                    .http2_keep_alive_timeout(h2.ping_timeout)
                    .http2_keep_alive_while_idle(true);
            }
            builder.build(connector.clone())
        };
        UpstreamTransport {
            client: builder(false),
            h2c: builder(true),
            response_header_timeout: settings.response_header_timeout,
        }
    }

    /// Sends the request to `scheme://authority` + the request's path and query, and waits for
    /// the response head (bounded by the response-header timeout).
    pub async fn send(
        &self,
        scheme: &Scheme,
        authority: &Authority,
        protocol: UpstreamProtocol,
        pass_host_header: bool,
        mut req: Request<ProxyBody>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let original_authority = req.uri().authority().cloned();
        let path_and_query = req.uri().path_and_query().cloned();
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(scheme.clone());
        parts.authority = Some(authority.clone());
        parts.path_and_query =
            Some(path_and_query.unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")));
        *req.uri_mut() = Uri::from_parts(parts)
            .map_err(|e| UpstreamError::Unreachable(format!("bad upstream URI: {e}")))?;
        let client = match protocol {
            UpstreamProtocol::Http1 => {
                *req.version_mut() = Version::HTTP_11;
                &self.client
            }
            UpstreamProtocol::H2c => {
                *req.version_mut() = Version::HTTP_2;
                &self.h2c
            }
        };
        let headers = req.headers_mut();
        if pass_host_header {
            // HTTP/2 clients send :authority instead of Host; carry it over.
            if !headers.contains_key(header::HOST)
                && let Some(a) = original_authority
                && let Ok(v) = HeaderValue::from_str(a.as_str())
            {
                headers.insert(header::HOST, v);
            }
        } else if let Ok(v) = HeaderValue::from_str(authority.as_str()) {
            headers.insert(header::HOST, v);
        }

        let call = client.request(req);
        let result = match self.response_header_timeout {
            Some(limit) => match tokio::time::timeout(limit, call).await {
                Ok(r) => r,
                Err(_) => return Err(UpstreamError::Timeout),
            },
            None => call.await,
        };
        result.map_err(|e| UpstreamError::Unreachable(error_chain(&e)))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}
