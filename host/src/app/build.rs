//! Building a routing [`Snapshot`] from a loaded config: parse rules, resolve plugins, validate every
//! middleware's config with its plugin, create services and transports. Runs at start-up and
//! reload, never per request. Any error rejects the whole config (the old snapshot stays).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::config::{ConfigError, Isolation as ConfigIsolation, LoadedConfig, PluginRuntimeConfig};
use crate::plugins::{
    Chain, ConfigureError, Isolation, MiddlewareBudget, PluginMiddleware, PluginRegistry,
};
use crate::router::path::Encoded;
use crate::router::{Route, RouteTable, Rule};
use crate::tls::{TlsRouter, TlsSetup};

use super::build_services::build_services;
use crate::admin::api::Internals;
use crate::config::InternalService;
use crate::proxy::{Backend, RouteTarget, Snapshot};

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
        counters: None,
        outbound: None,
        body: None,
        compression: false,
        grpc_web: false,
        kv: None,
        redis_kv: None,
        redis_counters: None,
        take_max_wait_ns: 0,
    }
}

/// A middleware's `body` grant as the plugin runtime keeps it.
fn body_grant(body: &crate::config::BodyConfig) -> crate::plugins::body::BodyGrant {
    use crate::config::OverLimit as Config;
    use crate::plugins::body::{BodyLimit, OverLimit};
    let limit = |l: &crate::config::BodyLimitConfig| BodyLimit {
        max_bytes: usize::try_from(l.max_bytes).unwrap_or(usize::MAX),
        over_limit: match l.over_limit {
            Config::Reject => OverLimit::Reject,
            Config::Pass => OverLimit::Pass,
        },
    };
    crate::plugins::body::BodyGrant {
        request: body.request.as_ref().map(limit),
        response: body.response.as_ref().map(limit),
    }
}

/// Builds the snapshot, or every error found (each located in the config). Must run inside the
/// tokio runtime (transports spawn their pool reapers).
pub fn build_snapshot(
    config: &LoadedConfig,
    registry: &PluginRegistry,
) -> Result<Snapshot, Vec<ConfigError>> {
    build_snapshot_pending(config, registry, &BTreeSet::new())
}

/// [`build_snapshot`] with the middlewares in `pending` left out: their pinned plugin file is
/// not here yet (`super::pins`). Every router using one of them answers 503 instead of running
/// without it (a missing auth plugin must not open its route). Start-up only: a reload waits
/// for the files instead, keeping the previous snapshot.
pub(crate) fn build_snapshot_pending(
    config: &LoadedConfig,
    registry: &PluginRegistry,
    pending: &BTreeSet<String>,
) -> Result<Snapshot, Vec<ConfigError>> {
    let http = &config.dynamic.http;
    let mut errors = Vec::new();

    // Services (and their transports, health probes); built first, for outbound-http grants.
    let services = build_services(config, &mut errors);

    // Middlewares: resolve the plugin, validate its config, build its instance pool.
    let mut middlewares: BTreeMap<&str, Arc<PluginMiddleware>> = BTreeMap::new();
    for (name, mw) in &http.middlewares {
        if mw.chain.is_some() || mw.encoded_characters.is_some() || pending.contains(name) {
            // A Traefik chain runs no plugin of its own: routers get its members instead. An
            // `encodedCharacters` middleware is a setting of the routers using it (below). A
            // pending one has no plugin file yet.
            continue;
        }
        let plugin = mw.registry_name();
        let key = [
            &["http", "middlewares", name.as_str()][..],
            &[mw.type_key.as_str()],
        ]
        .concat();
        // A Traefik Wasm plugin (http-wasm guest) rather than a component.
        match registry.http_wasm_module(&plugin) {
            Ok(Some(module)) => {
                match super::build_http_wasm::configure(
                    config,
                    registry,
                    name,
                    mw,
                    module,
                    budget_from_config(&mw.runtime),
                    &key,
                ) {
                    Ok(m) => {
                        middlewares.insert(name.as_str(), Arc::new(m));
                    }
                    Err(e) => errors.push(e),
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                errors.push(config.error_at(&key, format!("plugin {:?}: {e}", mw.plugin)));
                continue;
            }
        }
        let compiled = match registry.compiled(&plugin) {
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
        if !compiled.world().is_http() {
            errors.push(config.error_at(
                &key,
                format!(
                    "middleware {name:?}: plugin {:?} is a connection middleware ({}); use it \
                     under tcp.middlewares",
                    mw.plugin,
                    compiled.world().name()
                ),
            ));
            continue;
        }
        let mut budget = budget_from_config(&mw.runtime);
        if compiled.imports_counters() {
            if !mw.runtime.counters {
                errors.push(config.error_at(
                    &key,
                    format!(
                        "middleware {name:?}: plugin {:?} imports the counters capability, which \
                         its config does not grant (add capabilities: [counters] to its plugin: entry)",
                        mw.plugin
                    ),
                ));
                continue;
            }
            budget.counters = Some(crate::plugins::counters::scope_for(name));
            budget.take_max_wait_ns =
                u64::try_from(mw.runtime.counters_max_wait.as_nanos()).unwrap_or(u64::MAX);
            if let Some(redis) = &mw.runtime.counters_redis {
                // Traefik's bucket names: `rate:<name>@<provider>:<source>`.
                let traefik_name = if name.contains('@') {
                    name.clone()
                } else {
                    format!("{name}@file")
                };
                let Some(tls) =
                    redis_tls(config, &[&key[..], &["redis"]].concat(), redis, &mut errors)
                else {
                    continue;
                };
                match crate::plugins::redis_counters::RedisCounters::new(&traefik_name, redis, tls)
                {
                    Ok(redis) => budget.redis_counters = Some(redis),
                    Err(e) => {
                        errors.push(config.error_at(&[&key[..], &["redis"]].concat(), e));
                        continue;
                    }
                }
            }
        }
        if compiled.imports_outbound_http() {
            let Some(outbound) = &mw.runtime.outbound else {
                errors.push(config.error_at(
                    &key,
                    format!(
                        "middleware {name:?}: plugin {:?} imports the outbound-http capability, \
                         which its config does not grant (add capabilities: [outbound-http] and \
                         outboundHttp: {{allow: [...]}} to its plugin: entry)",
                        mw.plugin
                    ),
                ));
                continue;
            };
            match super::outbound_grant::build(config, &key, outbound, &services) {
                Ok(grant) => budget.outbound = Some(grant),
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            }
        }
        // A grant makes the host hold the bodies whether or not the plugin reads them
        // (Traefik's `buffering` only asks for that); importing `body` needs the grant.
        if let Some(body) = &mw.runtime.body {
            budget.body = Some(body_grant(body));
        }
        if compiled.imports_body() && mw.runtime.body.is_none() {
            {
                errors.push(config.error_at(
                    &key,
                    format!(
                        "middleware {name:?}: plugin {:?} imports the body capability, which its \
                         config does not grant (add capabilities: [body] and \
                         body: {{request: {{maxBytes: ...}}, response: {{...}}}} to its plugin: entry)",
                        mw.plugin
                    ),
                ));
                continue;
            }
        }
        if compiled.imports_compression() {
            if !mw.runtime.compression {
                errors.push(config.error_at(
                    &key,
                    format!(
                        "middleware {name:?}: plugin {:?} imports the compression capability, \
                         which its config does not grant (add capabilities: [compression] to its \
                         plugin: entry)",
                        mw.plugin
                    ),
                ));
                continue;
            }
            budget.compression = true;
        }
        budget.grpc_web = compiled.imports_grpc_web();
        if compiled.imports_kv() {
            if !mw.runtime.kv {
                errors.push(config.error_at(
                    &key,
                    format!(
                        "middleware {name:?}: plugin {:?} imports the kv capability, which its \
                         config does not grant (add capabilities: [kv] to its plugin: entry)",
                        mw.plugin
                    ),
                ));
                continue;
            }
            budget.kv = Some(crate::plugins::kv::kv_scope_for(name));
            if let Some(redis) = &mw.runtime.kv_redis {
                // Keys `kv:<middleware>:<key>` (`redis_kv`).
                let at = [&key[..], &["kv", "redis"]].concat();
                let Some(tls) = redis_tls(config, &at, redis, &mut errors) else {
                    continue;
                };
                if budget.counters.is_some() && budget.redis_counters.is_none() {
                    // Its hooks are replayed ("record and re-answer"), and an in-process
                    // `take` cannot be undone: each replay would take again.
                    errors.push(config.error_at(
                        &at,
                        format!(
                            "middleware {name:?}: plugin {:?} imports counters, kept in process, \
                             which cannot be used with kv in Redis (a hook may be called again \
                             once Redis answered, and its takes would be taken twice)",
                            mw.plugin
                        ),
                    ));
                    continue;
                }
                match crate::plugins::redis_kv::RedisKv::new(name, redis, tls) {
                    Ok(redis) => budget.redis_kv = Some(redis),
                    Err(e) => {
                        errors.push(config.error_at(&at, e));
                        continue;
                    }
                }
            }
        }
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
            Err(ConfigureError::Rejected { plugin, reason }) => {
                errors.push(super::config_rejection::rejection_at(
                    config,
                    &key,
                    &plugin,
                    &mw.config_json,
                    &reason,
                ));
            }
            Err(
                e @ (ConfigureError::Failed { .. } | ConfigureError::InvalidDeclaration { .. }),
            ) => {
                errors.push(config.error_at(&key, e.to_string()));
            }
        }
    }

    // The middlewares whose edits the chain applies natively (`fixed-edits`), for `/api/plugins`.
    let fixed_edits: std::collections::BTreeSet<&str> = middlewares
        .iter()
        .filter(|(_, m)| m.fixed_edits().is_some())
        .map(|(name, _)| *name)
        .collect();
    // The middlewares whose take the chain makes natively (`pre-take`), for `/api/plugins`.
    let pre_takes: std::collections::BTreeSet<&str> = middlewares
        .iter()
        .filter(|(_, m)| m.pre_take().is_some())
        .map(|(name, _)| *name)
        .collect();
    // The middlewares whose verdicts the chain remembers (`verdict-memo`), for `/api/plugins`.
    let verdict_memos: std::collections::BTreeSet<&str> = middlewares
        .iter()
        .filter(|(_, m)| m.verdict_memo().is_some())
        .map(|(name, _)| *name)
        .collect();

    // Routers, grouped by entrypoint.
    let mut per_entrypoint: HashMap<String, Vec<Route<RouteTarget>>> = config
        .static_config
        .entry_points
        .keys()
        .map(|ep| (ep.clone(), Vec::new()))
        .collect();
    // Routers with `tls` are matched on TLS connections only (Traefik's rule).
    let mut per_entrypoint_tls: HashMap<String, Vec<Route<RouteTarget>>> = per_entrypoint
        .keys()
        .map(|ep| (ep.clone(), Vec::new()))
        .collect();
    let mut tls_routers: Vec<TlsRouter<'_>> = Vec::new();
    // (resolver, names) of the routers with a `tls.certResolver`.
    let mut acme_wanted: Vec<(String, Vec<String>)> = Vec::new();
    for (name, router) in &http.routers {
        let rule = match Rule::parse(&router.rule) {
            Ok(rule) => rule,
            Err(e) => {
                errors.push(config.error_at(
                    &["http", "routers", name, "rule"],
                    format!(
                        "invalid rule: {e}{}",
                        crate::config::v2_hint(&router.rule).unwrap_or_default()
                    ),
                ));
                continue;
            }
        };
        let backend = match services.get(router.service.as_str()) {
            Some(service) => Backend::Service(service.clone()),
            None => match InternalService::from_reference(&router.service) {
                // The config module checked that its static section is there.
                Some(internal) => Backend::Internal(internal),
                // The config module already reported the missing service.
                None => continue,
            },
        };
        let expanded = http.expand_middlewares(&router.middlewares);
        let (backend, expanded) = if expanded.iter().any(|m| pending.contains(m)) {
            (Backend::PluginsPending, Vec::new())
        } else {
            (backend, expanded)
        };
        // Several `encodedCharacters` middlewares on one router: each must allow an escape.
        let encoded_characters = expanded
            .iter()
            .filter_map(|m| http.middlewares.get(m)?.encoded_characters.as_ref())
            .map(Encoded::from)
            .reduce(Encoded::intersection);
        let chain: Option<Vec<Arc<PluginMiddleware>>> = expanded
            .iter()
            .filter(|m| {
                http.middlewares
                    .get(m.as_str())
                    .is_none_or(|c| c.encoded_characters.is_none())
            })
            .map(|m| middlewares.get(m.as_str()).cloned())
            .collect();
        let Some(chain) = chain else {
            // A middleware that failed to build (reported above) or does not exist (reported by
            // the config module).
            continue;
        };
        let mut native = super::build_native::native_middlewares(&expanded, http);
        let chain = super::build_native::take_retry_policy(chain, &mut native);
        let mut chain = Chain::new(chain);
        if let Some(fixed) = chain.fixed_only() {
            // Only fixed edits: the plain path applies them (`plugins::chain_fixed`).
            native.fixed_edits = Some(fixed);
            chain = Chain::default();
        } else if let Some(native_steps) = chain.native_only() {
            // Fixed edits, declared takes and verdict memos: the plain path runs them, and
            // resumes the chain where one needs its guest (`plugins::chain_fixed`).
            native.fixed_edits = Some(native_steps);
        }
        let in_flight = router
            .max_in_flight
            .map(|n| Arc::new(tokio::sync::Semaphore::new(n)));
        let priority = router.priority.unwrap_or_else(|| rule.default_priority());
        let eps: Vec<String> = if router.entry_points.is_empty() {
            per_entrypoint.keys().cloned().collect()
        } else {
            router.entry_points.clone()
        };
        for ep in eps {
            let Some((ep_name, ep_config)) = config.static_config.entry_points.get_key_value(&ep)
            else {
                continue;
            };
            // The router's own `tls`, else its entrypoint's `http.tls`.
            let router_tls = router.tls.as_ref().or(ep_config.tls.as_ref());
            let table = match router_tls {
                Some(router_tls) => {
                    if let Some(resolver) = &router_tls.cert_resolver {
                        let domains = &router_tls.certificate_domains;
                        acme_wanted.extend(super::acme_names::acme_names(
                            domains,
                            &rule.hosts(),
                            resolver,
                        ));
                    }
                    tls_routers.push(TlsRouter {
                        entrypoint: ep_name,
                        router: name,
                        hosts: rule.hosts(),
                        options: router_tls.options_name(),
                    });
                    &mut per_entrypoint_tls
                }
                None => &mut per_entrypoint,
            };
            let Some(routes) = table.get_mut(&ep) else {
                continue;
            };
            routes.push(Route {
                name: name.clone(),
                rule: rule.clone(),
                priority,
                target: RouteTarget {
                    router: Arc::from(name.as_str()),
                    chain: chain.clone(),
                    backend: backend.clone(),
                    in_flight: in_flight.clone(),
                    encoded_characters,
                    observe: Arc::new(crate::admin::RouteHandles::resolve(
                        name,
                        &router.service,
                        config.static_config.signals_for_service(
                            router.observability.unwrap_or(ep_config.observability),
                            &router.service,
                        ),
                    )),
                    native: native.clone(),
                },
            });
        }
    }

    // TCP routers: rules parsed; those terminating TLS give their entrypoints a TLS side.
    let tcp_routers = super::build_tcp::parse_tcp_routers(
        config,
        &mut tls_routers,
        &mut acme_wanted,
        &mut errors,
    );

    // Certificates (every file read and checked) and TLS options, for the TLS entrypoints.
    let tls = TlsSetup::build(config, &tls_routers).unwrap_or_else(|tls_errors| {
        errors.extend(tls_errors);
        TlsSetup::default()
    });
    let https_entrypoints: std::collections::HashSet<&str> = per_entrypoint_tls
        .iter()
        .filter(|(_, routes)| !routes.is_empty())
        .map(|(ep, _)| ep.as_str())
        .collect();
    let tcp = if errors.is_empty() {
        super::build_tcp::build_tcp_entrypoints(
            config,
            tcp_routers,
            &tls,
            &https_entrypoints,
            registry,
            &budget_from_config(&config.static_config.plugins.defaults),
            &mut errors,
        )
    } else {
        HashMap::new()
    };

    if !errors.is_empty() {
        return Err(errors);
    }
    let tables = |routes: HashMap<String, Vec<Route<RouteTarget>>>| {
        routes
            .into_iter()
            .map(|(ep, routes)| (ep, RouteTable::new(routes)))
            .collect()
    };
    // The default store's `defaultGeneratedCert` is kept like a router's certificate.
    if let Some(generated) = &config.dynamic.tls.default_generated {
        acme_wanted.push((generated.resolver.clone(), generated.names.clone()));
    }
    // The snapshot is good: its routers' ACME certificates are kept from now on.
    for (resolver, names) in acme_wanted {
        crate::tls::acme::maintain(&resolver, names);
    }
    let status = Arc::new(super::server_status::LoadBalancerStatus::new(&services));
    crate::admin::publish_servers(status.clone());
    crate::admin::publish_certificates(tls.certificates().to_vec());
    crate::admin::publish_rejected_files(
        registry
            .rejected()
            .iter()
            .map(|r| crate::admin::published::RejectedFile {
                plugin: r.name.clone(),
                hash: r.hash.clone(),
            })
            .collect(),
    );
    Ok(Snapshot {
        entrypoints: tables(per_entrypoint),
        tls_entrypoints: tables(per_entrypoint_tls),
        tls: tls.into_entrypoints(),
        tcp,
        udp: super::build_udp::build_udp_entrypoints(config),
        internals: Some(Arc::new(Internals::build(
            config,
            status,
            super::plugin_view::plugin_documents(
                config,
                registry,
                &fixed_edits,
                &pre_takes,
                &verdict_memos,
            ),
        ))),
    })
}

/// The TLS of a middleware's Redis (`at`: its `redis` key), its files read: `Some(None)` for a
/// plain connection; `None` after pushing the error to `errors`.
fn redis_tls(
    config: &crate::config::LoadedConfig,
    at: &[&str],
    redis: &crate::config::CountersRedisConfig,
    errors: &mut Vec<crate::config::ConfigError>,
) -> Option<Option<crate::plugins::redis_counters::RedisTls>> {
    match redis.tls.as_ref().map(crate::providers::redis_tls) {
        None => Some(None),
        Some(Ok(tls)) => Some(Some(tls)),
        Some(Err(e)) => {
            let at = [at, &["tls"]].concat();
            errors.push(config.error_at(&at, e.to_string()));
            None
        }
    }
}
