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
}

/// `http.services.<name>`: exactly one kind. Only `loadBalancer` exists so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceConfig {
    LoadBalancer(LoadBalancerConfig),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerConfig {
    /// At least one server.
    pub servers: Vec<ServerConfig>,
    /// `passHostHeader`, default true: forward the client's Host instead of the server's.
    pub pass_host_header: bool,
    /// Name of an `http.serversTransports` entry; `None` means [`ServersTransportConfig::default`].
    pub servers_transport: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Scheme http, https or h2c, with a host.
    pub url: http::Uri,
    /// `weight`, default 1 (kept for the weighted balancer).
    pub weight: u32,
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
}

impl Default for ServersTransportConfig {
    fn default() -> Self {
        ServersTransportConfig {
            dial_timeout: DEFAULT_DIAL_TIMEOUT,
            response_header_timeout: None,
            idle_conn_timeout: DEFAULT_IDLE_CONN_TIMEOUT,
            max_idle_conns_per_host: DEFAULT_MAX_IDLE_CONNS_PER_HOST,
        }
    }
}

/// A middleware resolved to the plugin that implements it.
#[derive(Debug, Clone, PartialEq)]
pub struct MiddlewareConfig {
    /// Plugin name: `plugin.name`, or the bundled plugin a Traefik key maps to.
    pub plugin: String,
    /// The plugin's config as compact JSON text; `"{}"` when absent or null.
    pub config_json: String,
    /// `plugins.defaults` with this middleware's overrides applied.
    pub runtime: PluginRuntimeConfig,
    /// The YAML key that chose the type: `"plugin"`, `"headers"`, ... (for messages).
    pub type_key: String,
}
