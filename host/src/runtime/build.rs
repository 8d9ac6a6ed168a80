//! Building a `Runtime` from a loaded config: parse rules, resolve plugins, validate every
//! middleware's config with its plugin, create services and transports. Runs at start-up and
//! reload, never per request. Any error rejects the whole config (the old runtime stays).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::config::{
    ConfigError, Isolation as ConfigIsolation, LoadedConfig, PluginRuntimeConfig,
    ServersTransportConfig, ServiceConfig,
};
use crate::plugins::{
    Chain, ConfigureError, Isolation, MiddlewareBudget, PluginMiddleware, PluginRegistry,
};
use crate::proxy::forward::{TransportSettings, UpstreamTransport};
use crate::router::{Route, RouteTable, Rule};

use super::{RouteTarget, Runtime, Server, Service};

/// Converts a middleware's runtime settings from config into the plugin runtime's budget.
pub fn budget_from_config(c: &PluginRuntimeConfig) -> MiddlewareBudget {
    MiddlewareBudget {
        isolation: match c.isolation {
            ConfigIsolation::Pooled => Isolation::Pooled,
            ConfigIsolation::PerRequest => Isolation::PerRequest,
        },
        deadline: c.deadline,
        memory_limit: c.memory_limit,
        max_requests_per_instance: c.max_requests_per_instance,
        pool_size: c.pool_size,
        fail_open: c.fail_open,
        max_reply_body_size: c.max_reply_body_size,
        max_headers: c.max_headers,
    }
}

fn transport_settings(t: &ServersTransportConfig) -> TransportSettings {
    TransportSettings {
        dial_timeout: t.dial_timeout,
        response_header_timeout: t.response_header_timeout,
        idle_conn_timeout: t.idle_conn_timeout,
        max_idle_conns_per_host: t.max_idle_conns_per_host,
    }
}

/// Builds the runtime, or every error found (each located in the config). Must run inside the
/// tokio runtime (transports spawn their pool reapers).
pub fn build_runtime(
    config: &LoadedConfig,
    registry: &PluginRegistry,
) -> Result<Runtime, Vec<ConfigError>> {
    let http = &config.dynamic.http;
    let mut errors = Vec::new();

    // Middlewares: resolve the plugin, validate its config, build its instance pool.
    let mut middlewares: BTreeMap<&str, Arc<PluginMiddleware>> = BTreeMap::new();
    for (name, mw) in &http.middlewares {
        let key = [
            &["http", "middlewares", name.as_str()][..],
            &[mw.type_key.as_str()],
        ]
        .concat();
        let compiled = match registry.compiled(&mw.plugin) {
            Ok(Some(c)) => c,
            Ok(None) => {
                let mut known: Vec<&str> = registry.files().map(|f| f.name.as_str()).collect();
                known.sort_unstable();
                errors.push(config.error_at(
                    &key,
                    format!(
                        "middleware {name:?} uses plugin {:?}, which does not exist (known plugins: {})",
                        mw.plugin,
                        known.join(", ")
                    ),
                ));
                continue;
            }
            Err(e) => {
                errors.push(config.error_at(&key, format!("plugin {:?}: {e}", mw.plugin)));
                continue;
            }
        };
        let budget = budget_from_config(&mw.runtime);
        match PluginMiddleware::configure(
            registry.engine().clone(),
            name,
            compiled,
            &mw.config_json,
            budget,
        ) {
            Ok(m) => {
                middlewares.insert(name.as_str(), Arc::new(m));
            }
            Err(e @ ConfigureError::Rejected { .. }) | Err(e @ ConfigureError::Failed { .. }) => {
                errors.push(config.error_at(&key, e.to_string()));
            }
        }
    }

    // Transports: one per serversTransport, plus the default.
    let default_transport =
        UpstreamTransport::new(&transport_settings(&ServersTransportConfig::default()));
    let transports: HashMap<&str, UpstreamTransport> = http
        .servers_transports
        .iter()
        .map(|(name, t)| {
            (
                name.as_str(),
                UpstreamTransport::new(&transport_settings(t)),
            )
        })
        .collect();

    // Services.
    let mut services: HashMap<&str, Arc<Service>> = HashMap::new();
    for (name, svc) in &http.services {
        let ServiceConfig::LoadBalancer(lb) = svc;
        let mut servers = Vec::with_capacity(lb.servers.len());
        for (i, s) in lb.servers.iter().enumerate() {
            match (s.url.scheme().cloned(), s.url.authority().cloned()) {
                (Some(scheme), Some(authority)) => servers.push(Server { scheme, authority }),
                _ => errors.push(config.error_at(
                    &[
                        "http",
                        "services",
                        name,
                        "loadBalancer",
                        "servers",
                        &i.to_string(),
                        "url",
                    ],
                    format!("server URL {} needs a scheme and a host", s.url),
                )),
            }
        }
        let transport = lb
            .servers_transport
            .as_deref()
            .and_then(|t| transports.get(t).cloned())
            .unwrap_or_else(|| default_transport.clone());
        services.insert(
            name.as_str(),
            Arc::new(Service {
                name: Arc::from(name.as_str()),
                servers,
                balancer: crate::lb::RoundRobin::new(),
                pass_host_header: lb.pass_host_header,
                transport,
            }),
        );
    }

    // Routers, grouped by entrypoint.
    let mut per_entrypoint: HashMap<String, Vec<Route<RouteTarget>>> = config
        .static_config
        .entry_points
        .keys()
        .map(|ep| (ep.clone(), Vec::new()))
        .collect();
    for (name, router) in &http.routers {
        let rule = match Rule::parse(&router.rule) {
            Ok(rule) => rule,
            Err(e) => {
                errors.push(config.error_at(
                    &["http", "routers", name, "rule"],
                    format!("invalid rule: {e}"),
                ));
                continue;
            }
        };
        let Some(service) = services.get(router.service.as_str()).cloned() else {
            // The config module already reported the missing service.
            continue;
        };
        let chain: Option<Vec<Arc<PluginMiddleware>>> = router
            .middlewares
            .iter()
            .map(|m| middlewares.get(m.as_str()).cloned())
            .collect();
        let Some(chain) = chain else {
            // A middleware that failed to build (reported above) or does not exist (reported by
            // the config module).
            continue;
        };
        let chain = Chain::new(chain);
        let priority = router.priority.unwrap_or_else(|| rule.default_priority());
        let eps: Vec<String> = if router.entry_points.is_empty() {
            per_entrypoint.keys().cloned().collect()
        } else {
            router.entry_points.clone()
        };
        for ep in eps {
            let Some(routes) = per_entrypoint.get_mut(&ep) else {
                continue;
            };
            routes.push(Route {
                name: name.clone(),
                rule: rule.clone(),
                priority,
                target: RouteTarget {
                    router: Arc::from(name.as_str()),
                    chain: chain.clone(),
                    service: service.clone(),
                },
            });
        }
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Runtime {
        entrypoints: per_entrypoint
            .into_iter()
            .map(|(ep, routes)| (ep, RouteTable::new(routes)))
            .collect(),
    })
}
