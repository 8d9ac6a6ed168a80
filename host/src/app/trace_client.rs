//! The HTTP client the OTLP span exporter posts through: hyper's pooled client (already the
//! gateway's upstream client) with rustls for `https` endpoints, behind the exporter's
//! `opentelemetry_http::HttpClient` trait, so no second HTTP stack (reqwest) is built in.
//! Built once at start-up when `tracing` is configured; used by the export task only.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use opentelemetry_http::{HttpClient, HttpError};

use crate::config::{ConfigError, UpstreamTlsConfig};

/// Longest an export request may take (connect, send, answer), as the OTLP exporters' default.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest collector answer read (the exporter only reads a partial-success message).
const MAX_ANSWER: usize = 4 * 1024 * 1024;

/// hyper's client as the exporter's HTTP client.
#[derive(Debug, Clone)]
pub struct ExportClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl ExportClient {
    /// A client trusting `tls` (its CA, client certificate, `insecureSkipVerify`), or the
    /// system's trust store. `site` locates a TLS file that does not load.
    pub fn shared(
        tls: Option<&UpstreamTlsConfig>,
        site: impl Fn(&str) -> ConfigError,
    ) -> Result<Arc<dyn HttpClient>, ConfigError> {
        let tls = crate::tls::upstream_tls(&tls.cloned().unwrap_or_default(), site)?;
        let client = crate::upstream::own_client::own_client(&tls, EXPORT_TIMEOUT);
        Ok(Arc::new(ExportClient { client }))
    }

    async fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = request.map(Full::new);
        let exchange = async {
            let response = self.client.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_ANSWER).collect().await?.to_bytes();
            Ok::<_, HttpError>(Response::from_parts(parts, body))
        };
        tokio::time::timeout(EXPORT_TIMEOUT, exchange)
            .await
            .map_err(|_| HttpError::from("the collector did not answer in time"))?
    }
}

impl HttpClient for ExportClient {
    // The trait is declared with `async_trait`; this is the signature it expands to.
    fn send_bytes<'life0, 'async_trait>(
        &'life0 self,
        request: Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.send(request))
    }
}
