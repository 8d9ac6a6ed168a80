//! `tcp:` from the main file and every provider file: gathered (a name defined in two files is
//! an error naming both), each router and service resolved on its own, then references checked
//! (router -> service and entry points, weighted -> services, no cycle). Runs once per load.

use std::collections::BTreeSet;

use super::definitions::{Definitions, local_name};
use super::model_tcp::{
    TcpConfig, TcpRouterConfig, TcpRouterTls, TcpServersTransportConfig, TcpServiceConfig,
    TcpWeightedService,
};
use super::model_tls::TlsConfig;
use super::provider_names::undefined_reason;
use super::raw_tcp::{RawTcpMiddleware, RawTcpRouter, RawTcpServersTransport, RawTcpService};
use super::raw_tls::RawRouterTls;
use super::resolve_acme::check_resolver_reference;
use super::resolve_tcp_entity::{resolve_middleware, resolve_service};
use super::resolve_tls::resolve_upstream_tls;
use super::router_tls::{check_options_reference, resolve_router_tls};
use crate::yaml::report::Reporter;

/// Resolves every gathered TCP router and service; with `complete` (every file read), checks
/// the references between them and to `entry_points`.
pub(crate) fn resolve_tcp(
    reporter: &mut Reporter<'_>,
    definitions: &Definitions<'_>,
    tls: &TlsConfig,
    (entry_points, udp_names): (&BTreeSet<String>, &BTreeSet<String>),
    resolver_names: &BTreeSet<String>,
    complete: bool,
    default_syntax: super::rule_syntax::RuleSyntax,
) -> TcpConfig {
    let mut tcp = TcpConfig::default();
    for (name, def) in &definitions.routers {
        let path = ["tcp", "routers", name.as_str()];
        let Some(raw) = reporter.parse::<RawTcpRouter>(def.file, def.node, &path, def.line) else {
            continue;
        };
        let router_tls = raw.tls.map(|raw_tls| {
            let at = ["tcp", "routers", name.as_str(), "tls"];
            let passthrough = raw_tls.passthrough.unwrap_or(false);
            let as_http = RawRouterTls {
                options: raw_tls.options,
                cert_resolver: raw_tls.cert_resolver,
                domains: raw_tls.domains,
            };
            let resolved = resolve_router_tls(as_http);
            if !passthrough {
                check_options_reference(reporter, def.file, &at, &resolved, tls);
            }
            check_resolver_reference(reporter, def.file, &at, &resolved, resolver_names);
            TcpRouterTls {
                passthrough,
                options: resolved.options,
                cert_resolver: resolved.cert_resolver,
                certificate_domains: resolved.certificate_domains,
            }
        });
        let rule = super::rule_syntax::rule_in_v3(
            reporter,
            def.file,
            &path,
            raw.rule,
            raw.rule_syntax.as_deref(),
            default_syntax,
        );
        let router = TcpRouterConfig {
            rule,
            service: local_name(&raw.service),
            entry_points: raw.entry_points,
            priority: raw.priority,
            tls: router_tls,
            middlewares: raw.middlewares.iter().map(|m| local_name(m)).collect(),
        };
        tcp.routers.insert(name.clone(), router);
    }
    for (name, def) in &definitions.services {
        let path = ["tcp", "services", name.as_str()];
        let Some(raw) = reporter.parse::<RawTcpService>(def.file, def.node, &path, def.line) else {
            continue;
        };
        if let Some(service) = resolve_service(reporter, def.file, name, raw) {
            tcp.services.insert(name.clone(), service);
        }
    }
    for (name, def) in &definitions.middlewares {
        let path = ["tcp", "middlewares", name.as_str()];
        let Some(raw) = reporter.parse::<RawTcpMiddleware>(def.file, def.node, &path, def.line)
        else {
            continue;
        };
        if let Some(middleware) = resolve_middleware(reporter, def.file, name, raw) {
            tcp.middlewares.insert(name.clone(), middleware);
        }
    }
    for (name, def) in &definitions.transports {
        let path = ["tcp", "serversTransports", name.as_str()];
        let Some(raw) =
            reporter.parse::<RawTcpServersTransport>(def.file, def.node, &path, def.line)
        else {
            continue;
        };
        let mut transport = TcpServersTransportConfig::default();
        if let Some(d) = raw.dial_timeout {
            transport.dial_timeout = d.0;
        }
        if let Some(d) = raw.termination_delay {
            transport.termination_delay = d.0;
        }
        if let Some(d) = raw.dial_keep_alive.filter(|d| !d.0.is_zero()) {
            transport.dial_keep_alive = d.0;
        }
        transport.tls = raw.tls.map(|t| {
            let at = ["tcp", "serversTransports", name.as_str(), "tls"];
            resolve_upstream_tls(
                reporter,
                def.file,
                &at,
                t.server_name,
                t.insecure_skip_verify,
                t.root_cas,
                t.certificates,
                t.peer_cert_uri,
            )
        });
        tcp.servers_transports.insert(name.clone(), transport);
    }
    if complete {
        check_references(reporter, &tcp, definitions, (entry_points, udp_names));
    }
    tcp
}

fn check_references(
    reporter: &mut Reporter<'_>,
    tcp: &TcpConfig,
    definitions: &Definitions<'_>,
    (entry_points, udp_names): (&BTreeSet<String>, &BTreeSet<String>),
) {
    for (name, router) in &tcp.routers {
        let Some(def) = definitions.routers.get(name) else {
            continue;
        };
        if !definitions.services.contains_key(&router.service) {
            let reason = undefined_reason("TCP service", &router.service);
            reporter.at(def.file, &["tcp", "routers", name, "service"], reason);
        }
        for (index, middleware) in router.middlewares.iter().enumerate() {
            if !definitions.middlewares.contains_key(middleware) {
                let index = index.to_string();
                let at = ["tcp", "routers", name, "middlewares", &index];
                reporter.at(
                    def.file,
                    &at,
                    undefined_reason("TCP middleware", middleware),
                );
            }
        }
        for (index, ep) in router.entry_points.iter().enumerate() {
            if !entry_points.contains(ep) {
                let index = index.to_string();
                let at = ["tcp", "routers", name, "entryPoints", &index];
                let reason =
                    super::entry_point_udp::undefined_entry_point(ep, udp_names.contains(ep));
                reporter.at(def.file, &at, reason);
            }
        }
    }
    for (name, service) in &tcp.services {
        if let (Some(def), TcpServiceConfig::LoadBalancer(lb)) =
            (definitions.services.get(name), service)
            && let Some(transport) = &lb.servers_transport
            && !definitions.transports.contains_key(transport)
        {
            let at = ["tcp", "services", name, "loadBalancer", "serversTransport"];
            let reason = undefined_reason("TCP servers transport", transport);
            reporter.at(def.file, &at, reason);
        }
        let (Some(def), TcpServiceConfig::Weighted(children)) =
            (definitions.services.get(name), service)
        else {
            continue;
        };
        let site = WeightedSite {
            file: def.file,
            section: "tcp",
            kind: "TCP service",
            name,
        };
        check_weighted(reporter, &site, children, &definitions.services, |n| {
            weighted_children(tcp, n)
        });
    }
}

/// The weighted children of TCP service `name` (none for other kinds).
fn weighted_children<'c>(tcp: &'c TcpConfig, name: &str) -> &'c [TcpWeightedService] {
    match tcp.services.get(name) {
        Some(TcpServiceConfig::Weighted(children)) => children.as_slice(),
        _ => &[],
    }
}

/// A weighted service being checked: where it is defined and how errors name it.
pub(crate) struct WeightedSite<'a> {
    pub(crate) file: usize,
    /// `tcp` or `udp`.
    pub(crate) section: &'a str,
    /// `TCP service` or `UDP service`.
    pub(crate) kind: &'a str,
    pub(crate) name: &'a str,
}

/// Reports each child of a TCP or UDP weighted service that is not defined or leads back to
/// it. Config time.
pub(crate) fn check_weighted<'c, V>(
    reporter: &mut Reporter<'_>,
    site: &WeightedSite<'_>,
    children: &'c [TcpWeightedService],
    defined: &std::collections::BTreeMap<String, V>,
    children_of: impl Fn(&str) -> &'c [TcpWeightedService],
) {
    for (index, child) in children.iter().enumerate() {
        let index = index.to_string();
        let at = [
            site.section,
            "services",
            site.name,
            "weighted",
            "services",
            &index,
            "name",
        ];
        if !defined.contains_key(&child.name) {
            reporter.at(site.file, &at, undefined_reason(site.kind, &child.name));
        } else if reaches_through(&child.name, site.name, &children_of) {
            let reason = format!(
                "service \"{}\" leads back to \"{}\" (a cycle)",
                child.name, site.name
            );
            reporter.at(site.file, &at, reason);
        }
    }
}

/// Whether service `from` reaches `target` through the weighted `children` of each service
/// (TCP or UDP). Config time, once per weighted child.
pub(crate) fn reaches_through<'c>(
    from: &'c str,
    target: &str,
    children: &impl Fn(&str) -> &'c [TcpWeightedService],
) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from];
    while let Some(current) = stack.pop() {
        if current == target {
            return true;
        }
        if !seen.insert(current) {
            continue;
        }
        stack.extend(children(current).iter().map(|c| c.name.as_str()));
    }
    false
}
