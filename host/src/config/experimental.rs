//! Static `experimental:`: only `localPlugins` is supported, Traefik's way of loading a plugin
//! from a local directory instead of its catalogue.
//!
//! `experimental.localPlugins.<name>: {moduleName, settings}` names the directory
//! `plugins-local/src/<moduleName>` next to the main config file (Traefik reads it from its
//! working directory), which holds `.traefik.yml` and the wasm file. The middleware then names
//! the plugin `<name>` (`plugin: {<name>: {...}}`). `settings.envs` and `settings.mounts` are
//! refused when not empty: an http-wasm guest gets no environment and no filesystem here.
//! Traefik's other experimental keys are "not supported yet" (`not_yet`). Runs at config load.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::yaml::report::Reporter;

/// Where Traefik keeps local plugins, relative to the main config file's directory.
pub const LOCAL_PLUGINS_DIR: &str = "plugins-local/src";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawExperimental {
    pub(crate) local_plugins: Option<BTreeMap<String, RawLocalPlugin>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawLocalPlugin {
    pub(crate) module_name: String,
    pub(crate) settings: Option<RawPluginSettings>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawPluginSettings {
    pub(crate) envs: Option<Vec<String>>,
    pub(crate) mounts: Option<Vec<String>>,
    /// Yaegi (Go source) plugins only; accepted and ignored.
    pub(crate) use_unsafe: Option<bool>,
}

/// The local plugins: name -> plugin directory.
pub(crate) fn resolve_experimental(
    reporter: &mut Reporter<'_>,
    raw: RawExperimental,
    main_dir: &Path,
) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for (name, plugin) in raw.local_plugins.unwrap_or_default() {
        let at =
            |key: &str| ["experimental", "localPlugins", name.as_str(), key].map(str::to_owned);
        let module = Path::new(&plugin.module_name);
        let inside = !plugin.module_name.is_empty()
            && module
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !inside {
            reporter.at(
                0,
                &at("moduleName"),
                "must be a relative module path such as github.com/you/plugin",
            );
            continue;
        }
        let settings = plugin.settings.unwrap_or_default();
        let _ = settings.use_unsafe;
        if settings.envs.is_some_and(|e| !e.is_empty()) {
            let mut key = at("settings").to_vec();
            key.push("envs".into());
            reporter.at(
                0,
                &key,
                "an http-wasm guest gets no environment variables in wasmgate",
            );
            continue;
        }
        if settings.mounts.is_some_and(|m| !m.is_empty()) {
            let mut key = at("settings").to_vec();
            key.push("mounts".into());
            reporter.at(0, &key, "an http-wasm guest gets no filesystem in wasmgate");
            continue;
        }
        let dir: PathBuf = main_dir
            .join(LOCAL_PLUGINS_DIR)
            .join(module)
            .components()
            .collect();
        out.push((name, dir));
    }
    out
}
