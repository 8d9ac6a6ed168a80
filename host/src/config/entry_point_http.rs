//! An entrypoint's `http.redirections` and `http.middlewares` (Traefik's static keys), turned
//! into dynamic configuration the way Traefik's internal provider does it:
//!
//! - `http.redirections.entryPoint: {to, scheme, permanent, priority}` adds a router
//!   `<ep>-to-<to>@internal` on that entrypoint, rule ``HostRegexp(`^.+$`)``, priority
//!   `i32::MAX - 1` unless written, serving `noop@internal` behind a `redirectScheme`
//!   middleware `redirect-<ep>-to-<to>@internal` whose port is the `to` entrypoint's (or `to`
//!   itself when written `:443`);
//! - `http.middlewares: [...]` are put in front of the middlewares of every router on that
//!   entrypoint. A router on several entrypoints of which some have middlewares is split as in
//!   Traefik: each such entrypoint gets its own copy named `<ep>-<router>`, the others keep
//!   the router under its own name.
//!
//! Runs once per load, after the routers are resolved; nothing of it is left per request.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::definitions::local_name;
use super::model_dynamic::{HttpConfig, MiddlewareConfig, RouterConfig};
use super::model_static::{EntryPointConfig, EntryPointRedirect, StaticConfig};
use super::resolve_internal::TRAEFIK_ENTRY_POINT;
use crate::yaml::report::Reporter;

/// The priority Traefik gives the redirecting router unless one is written.
const REDIRECT_PRIORITY: i64 = i32::MAX as i64 - 1;

/// `entryPoints.<name>.http.redirections`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawRedirections {
    entry_point: Option<RawRedirectEntryPoint>,
}

/// `entryPoints.<name>.http.redirections.entryPoint`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRedirectEntryPoint {
    to: Option<String>,
    scheme: Option<String>,
    permanent: Option<bool>,
    priority: Option<i64>,
}

/// Reads one entrypoint's `http.redirections`; the port of a named `to` is filled in later by
/// [`resolve_redirect_ports`].
pub(crate) fn resolve_redirections(
    reporter: &mut Reporter<'_>,
    ep: &str,
    raw: RawRedirections,
) -> Option<EntryPointRedirect> {
    let at = ["entryPoints", ep, "http", "redirections", "entryPoint"];
    let Some(raw) = raw.entry_point else {
        reporter.at(
            0,
            &at[..4],
            "needs entryPoint: {to: <entry point or :port>}",
        );
        return None;
    };
    let Some(to) = raw.to.filter(|to| !to.is_empty()) else {
        reporter.at(
            0,
            &at,
            "needs \"to\": the entry point (or \":port\") to redirect to",
        );
        return None;
    };
    let scheme = raw.scheme.unwrap_or_else(|| "https".to_string());
    if !is_scheme(&scheme) {
        let mut path = at.to_vec();
        path.push("scheme");
        reporter.at(0, &path, format!("\"{scheme}\" is not a URI scheme"));
        return None;
    }
    let port = match to.strip_prefix(':') {
        Some(port) => match port.parse::<u16>() {
            Ok(port) if port > 0 => Some(port),
            _ => {
                let mut path = at.to_vec();
                path.push("to");
                reporter.at(0, &path, format!("\"{to}\" is not a port (write \":443\")"));
                return None;
            }
        },
        None => None,
    };
    Some(EntryPointRedirect {
        to,
        port,
        scheme,
        permanent: raw.permanent.unwrap_or(true),
        priority: raw.priority.unwrap_or(REDIRECT_PRIORITY),
    })
}

/// RFC 3986: a letter, then letters, digits, `+`, `-`, `.`.
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// Gives every redirect naming an entrypoint that entrypoint's port; a `to` naming none is
/// reported and the redirect dropped. Runs once every entrypoint is read.
pub(crate) fn resolve_redirect_ports(
    reporter: &mut Reporter<'_>,
    entry_points: &mut BTreeMap<String, EntryPointConfig>,
) {
    let ports: BTreeMap<String, u16> = entry_points
        .iter()
        .map(|(name, ep)| (name.clone(), ep.address.port()))
        .collect();
    for (name, ep) in entry_points.iter_mut() {
        let Some(redirect) = ep.redirect.as_mut().filter(|r| r.port.is_none()) else {
            continue;
        };
        match ports.get(&redirect.to) {
            Some(port) => redirect.port = Some(*port),
            None => {
                let at = [
                    "entryPoints",
                    name,
                    "http",
                    "redirections",
                    "entryPoint",
                    "to",
                ];
                let reason = format!(
                    "entry point \"{}\" is not declared under entryPoints (write an entry point \
                     name or \":port\")",
                    redirect.to
                );
                reporter.at(0, &at, reason);
                ep.redirect = None;
            }
        }
    }
}

/// Reports every `http.middlewares` entry of an entrypoint that names no middleware.
pub(crate) fn check_entry_point_middlewares(
    reporter: &mut Reporter<'_>,
    statics: &StaticConfig,
    defined: &dyn Fn(&str) -> bool,
) {
    for (name, ep) in &statics.entry_points {
        for (index, middleware) in ep.middlewares.iter().enumerate() {
            if !defined(&local_name(middleware)) {
                let index = index.to_string();
                let at = ["entryPoints", name.as_str(), "http", "middlewares", &index];
                let reason = super::provider_names::undefined_reason("middleware", middleware);
                reporter.at(0, &at, reason);
            }
        }
    }
}

/// Gives every router without `entryPoints` (HTTP and TCP) the default entry points: those with
/// `asDefault: true`, else all but Traefik's own `traefik`, as Traefik does; so "every entry point" is
/// decided here once, not by each reader of the config.
pub(crate) fn fill_default_entry_points(
    http: &mut HttpConfig,
    tcp: &mut super::model_tcp::TcpConfig,
    statics: &StaticConfig,
) {
    let marked: Vec<String> = statics
        .entry_points
        .iter()
        .filter(|(_, ep)| ep.as_default)
        .map(|(name, _)| name.clone())
        .collect();
    let defaults = if marked.is_empty() {
        statics
            .entry_points
            .keys()
            .filter(|name| name.as_str() != TRAEFIK_ENTRY_POINT)
            .cloned()
            .collect()
    } else {
        marked
    };
    let empty_http = http.routers.values_mut().map(|r| &mut r.entry_points);
    let empty_tcp = tcp.routers.values_mut().map(|r| &mut r.entry_points);
    for entry_points in empty_http.chain(empty_tcp) {
        if entry_points.is_empty() {
            entry_points.clone_from(&defaults);
        }
    }
}

/// Adds the redirecting routers and their middlewares, then puts each entrypoint's
/// `http.middlewares` in front of its routers' (see the module doc).
pub(crate) fn apply_entry_point_http(http: &mut HttpConfig, statics: &StaticConfig) {
    for (name, ep) in &statics.entry_points {
        let Some(redirect) = &ep.redirect else {
            continue;
        };
        let router_name = format!("{name}-to-{}", redirect.to.trim_start_matches(':'));
        let middleware_name = format!("redirect-{router_name}@internal");
        let mut options = serde_json::json!({
            "scheme": redirect.scheme,
            "permanent": redirect.permanent,
        });
        if let Some(port) = redirect.port {
            options["port"] = serde_json::Value::String(port.to_string());
        }
        http.middlewares.insert(
            middleware_name.clone(),
            MiddlewareConfig {
                plugin: "redirect-scheme".to_string(),
                sha256: None,
                config_json: options.to_string(),
                runtime: statics.plugins.defaults.clone(),
                type_key: "redirectScheme".to_string(),
                chain: None,
                encoded_characters: None,
                retry_expression: None,
            },
        );
        http.routers.insert(
            format!("{router_name}@internal"),
            RouterConfig {
                rule: "HostRegexp(`^.+$`)".to_string(),
                service: "noop@internal".to_string(),
                entry_points: vec![name.clone()],
                middlewares: vec![middleware_name],
                priority: Some(redirect.priority),
                max_in_flight: None,
                tls: None,
                observability: None,
            },
        );
    }
    if statics
        .entry_points
        .values()
        .all(|ep| ep.middlewares.is_empty())
    {
        return;
    }
    let all: Vec<String> = statics.entry_points.keys().cloned().collect();
    let routers = std::mem::take(&mut http.routers);
    for (name, router) in routers {
        let eps = if router.entry_points.is_empty() {
            all.clone()
        } else {
            router.entry_points.clone()
        };
        let split = eps.len() > 1;
        let mut plain = RouterConfig {
            entry_points: Vec::new(),
            ..router.clone()
        };
        for ep_name in &eps {
            let ep_middlewares = statics
                .entry_points
                .get(ep_name)
                .map_or(&[][..], |ep| ep.middlewares.as_slice());
            if ep_middlewares.is_empty() {
                plain.entry_points.push(ep_name.clone());
                continue;
            }
            let mut copy = router.clone();
            copy.entry_points = vec![ep_name.clone()];
            copy.middlewares = ep_middlewares
                .iter()
                .map(|m| local_name(m))
                .chain(router.middlewares.iter().cloned())
                .collect();
            let copy_name = if split {
                format!("{ep_name}-{name}")
            } else {
                name.clone()
            };
            http.routers.insert(copy_name, copy);
        }
        if !plain.entry_points.is_empty() {
            http.routers.insert(name, plain);
        }
    }
}
