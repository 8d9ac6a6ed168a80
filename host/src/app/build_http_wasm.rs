//! Building the middleware of a Traefik Wasm plugin (an http-wasm guest) at config time: its
//! budget from the config, one guest started with the middleware's config as JSON. Kept apart
//! from `build` so the component path there stays as it was.

use std::sync::Arc;

use crate::config::{ConfigError, LoadedConfig, MiddlewareConfig};
use crate::plugins::host_state::PluginIdentity;
use crate::plugins::http_wasm::HttpWasmModule;
use crate::plugins::{ConfigureError, MiddlewareBudget, PluginMiddleware, PluginRegistry};

/// The configured middleware, or the error at `key` (the middleware's `plugin:` entry).
/// `budget` is the middleware's, from its runtime settings.
pub(super) fn configure(
    config: &LoadedConfig,
    registry: &PluginRegistry,
    name: &str,
    mw: &MiddlewareConfig,
    module: Arc<HttpWasmModule>,
    budget: MiddlewareBudget,
    key: &[&str],
) -> Result<PluginMiddleware, ConfigError> {
    if mw.runtime.counters {
        return Err(config.error_at(
            key,
            format!(
                "middleware {name:?}: plugin {:?} is an http-wasm guest, which cannot use the \
                 counters capability",
                mw.plugin
            ),
        ));
    }
    let hash = registry
        .files()
        .find(|f| f.name == mw.registry_name())
        .map(|f| f.short_hash().to_owned())
        .unwrap_or_default();
    let identity = PluginIdentity {
        middleware: Arc::from(name),
        plugin: Arc::from(mw.plugin.as_str()),
        hash: Arc::from(hash),
        // http-wasm guests log through their own preview-1 writer (rate-limited there).
        output_budget: Arc::default(),
    };
    PluginMiddleware::http_wasm(
        registry.engine().clone(),
        identity,
        module,
        &mw.config_json,
        budget,
    )
    .map_err(|e: ConfigureError| config.error_at(key, e.to_string()))
}
