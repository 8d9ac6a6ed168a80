//! One `tcp:` service or middleware, resolved on its own: a load balancer's servers
//! (`host:port`), `proxyProtocol`, `terminationDelay`, `serversTransport`; a weighted service's
//! children; `ipAllowList` / `inFlightConn`. Runs once per entity per load.

use std::time::Duration;

use super::definitions::local_name;
use super::model_tcp::{
    TcpLoadBalancerConfig, TcpMiddlewareConfig, TcpServerConfig, TcpServiceConfig,
    TcpWeightedService,
};
use super::raw_tcp::{RawTcpLoadBalancer, RawTcpMiddleware, RawTcpService, RawTcpWeighted};
use crate::yaml::report::Reporter;

pub(crate) fn resolve_middleware(
    reporter: &mut Reporter<'_>,
    file: usize,
    name: &str,
    raw: RawTcpMiddleware,
) -> Option<TcpMiddlewareConfig> {
    let base = ["tcp", "middlewares", name];
    match (raw.ip_allow_list, raw.in_flight_conn, raw.plugin) {
        (None, None, Some(plugin)) => {
            let mut counters = false;
            for (index, capability) in plugin.capabilities.iter().enumerate() {
                match capability.as_str() {
                    "counters" => counters = true,
                    other => {
                        let index = index.to_string();
                        let at = [base[0], base[1], base[2], "plugin", "capabilities", &index];
                        let reason = format!(
                            "{other:?} does not apply to a connection middleware (only counters)"
                        );
                        reporter.at(file, &at, reason);
                        return None;
                    }
                }
            }
            let config = plugin
                .config
                .unwrap_or(serde_json::Value::Object(Default::default()));
            Some(TcpMiddlewareConfig::Plugin {
                name: plugin.name,
                config_json: config.to_string(),
                counters,
            })
        }
        (Some(list), None, None) => {
            let at = [base[0], base[1], base[2], "ipAllowList", "sourceRange"];
            if list.source_range.is_empty() {
                reporter.at(file, &at, "at least one address or CIDR range is required");
                return None;
            }
            let mut nets = Vec::new();
            for (index, text) in list.source_range.iter().enumerate() {
                let parsed = text
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
                match parsed {
                    Ok(net) => nets.push(net),
                    Err(_) => {
                        let index = index.to_string();
                        let at = [at[0], at[1], at[2], at[3], at[4], &index];
                        let reason = format!("\"{text}\" is not an IP address or CIDR range");
                        reporter.at(file, &at, reason);
                    }
                }
            }
            (nets.len() == list.source_range.len())
                .then_some(TcpMiddlewareConfig::IpAllowList(nets))
        }
        (None, Some(in_flight), None) => match u32::try_from(in_flight.amount) {
            Ok(amount) if amount > 0 => Some(TcpMiddlewareConfig::InFlightConn(amount)),
            _ => {
                let at = [base[0], base[1], base[2], "inFlightConn", "amount"];
                reporter.at(file, &at, "must be at least 1");
                None
            }
        },
        _ => {
            reporter.at(
                file,
                &base,
                "a TCP middleware needs exactly one of ipAllowList, inFlightConn, plugin",
            );
            None
        }
    }
}

pub(crate) fn resolve_service(
    reporter: &mut Reporter<'_>,
    file: usize,
    name: &str,
    raw: RawTcpService,
) -> Option<TcpServiceConfig> {
    let base = ["tcp", "services", name];
    match (raw.load_balancer, raw.weighted, raw.passthrough) {
        (None, None, Some(_)) => Some(TcpServiceConfig::Passthrough),
        (Some(lb), None, None) => resolve_load_balancer(reporter, file, name, lb),
        (None, Some(weighted), None) => {
            resolve_weighted(reporter, file, base, weighted).map(TcpServiceConfig::Weighted)
        }
        _ => {
            reporter.at(
                file,
                &base,
                "a TCP service needs exactly one of loadBalancer, weighted, passthrough",
            );
            None
        }
    }
}

/// `<base>.weighted` of a TCP or UDP service (`base`: `tcp|udp`, `services`, name): at least
/// one child, not every weight 0 (default weight 1).
pub(crate) fn resolve_weighted(
    reporter: &mut Reporter<'_>,
    file: usize,
    base: [&str; 3],
    weighted: RawTcpWeighted,
) -> Option<Vec<TcpWeightedService>> {
    let at = [base[0], base[1], base[2], "weighted", "services"];
    if weighted.services.is_empty() {
        reporter.at(file, &at, "at least one service is required");
        return None;
    }
    let services: Vec<TcpWeightedService> = weighted
        .services
        .into_iter()
        .map(|s| TcpWeightedService {
            name: local_name(&s.name),
            weight: s.weight.unwrap_or(1),
        })
        .collect();
    if services.iter().all(|s| s.weight == 0) {
        reporter.at(file, &at, "every service has weight 0");
        return None;
    }
    Some(services)
}

fn resolve_load_balancer(
    reporter: &mut Reporter<'_>,
    file: usize,
    name: &str,
    raw: RawTcpLoadBalancer,
) -> Option<TcpServiceConfig> {
    let lb_path = ["tcp", "services", name, "loadBalancer"];
    let mut ok = true;
    if raw.servers.is_empty() {
        reporter.at(
            file,
            &[lb_path[0], lb_path[1], lb_path[2], lb_path[3], "servers"],
            "at least one server is required",
        );
        return None;
    }
    let mut servers = Vec::new();
    for (index, server) in raw.servers.into_iter().enumerate() {
        let index = index.to_string();
        if let Err(reason) = check_address(&server.address) {
            let at = [
                lb_path[0], lb_path[1], lb_path[2], lb_path[3], "servers", &index, "address",
            ];
            reporter.at(file, &at, reason);
            ok = false;
            continue;
        }
        servers.push(TcpServerConfig {
            address: server.address,
            weight: server.weight.unwrap_or(1),
            tls: server.tls.unwrap_or(false),
        });
    }
    if ok && servers.iter().all(|s| s.weight == 0) {
        let at = [lb_path[0], lb_path[1], lb_path[2], lb_path[3], "servers"];
        reporter.at(file, &at, "every server has weight 0");
        ok = false;
    }
    let proxy_protocol = match raw.proxy_protocol {
        // Traefik's default version is 2.
        Some(pp) => match pp.version.unwrap_or(2) {
            v @ (1 | 2) => Some(v),
            other => {
                let at = [
                    lb_path[0],
                    lb_path[1],
                    lb_path[2],
                    lb_path[3],
                    "proxyProtocol",
                    "version",
                ];
                reporter.at(
                    file,
                    &at,
                    format!("version {other} does not exist (1 or 2)"),
                );
                ok = false;
                None
            }
        },
        None => None,
    };
    let termination_delay = raw
        .termination_delay
        .map(|ms| (ms >= 0).then(|| Duration::from_millis(ms.unsigned_abs())));
    ok.then_some(TcpServiceConfig::LoadBalancer(TcpLoadBalancerConfig {
        servers,
        proxy_protocol,
        termination_delay,
        servers_transport: raw.servers_transport.map(|t| local_name(&t)),
    }))
}

/// `host:port` with a port number; the host is resolved when dialling (TCP servers) or when a
/// session starts (UDP servers).
pub(crate) fn check_address(address: &str) -> Result<(), String> {
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(format!("{address:?} is not host:port"));
    };
    if host.is_empty() {
        return Err(format!("{address:?} has no host"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!("{address:?} has no valid port")),
    }
}
