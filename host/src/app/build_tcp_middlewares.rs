//! `tcp.middlewares` as connection-level plugins: Traefik's `ipAllowList` runs the bundled
//! `tcp-ip-allow-list` component and `inFlightConn` the bundled `tcp-in-flight-conn` (granted
//! `counters`, its scope named after the middleware, so routers naming it share the counts and
//! the counts outlive a reload), and `plugin: {name, config, capabilities: [counters]}` any
//! `connection-middleware` component. Each is configured like an HTTP middleware
//! (validate-config, probe, pool) with the `plugins.defaults` budget. Runs at start-up and
//! reload only.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{ConfigError, LoadedConfig, TcpMiddlewareConfig};
use crate::plugins::{MiddlewareBudget, PluginMiddleware, PluginRegistry};

/// A TCP middleware's plugin: its name, config as JSON, the config key it sits under, and
/// whether it is granted `counters`.
struct TcpPlugin<'a> {
    name: &'a str,
    json: String,
    key: &'static str,
    counters: bool,
}

/// The plugin behind a TCP middleware: the bundled one for Traefik's keys.
fn plugin_of(config: &TcpMiddlewareConfig) -> TcpPlugin<'_> {
    match config {
        TcpMiddlewareConfig::IpAllowList(nets) => {
            let ranges: Vec<String> = nets.iter().map(ToString::to_string).collect();
            TcpPlugin {
                name: "tcp-ip-allow-list",
                json: serde_json::json!({ "sourceRange": ranges }).to_string(),
                key: "ipAllowList",
                counters: false,
            }
        }
        // Granted by the Traefik key itself, as `inFlightReq` grants its bundled plugin.
        TcpMiddlewareConfig::InFlightConn(amount) => TcpPlugin {
            name: "tcp-in-flight-conn",
            json: serde_json::json!({ "amount": amount }).to_string(),
            key: "inFlightConn",
            counters: true,
        },
        TcpMiddlewareConfig::Plugin {
            name,
            config_json,
            counters,
        } => TcpPlugin {
            name,
            json: config_json.clone(),
            key: "plugin",
            counters: *counters,
        },
    }
}

/// Builds every `tcp.middlewares` entry with the `defaults` budget (`plugins.defaults`), errors
/// pushed, located at the middleware's key.
pub(super) fn build_tcp_middlewares<'a>(
    config: &'a LoadedConfig,
    registry: &PluginRegistry,
    defaults: &MiddlewareBudget,
    errors: &mut Vec<ConfigError>,
) -> HashMap<&'a str, Arc<PluginMiddleware>> {
    let mut built = HashMap::new();
    for (name, middleware) in &config.dynamic.tcp.middlewares {
        let TcpPlugin {
            name: plugin,
            json,
            key,
            counters,
        } = plugin_of(middleware);
        let at = ["tcp", "middlewares", name.as_str(), key];
        let compiled = match registry.compiled(plugin) {
            Ok(Some(c)) if !c.world().is_http() => c,
            Ok(Some(c)) => {
                let reason = format!(
                    "plugin {plugin:?} is an HTTP middleware ({}); a TCP middleware needs a \
                     connection-middleware component",
                    c.world().name()
                );
                errors.push(config.error_at(&at, reason));
                continue;
            }
            Ok(None) => {
                errors.push(config.error_at(&at, format!("plugin {plugin:?} is missing")));
                continue;
            }
            Err(e) => {
                errors.push(config.error_at(&at, format!("plugin {plugin:?}: {e}")));
                continue;
            }
        };
        let mut budget = defaults.clone();
        if compiled.imports_counters() {
            if !counters {
                let reason = format!(
                    "plugin {plugin:?} imports the counters capability, which its config does \
                     not grant (add capabilities: [counters] to its plugin: entry)"
                );
                errors.push(config.error_at(&at, reason));
                continue;
            }
            // A scope of its own: `tcp@` keeps it apart from an HTTP middleware's of that name.
            budget.counters = Some(crate::plugins::counters::scope_for(&format!("tcp@{name}")));
        }
        match PluginMiddleware::configure(registry.engine().clone(), name, compiled, &json, budget)
        {
            Ok(m) => {
                built.insert(name.as_str(), Arc::new(m));
            }
            Err(e) => errors.push(config.error_at(&at, e.to_string())),
        }
    }
    built
}
