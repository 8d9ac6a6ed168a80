//! The TCP side of a snapshot: `tcp.routers` parsed and checked, `tcp.services` built, and per
//! entrypoint the plain and TLS route tables connections are routed with. Runs at start-up and
//! on every reload (and for `wasmgate check`), never per connection.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::config::{
    ConfigError, LoadedConfig, TcpLoadBalancerConfig, TcpRouterConfig, TcpServiceConfig,
};
use crate::plugins::{MiddlewareBudget, PluginMiddleware, PluginRegistry};
use crate::tcp::{
    TcpConnectSettings, TcpEntrypoint, TcpLoadBalancer, TcpRoute, TcpRoutes, TcpRule, TcpServer,
    TcpService, TcpTarget, TcpTls,
};
use crate::tls::{TlsRouter, TlsSetup, upstream_tls};

/// A TCP router whose rule parsed, with the entrypoints it is on.
pub(super) struct ParsedTcpRouter<'a> {
    name: &'a str,
    config: &'a TcpRouterConfig,
    rule: TcpRule,
    entry_points: Vec<&'a str>,
}

/// Parses every TCP router's rule (errors pushed) and adds, for each router that terminates
/// TLS, a TLS router without hosts to `tls_routers`: its entrypoint then gets a TLS side, and
/// TLS connections no router takes are answered by HTTPS (404), as in Traefik. A router with
/// `tls.certResolver` adds the certificates it wants to `acme_wanted` (resolver, names).
pub(super) fn parse_tcp_routers<'a>(
    config: &'a LoadedConfig,
    tls_routers: &mut Vec<TlsRouter<'a>>,
    acme_wanted: &mut Vec<(String, Vec<String>)>,
    errors: &mut Vec<ConfigError>,
) -> Vec<ParsedTcpRouter<'a>> {
    let mut parsed = Vec::new();
    for (name, router) in &config.dynamic.tcp.routers {
        let at = ["tcp", "routers", name.as_str(), "rule"];
        let rule = match TcpRule::parse(&router.rule) {
            Ok(rule) => rule,
            Err(e) => {
                errors.push(config.error_at(&at, format!("invalid rule: {e}")));
                continue;
            }
        };
        if router.tls.is_none()
            && let Some(matcher) = rule.tls_only_matcher()
        {
            errors.push(config.error_at(
                &at,
                format!(
                    "{matcher} needs tls on the router: a plain TCP connection has no server \
                     name or ALPN (use HostSNI(`*`), or add tls)"
                ),
            ));
            continue;
        }
        let entry_points: Vec<&str> = if router.entry_points.is_empty() {
            config
                .static_config
                .entry_points
                .keys()
                .map(String::as_str)
                .collect()
        } else {
            router.entry_points.iter().map(String::as_str).collect()
        };
        let passthrough = matches!(
            config.dynamic.tcp.services.get(router.service.as_str()),
            Some(TcpServiceConfig::Passthrough)
        );
        let transparent = |ep: &&str| {
            let ep = config.static_config.entry_points.get(*ep);
            ep.is_some_and(|ep| ep.transparent.is_some())
        };
        if passthrough && !entry_points.iter().any(transparent) {
            let at = ["tcp", "routers", name.as_str(), "service"];
            errors.push(config.error_at(
                &at,
                "a passthrough service forwards to the original destination, which only a \
                 transparent entrypoint has: none of the router's entrypoints is transparent",
            ));
            continue;
        }
        if let Some(tls) = &router.tls
            && let Some(resolver) = &tls.cert_resolver
        {
            let wanted = super::acme_names::acme_names(
                &tls.certificate_domains,
                &rule.host_names(),
                resolver,
            );
            acme_wanted.extend(wanted.into_iter().filter(|(_, names)| !names.is_empty()));
        }
        if let Some(tls) = router.tls.as_ref().filter(|t| !t.passthrough) {
            for ep in &entry_points {
                tls_routers.push(TlsRouter {
                    entrypoint: ep,
                    router: name,
                    hosts: Vec::new(),
                    options: tls.options_name(),
                });
            }
        }
        parsed.push(ParsedTcpRouter {
            name,
            config: router,
            rule,
            entry_points,
        });
    }
    parsed
}

/// How the load balancer `lb` (service `name`) connects: its keys over its servers transport's.
/// The TLS client config is built only when a server asks for TLS (files read then).
fn connect_settings(
    config: &LoadedConfig,
    name: &str,
    lb: &TcpLoadBalancerConfig,
    errors: &mut Vec<ConfigError>,
) -> Option<TcpConnectSettings> {
    let tcp = &config.dynamic.tcp;
    let transport_name = lb.servers_transport.as_deref();
    let transport = transport_name
        .and_then(|t| tcp.servers_transports.get(t))
        .cloned()
        .unwrap_or_default();
    let tls = if lb.servers.iter().any(|s| s.tls) {
        let at: Vec<&str> = match transport_name {
            Some(t) if transport.tls.is_some() => vec!["tcp", "serversTransports", t, "tls"],
            _ => vec!["tcp", "services", name, "loadBalancer", "servers"],
        };
        let tls_config = transport.tls.clone().unwrap_or_default();
        match upstream_tls(&tls_config, |reason| config.error_at(&at, reason)) {
            Ok(tls) => Some(tls),
            Err(e) => {
                errors.push(e);
                return None;
            }
        }
    } else {
        None
    };
    Some(TcpConnectSettings {
        proxy_protocol: lb.proxy_protocol,
        termination_delay: lb
            .termination_delay
            .unwrap_or(Some(transport.termination_delay)),
        dial_timeout: transport.dial_timeout,
        keep_alive: transport.dial_keep_alive,
        tls,
    })
}

/// Every TCP service: load balancers first, then the weighted services over them.
fn build_services<'a>(
    config: &'a LoadedConfig,
    errors: &mut Vec<ConfigError>,
) -> HashMap<&'a str, Arc<TcpService>> {
    fn weighted<'a>(
        name: &'a str,
        services: &'a BTreeMap<String, TcpServiceConfig>,
        built: &mut HashMap<&'a str, Arc<TcpService>>,
        depth: usize,
    ) -> Option<Arc<TcpService>> {
        if let Some(done) = built.get(name) {
            return Some(done.clone());
        }
        // Cycles are refused by the config module; the bound only keeps this finite anyway.
        let TcpServiceConfig::Weighted(children) = services.get(name)? else {
            return None;
        };
        if depth > 64 {
            return None;
        }
        let mut built_children = Vec::new();
        for child in children {
            let (key, _) = services.get_key_value(&child.name)?;
            built_children.push((weighted(key, services, built, depth + 1)?, child.weight));
        }
        let service = Arc::new(TcpService::weighted(built_children));
        built.insert(name, service.clone());
        Some(service)
    }
    let services = &config.dynamic.tcp.services;
    let mut built = HashMap::new();
    for (name, service) in services {
        let lb = match service {
            TcpServiceConfig::LoadBalancer(lb) => lb,
            TcpServiceConfig::Passthrough => {
                let transport = crate::config::TcpServersTransportConfig::default();
                let settings = TcpConnectSettings {
                    proxy_protocol: None,
                    termination_delay: Some(transport.termination_delay),
                    dial_timeout: transport.dial_timeout,
                    keep_alive: transport.dial_keep_alive,
                    tls: None,
                };
                let passthrough = TcpService::Passthrough {
                    name: Arc::from(name.as_str()),
                    settings,
                };
                built.insert(name.as_str(), Arc::new(passthrough));
                continue;
            }
            TcpServiceConfig::Weighted(_) => continue,
        };
        let Some(settings) = connect_settings(config, name, lb, errors) else {
            continue;
        };
        let servers = lb
            .servers
            .iter()
            .map(|s| TcpServer {
                address: s.address.as_str().into(),
                weight: s.weight,
                tls: s.tls,
            })
            .collect();
        let service = TcpService::LoadBalancer(TcpLoadBalancer::new(name, servers, settings));
        built.insert(name.as_str(), Arc::new(service));
    }
    for name in services.keys() {
        weighted(name, services, &mut built, 0);
    }
    built
}

/// The TCP side of each entrypoint that has TCP routers. `https_entrypoints`: the entrypoints
/// with HTTP routers that use TLS.
pub(super) fn build_tcp_entrypoints(
    config: &LoadedConfig,
    routers: Vec<ParsedTcpRouter<'_>>,
    tls: &TlsSetup,
    https_entrypoints: &HashSet<&str>,
    registry: &PluginRegistry,
    defaults: &MiddlewareBudget,
    errors: &mut Vec<ConfigError>,
) -> HashMap<String, Arc<TcpEntrypoint>> {
    let services = build_services(config, errors);
    let middlewares =
        super::build_tcp_middlewares::build_tcp_middlewares(config, registry, defaults, errors);
    let mut plain: BTreeMap<&str, Vec<TcpRoute<TcpTarget>>> = BTreeMap::new();
    let mut with_tls: BTreeMap<&str, Vec<TcpRoute<TcpTarget>>> = BTreeMap::new();
    for router in routers {
        let Some(service) = services.get(router.config.service.as_str()).cloned() else {
            // Unknown service: reported by the config module.
            continue;
        };
        let tcp_tls = match &router.config.tls {
            None => TcpTls::None,
            Some(t) if t.passthrough => TcpTls::Passthrough,
            Some(t) => match tls.options(t.options_name()) {
                Some(server) => TcpTls::Terminate(server.clone()),
                None => {
                    // An unknown options name is reported by the config module; a broken one
                    // by the TLS setup. Anything else would be a gap between the two.
                    if config.dynamic.tls.options.contains_key(t.options_name()) {
                        let at = ["tcp", "routers", router.name, "tls"];
                        errors.push(config.error_at(&at, "its TLS options could not be built"));
                    }
                    continue;
                }
            },
        };
        let table = if matches!(tcp_tls, TcpTls::None) {
            &mut plain
        } else {
            &mut with_tls
        };
        let chain: Option<Box<[Arc<PluginMiddleware>]>> = router
            .config
            .middlewares
            .iter()
            .map(|m| middlewares.get(m.as_str()).cloned())
            .collect();
        let Some(chain) = chain else {
            // Unknown middleware: reported by the config module.
            continue;
        };
        let target = Arc::new(TcpTarget {
            router: Arc::from(router.name),
            middlewares: chain,
            service,
            tls: tcp_tls,
        });
        let priority = router
            .config
            .priority
            .unwrap_or_else(|| router.rule.default_priority());
        for ep in router.entry_points {
            table.entry(ep).or_default().push(TcpRoute {
                name: router.name.to_string(),
                rule: router.rule.clone(),
                priority,
                target: target.clone(),
            });
        }
    }
    let eps: HashSet<&str> = plain.keys().chain(with_tls.keys()).copied().collect();
    eps.into_iter()
        .map(|ep| {
            let side = TcpEntrypoint {
                plain: TcpRoutes::new(plain.remove(ep).unwrap_or_default()),
                tls: TcpRoutes::new(with_tls.remove(ep).unwrap_or_default()),
                https_routers: https_entrypoints.contains(ep),
            };
            (ep.to_string(), Arc::new(side))
        })
        .collect()
}
