//! Fetching plugin files pinned by content hash (`plugin: {name, sha256}`) that the gateway
//! does not have yet, so every gateway of a fleet runs the same bytes.
//!
//! Sources, tried in this order for each missing hash:
//! - `plugins.store.url`: an HTTP plugin store, `GET <url>/<sha256>.wasm` (200: the file;
//!   404: not there yet);
//! - the KV stores of `providers.redis` / `providers.etcd`: the key
//!   `<rootKey>/plugins/<sha256>` holding the file's raw bytes (`redis-cli -x SET
//!   traefik/plugins/<sha256> < plugin.wasm`, `etcdctl put traefik/plugins/<sha256> <
//!   plugin.wasm`). The providers skip that sub-tree when they read the config.
//!
//! Every file is checked against its hash before it is kept (`plugins::PinnedFiles`, memory and
//! disk cache): a file with another hash is refused and reported (log, and `/api/reloads` as a
//! refused load with the source, the pinned and the actual hash), once per source and content.
//! A kept file is announced on `arrived`, and `app::reload` then applies the configuration
//! that waited for it.
//!
//! Runs as one task from start-up to shutdown. Idle (no I/O) while nothing is missing; while
//! something is, one GET per source and missing hash, retried after 200 ms doubling up to
//! [`MAX_WAIT`] (a new set of wanted hashes retries at once).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::sync::{mpsc, watch};

use super::backoff::Backoff;
use super::kv_tree::kv_plugin_prefix;
use crate::config::{KvProviderConfig, ProvidersConfig};
use crate::plugins::{PinnedFileError, PinnedFiles};

/// The largest plugin file fetched (language runtimes make components of tens of MiB).
const MAX_FILE: usize = 128 * 1024 * 1024;
/// Bound on one fetch from the HTTP store.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// First wait after a round that left files missing.
const FIRST_WAIT: Duration = Duration::from_millis(200);
/// The longest wait between two rounds while files are missing.
const MAX_WAIT: Duration = Duration::from_secs(5);

/// One place pinned files come from.
enum Source {
    Http {
        url: String,
        client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    },
    Redis(KvProviderConfig),
    Etcd {
        config: Box<KvProviderConfig>,
        client: super::etcd::EtcdClient,
    },
}

impl Source {
    /// Where a hash is looked up, for messages.
    fn location(&self, sha256: &str) -> String {
        match self {
            Source::Http { url, .. } => format!("{url}/{sha256}.wasm"),
            Source::Redis(config) => {
                format!("redis {}{sha256}", kv_plugin_prefix(&config.root_key))
            }
            Source::Etcd { config, .. } => {
                format!("etcd {}{sha256}", kv_plugin_prefix(&config.root_key))
            }
        }
    }

    /// The file stored for `sha256` (`None`: not there).
    async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, String> {
        match self {
            Source::Http { url, client } => http_get(client, &format!("{url}/{sha256}.wasm")).await,
            Source::Redis(config) => {
                let key = format!("{}{sha256}", kv_plugin_prefix(&config.root_key));
                super::redis::get_bytes(config, &key).await
            }
            Source::Etcd { config, client } => {
                let key = format!("{}{sha256}", kv_plugin_prefix(&config.root_key));
                super::etcd::get_bytes(client, config, &key).await
            }
        }
    }
}

async fn http_get(
    client: &Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    url: &str,
) -> Result<Option<Vec<u8>>, String> {
    let request = Request::get(url)
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let exchange = async {
        let response = client.request(request).await.map_err(|e| e.to_string())?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            other => return Err(format!("answered {other}")),
        }
        let body = Limited::new(response.into_body(), MAX_FILE)
            .collect()
            .await
            .map_err(|e| format!("cannot read the body: {e}"))?;
        Ok(Some(body.to_bytes().to_vec()))
    };
    tokio::time::timeout(FETCH_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer within {FETCH_TIMEOUT:?}"))?
}

/// The fetcher's task: see the module doc.
pub struct PluginFetcher {
    sources: Vec<Source>,
    files: Arc<PinnedFiles>,
    /// (location, actual hash) of refused files already reported.
    reported: HashSet<(String, String)>,
}

impl PluginFetcher {
    /// The sources of `store_url` and the KV providers. `None` when there is none (pinned
    /// files then come from the plugin directory or the disk cache only).
    pub fn new(
        store_url: Option<&str>,
        providers: &ProvidersConfig,
        files: Arc<PinnedFiles>,
    ) -> Option<PluginFetcher> {
        let mut sources = Vec::new();
        if let Some(url) = store_url {
            let tls = crate::config::UpstreamTlsConfig::default();
            match super::http::https_client(&tls, FETCH_TIMEOUT, "plugins.store") {
                Ok(client) => sources.push(Source::Http {
                    url: url.trim_end_matches('/').to_string(),
                    client,
                }),
                Err(e) => tracing::error!("plugins.store not used: {e}"),
            }
        }
        if let Some(redis) = &providers.redis {
            sources.push(Source::Redis(redis.clone()));
        }
        if let Some(etcd) = &providers.etcd {
            match super::etcd::new_client(etcd) {
                Ok(client) => sources.push(Source::Etcd {
                    config: Box::new(etcd.clone()),
                    client,
                }),
                Err(e) => tracing::error!("etcd plugin files not used: {e}"),
            }
        }
        (!sources.is_empty()).then_some(PluginFetcher {
            sources,
            files,
            reported: HashSet::new(),
        })
    }

    /// Fetches what `wanted` names and is missing, until `shutdown` flips; announces each
    /// file kept on `arrived`.
    pub async fn run(
        mut self,
        mut wanted: watch::Receiver<BTreeSet<String>>,
        arrived: mpsc::UnboundedSender<String>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut backoff = Backoff::new(FIRST_WAIT);
        loop {
            let missing: Vec<String> = wanted
                .borrow_and_update()
                .iter()
                .filter(|hash| !self.files.contains(hash))
                .cloned()
                .collect();
            let mut still_missing = false;
            for sha256 in missing {
                if self.fetch(&sha256).await {
                    if arrived.send(sha256).is_err() {
                        return;
                    }
                } else {
                    still_missing = true;
                }
            }
            let wait = if still_missing {
                backoff.failed().min(MAX_WAIT)
            } else {
                backoff.succeeded();
                Duration::MAX
            };
            tokio::select! {
                () = tokio::time::sleep(wait.min(Duration::from_secs(86_400))) => {}
                changed = wanted.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    backoff.succeeded();
                }
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Tries every source for `sha256`; `true` once a file with that hash is kept.
    async fn fetch(&mut self, sha256: &str) -> bool {
        for index in 0..self.sources.len() {
            let source = &self.sources[index];
            let location = source.location(sha256);
            let bytes = match source.get(sha256).await {
                Ok(Some(bytes)) => bytes,
                Ok(None) => continue,
                Err(reason) => {
                    tracing::warn!(
                        source = location,
                        "cannot fetch a pinned plugin file: {reason}"
                    );
                    continue;
                }
            };
            let size = bytes.len();
            match self.files.put(sha256, bytes) {
                Ok(()) => {
                    tracing::info!(source = location, size, "pinned plugin file fetched");
                    return true;
                }
                Err(PinnedFileError::Mismatch { actual, .. }) => {
                    self.refused(&location, sha256, &actual);
                }
            }
        }
        false
    }

    /// Reports a file whose content does not have the pinned hash, once per location and
    /// content.
    fn refused(&mut self, location: &str, sha256: &str, actual: &str) {
        if !self
            .reported
            .insert((location.to_string(), actual.to_string()))
        {
            return;
        }
        let line = format!(
            "plugin file {location}: refused, its content hash is {actual}, not the pinned \
             {sha256}; the previous configuration keeps serving"
        );
        tracing::error!("{line}");
        crate::admin::api::record_reload("plugin fetch", false, &[line]);
    }
}
