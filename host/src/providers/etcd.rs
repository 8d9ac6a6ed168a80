//! `providers.etcd`: Traefik's KV layout in etcd, spoken over etcd's v3 JSON gateway (the
//! gRPC API as JSON over HTTP, served by every etcd ≥ 3.4 on its client port), so no protobuf
//! compiler or gRPC stack is needed to build the gateway. A session authenticates when
//! `username` is set (`/v3/auth/authenticate`), opens a watch on the prefix `<rootKey>/`
//! (`/v3/watch`, one long streaming response: every message after the first is a change),
//! and reads the prefix (`/v3/kv/range`); each burst of watch messages (debounced) re-reads
//! it. The watch ending is a lost connection: logged with the endpoint, retried after a
//! back-off; the last good config keeps serving.
//!
//! Cost: one range read per change (and per [`RESYNC`]) and one open watch stream.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use futures_util::StreamExt;
use http::{Request, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use super::backoff::Backoff;
use super::kv_source::{KvSource, Session};
use crate::config::{Contribution, KvProviderConfig};

/// How often the prefix is re-read without a watch message.
const RESYNC: Duration = Duration::from_secs(10);
/// First wait after a failed session (doubling up to the back-off cap).
const RETRY: Duration = Duration::from_millis(200);
/// Bound on one range or auth call (the watch itself stays open).
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest range answer read.
const MAX_RANGE: usize = 64 * 1024 * 1024;

pub(crate) type EtcdClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

pub(crate) struct EtcdProvider {
    config: KvProviderConfig,
    client: EtcdClient,
}

impl EtcdProvider {
    /// # Errors
    /// A `tls` file that does not load.
    pub(crate) fn new(config: KvProviderConfig) -> Result<EtcdProvider, String> {
        let client = new_client(&config)?;
        Ok(EtcdProvider { config, client })
    }

    /// Runs sessions until `shutdown` flips.
    pub(crate) async fn run(
        self,
        updates: mpsc::UnboundedSender<Contribution>,
        shutdown: watch::Receiver<bool>,
    ) {
        let source = KvSource::new("etcd", self.config.clone(), updates, shutdown);
        source
            .run(Backoff::new(RETRY), |endpoint| self.session(endpoint))
            .await;
    }

    /// One watch's life: see the module doc.
    async fn session(&self, endpoint: String) -> Result<Session, String> {
        let base = base_url(&self.config, &endpoint);
        let token = authenticate(&self.client, &self.config, &base).await?;
        let prefix = format!("{}/", self.config.root_key);
        // Two ranges around `<rootKey>/plugins/`: pinned plugin files are binary and not
        // config (the plugin fetcher reads them one by one).
        let plugins = super::kv_tree::kv_plugin_prefix(&self.config.root_key);
        let ranges = [
            json!({"key": B64.encode(&prefix), "range_end": B64.encode(&plugins)}),
            json!({"key": B64.encode(prefix_end(&plugins)), "range_end": B64.encode(prefix_end(&prefix))}),
        ];
        let watch_body = json!({"create_request": {
            "key": B64.encode(&prefix),
            "range_end": B64.encode(prefix_end(&prefix)),
        }});
        let mut request = Request::post(format!("{base}/v3/watch"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = &token {
            request = request.header(header::AUTHORIZATION, token);
        }
        let request = request
            .body(Full::new(Bytes::from(watch_body.to_string())))
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(CALL_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("watch not answered within {CALL_TIMEOUT:?}"))?
            .map_err(|e| format!("watch: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("watch answered {}", response.status()));
        }
        // Every data frame after the watch's creation message is a change.
        let events = http_body_util::BodyStream::new(response.into_body())
            .take_while(|frame| std::future::ready(frame.is_ok()))
            .filter(|frame| std::future::ready(matches!(frame, Ok(f) if f.is_data())))
            .skip(1)
            .map(|_| ());
        let client = self.client.clone();
        Ok(Session::new(
            events,
            move || {
                let (client, base, ranges, token) =
                    (client.clone(), base.clone(), ranges.clone(), token.clone());
                async move {
                    let mut pairs = Vec::new();
                    for range in &ranges {
                        let answer =
                            call(&client, &base, "/v3/kv/range", range, token.as_deref()).await?;
                        pairs.extend(pairs_of(&answer)?);
                    }
                    Ok(pairs)
                }
            },
            RESYNC,
        ))
    }
}

/// `http://host:port` (`https://` with `tls`) for an endpoint written without a scheme.
fn base_url(config: &KvProviderConfig, endpoint: &str) -> String {
    if endpoint.contains("://") {
        endpoint.trim_end_matches('/').to_string()
    } else if config.tls.is_some() {
        format!("https://{endpoint}")
    } else {
        format!("http://{endpoint}")
    }
}

/// A token for the provider's `username` (`/v3/auth/authenticate`); `None` without one.
async fn authenticate(
    client: &EtcdClient,
    config: &KvProviderConfig,
    base: &str,
) -> Result<Option<String>, String> {
    let Some(name) = &config.username else {
        return Ok(None);
    };
    let body = json!({"name": name, "password": config.password.as_deref().unwrap_or("")});
    let answer = call(client, base, "/v3/auth/authenticate", &body, None).await?;
    Ok(answer
        .get("token")
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// The HTTP client of the JSON gateway (the provider's and the plugin fetcher's), with the
/// provider's `tls` (files read here, once).
pub(crate) fn new_client(config: &KvProviderConfig) -> Result<EtcdClient, String> {
    let tls = config.tls.clone().unwrap_or_default();
    super::http::https_client(&tls, CALL_TIMEOUT, "providers.etcd")
}

/// The bytes stored at `key`, from the first endpoint that answers (`None`: no such key).
pub(crate) async fn get_bytes(
    client: &EtcdClient,
    config: &KvProviderConfig,
    key: &str,
) -> Result<Option<Vec<u8>>, String> {
    let mut last_error = String::from("no endpoint");
    for endpoint in &config.endpoints {
        let base = base_url(config, endpoint);
        let attempt = async {
            let token = authenticate(client, config, &base).await?;
            let range = json!({"key": B64.encode(key)});
            let answer = call(client, &base, "/v3/kv/range", &range, token.as_deref()).await?;
            let value = answer
                .get("kvs")
                .and_then(Value::as_array)
                .and_then(|kvs| kvs.first())
                .map(|kv| kv.get("value").and_then(Value::as_str).unwrap_or(""));
            value
                .map(|v| B64.decode(v).map_err(|e| format!("range: bad base64: {e}")))
                .transpose()
        };
        match attempt.await {
            Ok(value) => return Ok(value),
            Err(e) => last_error = format!("{endpoint}: {e}"),
        }
    }
    Err(last_error)
}

/// One JSON call to the gateway, bounded by [`CALL_TIMEOUT`].
async fn call(
    client: &EtcdClient,
    base: &str,
    path: &str,
    body: &Value,
    token: Option<&str>,
) -> Result<Value, String> {
    let mut request =
        Request::post(format!("{base}{path}")).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, token);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_RANGE)
            .collect()
            .await
            .map_err(|e| format!("{path}: {e}"))?
            .to_bytes();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(format!("{path} answered {status}: {}", text.trim()));
        }
        serde_json::from_slice::<Value>(&bytes).map_err(|e| format!("{path}: {e}"))
    };
    tokio::time::timeout(CALL_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{path} not answered within {CALL_TIMEOUT:?}"))?
}

/// The key/value pairs of a range answer (`kvs`, base64 keys and values; absent when none).
fn pairs_of(answer: &Value) -> Result<Vec<(String, String)>, String> {
    let Some(kvs) = answer.get("kvs").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    let text = |field: Option<&Value>| -> Result<String, String> {
        let encoded = field.and_then(Value::as_str).unwrap_or("");
        let bytes = B64
            .decode(encoded)
            .map_err(|e| format!("range: bad base64: {e}"))?;
        String::from_utf8(bytes).map_err(|_| "range: a key or value is not UTF-8".to_string())
    };
    kvs.iter()
        .map(|kv| Ok((text(kv.get("key"))?, text(kv.get("value"))?)))
        .collect()
}

/// The end of etcd's range for every key starting with `prefix` (its last byte plus one).
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_next_key_after_the_prefix() {
        assert_eq!(prefix_end("traefik/"), b"traefik0".to_vec());
    }

    #[test]
    fn range_answers_decode_to_pairs() {
        let answer = json!({"kvs": [{"key": B64.encode("traefik/a"), "value": B64.encode("1")}]});
        assert_eq!(
            pairs_of(&answer),
            Ok(vec![("traefik/a".to_string(), "1".to_string())])
        );
        assert_eq!(pairs_of(&json!({"count": "0"})), Ok(Vec::new()));
    }
}
