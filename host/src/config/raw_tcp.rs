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
    /// `v2` or `v3`, see [`super::rule_syntax`].
    pub(crate) rule_syntax: Option<String>,
}

/// `tcp.middlewares.<name>`: one of Traefik's TCP middleware types.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpMiddleware {
    #[serde(alias = "ipWhiteList")]
    pub(crate) ip_allow_list: Option<RawTcpIpAllowList>,
    pub(crate) in_flight_conn: Option<RawInFlightConn>,
    /// A connection-level plugin (wasmgate's own key, as `plugin:` under `http.middlewares`).
    pub(crate) plugin: Option<RawTcpPlugin>,
}

/// `...plugin`: a `connection-middleware` component by name, with its config.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpPlugin {
    pub(crate) name: String,
    pub(crate) config: Option<serde_json::Value>,
    /// Only `counters` applies to connection middlewares.
    #[serde(default)]
    pub(crate) capabilities: Vec<String>,
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
    pub(crate) passthrough: Option<RawPassthrough>,
}

/// `...passthrough: {}` (no options).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawPassthrough {}

/// `tcp.services.<name>.loadBalancer`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpLoadBalancer {
    #[serde(default)]
    pub(crate) servers: Vec<RawTcpServer>,
    pub(crate) proxy_protocol: Option<RawProxyProtocol>,
    pub(crate) termination_delay: Option<i64>,
    pub(crate) servers_transport: Option<String>,
}

/// `tcp.serversTransports.<name>`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpServersTransport {
    pub(crate) dial_timeout: Option<super::duration::DurationValue>,
    pub(crate) termination_delay: Option<super::duration::DurationValue>,
    pub(crate) dial_keep_alive: Option<super::duration::DurationValue>,
    pub(crate) tls: Option<RawTcpTransportTls>,
}

/// `tcp.serversTransports.<name>.tls`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpTransportTls {
    pub(crate) server_name: Option<String>,
    pub(crate) insecure_skip_verify: Option<bool>,
    #[serde(default, rename = "rootCAs")]
    pub(crate) root_cas: Vec<String>,
    #[serde(default)]
    pub(crate) certificates: Vec<super::raw_tls::RawCertificate>,
    #[serde(rename = "peerCertURI")]
    pub(crate) peer_cert_uri: Option<String>,
}

/// `...loadBalancer.servers[i]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTcpServer {
    pub(crate) address: String,
    pub(crate) weight: Option<u32>,
    pub(crate) tls: Option<bool>,
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
