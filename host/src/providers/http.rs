//! `providers.http`: Traefik's HTTP provider. Polls `endpoint` every `pollInterval` (each poll
//! bounded by `pollTimeout`) with the configured `headers` and `If-None-Match: <last ETag>`.
//! A 304, or a 200 whose body is byte-for-byte the last one, sends nothing: no rebuild. A new
//! body is sent as the provider's contribution (YAML or JSON, Traefik's dynamic config). A
//! failed poll (connection, timeout, status other than 200/304, body too large) is logged with
//! the endpoint and reason and retried after a back-off; the last good config keeps serving.
//!
//! Cost: one small request per `pollInterval` on one kept-alive connection.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};

use super::backoff::Backoff;
use crate::config::{ConfigError, Contribution, ContributionBody, HttpProviderConfig};

/// The largest configuration body read (a bigger one fails the poll).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Why a poll failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpProviderError {
    #[error("invalid provider setting: {0}")]
    Setup(String),
    #[error("request failed: {0}")]
    Request(#[from] hyper_util::client::legacy::Error),
    #[error("no answer within pollTimeout ({0:?})")]
    Timeout(Duration),
    #[error("answered {0} (expected 200 or 304)")]
    Status(StatusCode),
    #[error("cannot read the body: {0}")]
    Body(String),
    #[error("the body is not UTF-8 text")]
    NotText,
}

/// An HTTP/1.1 client for `http://` and `https://` URLs with the client TLS of `tls` (its
/// files read here, once; `site` names the setting in errors) and `connect_timeout`. Shared
/// by the HTTP provider and the plugin store.
pub(crate) fn https_client<B>(
    tls: &crate::config::UpstreamTlsConfig,
    connect_timeout: Duration,
    site: &str,
) -> Result<Client<HttpsConnector<HttpConnector>, B>, String>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    let at = |reason: &str| ConfigError {
        file: PathBuf::from(site),
        line: None,
        key: "tls".to_string(),
        reason: reason.to_string(),
    };
    let tls = crate::tls::upstream_tls(tls, at).map_err(|e| e.to_string())?;
    Ok(crate::upstream::own_client::own_client(
        &tls,
        connect_timeout,
    ))
}

/// What one poll found.
enum Polled {
    /// 304, or the same body as last time.
    Unchanged,
    Changed(String),
}

pub(crate) struct HttpProvider {
    config: HttpProviderConfig,
    headers: Vec<(HeaderName, HeaderValue)>,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    etag: Option<HeaderValue>,
    last_body: Option<[u8; 32]>,
}

impl HttpProvider {
    /// Builds the client (TLS settings and CA files are read here, once).
    ///
    /// # Errors
    /// A header that is not a valid HTTP header, a `tls` file that does not load.
    pub(crate) fn new(config: HttpProviderConfig) -> Result<HttpProvider, HttpProviderError> {
        let mut headers = Vec::with_capacity(config.headers.len());
        for (name, value) in &config.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| HttpProviderError::Setup(format!("headers.{name}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| HttpProviderError::Setup(format!("headers.{name}: {e}")))?;
            headers.push((name, value));
        }
        let tls_config = config.tls.clone().unwrap_or_default();
        let client = https_client(&tls_config, config.poll_timeout, "providers.http")
            .map_err(HttpProviderError::Setup)?;
        Ok(HttpProvider {
            config,
            headers,
            client,
            etag: None,
            last_body: None,
        })
    }

    /// Polls until `shutdown` flips, sending each new configuration on `updates`.
    pub(crate) async fn run(
        mut self,
        updates: mpsc::UnboundedSender<Contribution>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut backoff = Backoff::new(self.config.poll_interval);
        loop {
            let wait = match self.poll().await {
                Ok(polled) => {
                    if backoff.is_failing() {
                        tracing::info!(provider = "http", endpoint = %self.config.endpoint, "endpoint answers again");
                    }
                    backoff.succeeded();
                    if let Polled::Changed(text) = polled
                        && updates.send(self.contribution(text)).is_err()
                    {
                        return;
                    }
                    self.config.poll_interval
                }
                Err(e) => {
                    let wait = backoff.failed();
                    tracing::error!(
                        provider = "http",
                        endpoint = %self.config.endpoint,
                        retry_in = ?wait,
                        "poll failed, last good configuration kept: {e}"
                    );
                    wait
                }
            };
            if super::sleep_or_shutdown(wait, &mut shutdown).await {
                return;
            }
        }
    }

    /// The provider's contribution for a body.
    fn contribution(&self, text: String) -> Contribution {
        Contribution {
            provider: "http",
            origin: PathBuf::from(format!("http provider {}", self.config.endpoint)),
            body: ContributionBody::Text(text),
        }
    }

    /// One conditional GET, bounded by `pollTimeout`.
    async fn poll(&mut self) -> Result<Polled, HttpProviderError> {
        let timeout = self.config.poll_timeout;
        match tokio::time::timeout(timeout, self.fetch()).await {
            Ok(result) => result,
            Err(_) => Err(HttpProviderError::Timeout(timeout)),
        }
    }

    async fn fetch(&mut self) -> Result<Polled, HttpProviderError> {
        let mut request = Request::get(self.config.endpoint.as_str());
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(etag) = &self.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        let request = request
            .body(Empty::new())
            .map_err(|e| HttpProviderError::Setup(e.to_string()))?;
        let response = self.client.request(request).await?;
        match response.status() {
            StatusCode::NOT_MODIFIED => return Ok(Polled::Unchanged),
            StatusCode::OK => {}
            other => return Err(HttpProviderError::Status(other)),
        }
        let etag = response.headers().get(header::ETAG).cloned();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| HttpProviderError::Body(e.to_string()))?
            .to_bytes();
        let text = String::from_utf8(body.to_vec()).map_err(|_| HttpProviderError::NotText)?;
        self.etag = etag;
        let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        if self.last_body == Some(digest) {
            return Ok(Polled::Unchanged);
        }
        self.last_body = Some(digest);
        Ok(Polled::Changed(text))
    }
}
