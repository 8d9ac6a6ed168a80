//! The two ways a middleware names a plugin under `plugin:`:
//!
//! - wasmgate's form, `plugin: {name: <plugin>, config: {...}, isolation: ..., ...}`, with the
//!   runtime overrides of `plugins.defaults`, and optionally `sha256: <hex>`, which pins the
//!   plugin to the file with that content hash (a fleet runs the same bytes everywhere; the
//!   file is found or fetched by `app::pins`);
//! - Traefik's form, `plugin: {<pluginName>: {...config...}}`, the way every Traefik plugin user
//!   writes it: one key, the plugin's name, whose value is its config. The plugin is looked up
//!   by that name in the plugin directory (and among the bundled plugins); runtime settings are
//!   `plugins.defaults`.
//!
//! A mapping with `name` or `config` (in any case) is wasmgate's form; a mapping with exactly one
//! other key is Traefik's; anything else is refused with both forms spelt out. Runs at config
//! load, once per `plugin:` middleware.

use serde_json::Value;

use super::raw::{RawPluginMiddleware, RawRuntime};
use crate::yaml::report::Reporter;
use crate::yaml::tree::{Entry, Resolved, Seg, Value as Yaml};

/// What the error for a `plugin:` of neither shape says.
pub(crate) const BOTH_FORMS: &str = "write either wasmgate's form `plugin: {name: <plugin>, \
     config: {...}}` or Traefik's form `plugin: {<plugin>: {...config...}}` (one plugin name \
     whose value is its config)";

/// What a `plugin:` entry names.
pub(crate) struct PluginChoice {
    pub(crate) name: String,
    /// `sha256`, lowercased: the content hash the plugin is pinned to.
    pub(crate) sha256: Option<String>,
    pub(crate) config: Option<Value>,
    pub(crate) runtime: RawRuntime,
    /// wasmgate's form only: `kv` (where the `kv` grant's keys live), unchecked.
    pub(crate) kv: Option<Value>,
}

/// Whether `text` is a SHA-256 in hex (64 digits, either case).
fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The plugin a `plugin:` entry (`entry`, under `path`) names: its name, pin, config and
/// runtime overrides; `None` after reporting.
pub(crate) fn read_plugin(
    reporter: &mut Reporter<'_>,
    file: usize,
    path: &[&str],
    entry: &Entry,
) -> Option<PluginChoice> {
    let entries = match &entry.value.value {
        Yaml::Map(entries) => entries.as_slice(),
        Yaml::Scalar(scalar) if scalar.resolve() == Resolved::Null => &[],
        _ => {
            reporter.at(file, path, format!("expected a mapping: {BOTH_FORMS}"));
            return None;
        }
    };
    let wasmgate_form = entries
        .iter()
        .any(|e| e.key.eq_ignore_ascii_case("name") || e.key.eq_ignore_ascii_case("config"));
    if wasmgate_form {
        let raw: RawPluginMiddleware = reporter.parse(file, &entry.value, path, entry.line)?;
        if raw.name.trim().is_empty() {
            reporter.at(file, &[path, &["name"]].concat(), "must not be empty");
            return None;
        }
        let runtime = raw.runtime();
        let sha256 = match raw.sha256 {
            Some(hash) if !is_sha256_hex(hash.trim()) => {
                let reason = format!(
                    "\"{hash}\" is not a SHA-256: write the 64 hex digits of the plugin file's \
                     hash (sha256sum <file>)"
                );
                reporter.at(file, &[path, &["sha256"]].concat(), reason);
                return None;
            }
            hash => hash.map(|h| h.trim().to_ascii_lowercase()),
        };
        return Some(PluginChoice {
            name: raw.name,
            sha256,
            config: raw.config,
            runtime,
            kv: raw.kv,
        });
    }
    let [plugin] = entries else {
        let found = if entries.is_empty() {
            "no plugin".to_string()
        } else {
            let keys: Vec<String> = entries.iter().map(|e| format!("\"{}\"", e.key)).collect();
            format!("{} keys ({})", keys.len(), keys.join(", "))
        };
        reporter.at(file, path, format!("has {found}: {BOTH_FORMS}"));
        return None;
    };
    let config_path: Vec<&str> = [path, &[plugin.key.as_str()]].concat();
    if plugin.key.trim().is_empty() {
        let segs: Vec<Seg> = config_path
            .iter()
            .map(|k| Seg::Key((*k).to_string()))
            .collect();
        reporter.exact(
            file,
            &segs,
            Some(plugin.line),
            "the plugin name must not be empty",
        );
        return None;
    }
    let config: Value = reporter.parse(file, &plugin.value, &config_path, plugin.line)?;
    if !matches!(config, Value::Object(_) | Value::Null) {
        let segs: Vec<Seg> = config_path
            .iter()
            .map(|k| Seg::Key((*k).to_string()))
            .collect();
        let reason = format!("the config of plugin \"{}\" must be a mapping", plugin.key);
        reporter.exact(file, &segs, Some(plugin.line), reason);
        return None;
    }
    Some(PluginChoice {
        name: plugin.key.clone(),
        sha256: None,
        config: Some(config),
        runtime: RawRuntime::default(),
        kv: None,
    })
}
