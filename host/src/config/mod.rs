//! Configuration: Traefik-shaped YAML in, a checked static + dynamic model out.
//!
//! [`load`] reads the main file (static keys `entryPoints`, `providers`, `plugins`, `log`, and
//! optionally `http:`), then every dynamic file that `providers.file.filename` or
//! `providers.file.directory` names (each may hold `http:` only). All of it is merged, resolved
//! and cross-checked; every problem is reported as `file:line: key: reason`, in source order.
//!
//! How it is put together, in load order:
//! - the `yaml` layer below reads each file into a line-keeping tree and deserializes entities
//!   from it with their key paths and lines;
//! - `resolve_static`, `resolve_dynamic` (+ `resolve_service`, `resolve_middleware`,
//!   `plugin_runtime`): raw -> model, one entity at a time so that every bad entity is
//!   reported;
//! - `validate`: references between entities;
//! - errors found later by other modules are located through [`LoadedConfig::error_at`].
//!
//! Values: durations are Traefik/Go strings (`"50ms"`, `"1m30s"`) or integer seconds
//! ([`duration`]); sizes are integer bytes or `"64KiB"`/`"16MiB"`/`"1GiB"` (powers of 1024),
//! `"KB"`/`"MB"`/`"GB"` (powers of 1000) ([`size`]).

mod auth_deadline;
mod bounded_read;
mod buffering_grant;
mod client_tls;
mod contribution;
mod definitions;
pub mod duration;
mod entry_point_http;
mod entry_point_udp;
mod experimental;
mod listen_address;
mod load;
mod model_acme;
mod model_dynamic;
mod model_internal;
mod model_observability;
mod model_providers;
mod model_router_observability;
mod model_static;
mod model_tcp;
mod model_tls;
mod model_udp;
mod not_yet;
mod paths;
mod plugin_form;
mod plugin_runtime;
mod provider_names;
mod provider_scope;
mod rate_limit_redis;
mod raw;
mod raw_providers;
mod raw_tcp;
mod raw_tls;
mod raw_tracing;
mod raw_udp;
mod resolve_acme;
mod resolve_chain;
mod resolve_dynamic;
mod resolve_internal;
mod resolve_middleware;
mod resolve_observability;
mod resolve_providers;
mod resolve_service;
mod resolve_static;
mod resolve_tcp;
mod resolve_tcp_entity;
mod resolve_tls;
mod resolve_tracing;
mod resolve_udp;
pub mod retry_expression;
mod router_tls;
mod rule_syntax;
pub mod size;
mod traefik_options;
mod users_file;
mod v2_rule;
mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use crate::yaml::{ConfigError, ConfigErrors};
pub use contribution::{Contribution, ContributionBody, KvTree};
pub use load::{load, load_for_check, load_from_str, load_log_settings, load_with};
pub use model_acme::{AcmeKeyType, AcmeResolverConfig, DEFAULT_CERTIFICATES_DURATION};
pub use model_dynamic::{
    DEFAULT_DIAL_TIMEOUT, DEFAULT_IDLE_CONN_TIMEOUT, DEFAULT_MAX_IDLE_CONNS_PER_HOST,
    DEFAULT_TRANSPORT, DynamicConfig, HttpConfig, LoadBalancerConfig, MiddlewareConfig,
    RouterConfig, ServerConfig, ServersTransportConfig, ServiceConfig, pinned_name,
};
pub use model_dynamic::{
    FailoverConfig, HealthCheckConfig, MirrorConfig, MirroringConfig, PassiveHealthConfig,
    RetryConfig, SameSite, StickyCookieConfig, WeightedConfig, WeightedServiceConfig,
};
pub use model_internal::{ApiConfig, InternalService, PingConfig};
pub use model_observability::{
    AccessLogConfig, AccessLogFields, AccessLogFilters, AccessLogFormat, FieldMode, OtlpGrpcConfig,
    OtlpHttpConfig, PrometheusConfig, TracingConfig,
};
pub use model_providers::{
    DEFAULT_POLL_INTERVAL, DEFAULT_POLL_TIMEOUT, DEFAULT_ROOT_KEY, HttpProviderConfig,
    KvProviderConfig, ProvidersConfig,
};
pub use model_router_observability::{ObservabilityFlags, TraceVerbosity};
pub use model_static::{
    BodyConfig, BodyLimitConfig, DEFAULT_BODY_GRANT_BYTES, DEFAULT_DEADLINE, DEFAULT_EPOCH_TICK,
    DEFAULT_MAX_HEADERS, DEFAULT_MAX_REPLY_BODY_SIZE, DEFAULT_MAX_REQUESTS_PER_INSTANCE,
    DEFAULT_MEMORY_LIMIT, DEFAULT_POOL_SIZE, EncodedCharacters, EntryPointConfig, EntryPointLimits,
    EntryPointRedirect, ForwardedHeadersConfig, H2cUpgrade, Isolation, LogConfig, MIN_MEMORY_LIMIT,
    OutboundHttpConfig, OverLimit, PluginRuntimeConfig, PluginsConfig, StaticConfig,
    TransparentConfig,
};
pub use model_tcp::{
    DEFAULT_TCP_DIAL_TIMEOUT, DEFAULT_TERMINATION_DELAY, TcpConfig, TcpLoadBalancerConfig,
    TcpMiddlewareConfig, TcpRouterConfig, TcpRouterTls, TcpServerConfig, TcpServersTransportConfig,
    TcpServiceConfig, TcpWeightedService,
};
pub use model_tls::{
    CertificateConfig, CipherSuite, ClientAuthConfig, ClientAuthType, Curve, DEFAULT_TLS_OPTIONS,
    DefaultGeneratedCert, KeySite, PemSource, RouterTlsConfig, TlsConfig, TlsOptionsConfig,
    TlsVersion, UpstreamTlsConfig,
};
pub use model_udp::{
    DEFAULT_UDP_TIMEOUT, UdpConfig, UdpEntryPointConfig, UdpRouterConfig, UdpServiceConfig,
};
pub use rate_limit_redis::CountersRedisConfig;
pub use resolve_acme::LEGO_CA_CERTIFICATES;
pub use resolve_middleware::{PLUGIN_KEY, TRAEFIK_MIDDLEWARES};
pub use v2_rule::v2_hint;

use crate::yaml::error::Diagnostics;
use crate::yaml::source::SourceMap;

/// A configuration that loaded and passed every check this module does, with the parsed files
/// kept so that later checks (rules, plugins) can point at the right line.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub static_config: StaticConfig,
    pub dynamic: DynamicConfig,
    sources: SourceMap,
    /// How many of `sources` are files (the control-plane providers' contributions follow).
    file_count: usize,
}

impl LoadedConfig {
    /// Whether every key of `key_path` is written in some file (keys in any case, as they are
    /// read); on the error path only.
    pub fn is_written(&self, key_path: &[&str]) -> bool {
        self.sources.locate(key_path).is_complete(key_path.len())
    }

    /// An error located at a dotted key path, e.g. `["http","routers","api","rule"]`; used for
    /// errors the config module cannot find itself (rule syntax, missing plugin, a plugin's
    /// validate-config). The file is the one that defines the path (a router in a provider file
    /// points there); the line is the deepest key of the path that exists. A segment under a
    /// sequence is an index: `["http","routers","api","middlewares","1"]`.
    pub fn error_at(&self, key_path: &[&str], reason: impl Into<String>) -> ConfigError {
        let location = self.sources.locate(key_path);
        self.sources.error_at(location, reason)
    }

    /// Puts errors made with [`LoadedConfig::error_at`] in source order (files in load order,
    /// then by line), ready to print.
    pub fn errors_in_source_order(&self, errors: Vec<ConfigError>) -> ConfigErrors {
        let mut diagnostics = Diagnostics::default();
        for error in errors {
            let file = self
                .sources
                .files()
                .iter()
                .position(|f| f.path == error.file)
                .unwrap_or(usize::MAX);
            diagnostics.push(file, error);
        }
        diagnostics.into_sorted()
    }

    /// Every file this config was read from, the main file first (the reload watcher watches them);
    /// not the control-plane providers' contributions, which are not files.
    pub fn files(&self) -> Vec<&Path> {
        self.sources
            .files()
            .iter()
            .take(self.file_count)
            .map(|f| f.path.as_path())
            .collect()
    }
}
