//! Gathers `http:` from the main file and every provider file, merges it (a name defined in two
//! files is an error naming both), and resolves each router, service, middleware and servers
//! transport on its own so that every bad entity is reported.

use super::definitions::{Definition, Definitions, local_name};
use super::model_dynamic::{DynamicConfig, HttpConfig, RouterConfig, ServersTransportConfig};
use super::plugin_runtime::RuntimeBase;
use super::raw::RawRouter;
use super::resolve_acme::{check_resolver_name, check_resolver_reference};
use super::resolve_middleware::resolve_middleware;
use super::resolve_service::{resolve_service, resolve_transport};
use super::resolve_static::{STATIC_KEYS, StaticParts, entries_of};
use super::resolve_tcp::resolve_tcp;
use super::resolve_tls::resolve_tls;
use super::router_tls::{check_options_reference, resolve_router_tls};
use super::validate::check_references;
use crate::yaml::report::Reporter;
use crate::yaml::tree::{Entry, Seg};

fn key(name: &str) -> Seg {
    Seg::Key(name.to_string())
}

/// Collects `http:` from every file read (file 0 is the main file; its static keys were
/// checked by the static resolver, provider files may hold only `http`).
pub(crate) fn collect<'n>(reporter: &mut Reporter<'n>) -> Collected<'n> {
    let sources = reporter.sources;
    let mut definitions = Definitions::default();
    let mut tcp = Definitions::default();
    let mut udp = Definitions::default();
    for (file, source) in sources.files().iter().enumerate() {
        let Some(root) = source.root.as_ref() else {
            continue;
        };
        let entries: &'n [Entry] = if file == 0 {
            match &root.value {
                crate::yaml::tree::Value::Map(entries) => entries,
                _ => continue,
            }
        } else {
            match entries_of(reporter, file, root, &[], root.line) {
                Some(entries) => entries,
                None => continue,
            }
        };
        for entry in entries {
            // Section names match in any case (Traefik's reading); `tls` is found by `resolve_tls`.
            let folded =
                crate::yaml::case_fold::field_for(&entry.key, &["http", "tcp", "udp", "tls"]);
            let (all, udp_only) = (SECTIONS, &SECTIONS[..2]);
            match folded.unwrap_or(entry.key.as_str()) {
                "http" => collect_sections(reporter, file, ("http", "", all), entry, &mut definitions),
                "tcp" => collect_sections(reporter, file, ("tcp", "TCP ", all), entry, &mut tcp),
                "udp" => collect_sections(reporter, file, ("udp", "UDP ", udp_only), entry, &mut udp),
                // Read by `resolve_tls`, from every file.
                "tls" => {}
                _ if file == 0 => {}
                static_key if STATIC_KEYS.contains(&static_key) => reporter.exact(
                    file,
                    &[key(static_key)],
                    Some(entry.line),
                    format!("\"{static_key}\" is static configuration; it is only read from the main file"),
                ),
                other => reporter.exact(
                    file,
                    &[key(other)],
                    Some(entry.line),
                    format!("unknown key \"{other}\" (allowed in a provider file: http, tcp, udp, tls)"),
                ),
            }
        }
    }
    Collected {
        http: definitions,
        tcp,
        udp,
    }
}

/// The entities of `http:`, `tcp:` and `udp:` from every file, before resolution.
pub(crate) struct Collected<'n> {
    pub(crate) http: Definitions<'n>,
    pub(crate) tcp: Definitions<'n>,
    pub(crate) udp: Definitions<'n>,
}

/// The sections of `http:` and of `tcp:` (`udp:` has the first two).
const SECTIONS: &[&str] = &["routers", "services", "middlewares", "serversTransports"];

/// Adds the entities of one file's `http:`, `tcp:` or `udp:` entry to `definitions`; an
/// entity defined twice is reported at its second definition, naming the first. `section` is
/// the root key, the prefix qualifying entity kinds in errors (`""`, `"TCP "`, `"UDP "`) and
/// the sections allowed under it. Config load only.
fn collect_sections<'n>(
    reporter: &mut Reporter<'n>,
    file: usize,
    (root, kind_prefix, allowed): (&str, &str, &'static [&'static str]),
    entry: &'n Entry,
    definitions: &mut Definitions<'n>,
) {
    let Some(sections) = entries_of(reporter, file, &entry.value, &[key(root)], entry.line) else {
        return;
    };
    for section in sections {
        let folded = crate::yaml::case_fold::field_for(&section.key, allowed);
        let (kind, target) = match folded {
            Some("routers") => ("router", &mut definitions.routers),
            Some("services") => ("service", &mut definitions.services),
            Some("middlewares") => ("middleware", &mut definitions.middlewares),
            Some("serversTransports") => ("servers transport", &mut definitions.transports),
            _ => {
                let other = section.key.as_str();
                let reason = format!("unknown key \"{other}\" (allowed: {})", allowed.join(", "));
                reporter.exact(file, &[key(root), key(other)], Some(section.line), reason);
                continue;
            }
        };
        let path = [key(root), key(&section.key)];
        let Some(entities) = entries_of(reporter, file, &section.value, &path, section.line) else {
            continue;
        };
        for entity in entities {
            if let Some(first) = target.get(&entity.key) {
                let reason = format!(
                    "{kind_prefix}{kind} \"{}\" is already defined in {}:{}",
                    entity.key,
                    reporter.sources.path(first.file).display(),
                    first.line
                );
                let at = [key(root), key(&section.key), key(&entity.key)];
                reporter.exact(file, &at, Some(entity.line), reason);
                continue;
            }
            let definition = Definition {
                file,
                line: entity.line,
                node: &entity.value,
            };
            target.insert(entity.key.clone(), definition);
        }
    }
}

/// Resolves the merged `http:` sections and, when every file could be read (`complete`),
/// checks every reference between them.
pub(crate) fn resolve_dynamic(
    reporter: &mut Reporter<'_>,
    statics: &StaticParts,
    complete: bool,
) -> DynamicConfig {
    let Collected {
        http: definitions,
        tcp: tcp_definitions,
        udp: udp_definitions,
    } = collect(reporter);
    let tls = resolve_tls(reporter);
    if let Some(generated) = &tls.default_generated {
        let path = [
            "tls",
            "stores",
            "default",
            "defaultGeneratedCert",
            "resolver",
        ];
        let name = generated.resolver.as_str();
        check_resolver_name(
            reporter,
            generated.file,
            &path,
            name,
            &statics.resolver_names,
        );
    }
    let tcp = resolve_tcp(
        reporter,
        &tcp_definitions,
        &tls,
        (&statics.entry_point_names, &statics.udp_entry_point_names),
        &statics.resolver_names,
        complete,
        statics.default_rule_syntax,
    );
    let udp = super::resolve_udp::resolve_udp(reporter, &udp_definitions, statics, complete);
    let mut http = HttpConfig::default();
    for (name, def) in &definitions.routers {
        let path = ["http", "routers", name.as_str()];
        if let Some(mut raw) = reporter.parse::<RawRouter>(def.file, def.node, &path, def.line) {
            let router_tls = raw.tls.take().map(|raw_tls| {
                let at = ["http", "routers", name.as_str(), "tls"];
                let router_tls = resolve_router_tls(raw_tls);
                check_options_reference(reporter, def.file, &at, &router_tls, &tls);
                check_resolver_reference(
                    reporter,
                    def.file,
                    &at,
                    &router_tls,
                    &statics.resolver_names,
                );
                router_tls
            });
            raw.rule = super::rule_syntax::rule_in_v3(
                reporter,
                def.file,
                &path,
                std::mem::take(&mut raw.rule),
                raw.rule_syntax.as_deref(),
                statics.default_rule_syntax,
            );
            let mut router = resolve_router(raw);
            router.tls = router_tls;
            http.routers.insert(name.clone(), router);
        }
    }
    for (name, ep) in &statics.config.entry_points {
        if let Some(ep_tls) = &ep.tls {
            let at = ["entryPoints", name.as_str(), "http", "tls"];
            check_options_reference(reporter, 0, &at, ep_tls, &tls);
            check_resolver_reference(reporter, 0, &at, ep_tls, &statics.resolver_names);
        }
    }
    for (name, def) in &definitions.services {
        if let Some(service) = resolve_service(reporter, def.file, name, def.node, def.line) {
            http.services.insert(name.clone(), service);
        }
    }
    for (name, def) in &definitions.transports {
        let path = ["http", "serversTransports", name.as_str()];
        if let Some(transport) = resolve_transport(reporter, def.file, &path, def.node, def.line) {
            http.servers_transports.insert(name.clone(), transport);
        }
    }
    let base = RuntimeBase {
        defaults: &statics.config.plugins.defaults,
        epoch_tick: statics.config.plugins.epoch_tick,
    };
    for (name, def) in &definitions.middlewares {
        if let Some(middleware) =
            resolve_middleware(reporter, def.file, name, def.node, def.line, &base)
        {
            http.middlewares.insert(name.clone(), middleware);
        }
    }
    if complete {
        check_references(
            reporter,
            &http,
            &definitions,
            &statics.entry_point_names,
            &statics.config,
        );
        super::entry_point_http::check_entry_point_middlewares(
            reporter,
            &statics.config,
            &|name| definitions.middlewares.contains_key(name),
        );
    }
    if let Some(transport) = static_servers_transport(reporter) {
        let name = super::model_dynamic::DEFAULT_TRANSPORT.to_string();
        http.servers_transports.insert(name, transport);
    }
    let mut tcp = tcp;
    super::entry_point_http::fill_default_entry_points(&mut http, &mut tcp, &statics.config);
    super::resolve_internal::add_internal_routers(&mut http, &statics.config);
    super::entry_point_http::apply_entry_point_http(&mut http, &statics.config);
    DynamicConfig {
        http,
        tls,
        tcp,
        udp,
    }
}

/// The main file's static `serversTransport` (Traefik's default for every load balancer that
/// names none), read with the keys of `http.serversTransports`.
fn static_servers_transport(reporter: &mut Reporter<'_>) -> Option<ServersTransportConfig> {
    let root = reporter.sources.root(0)?;
    let crate::yaml::tree::Value::Map(entries) = &root.value else {
        return None;
    };
    let entry = entries.iter().find(|e| {
        crate::yaml::case_fold::field_for(&e.key, &["serversTransport"]) == Some("serversTransport")
    })?;
    let path = [entry.key.as_str()];
    resolve_transport(reporter, 0, &path, &entry.value, entry.line)
}

fn resolve_router(raw: RawRouter) -> RouterConfig {
    RouterConfig {
        rule: raw.rule,
        service: local_name(&raw.service),
        entry_points: raw.entry_points,
        middlewares: raw.middlewares.iter().map(|m| local_name(m)).collect(),
        priority: raw.priority,
        max_in_flight: raw.max_in_flight.filter(|n| *n > 0),
        tls: None,
        observability: raw.observability.map(|o| o.resolve()),
    }
}
