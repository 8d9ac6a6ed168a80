//! `tcp:` read like the rest of a Traefik file config: from the main file and provider files, in
//! any case, merged, with names defined twice reported at both places.

use super::{errors, loaded};
use crate::config::{TcpMiddlewareConfig, TcpServiceConfig};

#[test]
fn tcp_sections_merge_across_files_in_any_case() {
    let config = loaded("tcp/gateway.yml");
    let tcp = &config.dynamic.tcp;
    let router = &tcp.routers["db"];
    assert_eq!(router.service, "db", "db@file names the local service");
    assert_eq!(router.entry_points, ["web"]);
    assert!(router.tls.as_ref().is_some_and(|t| t.passthrough));
    let TcpServiceConfig::LoadBalancer(lb) = &tcp.services["db"] else {
        panic!("{:?}", tcp.services["db"]);
    };
    assert_eq!(lb.servers[0].weight, 2);
    assert_eq!(lb.termination_delay, Some(None), "negative: no limit");
    assert_eq!(lb.proxy_protocol, Some(2), "Traefik's default version");
    assert!(matches!(&tcp.services["both"], TcpServiceConfig::Weighted(w) if w[0].weight == 3));
    assert!(
        matches!(&tcp.middlewares["office"], TcpMiddlewareConfig::IpAllowList(nets) if nets.len() == 2),
        "ipWhiteList is ipAllowList; a single string is split on commas"
    );
}

#[test]
fn a_tcp_name_defined_twice_and_a_weighted_cycle_are_errors() {
    let dir = "src/config/testdata/tcp_dup";
    assert_eq!(
        errors("tcp_dup/gateway.yml"),
        [
            format!(
                "{dir}/dynamic.yml:3: tcp.routers.db: TCP router \"db\" is already defined in {dir}/gateway.yml:9"
            ),
            format!(
                "{dir}/dynamic.yml:5: tcp.services.loop.weighted.services[0].name: service \"loop\" leads back to \"loop\" (a cycle)"
            ),
        ]
    );
}
