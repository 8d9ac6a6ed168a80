//! The UDP side of a snapshot: for each UDP entrypoint, the service of the router that
//! applies to it, built from `udp.services`. Runs at start-up and on every reload (and for
//! `wasmgate check`), never per datagram.
//!
//! Traefik's rule when several UDP routers name one entrypoint: it warns, and uses the first
//! of them in descending name order (`pkg/server/router/udp`); so does this.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::config::{LoadedConfig, UdpServiceConfig};
use crate::udp::{UdpServer, UdpService};

/// The service each UDP entrypoint's sessions go to; an entrypoint no router names is absent
/// (its datagrams are dropped).
pub(super) fn build_udp_entrypoints(config: &LoadedConfig) -> HashMap<String, Arc<UdpService>> {
    let udp = &config.dynamic.udp;
    let mut per_entrypoint: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, router) in &udp.routers {
        let all = config.static_config.udp_entry_points.keys();
        let entry_points: Vec<&str> = if router.entry_points.is_empty() {
            all.map(String::as_str).collect()
        } else {
            router.entry_points.iter().map(String::as_str).collect()
        };
        for ep in entry_points {
            per_entrypoint.entry(ep).or_default().push(name.as_str());
        }
    }
    let mut built: HashMap<&str, Arc<UdpService>> = HashMap::new();
    let mut services = HashMap::new();
    for (ep, mut routers) in per_entrypoint {
        routers.sort_unstable_by(|a, b| b.cmp(a));
        let Some(chosen) = routers.first() else {
            continue;
        };
        if routers.len() > 1 {
            tracing::warn!(
                entrypoint = ep,
                used = chosen,
                ignored = ?&routers[1..],
                "more than one UDP router on this entrypoint: only the first in descending name \
                 order is used, as in Traefik"
            );
        }
        let Some(router) = udp.routers.get(*chosen) else {
            continue;
        };
        if let Some(service) = build_service(&router.service, config, &mut built) {
            services.insert(ep.to_string(), service);
        }
    }
    services
}

/// Builds service `name` (children first), once per config even when several routers or
/// weighted services share it. References were checked by the config (no cycle).
fn build_service<'c>(
    name: &'c str,
    config: &'c LoadedConfig,
    built: &mut HashMap<&'c str, Arc<UdpService>>,
) -> Option<Arc<UdpService>> {
    if let Some(service) = built.get(name) {
        return Some(service.clone());
    }
    let service = match config.dynamic.udp.services.get(name)? {
        UdpServiceConfig::LoadBalancer(addresses) => {
            let servers = addresses.iter().map(|a| UdpServer::new(a)).collect();
            UdpService::load_balancer(name, servers)
        }
        UdpServiceConfig::Weighted(children) => {
            let mut weighted = Vec::with_capacity(children.len());
            for child in children {
                weighted.push((build_service(&child.name, config, built)?, child.weight));
            }
            UdpService::weighted(weighted)
        }
    };
    let service = Arc::new(service);
    built.insert(name, service.clone());
    Some(service)
}
