//! The pooled hyper client of the gateway's own requests (not proxied traffic): the HTTP
//! provider's polls and the span exporter's posts. HTTP/1.1, `http` or `https` (with the
//! given rustls config), a connect timeout. Built once per user at start-up.

use std::time::Duration;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::tls::UpstreamTls;

/// A client for `http://` and `https://` URLs, trusting what `tls` trusts.
pub fn own_client<B>(
    tls: &UpstreamTls,
    connect_timeout: Duration,
) -> Client<HttpsConnector<HttpConnector>, B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config((*tls.config).clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new()).build(connector)
}
