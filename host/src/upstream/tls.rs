//! TLS to `https://` servers: the servers transport's rustls client config (roots, client
//! certificate, verification) and server name, used by the pool's connector (`connect`) and by
//! the legacy client's connector (`https_connector`, wrapping the per-server-limited TCP
//! connector). ALPN offers `h2` and `http/1.1`, so a server that speaks HTTP/2 gets it.
//!
//! Built once per servers transport when a snapshot is built (a reload builds new ones, so
//! `https://` pools never mix transports); the handshake runs once per new upstream connection.

use std::sync::Arc;

use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;

use super::per_host_limit::LimitedConnector;

/// How a servers transport speaks TLS (built by the `tls` layer from its config).
#[derive(Clone, Debug)]
pub struct UpstreamTls {
    pub config: Arc<ClientConfig>,
    /// `serverName`: sent and verified instead of the URL's host.
    pub server_name: Option<ServerName<'static>>,
}

/// `inner` with TLS for `https://` URLs (plain for the others). Without `tls`, `https://`
/// servers cannot be verified (no trust anchors) and their connections fail.
pub(super) fn https_connector(
    inner: LimitedConnector,
    tls: Option<&UpstreamTls>,
    offer_http2: bool,
) -> HttpsConnector<LimitedConnector> {
    let config = match tls {
        Some(tls) => (*tls.config).clone(),
        None => without_roots(),
    };
    let builder = HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http();
    let builder = match tls.and_then(|t| t.server_name.clone()) {
        Some(name) => builder.with_server_name_resolver(FixedServerNameResolver::new(name)),
        None => builder,
    };
    if offer_http2 {
        builder.enable_all_versions().wrap_connector(inner)
    } else {
        builder.enable_http1().wrap_connector(inner)
    }
}

/// A client config that trusts nothing (servers transports always get one from the `tls`
/// layer; this is for transports built without, e.g. in tests).
pub(super) fn without_roots() -> ClientConfig {
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        // Not config- or peer-controlled: the ring provider has suites for both versions.
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}
