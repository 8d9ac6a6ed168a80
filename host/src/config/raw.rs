//! The serde-facing shapes of the YAML, one per entity (camelCase, unknown keys rejected).
//! Deserialized with [`crate::yaml::de::from_node`] one entity at a time, then resolved into the
//! public model types by [`super::resolve_static`] / [`super::resolve_dynamic`].

use serde::Deserialize;

use super::duration::DurationValue;
use super::model_static::{H2cUpgrade, Isolation};
use super::size::SizeValue;

/// `entryPoints.<name>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawEntryPoint {
    pub(crate) address: String,
    pub(crate) forwarded_headers: Option<RawForwardedHeaders>,
    /// Same shape as `forwardedHeaders`: `trustedIPs` and `insecure`.
    pub(crate) proxy_protocol: Option<RawForwardedHeaders>,
    pub(crate) transport: Option<RawEntryPointTransport>,
    pub(crate) http2: Option<RawHttp2>,
    pub(crate) http: Option<RawEntryPointHttp>,
    pub(crate) as_default: Option<bool>,
    pub(crate) reuse_port: Option<bool>,
    pub(crate) transparent: Option<RawTransparent>,
    /// `udp.timeout`, on an entry point whose address ends in `/udp`.
    pub(crate) udp: Option<super::raw_udp::RawEntryPointUdp>,
    /// The default `observability` of the routers on this entrypoint.
    pub(crate) observability: Option<super::model_router_observability::RawObservability>,
}

/// `entryPoints.<name>.transparent` (`{}` turns it on with the defaults).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTransparent {
    pub(crate) detect_timeout: Option<DurationValue>,
    pub(crate) opaque_ports: Option<Vec<u16>>,
    pub(crate) tproxy: Option<bool>,
}

/// `entryPoints.<name>.http`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawEntryPointHttp {
    pub(crate) encoded_characters: Option<RawEncodedCharacters>,
    pub(crate) tls: Option<super::raw_tls::RawRouterTls>,
    pub(crate) redirections: Option<super::entry_point_http::RawRedirections>,
    pub(crate) max_header_bytes: Option<SizeValue>,
    #[serde(default)]
    pub(crate) middlewares: Vec<String>,
}

/// Traefik's `encodedCharacters` options, on an entrypoint or as a router middleware; an
/// absent option takes the default of where it is written.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawEncodedCharacters {
    pub(crate) allow_encoded_slash: Option<bool>,
    pub(crate) allow_encoded_back_slash: Option<bool>,
    pub(crate) allow_encoded_null_character: Option<bool>,
    pub(crate) allow_encoded_semicolon: Option<bool>,
    pub(crate) allow_encoded_percent: Option<bool>,
    pub(crate) allow_encoded_question_mark: Option<bool>,
    pub(crate) allow_encoded_hash: Option<bool>,
}

impl RawEncodedCharacters {
    /// The options written, the others from `defaults`.
    pub(crate) fn over(
        &self,
        defaults: super::model_static::EncodedCharacters,
    ) -> super::model_static::EncodedCharacters {
        super::model_static::EncodedCharacters {
            allow_encoded_slash: self
                .allow_encoded_slash
                .unwrap_or(defaults.allow_encoded_slash),
            allow_encoded_back_slash: self
                .allow_encoded_back_slash
                .unwrap_or(defaults.allow_encoded_back_slash),
            allow_encoded_null_character: self
                .allow_encoded_null_character
                .unwrap_or(defaults.allow_encoded_null_character),
            allow_encoded_semicolon: self
                .allow_encoded_semicolon
                .unwrap_or(defaults.allow_encoded_semicolon),
            allow_encoded_percent: self
                .allow_encoded_percent
                .unwrap_or(defaults.allow_encoded_percent),
            allow_encoded_question_mark: self
                .allow_encoded_question_mark
                .unwrap_or(defaults.allow_encoded_question_mark),
            allow_encoded_hash: self
                .allow_encoded_hash
                .unwrap_or(defaults.allow_encoded_hash),
        }
    }
}

/// `entryPoints.<name>.http2` (Traefik's `maxConcurrentStreams`, wasmgate's `h2cUpgrade`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawHttp2 {
    pub(crate) max_concurrent_streams: Option<u32>,
    pub(crate) h2c_upgrade: Option<H2cUpgrade>,
}

/// `entryPoints.<name>.forwardedHeaders` (Traefik's shape).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawForwardedHeaders {
    #[serde(default, rename = "trustedIPs")]
    pub(crate) trusted_ips: Vec<String>,
    #[serde(default)]
    pub(crate) insecure: bool,
}

/// `entryPoints.<name>.transport` (Traefik's `lifeCycle` and `respondingTimeouts`, wasmgate's
/// `limits`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawEntryPointTransport {
    pub(crate) life_cycle: Option<RawLifeCycle>,
    pub(crate) responding_timeouts: Option<RawRespondingTimeouts>,
    pub(crate) limits: Option<RawEntryPointLimits>,
}

/// `entryPoints.<name>.transport.respondingTimeouts` (Traefik's keys; `0` disables one).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawRespondingTimeouts {
    pub(crate) read_timeout: Option<DurationValue>,
    pub(crate) write_timeout: Option<DurationValue>,
    pub(crate) idle_timeout: Option<DurationValue>,
}

/// `entryPoints.<name>.transport.limits` (wasmgate's; unset keys keep the defaults).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawEntryPointLimits {
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_header_bytes: Option<SizeValue>,
    pub(crate) header_read_timeout: Option<DurationValue>,
    pub(crate) body_read_timeout: Option<DurationValue>,
    pub(crate) h2_max_concurrent_streams: Option<u32>,
    pub(crate) max_body_bytes: Option<SizeValue>,
}

/// `entryPoints.<name>.transport.lifeCycle`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawLifeCycle {
    /// How long in-flight requests may take to finish once shutdown starts (Traefik's
    /// `graceTimeOut`, default 10s).
    pub(crate) grace_time_out: Option<DurationValue>,
    /// How long the entry point keeps accepting and serving as usual once shutdown starts,
    /// while `/ping` answers 503 (Traefik's `requestAcceptGraceTimeout`, default 0).
    pub(crate) request_accept_grace_timeout: Option<DurationValue>,
}

/// `plugins:`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawPlugins {
    pub(crate) directory: Option<String>,
    pub(crate) defaults: Option<RawRuntime>,
    pub(crate) epoch_tick: Option<DurationValue>,
    /// Where pinned plugin files are fetched from.
    pub(crate) store: Option<RawPluginStore>,
}

/// `plugins.store`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawPluginStore {
    pub(crate) url: String,
}

/// `plugins.defaults`; every key optional, unset keys keep the built-in defaults.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawRuntime {
    pub(crate) isolation: Option<Isolation>,
    pub(crate) deadline: Option<DurationValue>,
    pub(crate) memory_limit: Option<SizeValue>,
    pub(crate) max_requests_per_instance: Option<u64>,
    pub(crate) pool_size: Option<usize>,
    pub(crate) fail_open: Option<bool>,
    pub(crate) max_reply_body_size: Option<SizeValue>,
    pub(crate) max_headers: Option<usize>,
    /// Capabilities granted: only in a middleware's `plugin:` (or by a built-in key for its
    /// bundled plugin), never in `plugins.defaults`.
    #[serde(skip)]
    pub(crate) capabilities: Option<Vec<Capability>>,
    /// What the `outbound-http` grant allows: only with it, in a middleware's `plugin:` (or set
    /// by a built-in key for its bundled plugin).
    #[serde(skip)]
    pub(crate) outbound_http: Option<RawOutboundHttp>,
    /// Which bodies the `body` grant covers: only with it, in a middleware's `plugin:` (or set
    /// by a built-in key for its bundled plugin).
    #[serde(skip)]
    pub(crate) body: Option<RawBody>,
}

/// A host capability a middleware's config grants (`capabilities: [counters]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Capability {
    /// The `counters` interface (token buckets shared by the middleware's instances).
    Counters,
    /// The `outbound-http` interface (subrequests to the `outboundHttp` allow-list).
    #[serde(rename = "outbound-http", alias = "outboundHttp")]
    OutboundHttp,
    /// The `body` interface (the request and/or response body, buffered up to a cap).
    Body,
    /// The `compression` interface (response bodies compressed by the host, streamed).
    Compression,
    /// The `kv` interface (counters and values shared by the middleware's instances).
    Kv,
}

/// `plugin.body`: which bodies a middleware granted `body` gets whole, and their caps.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawBody {
    pub(crate) request: Option<RawBodyLimit>,
    pub(crate) response: Option<RawBodyLimit>,
}

/// `plugin.body.request` / `.response`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawBodyLimit {
    /// The most bytes held (default 1 MiB, at most 64 MiB).
    pub(crate) max_bytes: Option<SizeValue>,
    /// `reject` (default: 413 / 500) or `pass` (streamed on unread).
    pub(crate) over_limit: Option<super::model_static::OverLimit>,
}

/// `plugin.outboundHttp`: where a middleware granted `outbound-http` may send subrequests.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawOutboundHttp {
    /// Origins (`http://host:port`, `https://host`); a URL's path is ignored.
    #[serde(default)]
    pub(crate) allow: Vec<String>,
    /// Services of the config, by name.
    #[serde(default)]
    pub(crate) services: Vec<String>,
    /// The longest wait for a whole answer (default and maximum 30 s).
    pub(crate) timeout: Option<DurationValue>,
    /// The largest answer body read (default and maximum 1 MiB).
    pub(crate) max_response_body_size: Option<SizeValue>,
    /// TLS to `https://` origins (`forwardAuth.tls`); the system trust store when unset.
    #[serde(skip)]
    pub(crate) tls: Option<super::model_tls::UpstreamTlsConfig>,
}

/// `log:`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawLog {
    pub(crate) level: Option<String>,
    pub(crate) format: Option<String>,
    pub(crate) file_path: Option<String>,
    pub(crate) no_color: Option<bool>,
    /// Traefik's own rotation (lumberjack): refused, logrotate and `SIGUSR1` do it here.
    pub(crate) max_size: Option<serde_json::Value>,
    pub(crate) max_age: Option<serde_json::Value>,
    pub(crate) max_backups: Option<serde_json::Value>,
    pub(crate) compress: Option<serde_json::Value>,
}

/// `providers:`; only Traefik's file provider.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawProviders {
    pub(crate) file: Option<RawFileProvider>,
    pub(crate) http: Option<super::raw_providers::RawHttpProvider>,
    pub(crate) redis: Option<super::raw_providers::RawKvProvider>,
    pub(crate) etcd: Option<super::raw_providers::RawKvProvider>,
}

/// `providers.file`: exactly one of `filename` / `directory`. `watch` is accepted for Traefik
/// compatibility and has no effect: the gateway always watches its config files (`app::reload`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawFileProvider {
    pub(crate) filename: Option<String>,
    pub(crate) directory: Option<String>,
    #[allow(
        dead_code,
        reason = "accepted for Traefik compatibility; the files are always watched"
    )]
    pub(crate) watch: Option<bool>,
}

/// `http.routers.<name>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawRouter {
    pub(crate) rule: String,
    pub(crate) service: String,
    #[serde(default)]
    pub(crate) entry_points: Vec<String>,
    #[serde(default)]
    pub(crate) middlewares: Vec<String>,
    pub(crate) priority: Option<i64>,
    pub(crate) max_in_flight: Option<usize>,
    pub(crate) tls: Option<super::raw_tls::RawRouterTls>,
    /// `v2` or `v3`, see [`super::rule_syntax`].
    pub(crate) rule_syntax: Option<String>,
    pub(crate) observability: Option<super::model_router_observability::RawObservability>,
}

// Service shapes (`loadBalancer`, `weighted`, `mirroring`, `failover`) are in `service/raw.rs`.

/// `http.serversTransports.<name>`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawServersTransport {
    pub(crate) forwarding_timeouts: Option<RawForwardingTimeouts>,
    pub(crate) max_idle_conns_per_host: Option<usize>,
    pub(crate) max_conns_per_host: Option<usize>,
    pub(crate) server_name: Option<String>,
    pub(crate) insecure_skip_verify: Option<bool>,
    #[serde(default, rename = "rootCAs")]
    pub(crate) root_cas: Vec<String>,
    #[serde(default)]
    pub(crate) certificates: Vec<super::raw_tls::RawCertificate>,
    #[serde(rename = "peerCertURI")]
    pub(crate) peer_cert_uri: Option<String>,
    #[serde(rename = "disableHTTP2")]
    pub(crate) disable_http2: Option<bool>,
}

/// `http.serversTransports.<name>.forwardingTimeouts`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawForwardingTimeouts {
    pub(crate) dial_timeout: Option<DurationValue>,
    pub(crate) response_header_timeout: Option<DurationValue>,
    pub(crate) idle_conn_timeout: Option<DurationValue>,
    pub(crate) read_idle_timeout: Option<DurationValue>,
    pub(crate) ping_timeout: Option<DurationValue>,
}

/// `http.middlewares.<name>.plugin`: a plugin by name, its config, and runtime overrides (the
/// same keys as `plugins.defaults`, listed again because `flatten` cannot be combined with
/// `deny_unknown_fields`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawPluginMiddleware {
    pub(crate) name: String,
    /// Pins the plugin to the file with this SHA-256 (hex).
    pub(crate) sha256: Option<String>,
    pub(crate) config: Option<serde_json::Value>,
    pub(crate) isolation: Option<Isolation>,
    pub(crate) deadline: Option<DurationValue>,
    pub(crate) memory_limit: Option<SizeValue>,
    pub(crate) max_requests_per_instance: Option<u64>,
    pub(crate) pool_size: Option<usize>,
    pub(crate) fail_open: Option<bool>,
    pub(crate) max_reply_body_size: Option<SizeValue>,
    pub(crate) max_headers: Option<usize>,
    /// Host capabilities granted to the plugin (e.g. `[counters]`).
    pub(crate) capabilities: Option<Vec<Capability>>,
    /// The `outbound-http` allow-list.
    pub(crate) outbound_http: Option<RawOutboundHttp>,
    /// The bodies the `body` grant covers.
    pub(crate) body: Option<RawBody>,
    /// Where the `kv` grant's keys live (`{redis: {...}}`), checked by
    /// `rate_limit_redis::take_kv_redis`.
    pub(crate) kv: Option<serde_json::Value>,
}

impl RawPluginMiddleware {
    /// The runtime overrides given with this plugin.
    pub(crate) fn runtime(&self) -> RawRuntime {
        RawRuntime {
            isolation: self.isolation,
            deadline: self.deadline,
            memory_limit: self.memory_limit,
            max_requests_per_instance: self.max_requests_per_instance,
            pool_size: self.pool_size,
            fail_open: self.fail_open,
            max_reply_body_size: self.max_reply_body_size,
            max_headers: self.max_headers,
            capabilities: self.capabilities.clone(),
            outbound_http: self.outbound_http.clone(),
            body: self.body.clone(),
        }
    }
}
