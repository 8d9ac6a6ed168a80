//! The HTTPS client ACME requests go through: hyper over rustls (ring), trusting the system's
//! roots or the resolver's `caCertificates` (a test CA such as pebble's). Built once per
//! resolver, on its first issuance; each request is bounded by [`REQUEST_TIMEOUT`].

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Longest wait for one ACME request's answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// instant-acme's HTTP client over our hyper-rustls stack.
pub(crate) struct AcmeHttpClient {
    client: Client<Connector, BodyWrapper<Bytes>>,
}

impl AcmeHttpClient {
    /// A client trusting `ca_files` (PEM bundles), plus the system's roots when `ca_files` is
    /// empty or `with_system` is set.
    ///
    /// # Errors
    /// A CA file that cannot be read or holds no usable certificate.
    pub(crate) fn new(ca_files: &[PathBuf], with_system: bool) -> Result<Self, String> {
        let mut roots = RootCertStore::empty();
        if ca_files.is_empty() || with_system {
            roots = RootCertStore::clone(&super::super::upstream::system_roots());
        }
        for path in ca_files {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect())
                .map_err(|e| format!("CA certificates \"{}\": {e}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "CA certificates \"{}\": no usable certificate",
                    path.display()
                ));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(AcmeHttpClient { client })
    }
}

impl HttpClient for AcmeHttpClient {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let sent = self.client.request(req);
        Box::pin(async move {
            match tokio::time::timeout(REQUEST_TIMEOUT, sent).await {
                Ok(Ok(response)) => Ok(BytesResponse::from(response)),
                Ok(Err(e)) => Err(instant_acme::Error::Other(Box::new(e))),
                Err(_) => Err(instant_acme::Error::Str(
                    "the ACME server did not answer in time",
                )),
            }
        })
    }
}
