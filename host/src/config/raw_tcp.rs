//! The serde-facing shapes of `tcp:` entities (camelCase, unknown keys rejected), resolved by
//! `resolve_tcp`.

use serde::Deserialize;

/// `tcp.routers.<name>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpRouter {
    pub(crate) rule: String,
    pub(crate) service: String,
    #[serde(default)]
    pub(crate) entry_points: Vec<String>,
    pub(crate) priority: Option<i64>,
    pub(crate) tls: Option<RawTcpRouterTls>,
    #[serde(default)]
    pub(crate) middlewares: Vec<String>,
}

/// `tcp.middlewares.<name>`: one of Traefik's TCP middleware types.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpMiddleware {
    #[serde(alias = "ipWhiteList")]
    pub(crate) ip_allow_list: Option<RawTcpIpAllowList>,
    pub(crate) in_flight_conn: Option<RawInFlightConn>,
}

/// `...ipAllowList`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpIpAllowList {
    #[serde(default)]
    pub(crate) source_range: Vec<String>,
}

/// `...inFlightConn`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawInFlightConn {
    pub(crate) amount: i64,
}

/// `tcp.routers.<name>.tls`: an HTTP router's keys plus `passthrough`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpRouterTls {
    pub(crate) passthrough: Option<bool>,
    pub(crate) options: Option<String>,
    pub(crate) cert_resolver: Option<String>,
    #[serde(default)]
    pub(crate) domains: Vec<super::raw_tls::RawDomain>,
}

/// `tcp.services.<name>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpService {
    pub(crate) load_balancer: Option<RawTcpLoadBalancer>,
    pub(crate) weighted: Option<RawTcpWeighted>,
}

/// `tcp.services.<name>.loadBalancer`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpLoadBalancer {
    #[serde(default)]
    pub(crate) servers: Vec<RawTcpServer>,
    pub(crate) proxy_protocol: Option<RawProxyProtocol>,
    pub(crate) termination_delay: Option<i64>,
}

/// `...loadBalancer.servers[i]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpServer {
    pub(crate) address: String,
    pub(crate) weight: Option<u32>,
}

/// `...loadBalancer.proxyProtocol`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawProxyProtocol {
    pub(crate) version: Option<u8>,
}

/// `tcp.services.<name>.weighted`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpWeighted {
    #[serde(default)]
    pub(crate) services: Vec<RawTcpWeightedService>,
}

/// `...weighted.services[i]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpWeightedService {
    pub(crate) name: String,
    pub(crate) weight: Option<u32>,
}
