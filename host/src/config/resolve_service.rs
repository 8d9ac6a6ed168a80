//! Resolves `http.services.<name>` (one of `loadBalancer`, `weighted`, `mirroring`, `failover`)
//! and `http.serversTransports.<name>`.
//!
//! Submodules: `raw` (serde shapes), `balancer` (a `loadBalancer`: servers, sticky, health,
//! retry), `composite` (services of services), `server_url`,
//! `references` (names exist, no cycles).

mod balancer;
mod composite;
#[cfg(test)]
mod load_tests;
pub(crate) mod raw;
mod references;
mod server_url;

use super::model_dynamic::{ServersTransportConfig, ServiceConfig};
use super::raw::RawServersTransport;
use super::resolve_static::entries_of;
use crate::yaml::report::Reporter;
use crate::yaml::tree::{Node, Seg};
use balancer::{At, resolve_load_balancer};
use composite::{resolve_failover, resolve_mirroring, resolve_weighted};
use raw::{RawFailover, RawLoadBalancer, RawMirroring, RawWeighted};
pub(crate) use references::check_service_references;

const SERVICE_KINDS: &[&str] = &["loadBalancer", "weighted", "mirroring", "failover"];

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
    // Service types match in any case (`loadbalancer`), as Traefik reads them.
    let folded = crate::yaml::case_fold::field_for(&entry.key, SERVICE_KINDS);
    let kind = folded.unwrap_or(entry.key.as_str());
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

/// Resolves one servers transport; unset keys take [`ServersTransportConfig::default`].
pub(crate) fn resolve_transport(
    reporter: &mut Reporter<'_>,
    file: usize,
    path: &[&str],
    node: &Node,
    line: usize,
) -> Option<ServersTransportConfig> {
    let raw: RawServersTransport = reporter.parse(file, node, path, line)?;
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
        if let Some(read_idle) = timeouts.read_idle_timeout {
            transport.read_idle_timeout = Some(read_idle.0).filter(|d| !d.is_zero());
        }
        if let Some(ping) = timeouts.ping_timeout {
            transport.ping_timeout = ping.0;
        }
    }
    transport.disable_http2 = raw.disable_http2.unwrap_or(false);
    if let Some(max_idle) = raw.max_idle_conns_per_host {
        transport.max_idle_conns_per_host = max_idle;
    }
    transport.max_conns_per_host = raw.max_conns_per_host.filter(|n| *n > 0);
    transport.tls = super::resolve_tls::resolve_upstream_tls(
        reporter,
        file,
        path,
        raw.server_name,
        raw.insecure_skip_verify,
        raw.root_cas,
        raw.certificates,
        raw.peer_cert_uri,
    );
    Some(transport)
}
