//! `providers.redis`: Traefik's KV layout in Redis. A session connects to the first endpoint
//! that answers, subscribes to the keyspace notifications of `<rootKey>/*` (database `db`),
//! reads every key under `<rootKey>/` (SCAN + MGET) and sends the tree; then each burst of
//! notifications (debounced) re-reads the tree and sends it when it changed. Every
//! [`RESYNC`] the tree is read again anyway, for a server whose notifications are off (the
//! session logs that once). A lost connection ends the session: the error is logged with the
//! endpoint, and a new session starts after a back-off; the last good config keeps serving.
//!
//! Cost: one SCAN pass + one MGET per change (and per [`RESYNC`]), on one connection, plus a
//! pub/sub connection.

use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use tokio::sync::{mpsc, watch};

use super::backoff::Backoff;
use super::kv_source::{KvSource, Session};
use crate::config::KvProviderConfig;

/// How often the tree is re-read without a notification.
const RESYNC: Duration = Duration::from_secs(2);
/// First wait after a failed session (doubling up to the back-off cap).
const RETRY: Duration = Duration::from_millis(200);
/// Keys asked per SCAN step.
const SCAN_COUNT: usize = 1000;

pub(crate) struct RedisProvider {
    config: KvProviderConfig,
}

impl RedisProvider {
    pub(crate) fn new(config: KvProviderConfig) -> RedisProvider {
        RedisProvider { config }
    }

    /// Runs sessions until `shutdown` flips.
    pub(crate) async fn run(
        self,
        updates: mpsc::UnboundedSender<crate::config::Contribution>,
        shutdown: watch::Receiver<bool>,
    ) {
        let source = KvSource::new("redis", self.config.clone(), updates, shutdown);
        source
            .run(Backoff::new(RETRY), |endpoint| self.session(endpoint))
            .await;
    }

    /// One connection's life: see the module doc.
    async fn session(&self, endpoint: String) -> Result<Session, String> {
        let client = client(&self.config, &endpoint).map_err(|e| e.to_string())?;
        let mut pubsub = client.get_async_pubsub().await.map_err(|e| e.to_string())?;
        let pattern = format!("__keyspace@{}__:{}/*", self.config.db, self.config.root_key);
        pubsub
            .psubscribe(&pattern)
            .await
            .map_err(|e| e.to_string())?;
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| e.to_string())?;
        warn_when_notifications_are_off(&mut conn, &endpoint).await;
        let root = self.config.root_key.clone();
        let events = pubsub.into_on_message().map(|_| ());
        Ok(Session::new(
            events,
            move || {
                let mut conn = conn.clone();
                let root = root.clone();
                async move { read_tree(&mut conn, &root).await.map_err(|e| e.to_string()) }
            },
            RESYNC,
        ))
    }
}

/// A client of `endpoint` (`host:port`) with the provider's database and credentials, over
/// TLS when `tls` is set (its CA and client certificate files are read here, per session).
fn client(config: &KvProviderConfig, endpoint: &str) -> redis::RedisResult<redis::Client> {
    let tls = match &config.tls {
        Some(tls) => Some(redis_tls(tls)?),
        None => None,
    };
    crate::plugins::redis_counters::client(
        endpoint,
        config.db,
        config.username.as_deref(),
        config.password.as_deref(),
        tls,
    )
}

/// `tls` as the Redis client takes it: its files read (PEM), and whether the server's
/// certificate goes unverified. Shared with the rate limit's Redis (`app::build`).
pub(crate) fn redis_tls(
    tls: &crate::config::UpstreamTlsConfig,
) -> redis::RedisResult<crate::plugins::redis_counters::RedisTls> {
    Ok(crate::plugins::redis_counters::RedisTls {
        insecure: tls.insecure_skip_verify,
        certificates: tls_certificates(tls)?,
    })
}

/// The CA and client certificate of `tls` as the Redis client takes them (PEM bytes).
fn tls_certificates(
    tls: &crate::config::UpstreamTlsConfig,
) -> redis::RedisResult<redis::TlsCertificates> {
    let read = |source| {
        crate::tls::read_pem(source)
            .map_err(|reason| redis::RedisError::from((redis::ErrorKind::Io, "tls", reason)))
    };
    let mut root_cert = Vec::new();
    for ca in &tls.root_cas {
        root_cert.extend(read(ca)?);
        root_cert.push(b'\n');
    }
    let client_tls = match tls.certificates.first() {
        Some(pair) => Some(redis::ClientTlsConfig {
            client_cert: read(&pair.cert)?,
            client_key: read(&pair.key)?,
        }),
        None => None,
    };
    Ok(redis::TlsCertificates {
        client_tls,
        root_cert: (!root_cert.is_empty()).then_some(root_cert),
    })
}

/// The bytes stored at `key`, from the first endpoint that answers (`None`: no such key).
/// One connection per call: the plugin fetcher calls it only while a pinned file is missing.
pub(crate) async fn get_bytes(
    config: &KvProviderConfig,
    key: &str,
) -> Result<Option<Vec<u8>>, String> {
    let mut last_error = String::from("no endpoint");
    for endpoint in &config.endpoints {
        let attempt = async {
            let client = client(config, endpoint)?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("GET")
                .arg(key)
                .query_async::<Option<Vec<u8>>>(&mut conn)
                .await
        };
        match attempt.await {
            Ok(value) => return Ok(value),
            Err(e) => last_error = format!("{endpoint}: {e}"),
        }
    }
    Err(last_error)
}

/// Every key under `root/` and its value (keys deleted between SCAN and MGET are left out),
/// except pinned plugin files under `root/plugins/` (binary, and not config: the plugin
/// fetcher reads them one by one).
async fn read_tree(
    conn: &mut redis::aio::MultiplexedConnection,
    root: &str,
) -> redis::RedisResult<Vec<(String, String)>> {
    let pattern = format!("{root}/*");
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let plugins = super::kv_tree::kv_plugin_prefix(root);
    keys.retain(|k| !k.starts_with(&plugins));
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<Option<String>> = conn.mget(&keys).await?;
    Ok(keys
        .into_iter()
        .zip(values)
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect())
}

/// Logs once per session when the server does not publish keyspace events for string
/// writes and deletions (`notify-keyspace-events` without `K` and `A`/`$g`): changes are
/// then seen at the next resync only.
async fn warn_when_notifications_are_off(
    conn: &mut redis::aio::MultiplexedConnection,
    endpoint: &str,
) {
    let reply: redis::RedisResult<Vec<String>> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("notify-keyspace-events")
        .query_async(conn)
        .await;
    let flags = match reply {
        Ok(pair) => pair.get(1).cloned().unwrap_or_default(),
        // CONFIG may be renamed or refused on managed servers: nothing to say.
        Err(_) => return,
    };
    let on = flags.contains('K')
        && (flags.contains('A') || (flags.contains('$') && flags.contains('g')));
    if !on {
        tracing::warn!(
            provider = "redis",
            endpoint,
            flags,
            "keyspace notifications are off (set notify-keyspace-events KA); changes are read every {RESYNC:?}"
        );
    }
}
