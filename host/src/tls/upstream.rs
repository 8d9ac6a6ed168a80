//! The rustls client config of a servers transport (`serverName`, `insecureSkipVerify`,
//! `rootCAs`, `certificates`, `peerCertURI`), for `https://` servers. Built when a snapshot is
//! built (files read then, so a reload re-reads them); the system trust store, used when no
//! `rootCAs` are given, is read once per process.

use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::ServerName;
use rustls::sign::SingleCertAndKey;

use super::certs::{load_pair, load_roots};
use super::upstream_verify::{AnyServerCert, PeerUri};
use crate::config::{ConfigError, UpstreamTlsConfig};
use crate::upstream::UpstreamTls;

/// The TLS side of a servers transport. `site` locates errors not tied to one file (a server
/// name that is not a DNS name or IP address).
///
/// # Errors
/// A `rootCAs` or client certificate file that does not load, an invalid `serverName`.
pub fn upstream_tls(
    config: &UpstreamTlsConfig,
    site: impl Fn(&str) -> ConfigError,
) -> Result<UpstreamTls, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match &config.root_cas_site {
        Some(ca_site) => Arc::new(load_roots(&config.root_cas, ca_site)?),
        None => system_roots(),
    };
    let verifier: Arc<dyn ServerCertVerifier> = if config.insecure_skip_verify {
        AnyServerCert::new(&provider)
    } else if let Some(uri) = &config.peer_cert_uri {
        PeerUri::new(roots, uri.clone(), &provider)
    } else {
        WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| site(&format!("cannot verify servers: {e}")))?
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| site(&format!("unusable TLS versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let client = match config.certificates.first() {
        Some(pair) => {
            let loaded = load_pair(pair, &provider)?;
            builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(loaded.key)))
        }
        None => builder.with_no_client_auth(),
    };
    let server_name = match &config.server_name {
        Some(name) => Some(ServerName::try_from(name.clone()).map_err(|_| {
            site(&format!(
                "serverName \"{name}\" is not a DNS name or IP address"
            ))
        })?),
        None => None,
    };
    Ok(UpstreamTls {
        config: Arc::new(client),
        server_name,
    })
}

/// The system's trust anchors (`SSL_CERT_FILE` / `SSL_CERT_DIR` or the platform's store), read
/// on first use; certificates that cannot be used are skipped with a warning.
pub(crate) fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                tracing::warn!("system trust store: {error}");
            }
            let mut roots = RootCertStore::empty();
            let (_, skipped) = roots.add_parsable_certificates(found.certs);
            if skipped > 0 {
                tracing::warn!(skipped, "system trust store: unusable certificates skipped");
            }
            Arc::new(roots)
        })
        .clone()
}
