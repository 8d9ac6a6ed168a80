//! The serde-facing shapes of `udp:` entities and of an entry point's `udp` key (camelCase,
//! unknown keys rejected), resolved by `resolve_udp` and `entry_point_udp`.

use serde::Deserialize;

/// `udp.routers.<name>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawUdpRouter {
    pub(crate) service: String,
    #[serde(default)]
    pub(crate) entry_points: Vec<String>,
}

/// `udp.services.<name>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawUdpService {
    pub(crate) load_balancer: Option<RawUdpLoadBalancer>,
    /// Same shape as a TCP weighted service.
    pub(crate) weighted: Option<super::raw_tcp::RawTcpWeighted>,
}

/// `udp.services.<name>.loadBalancer`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawUdpLoadBalancer {
    #[serde(default)]
    pub(crate) servers: Vec<RawUdpServer>,
}

/// `...loadBalancer.servers[i]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawUdpServer {
    pub(crate) address: String,
}

/// `entryPoints.<name>.udp`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawEntryPointUdp {
    pub(crate) timeout: Option<super::duration::DurationValue>,
}
