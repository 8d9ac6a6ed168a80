//! The control-plane providers of the static config (`providers.http`, `providers.redis`,
//! `providers.etcd`): where each one reads dynamic configuration from. Resolved once at
//! start-up by `super::resolve_providers`; `crate::providers` runs them.

use std::time::Duration;

use super::model_tls::UpstreamTlsConfig;

/// Traefik's default `pollInterval` / `pollTimeout` of the HTTP provider.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(5);
/// Traefik's default `rootKey` of the KV providers.
pub const DEFAULT_ROOT_KEY: &str = "traefik";

/// Every provider besides `file` that the static config turns on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvidersConfig {
    pub http: Option<HttpProviderConfig>,
    pub redis: Option<KvProviderConfig>,
    pub etcd: Option<KvProviderConfig>,
}

/// `providers.http`: dynamic configuration polled from `endpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpProviderConfig {
    /// `endpoint`: an `http://` or `https://` URL answering Traefik's dynamic config (YAML or JSON).
    pub endpoint: String,
    /// `pollInterval` (default 5 s): time between two polls while the endpoint answers.
    pub poll_interval: Duration,
    /// `pollTimeout` (default 5 s): a poll that takes longer fails.
    pub poll_timeout: Duration,
    /// `headers`: sent with every poll, in the order written.
    pub headers: Vec<(String, String)>,
    /// `tls`: client TLS for an `https://` endpoint (Traefik's `ca`, `cert`, `key`,
    /// `insecureSkipVerify`); the system trust store when unset.
    pub tls: Option<UpstreamTlsConfig>,
}

/// `providers.redis` / `providers.etcd`: dynamic configuration read from Traefik's KV layout
/// under `root_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvProviderConfig {
    /// `rootKey` (default `traefik`).
    pub root_key: String,
    /// `endpoints`: `host:port` of the store; the first one that answers is used.
    pub endpoints: Vec<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `db` (Redis only; default 0).
    pub db: i64,
    /// `tls`: TLS to the store (Traefik's `ca`, `cert`, `key`, `insecureSkipVerify`); plain
    /// TCP when unset.
    pub tls: Option<UpstreamTlsConfig>,
}
