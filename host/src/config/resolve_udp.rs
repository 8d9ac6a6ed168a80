//! `udp:` from the main file and every provider file: each router and service resolved on its
//! own, then references checked (router -> service and UDP entry points, weighted -> services,
//! no cycle). Runs once per load.

use super::definitions::{Definitions, local_name};
use super::model_udp::{UdpConfig, UdpRouterConfig, UdpServiceConfig};
use super::provider_names::undefined_reason;
use super::raw_udp::{RawUdpRouter, RawUdpService};
use super::resolve_static::StaticParts;
use super::resolve_tcp::{WeightedSite, check_weighted};
use super::resolve_tcp_entity::{check_address, resolve_weighted};
use crate::yaml::report::Reporter;

/// Resolves every gathered UDP router and service; with `complete` (every file read), checks
/// the references between them and to the UDP entry points.
pub(crate) fn resolve_udp(
    reporter: &mut Reporter<'_>,
    definitions: &Definitions<'_>,
    statics: &StaticParts,
    complete: bool,
) -> UdpConfig {
    let mut udp = UdpConfig::default();
    for (name, def) in &definitions.routers {
        let path = ["udp", "routers", name.as_str()];
        let Some(raw) = reporter.parse::<RawUdpRouter>(def.file, def.node, &path, def.line) else {
            continue;
        };
        let router = UdpRouterConfig {
            service: local_name(&raw.service),
            entry_points: raw.entry_points,
        };
        udp.routers.insert(name.clone(), router);
    }
    for (name, def) in &definitions.services {
        let path = ["udp", "services", name.as_str()];
        let Some(raw) = reporter.parse::<RawUdpService>(def.file, def.node, &path, def.line) else {
            continue;
        };
        if let Some(service) = resolve_service(reporter, def.file, name, raw) {
            udp.services.insert(name.clone(), service);
        }
    }
    if complete {
        check_references(reporter, &udp, definitions, statics);
    }
    udp
}

fn resolve_service(
    reporter: &mut Reporter<'_>,
    file: usize,
    name: &str,
    raw: RawUdpService,
) -> Option<UdpServiceConfig> {
    let base = ["udp", "services", name];
    match (raw.load_balancer, raw.weighted) {
        (Some(lb), None) => {
            let at = [base[0], base[1], base[2], "loadBalancer", "servers"];
            if lb.servers.is_empty() {
                reporter.at(file, &at, "at least one server is required");
                return None;
            }
            let mut ok = true;
            for (index, server) in lb.servers.iter().enumerate() {
                if let Err(reason) = check_address(&server.address) {
                    let index = index.to_string();
                    let at = [at[0], at[1], at[2], at[3], at[4], &index, "address"];
                    reporter.at(file, &at, reason);
                    ok = false;
                }
            }
            let servers = lb.servers.into_iter().map(|s| s.address).collect();
            ok.then_some(UdpServiceConfig::LoadBalancer(servers))
        }
        (None, Some(weighted)) => {
            resolve_weighted(reporter, file, base, weighted).map(UdpServiceConfig::Weighted)
        }
        _ => {
            let reason = "a UDP service needs exactly one of loadBalancer, weighted";
            reporter.at(file, &base, reason);
            None
        }
    }
}

fn check_references(
    reporter: &mut Reporter<'_>,
    udp: &UdpConfig,
    definitions: &Definitions<'_>,
    statics: &StaticParts,
) {
    for (name, router) in &udp.routers {
        let Some(def) = definitions.routers.get(name) else {
            continue;
        };
        if !definitions.services.contains_key(&router.service) {
            let reason = undefined_reason("UDP service", &router.service);
            reporter.at(def.file, &["udp", "routers", name, "service"], reason);
        }
        for (index, ep) in router.entry_points.iter().enumerate() {
            let reason = if statics.udp_entry_point_names.contains(ep) {
                continue;
            } else if statics.entry_point_names.contains(ep) {
                format!(
                    "entry point \"{ep}\" is a TCP entry point: a udp router needs one whose \
                     address ends in /udp"
                )
            } else {
                format!("entry point \"{ep}\" is not defined")
            };
            let index = index.to_string();
            reporter.at(
                def.file,
                &["udp", "routers", name, "entryPoints", &index],
                reason,
            );
        }
    }
    let children = |service: &str| match udp.services.get(service) {
        Some(UdpServiceConfig::Weighted(children)) => children.as_slice(),
        _ => &[],
    };
    for (name, service) in &udp.services {
        let (Some(def), UdpServiceConfig::Weighted(weighted)) =
            (definitions.services.get(name), service)
        else {
            continue;
        };
        let site = WeightedSite {
            file: def.file,
            section: "udp",
            kind: "UDP service",
            name,
        };
        check_weighted(reporter, &site, weighted, &definitions.services, children);
    }
}
