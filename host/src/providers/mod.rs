//! Control-plane providers: dynamic configuration read from an HTTP endpoint
//! (`providers.http`) or from Traefik's KV layout in Redis or etcd (`providers.redis`,
//! `providers.etcd`), next to the file provider.
//!
//! Each configured provider runs as one task from start-up to shutdown. When what it reads
//! changes it sends a [`Contribution`] to `app::reload`, which validates the whole config with
//! it (plus the other providers' last accepted contributions) and swaps, or refuses it and
//! keeps that provider's last good contribution. A provider that cannot reach its source logs
//! the error (provider, endpoint, reason), backs off and retries; nothing is sent, so the last
//! good configuration keeps serving.
//!
//! - `http`: polls `endpoint` every `pollInterval` with `If-None-Match`; a 304 or an unchanged
//!   body sends nothing (no rebuild).
//! - `redis`: reads every key under `rootKey/`, then waits for keyspace notifications (and
//!   re-reads on a slow timer, for a store whose notifications are off).
//! - `etcd`: reads the prefix over etcd's v3 JSON gateway, then waits on a watch of it.
//! - `kv_tree`: Traefik's KV layout (key paths, list indices) into a config tree.
//! - `plugin_fetch`: plugin files pinned by hash, fetched from `plugins.store` or from
//!   `<rootKey>/plugins/<sha256>` in the KV stores, checked against the hash.

mod backoff;
mod etcd;
mod http;
mod kv_source;
mod kv_tree;
pub mod plugin_fetch;
mod redis;

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::config::{Contribution, ProvidersConfig};
pub use plugin_fetch::PluginFetcher;
pub(crate) use redis::redis_tls;

/// Quiet time after the last change event of a KV store before its tree is read (a writer
/// sets several keys for one change); at most [`MAX_DEBOUNCE`] after the first event.
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(50);
pub(crate) const MAX_DEBOUNCE: Duration = Duration::from_millis(500);

/// Starts one task per configured provider; each sends its contributions on `updates` until
/// `shutdown` flips. Call once at start-up, inside the tokio runtime.
pub fn start(
    config: &ProvidersConfig,
    updates: &mpsc::UnboundedSender<Contribution>,
    shutdown: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    if let Some(http) = &config.http {
        match http::HttpProvider::new(http.clone()) {
            Ok(provider) => {
                tasks.push(tokio::spawn(
                    provider.run(updates.clone(), shutdown.clone()),
                ));
            }
            Err(e) => tracing::error!(provider = "http", "provider not started: {e}"),
        }
    }
    if let Some(redis) = &config.redis {
        let provider = redis::RedisProvider::new(redis.clone());
        tasks.push(tokio::spawn(
            provider.run(updates.clone(), shutdown.clone()),
        ));
    }
    if let Some(etcd) = &config.etcd {
        match etcd::EtcdProvider::new(etcd.clone()) {
            Ok(provider) => {
                tasks.push(tokio::spawn(
                    provider.run(updates.clone(), shutdown.clone()),
                ));
            }
            Err(e) => tracing::error!(provider = "etcd", "provider not started: {e}"),
        }
    }
    tasks
}

/// Waits `wait`, or returns `true` early when `shutdown` flips (or its sender is gone).
pub(crate) async fn sleep_or_shutdown(
    wait: Duration,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        () = tokio::time::sleep(wait) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}
