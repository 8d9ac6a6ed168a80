//! Resolves `http.services.<name>` (one of `loadBalancer`, `weighted`, `mirroring`, `failover`)
//! and `http.serversTransports.<name>`.
//!
//! Submodules: `raw` (serde shapes), `load_balancer` (servers, sticky, health, retry),
//! `composite` (services of services), `references` (names exist, no cycles).

mod composite;
mod load_balancer;
#[cfg(test)]
mod load_tests;
pub(crate) mod raw;
mod references;

use super::model_dynamic::{ServersTransportConfig, ServiceConfig};
use super::raw::RawServersTransport;
use super::report::Reporter;
use super::resolve_static::entries_of;
use super::tree::{Node, Seg};
use composite::{resolve_failover, resolve_mirroring, resolve_weighted};
use load_balancer::{At, resolve_load_balancer};
use raw::{RawFailover, RawLoadBalancer, RawMirroring, RawWeighted};
pub(crate) use references::check_service_references;

const SERVICE_KINDS: &[&str] = &["loadBalancer", "weighted", "mirroring", "failover"];
const SERVER_SCHEMES: &[&str] = &["http", "https", "h2c"];

/// Drops a Traefik provider suffix that means "this file" (`api-svc@file`), so file configs
/// written for Traefik keep working; other providers stay in the name and fail the reference.
pub(crate) fn local_name(name: &str) -> String {
    name.strip_suffix("@file").unwrap_or(name).to_string()
}

/// Resolves one service defined in `file` (name key on `line`); `None` after reporting.
pub(crate) fn resolve_service(
    reporter: &mut Reporter<'_>,
    file: usize,
    name: &str,
    node: &Node,
    line: usize,
) -> Option<ServiceConfig> {
    let path = ["http", "services", name];
    let segs: Vec<Seg> = path.iter().map(|k| Seg::Key((*k).to_string())).collect();
    let entries = entries_of(reporter, file, node, &segs, line)?;
    let entry = match entries {
        [entry] => entry,
        [] => {
            reporter.at(
                file,
                &path,
                "needs exactly one service type key, e.g. \"loadBalancer\"",
            );
            return None;
        }
        [_, ..] => {
            let keys: Vec<String> = entries.iter().map(|e| format!("\"{}\"", e.key)).collect();
            let reason = format!(
                "has {} service type keys ({}); exactly one is allowed",
                keys.len(),
                keys.join(", ")
            );
            reporter.at(file, &path, reason);
            return None;
        }
    };
    let kind = entry.key.as_str();
    if !SERVICE_KINDS.contains(&kind) {
        let reason = format!(
            "unknown service type \"{kind}\" (allowed: {})",
            SERVICE_KINDS.join(", ")
        );
        reporter.at(file, &path, reason);
        return None;
    }
    let kind_path = ["http", "services", name, kind];
    let at = At {
        file,
        base: &kind_path,
    };
    let (value, line) = (&entry.value, entry.line);
    match kind {
        "loadBalancer" => {
            let raw: RawLoadBalancer = reporter.parse(file, value, &kind_path, line)?;
            resolve_load_balancer(reporter, &at, name, raw).map(ServiceConfig::LoadBalancer)
        }
        "weighted" => {
            let raw: RawWeighted = reporter.parse(file, value, &kind_path, line)?;
            resolve_weighted(reporter, &at, name, raw).map(ServiceConfig::Weighted)
        }
        "mirroring" => {
            let raw: RawMirroring = reporter.parse(file, value, &kind_path, line)?;
            resolve_mirroring(reporter, &at, raw).map(ServiceConfig::Mirroring)
        }
        _ => {
            let raw: RawFailover = reporter.parse(file, value, &kind_path, line)?;
            Some(ServiceConfig::Failover(resolve_failover(raw)))
        }
    }
}

/// A server URL: scheme http, https or h2c, and a host.
pub(crate) fn parse_server_url(text: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = text
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
    match uri.scheme_str() {
        None => return Err("missing scheme (http, https or h2c)".to_string()),
        Some(scheme) if !SERVER_SCHEMES.contains(&scheme) => {
            return Err(format!(
                "unsupported scheme \"{scheme}\" (allowed: http, https, h2c)"
            ));
        }
        Some(_) => {}
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("missing host".to_string());
    }
    Ok(uri)
}

/// Resolves one servers transport; unset keys take [`ServersTransportConfig::default`].
pub(crate) fn resolve_transport(
    reporter: &mut Reporter<'_>,
    file: usize,
    name: &str,
    node: &Node,
    line: usize,
) -> Option<ServersTransportConfig> {
    let path = ["http", "serversTransports", name];
    let raw: RawServersTransport = reporter.parse(file, node, &path, line)?;
    let mut transport = ServersTransportConfig::default();
    if let Some(timeouts) = raw.forwarding_timeouts {
        if let Some(dial) = timeouts.dial_timeout {
            transport.dial_timeout = dial.0;
        }
        if let Some(response_header) = timeouts.response_header_timeout {
            transport.response_header_timeout = Some(response_header.0).filter(|d| !d.is_zero());
        }
        if let Some(idle) = timeouts.idle_conn_timeout {
            transport.idle_conn_timeout = idle.0;
        }
    }
    if let Some(max_idle) = raw.max_idle_conns_per_host {
        transport.max_idle_conns_per_host = max_idle;
    }
    transport.max_conns_per_host = raw.max_conns_per_host.filter(|n| *n > 0);
    Some(transport)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        assert!(parse_server_url("http://127.0.0.1:9001").is_ok());
        assert!(parse_server_url("https://backend.test").is_ok());
        assert!(parse_server_url("h2c://127.0.0.1:9000").is_ok());
        assert_eq!(
            parse_server_url("127.0.0.1:9001"),
            Err("missing scheme (http, https or h2c)".to_string())
        );
        assert_eq!(
            parse_server_url("ftp://x.test"),
            Err("unsupported scheme \"ftp\" (allowed: http, https, h2c)".to_string())
        );
        assert_eq!(
            parse_server_url("/just/a/path"),
            Err("missing scheme (http, https or h2c)".to_string())
        );
        assert!(parse_server_url("http://bad host").is_err());
    }

    #[test]
    fn file_provider_suffix_is_dropped() {
        assert_eq!(local_name("api-svc@file"), "api-svc");
        assert_eq!(local_name("api@internal"), "api@internal");
    }
}
