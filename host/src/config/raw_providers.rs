//! The serde-facing shapes of `providers.http`, `providers.redis` and `providers.etcd`
//! (Traefik's keys; unknown keys rejected). Resolved by `super::resolve_providers`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::duration::DurationValue;

/// `providers.http`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawHttpProvider {
    pub(crate) endpoint: String,
    pub(crate) poll_interval: Option<DurationValue>,
    pub(crate) poll_timeout: Option<DurationValue>,
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) tls: Option<serde_json::Value>,
}

/// `providers.redis` / `providers.etcd`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawKvProvider {
    pub(crate) root_key: Option<String>,
    #[serde(default)]
    pub(crate) endpoints: Vec<String>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    /// Redis only (refused for etcd by the resolver).
    pub(crate) db: Option<i64>,
    /// Traefik's `ca`, `cert`, `key`, `insecureSkipVerify`.
    pub(crate) tls: Option<serde_json::Value>,
}
