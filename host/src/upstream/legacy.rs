//! hyper-util's legacy pooled client, kept behind `WASMGATE_UPSTREAM_CLIENT=legacy` for
//! before/after measurements of the gateway's own pool (`pool`) and as a fallback: an HTTP/1.1
//! client and an HTTP/2 prior-knowledge client (`h2c://`), each with its connection pool, the
//! per-server cap enforced by the connector (`per_host_limit`). Built per servers transport.

use http::Request;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::rt::TokioExecutor;

use super::body::ProxyBody;
use super::per_host_limit::LimitedConnector;
use super::settings::{TransportSettings, UpstreamProtocol};

pub(super) struct LegacyClient {
    client: Client<HttpsConnector<LimitedConnector>, ProxyBody>,
    h2c: Client<HttpsConnector<LimitedConnector>, ProxyBody>,
}

impl LegacyClient {
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
        LegacyClient {
            client: builder(false),
            h2c: builder(true),
        }
    }

    /// `req` carries the absolute URI of the server.
    pub fn request(
        &self,
        protocol: UpstreamProtocol,
        mut req: Request<ProxyBody>,
    ) -> ResponseFuture {
        match protocol {
            UpstreamProtocol::Http1 => {
                *req.version_mut() = http::Version::HTTP_11;
                self.client.request(req)
            }
            UpstreamProtocol::H2c => {
                *req.version_mut() = http::Version::HTTP_2;
                self.h2c.request(req)
            }
        }
    }
}
