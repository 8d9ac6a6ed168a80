//! The resolved `udp:` section (Traefik's UDP routers and services) and UDP entry points.
//! References (router -> service and UDP entry points, weighted -> services, no cycle) have
//! passed when a [`UdpConfig`] is handed out.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Traefik's default `entryPoints.<ep>.udp.timeout`: a session with no datagram either way
/// for this long is closed.
pub const DEFAULT_UDP_TIMEOUT: Duration = Duration::from_secs(3);

/// `entryPoints.<name>` whose address ends in `/udp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpEntryPointConfig {
    /// `address` without its `/udp` suffix.
    pub address: SocketAddr,
    /// `udp.timeout`: idle time after which a client's session (and its upstream socket) is
    /// closed; default 3 s.
    pub timeout: Duration,
}

/// `udp:`; maps keyed by the names used in the YAML.
#[derive(Debug, Clone, Default)]
pub struct UdpConfig {
    pub routers: BTreeMap<String, UdpRouterConfig>,
    pub services: BTreeMap<String, UdpServiceConfig>,
}

/// `udp.routers.<name>`: no rule (a datagram carries nothing to match on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpRouterConfig {
    /// A service in `udp.services` (`@file` suffix dropped).
    pub service: String,
    /// UDP entry point names; empty means every UDP entry point.
    pub entry_points: Vec<String>,
}

/// `udp.services.<name>`: exactly one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UdpServiceConfig {
    /// `loadBalancer.servers[].address` (`host:port`, resolved when a session starts); each
    /// server has weight 1, as in Traefik.
    LoadBalancer(Vec<String>),
    /// `weighted.services`: children in `udp.services` with their weights.
    Weighted(Vec<super::model_tcp::TcpWeightedService>),
}
