//! `wasmgate check`: every problem of a config in one run, in source order.
//!
//! [`super::prepare`] stops at the first stage that fails, so a config with a bad key and a
//! middleware config its plugin refuses needs two rounds of fixes to see both. Here the config
//! stage hands on what resolved (entities with errors of their own left out), and the later
//! stages — rules, plugins compiled and their `validate-config` — run on that; all errors are
//! then sorted by file and line. Costs what `prepare` costs; runs once per `check`.

use std::path::Path;
use std::sync::Arc;

use super::{Prepared, compiled_cache_dir};
use crate::config::{self, ConfigError};
use crate::plugins::{EngineSettings, PluginEngine, PluginRegistry};

/// Loads and validates a config completely, as [`super::prepare`] does, but reports every
/// problem found at any stage. Errors are `file:line: key: reason` lines in source order.
pub fn check(path: &Path) -> Result<Prepared, Vec<String>> {
    let (config, config_errors) = config::load_for_check(path);
    let Some(config) = config else {
        return Err(lines(config_errors.0));
    };
    let mut errors = config_errors.0;
    let plugins = &config.static_config.plugins;
    let settings = EngineSettings {
        epoch_tick: plugins.epoch_tick,
        cache_dir: compiled_cache_dir(),
        artifact_dir: crate::plugins::engine::artifact_dir(),
        ..EngineSettings::default()
    };
    let engine = match PluginEngine::new(settings) {
        Ok(engine) => engine,
        Err(e) => {
            errors.push(config.error_at(
                &["plugins"],
                format!("cannot start the plugin engine: {e:#}"),
            ));
            return Err(lines(config.errors_in_source_order(errors).0));
        }
    };
    let registry = match PluginRegistry::load(Arc::new(engine), plugins.directory.as_deref()) {
        Ok(registry) => registry,
        Err(e) => {
            let dir = plugins
                .directory
                .as_deref()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            errors.push(config.error_at(&["plugins", "directory"], format!("{dir}: {e}")));
            return Err(lines(config.errors_in_source_order(errors).0));
        }
    };
    let mut registry = match registry.with_local_plugins(&plugins.local_plugins) {
        Ok(registry) => registry,
        Err(e) => {
            errors.push(config.error_at(&["experimental", "localPlugins"], e.to_string()));
            return Err(lines(config.errors_in_source_order(errors).0));
        }
    };
    // `check` fetches nothing: a pinned file must be in the plugin directory or the cache.
    let files = crate::plugins::PinnedFiles::new(super::pinned_files_dir());
    let missing = super::pins::resolve_pins(&config, &mut registry, &files);
    errors.extend(super::pins::missing_errors(&config, &missing, &[]));
    let pending = super::pins::middlewares(&missing);
    match super::build::build_snapshot_pending(&config, &registry, &pending) {
        Ok(snapshot) if errors.is_empty() => Ok(Prepared {
            config,
            registry,
            snapshot,
        }),
        Ok(_) => Err(lines(config.errors_in_source_order(errors).0)),
        Err(build_errors) => {
            errors.extend(build_errors);
            Err(lines(config.errors_in_source_order(errors).0))
        }
    }
}

fn lines(errors: Vec<ConfigError>) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}
