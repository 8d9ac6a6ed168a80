//! The resolved dynamic configuration (`http:`), merged over the main file and every provider
//! file. Reference checks (router -> service, middlewares, entry points; service -> transport)
//! have passed when a [`DynamicConfig`] is handed out.

use std::collections::BTreeMap;
use std::time::Duration;

use super::model_static::PluginRuntimeConfig;

/// Default `forwardingTimeouts.dialTimeout`.
pub const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `forwardingTimeouts.idleConnTimeout`.
pub const DEFAULT_IDLE_CONN_TIMEOUT: Duration = Duration::from_secs(90);
/// Default `maxIdleConnsPerHost`.
pub const DEFAULT_MAX_IDLE_CONNS_PER_HOST: usize = 200;

#[derive(Debug, Clone, Default)]
pub struct DynamicConfig {
    pub http: HttpConfig,
    /// `tls:` (certificates, stores, options).
    pub tls: super::model_tls::TlsConfig,
    /// `tcp:` (TCP routers and services).
    pub tcp: super::model_tcp::TcpConfig,
    /// `udp:` (UDP routers and services).
    pub udp: super::model_udp::UdpConfig,
}

/// `http:`; every map is keyed by the name used in the YAML.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    pub routers: BTreeMap<String, RouterConfig>,
    pub services: BTreeMap<String, ServiceConfig>,
    pub middlewares: BTreeMap<String, MiddlewareConfig>,
    pub servers_transports: BTreeMap<String, ServersTransportConfig>,
}

/// `http.routers.<name>`. The rule is kept as text: the router module parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterConfig {
    pub rule: String,
    /// Name of a service in `http.services` (a Traefik `@file` suffix is dropped).
    pub service: String,
    /// Entry point names; empty means all entry points.
    pub entry_points: Vec<String>,
    /// Middleware names in `http.middlewares`, in chain order (`@file` suffixes dropped).
    pub middlewares: Vec<String>,
    /// Explicit priority; `None` means "rule length" (decided by the router module).
    pub priority: Option<i64>,
    /// `maxInFlight` (wasmgate's): requests this router handles at once; beyond it, 503 with
    /// `Retry-After` at once instead of an unbounded queue. `None`: unlimited.
    pub max_in_flight: Option<usize>,
    /// `tls`: the router matches TLS connections only (without it, plain ones only); also set
    /// from its entrypoints' `http.tls` when the router has none.
    pub tls: Option<super::model_tls::RouterTlsConfig>,
    /// `observability`: the router's own signals; `None`: its entrypoints' defaults.
    pub observability: Option<super::model_router_observability::ObservabilityFlags>,
}

/// `http.services.<name>`: exactly one kind. References between services (weighted children,
/// mirroring main and mirrors, failover main and fallback) are checked and acyclic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "built once per service at load time; boxing buys nothing"
)]
pub enum ServiceConfig {
    LoadBalancer(LoadBalancerConfig),
    Weighted(WeightedConfig),
    Mirroring(MirroringConfig),
    Failover(FailoverConfig),
}

impl ServiceConfig {
    /// The services this one forwards to, with the key path (below the kind key) naming each.
    pub fn children(&self) -> Vec<(&str, Vec<String>)> {
        match self {
            ServiceConfig::LoadBalancer(_) => Vec::new(),
            ServiceConfig::Weighted(w) => w
                .services
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let path = ["weighted", "services", &i.to_string(), "name"];
                    (c.name.as_str(), path.map(str::to_string).to_vec())
                })
                .collect(),
            ServiceConfig::Mirroring(m) => {
                let mut out = vec![(
                    m.service.as_str(),
                    vec!["mirroring".into(), "service".into()],
                )];
                for (i, mirror) in m.mirrors.iter().enumerate() {
                    let path = ["mirroring", "mirrors", &i.to_string(), "name"];
                    out.push((mirror.name.as_str(), path.map(str::to_string).to_vec()));
                }
                out
            }
            ServiceConfig::Failover(f) => vec![
                (
                    f.service.as_str(),
                    vec!["failover".into(), "service".into()],
                ),
                (
                    f.fallback.as_str(),
                    vec!["failover".into(), "fallback".into()],
                ),
            ],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerConfig {
    /// At least one server, at least one with a weight above 0.
    pub servers: Vec<ServerConfig>,
    /// `passHostHeader`, default true: forward the client's Host instead of the server's.
    pub pass_host_header: bool,
    /// Name of an `http.serversTransports` entry; `None` means [`ServersTransportConfig::default`].
    pub servers_transport: Option<String>,
    /// `sticky.cookie`: pin a client to a server; `None` = no stickiness.
    pub sticky: Option<StickyCookieConfig>,
    /// `healthCheck`: active probes; `None` = servers are taken as up.
    pub health_check: Option<HealthCheckConfig>,
    /// `passiveHealthCheck`: eject servers that fail real requests; `None` = off.
    pub passive_health_check: Option<PassiveHealthConfig>,
    /// `retry` (a wasmgate extension): retry idempotent body-less requests on another server.
    pub retry: Option<RetryConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Scheme http, https or h2c, with a host.
    pub url: http::Uri,
    /// `weight`, default 1; 0 keeps the server out of the rotation (drained).
    pub weight: u32,
    /// `preservePath`: the URL's path is put before the request's path (Traefik v3.4); by
    /// default the path in a server URL is not used, as in Traefik.
    pub preserve_path: bool,
}

/// `SameSite` attribute of the sticky cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    None,
    Lax,
    Strict,
}

/// `sticky.cookie`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickyCookieConfig {
    /// `name`; default `_` + 6 hex digits of a hash of the service name (Traefik's shape).
    pub name: String,
    /// `secure`, default false.
    pub secure: bool,
    /// `httpOnly`, default false.
    pub http_only: bool,
    /// `sameSite`: none, lax, strict; default unset.
    pub same_site: Option<SameSite>,
    /// `maxAge` in seconds; 0 (default) = a session cookie.
    pub max_age: u64,
    /// `path`, default `/`.
    pub path: String,
    /// `domain`, default unset (the host the client asked for).
    pub domain: Option<String>,
}

/// Default `healthCheck.interval`.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(30);
/// Default `healthCheck.timeout`.
pub const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// `healthCheck`: one probe per server every `interval` (`unhealthy_interval` while it is down).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckConfig {
    /// `path` (with an optional query), default `/`.
    pub path: String,
    /// `method`, default GET.
    pub method: http::Method,
    /// `scheme` override (http or h2c); default: the server's.
    pub scheme: Option<String>,
    /// `port` override; default: the server's.
    pub port: Option<u16>,
    /// `hostname`: the Host header of probes; default: the server's host and port.
    pub hostname: Option<http::HeaderValue>,
    /// `headers` added to probes.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// `interval`, default 30 s.
    pub interval: Duration,
    /// `unhealthyInterval`, default = `interval`.
    pub unhealthy_interval: Duration,
    /// `timeout` for a whole probe, default 5 s.
    pub timeout: Duration,
    /// `status`: the expected status; `None` (default) accepts 200-399.
    pub status: Option<u16>,
    /// `followRedirects`, default true (Traefik's): a 3xx answer with a `Location` is followed
    /// (at most 10 times) and the last answer is judged; false judges the 3xx itself.
    pub follow_redirects: bool,
}

/// Default `passiveHealthCheck.failureWindow`.
pub const DEFAULT_FAILURE_WINDOW: Duration = Duration::from_secs(10);

/// `passiveHealthCheck`: `max_failed_attempts` failures within `failure_window` eject a server
/// for `failure_window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassiveHealthConfig {
    /// `failureWindow`, default 10 s: the counting window and the ejection period.
    pub failure_window: Duration,
    /// `maxFailedAttempts`, default 1.
    pub max_failed_attempts: u32,
    /// `failureStatuses` (wasmgate extension): response statuses that count as failures, as
    /// inclusive ranges; default none (only connection errors and timeouts count).
    pub failure_statuses: Vec<(u16, u16)>,
}

/// Default `retry.initialInterval`.
pub const DEFAULT_RETRY_INITIAL_INTERVAL: Duration = Duration::from_millis(100);

/// `retry`: Traefik's retry middleware semantics, applied by the load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryConfig {
    /// `attempts`: tries in all, the first included; at least 1.
    pub attempts: u32,
    /// `initialInterval`, default 100 ms; doubles after each retry.
    pub initial_interval: Duration,
}

/// `weighted`: a service of services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedConfig {
    /// At least one, at least one with a weight above 0.
    pub services: Vec<WeightedServiceConfig>,
    pub sticky: Option<StickyCookieConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedServiceConfig {
    /// A service in `http.services` (`@file` suffix dropped).
    pub name: String,
    /// `weight`, default 1.
    pub weight: u32,
}

/// Default `mirroring.maxBodySize` (Traefik's is unlimited; buffering without a bound is a
/// memory hazard, so wasmgate caps it unless `-1` is given).
pub const DEFAULT_MIRROR_MAX_BODY_SIZE: u64 = 1 << 20;

/// `mirroring`: the client gets `service`'s response; mirrors get copies, fire-and-forget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirroringConfig {
    pub service: String,
    pub mirrors: Vec<MirrorConfig>,
    /// `mirrorBody`, default true; false sends mirrors the head with an empty body.
    pub mirror_body: bool,
    /// `maxBodySize`: a request body larger than this is not mirrored; `None` = unlimited
    /// (`-1`); default 1 MiB.
    pub max_body_size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorConfig {
    pub name: String,
    /// `percent` of requests copied, 0-100.
    pub percent: u32,
}

/// `failover`: `service` while it has an available server, else `fallback`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverConfig {
    pub service: String,
    pub fallback: String,
}

/// `http.serversTransports.<name>`: how upstream connections are made and kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServersTransportConfig {
    /// `forwardingTimeouts.dialTimeout`, default 30 s.
    pub dial_timeout: Duration,
    /// `forwardingTimeouts.responseHeaderTimeout`; default (and `0`) = no timeout.
    pub response_header_timeout: Option<Duration>,
    /// `forwardingTimeouts.idleConnTimeout`, default 90 s.
    pub idle_conn_timeout: Duration,
    /// `maxIdleConnsPerHost`, default 200.
    pub max_idle_conns_per_host: usize,
    /// `maxConnsPerHost`: open connections per server, idle or busy; default (and `0`) = no
    /// limit. A request that needs a new connection beyond it waits for one to close, up to the
    /// dial timeout.
    pub max_conns_per_host: Option<usize>,
    /// `serverName`, `insecureSkipVerify`, `rootCAs`, `certificates`, `peerCertURI`.
    pub tls: super::model_tls::UpstreamTlsConfig,
    /// `forwardingTimeouts.readIdleTimeout`: an HTTP/2 connection that received no frame for
    /// this long is sent a PING; default (and `0`) = no health pings, as in Traefik.
    pub read_idle_timeout: Option<Duration>,
    /// `forwardingTimeouts.pingTimeout`: the connection is closed when a PING is not answered
    /// within it; default 15 s.
    pub ping_timeout: Duration,
    /// `disableHTTP2`: `https://` servers are offered HTTP/1.1 only (`h2c://` servers are
    /// HTTP/2 by their scheme and keep it).
    pub disable_http2: bool,
}

/// Traefik's default `forwardingTimeouts.pingTimeout`.
pub const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(15);

impl Default for ServersTransportConfig {
    fn default() -> Self {
        ServersTransportConfig {
            dial_timeout: DEFAULT_DIAL_TIMEOUT,
            response_header_timeout: None,
            idle_conn_timeout: DEFAULT_IDLE_CONN_TIMEOUT,
            max_idle_conns_per_host: DEFAULT_MAX_IDLE_CONNS_PER_HOST,
            max_conns_per_host: None,
            tls: super::model_tls::UpstreamTlsConfig::default(),
            read_idle_timeout: None,
            ping_timeout: DEFAULT_PING_TIMEOUT,
            disable_http2: false,
        }
    }
}

/// The name of the static `serversTransport` in `http.serversTransports`: the transport of
/// every load balancer that names none (Traefik's name for it).
pub const DEFAULT_TRANSPORT: &str = "default@internal";

/// A middleware resolved to the plugin that implements it.
#[derive(Debug, Clone, PartialEq)]
pub struct MiddlewareConfig {
    /// Plugin name: `plugin.name`, or the bundled plugin a Traefik key maps to.
    pub plugin: String,
    /// `plugin.sha256`: the plugin is pinned to the file with this content hash (64 lowercase
    /// hex digits), found in the plugin directory, the plugin-file cache, `plugins.store` or
    /// the KV store (`app::pins`). `None`: the plugin of that name, whatever its bytes.
    pub sha256: Option<String>,
    /// The plugin's config as compact JSON text; `"{}"` when absent or null.
    pub config_json: String,
    /// `plugins.defaults` with this middleware's overrides applied.
    pub runtime: PluginRuntimeConfig,
    /// The YAML key that chose the type: `"plugin"`, `"headers"`, ... (for messages).
    pub type_key: String,
    /// For a Traefik `chain`: its members in order (then `plugin` is empty and no plugin runs;
    /// routers naming the chain get its members, see [`HttpConfig::expand_middlewares`]).
    pub chain: Option<Vec<String>>,
    /// For Traefik's `encodedCharacters`: the escapes the routers using it allow in the path,
    /// overriding their entrypoint's (then `plugin` is empty and no plugin runs; the check is
    /// part of the gateway's path reading, `router::path`).
    pub encoded_characters: Option<super::model_static::EncodedCharacters>,
    /// For Traefik's `buffering`: its `retryExpression`, parsed; the proxy sends a buffered
    /// request again while it holds (the plugin still runs and the host holds the bodies).
    pub retry_expression: Option<super::retry_expression::RetryExpression>,
}

impl MiddlewareConfig {
    /// The name this middleware's plugin has in the plugin registry: `plugin`, or for a pinned
    /// plugin `<plugin>@sha256:<hash>` (the registry holds pinned files under that name, so
    /// two middlewares may pin two versions of one plugin).
    pub fn registry_name(&self) -> std::borrow::Cow<'_, str> {
        match &self.sha256 {
            None => std::borrow::Cow::Borrowed(self.plugin.as_str()),
            Some(hash) => std::borrow::Cow::Owned(pinned_name(&self.plugin, hash)),
        }
    }
}

/// The registry name of plugin `name` pinned to content hash `sha256`.
pub fn pinned_name(name: &str, sha256: &str) -> String {
    format!("{name}@sha256:{sha256}")
}
