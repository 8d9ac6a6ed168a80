//! Plugins pinned by content hash (`plugin: {name, sha256}`), at config time (start-up,
//! reload, `check`): each pinned middleware's file is put into the registry under its pinned
//! name (`<plugin>@sha256:<hash>`, see `MiddlewareConfig::registry_name`) from, in order, the
//! registry itself (a reload carries pinned files over), the plugin directory when its file of
//! that name has that hash, or the pinned-file cache (`plugins::PinnedFiles`, which the
//! fetcher fills from `plugins.store` and the KV stores). What is found nowhere is returned:
//! the caller waits for it (the fetcher is asked for it) instead of building a config that
//! cannot run.
//!
//! Cost: a map lookup per pinned middleware; the first time a file is met, a disk read and a
//! hash of it.

use std::collections::BTreeSet;

use crate::config::{ConfigError, LoadedConfig};
use crate::plugins::registry::PluginFile;
use crate::plugins::{PinnedFiles, PluginRegistry};

/// A pinned plugin whose file is not here yet.
#[derive(Debug, Clone)]
pub(crate) struct MissingPin {
    /// The middleware that pins it.
    pub(crate) middleware: String,
    pub(crate) plugin: String,
    pub(crate) sha256: String,
}

/// Puts every pinned file of `config` that can be found into `registry`; returns the pins
/// whose file is nowhere yet, in middleware order.
pub(crate) fn resolve_pins(
    config: &LoadedConfig,
    registry: &mut PluginRegistry,
    files: &PinnedFiles,
) -> Vec<MissingPin> {
    let mut missing = Vec::new();
    for (name, mw) in &config.dynamic.http.middlewares {
        let Some(sha256) = &mw.sha256 else {
            continue;
        };
        let pinned = mw.registry_name().into_owned();
        if registry.contains(&pinned) {
            continue;
        }
        let in_directory = registry
            .file(&mw.plugin)
            .filter(|f| &f.hash == sha256)
            .map(|f| f.bytes.clone());
        match in_directory.or_else(|| files.get(sha256).map(bytes::Bytes::from_owner)) {
            Some(bytes) => registry.add_pinned(PluginFile::pinned(pinned, bytes)),
            None => missing.push(MissingPin {
                middleware: name.clone(),
                plugin: mw.plugin.clone(),
                sha256: sha256.clone(),
            }),
        }
    }
    missing
}

/// The hashes of `missing`, for the fetcher.
pub(crate) fn hashes(missing: &[MissingPin]) -> BTreeSet<String> {
    missing.iter().map(|m| m.sha256.clone()).collect()
}

/// The middlewares of `missing`, which a start-up snapshot leaves out (their routers answer
/// 503 until the files are here).
pub(crate) fn middlewares(missing: &[MissingPin]) -> BTreeSet<String> {
    missing.iter().map(|m| m.middleware.clone()).collect()
}

/// Where pinned files can come from under `config`, for messages; empty when nowhere.
pub(crate) fn sources(config: &LoadedConfig) -> Vec<String> {
    let statics = &config.static_config;
    let mut sources = Vec::new();
    if let Some(url) = &statics.plugins.store {
        sources.push(format!("plugins.store {url}"));
    }
    if let Some(redis) = &statics.providers.redis {
        sources.push(format!("redis {}/plugins/", redis.root_key));
    }
    if let Some(etcd) = &statics.providers.etcd {
        sources.push(format!("etcd {}/plugins/", etcd.root_key));
    }
    sources
}

/// One located line per missing pin: waiting for the fetcher (`sources` not empty), or an
/// error when there is nowhere to fetch from (`check`, or a config with no store).
pub(crate) fn missing_errors(
    config: &LoadedConfig,
    missing: &[MissingPin],
    sources: &[String],
) -> Vec<ConfigError> {
    missing
        .iter()
        .map(|pin| {
            let at = [
                "http",
                "middlewares",
                pin.middleware.as_str(),
                "plugin",
                "sha256",
            ];
            let reason = if sources.is_empty() {
                format!(
                    "plugin {:?} pinned to sha256 {} is neither in the plugin directory nor in \
                     the pinned-file cache (`run` fetches it from plugins.store or from \
                     <rootKey>/plugins/<sha256> of a redis or etcd provider, when one is \
                     configured)",
                    pin.plugin, pin.sha256
                )
            } else {
                format!(
                    "plugin {:?} pinned to sha256 {} is not available yet: fetching it from {}; \
                     the previous configuration keeps serving",
                    pin.plugin,
                    pin.sha256,
                    sources.join(", ")
                )
            };
            config.error_at(&at, reason)
        })
        .collect()
}
