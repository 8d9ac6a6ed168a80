//! The resolved `tcp:` section (Traefik's TCP routers and services), merged over the main file
//! and every provider file. Reference checks (router -> service and entry points, weighted ->
//! services) have passed when a [`TcpConfig`] is handed out; rules are parsed by `tcp::rule`.

use std::collections::BTreeMap;
use std::time::Duration;

/// Traefik's default `terminationDelay`: how long the other direction of a connection may go on
/// once one side has closed its half.
pub const DEFAULT_TERMINATION_DELAY: Duration = Duration::from_millis(100);

/// `tcp:`; maps keyed by the names used in the YAML.
#[derive(Debug, Clone, Default)]
pub struct TcpConfig {
    pub routers: BTreeMap<String, TcpRouterConfig>,
    pub services: BTreeMap<String, TcpServiceConfig>,
    pub middlewares: BTreeMap<String, TcpMiddlewareConfig>,
    pub servers_transports: BTreeMap<String, TcpServersTransportConfig>,
}

/// Default `dialTimeout` of a TCP servers transport (Traefik's).
pub const DEFAULT_TCP_DIAL_TIMEOUT: Duration = Duration::from_secs(30);

/// Default `dialKeepAlive` of a TCP servers transport (Go's dialer, Traefik's default).
pub const DEFAULT_DIAL_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `tcp.serversTransports.<name>`: how connections to TCP servers are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpServersTransportConfig {
    /// `dialTimeout`, default 30 s.
    pub dial_timeout: Duration,
    /// `terminationDelay`, default 100 ms (a load balancer's own `terminationDelay` wins).
    pub termination_delay: Duration,
    /// `dialKeepAlive`: TCP keep-alive probes on connections to servers after this much
    /// idleness and at this interval; default (and `0`) 15 s, as Go's dialer.
    pub dial_keep_alive: Duration,
    /// `tls`: for servers with `tls: true` (`serverName`, `insecureSkipVerify`, `rootCAs`,
    /// `certificates`, `peerCertURI`); `None`: the system's trust store, the address's host.
    pub tls: Option<super::model_tls::UpstreamTlsConfig>,
}

impl Default for TcpServersTransportConfig {
    fn default() -> Self {
        TcpServersTransportConfig {
            dial_timeout: DEFAULT_TCP_DIAL_TIMEOUT,
            termination_delay: DEFAULT_TERMINATION_DELAY,
            dial_keep_alive: DEFAULT_DIAL_KEEP_ALIVE,
            tls: None,
        }
    }
}

/// `tcp.middlewares.<name>`: Traefik's two TCP middlewares (each run by its bundled
/// connection-level plugin), or any connection-level plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpMiddlewareConfig {
    /// `ipAllowList.sourceRange` (also `ipWhiteList`): other clients are closed before any
    /// byte reaches a server.
    IpAllowList(Vec<ipnet::IpNet>),
    /// `inFlightConn.amount`: connections open at once per client IP; beyond it, closed.
    InFlightConn(u32),
    /// `plugin: {name, config, capabilities}`: a connection-level plugin by name, its config as
    /// JSON text, and whether it is granted `counters`.
    Plugin {
        name: String,
        config_json: String,
        counters: bool,
    },
}

/// `tcp.routers.<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRouterConfig {
    pub rule: String,
    /// A service in `tcp.services` (`@file` suffix dropped).
    pub service: String,
    /// Entry point names; empty means all entry points.
    pub entry_points: Vec<String>,
    /// Explicit priority; `None`: the rule length (`HostSNI(`*`)` alone: -1, tried last).
    pub priority: Option<i64>,
    /// Names in `tcp.middlewares`, in order (`@file` suffixes dropped).
    pub middlewares: Vec<String>,
    /// `tls`: the router matches TLS connections (passthrough or terminated); without it,
    /// plain TCP connections.
    pub tls: Option<TcpRouterTls>,
}

/// `tcp.routers.<name>.tls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRouterTls {
    /// `passthrough: true`: the TLS bytes go to the backend as they came (the backend
    /// terminates); false: the gateway terminates with `options` and forwards the plain stream.
    pub passthrough: bool,
    /// `options`: a `tls.options` name (`default` when absent).
    pub options: Option<String>,
    /// `certResolver`: an ACME resolver that obtains certificates for this router's names
    /// (served where the gateway terminates; ordered for passthrough routers too, as Traefik
    /// does).
    pub cert_resolver: Option<String>,
    /// `domains`: one certificate per entry (`main` then `sans`, lowercase); empty: one for
    /// the `HostSNI` names of the rule.
    pub certificate_domains: Vec<Vec<String>>,
}

impl TcpRouterTls {
    /// The TLS options name this router uses.
    pub fn options_name(&self) -> &str {
        self.options
            .as_deref()
            .unwrap_or(super::model_tls::DEFAULT_TLS_OPTIONS)
    }
}

/// `tcp.services.<name>`: exactly one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpServiceConfig {
    LoadBalancer(TcpLoadBalancerConfig),
    /// `weighted.services`: children in `tcp.services` with their weights.
    Weighted(Vec<TcpWeightedService>),
    /// `passthrough: {}`: to the connection's original destination (a `transparent`
    /// entrypoint's connection that iptables redirected).
    Passthrough,
}

/// `...weighted.services[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpWeightedService {
    /// A service in `tcp.services` (`@file` suffix dropped).
    pub name: String,
    /// `weight`, default 1.
    pub weight: u32,
}

/// `tcp.services.<name>.loadBalancer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpLoadBalancerConfig {
    /// At least one server with a weight above 0.
    pub servers: Vec<TcpServerConfig>,
    /// `proxyProtocol.version` (1 or 2): a PROXY protocol header is sent to the server first.
    pub proxy_protocol: Option<u8>,
    /// `terminationDelay` (milliseconds, Traefik's unit) as written: once one side closes its
    /// half, the other direction may go on this long. `None`: unset (the servers transport's
    /// applies); `Some(None)`: a negative value, no limit.
    pub termination_delay: Option<Option<Duration>>,
    /// `serversTransport`: a name in `tcp.serversTransports`; `None`: the defaults.
    pub servers_transport: Option<String>,
}

/// `...loadBalancer.servers[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpServerConfig {
    /// `address`: `host:port`, resolved when a connection is dialled.
    pub address: String,
    /// `weight`, default 1; 0 keeps the server out of the rotation.
    pub weight: u32,
    /// `tls`: connect to this server over TLS (the servers transport's `tls` settings).
    pub tls: bool,
}
