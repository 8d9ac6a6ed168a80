//! Resolves `providers.http`, `providers.redis` and `providers.etcd` of the main file into
//! [`ProvidersConfig`]. Runs once per load; each problem is reported at its key.

use super::client_tls::resolve_client_tls;
use super::model_providers::{
    DEFAULT_POLL_INTERVAL, DEFAULT_POLL_TIMEOUT, DEFAULT_ROOT_KEY, HttpProviderConfig,
    KvProviderConfig, ProvidersConfig,
};
use super::raw_providers::{RawHttpProvider, RawKvProvider};
use crate::yaml::report::Reporter;

/// The control-plane providers of one `providers:` entry (file 0).
pub(crate) fn resolve_providers(
    reporter: &mut Reporter<'_>,
    http: Option<RawHttpProvider>,
    redis: Option<RawKvProvider>,
    etcd: Option<RawKvProvider>,
) -> ProvidersConfig {
    ProvidersConfig {
        http: http.and_then(|raw| resolve_http(reporter, raw)),
        redis: redis.and_then(|raw| resolve_kv(reporter, "redis", "127.0.0.1:6379", raw)),
        etcd: etcd.and_then(|raw| resolve_kv(reporter, "etcd", "127.0.0.1:2379", raw)),
    }
}

fn resolve_http(reporter: &mut Reporter<'_>, raw: RawHttpProvider) -> Option<HttpProviderConfig> {
    let endpoint = raw.endpoint.trim().to_string();
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        || endpoint.parse::<http::Uri>().is_err()
    {
        reporter.at(
            0,
            &["providers", "http", "endpoint"],
            format!("\"{endpoint}\" is not an http:// or https:// URL"),
        );
        return None;
    }
    let mut ok = true;
    let mut positive = |key: &str, value: Option<std::time::Duration>, default| match value {
        Some(d) if d.is_zero() => {
            reporter.at(0, &["providers", "http", key], "must be greater than 0");
            ok = false;
            default
        }
        Some(d) => d,
        None => default,
    };
    let poll_interval = positive(
        "pollInterval",
        raw.poll_interval.map(|d| d.0),
        DEFAULT_POLL_INTERVAL,
    );
    let poll_timeout = positive(
        "pollTimeout",
        raw.poll_timeout.map(|d| d.0),
        DEFAULT_POLL_TIMEOUT,
    );
    let tls = match &raw.tls {
        Some(value) => Some(resolve_client_tls(
            reporter,
            0,
            &["providers", "http", "tls"],
            value,
        )?),
        None => None,
    };
    ok.then(|| HttpProviderConfig {
        endpoint,
        poll_interval,
        poll_timeout,
        headers: raw.headers.into_iter().collect(),
        tls,
    })
}

fn resolve_kv(
    reporter: &mut Reporter<'_>,
    name: &str,
    default_endpoint: &str,
    raw: RawKvProvider,
) -> Option<KvProviderConfig> {
    if name != "redis" && raw.db.is_some() {
        reporter.at(
            0,
            &["providers", name, "db"],
            "\"db\" is a Redis option (Traefik's etcd provider has none)",
        );
        return None;
    }
    let root_key = raw
        .root_key
        .map(|k| k.trim_matches('/').to_string())
        .unwrap_or_else(|| DEFAULT_ROOT_KEY.to_string());
    if root_key.is_empty() {
        reporter.at(0, &["providers", name, "rootKey"], "must not be empty");
        return None;
    }
    let tls = match &raw.tls {
        Some(value) => Some(resolve_client_tls(
            reporter,
            0,
            &["providers", name, "tls"],
            value,
        )?),
        None => None,
    };
    let endpoints = if raw.endpoints.is_empty() {
        vec![default_endpoint.to_string()]
    } else {
        raw.endpoints
    };
    Some(KvProviderConfig {
        root_key,
        endpoints,
        username: raw.username,
        password: raw.password,
        db: raw.db.unwrap_or(0),
        tls,
    })
}
