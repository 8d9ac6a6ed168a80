//! The resolved static configuration: entry points, plugin runtime defaults, logging.
//!
//! Built once per load by [`super::load`]; read at start-up. Static config is only read from the
//! main file (dynamic provider files hold `http:` only).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Default plugin call deadline (`plugins.defaults.deadline`).
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(50);
/// Default linear-memory cap per plugin instance (`plugins.defaults.memoryLimit`).
pub const DEFAULT_MEMORY_LIMIT: u64 = 16 * 1024 * 1024;
/// Default number of requests after which a pooled instance is recycled.
pub const DEFAULT_MAX_REQUESTS_PER_INSTANCE: u64 = 10_000;
/// Default number of warm instances kept per middleware.
pub const DEFAULT_POOL_SIZE: usize = 64;
/// Default cap on the body of a reply a plugin answers with (the plugin contract's, which the
/// SDK and the WIT state too).
pub const DEFAULT_MAX_REPLY_BODY_SIZE: usize = plugin_contract::DEFAULT_MAX_REPLY_BODY;
/// Default cap on the header count a plugin may leave on a head or put in a reply (the plugin
/// contract's).
pub const DEFAULT_MAX_HEADERS: usize = plugin_contract::DEFAULT_MAX_HEADERS;
/// Default engine epoch period (`plugins.epochTick`); deadlines are counted in these ticks.
pub const DEFAULT_EPOCH_TICK: Duration = Duration::from_millis(1);
/// Smallest accepted `memoryLimit`: one WebAssembly page.
pub const MIN_MEMORY_LIMIT: u64 = 64 * 1024;

/// Everything outside `http:`: where to listen, how plugins run, how to log.
#[derive(Debug, Clone)]
pub struct StaticConfig {
    /// `entryPoints.<name>`, at least one (checked at load), listen addresses all distinct.
    pub entry_points: BTreeMap<String, EntryPointConfig>,
    pub plugins: PluginsConfig,
    pub log: LogConfig,
    /// `metrics.prometheus`; `None`: no metrics are recorded.
    pub metrics: Option<super::model_observability::PrometheusConfig>,
    /// `accessLog`; `None`: no access log.
    pub access_log: Option<super::model_observability::AccessLogConfig>,
    /// `tracing`; `None`: no spans, no trace-context handling (nothing per request).
    pub tracing: Option<super::model_observability::TracingConfig>,
    /// `api`; `None`: no API, no dashboard (`api@internal` is not defined).
    pub api: Option<super::model_internal::ApiConfig>,
    /// `ping`; `None`: no `/ping` (`ping@internal` is not defined).
    pub ping: Option<super::model_internal::PingConfig>,
    /// `certificatesResolvers.<name>.acme`, by resolver name.
    pub certificate_resolvers: BTreeMap<String, super::model_acme::AcmeResolverConfig>,
    /// `providers.http`, `providers.redis`, `providers.etcd` (`providers.file` is read by the
    /// loader itself).
    pub providers: super::model_providers::ProvidersConfig,
    /// Entry points whose address ends in `/udp`; only UDP routers use them (not in
    /// `entry_points`).
    pub udp_entry_points: BTreeMap<String, super::model_udp::UdpEntryPointConfig>,
}

/// `entryPoints.<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPointConfig {
    /// From `address`: `"127.0.0.1:8080"`, `"[::1]:8080"`, or `":8080"` meaning `0.0.0.0:8080`
    /// (a Traefik-style `/tcp` suffix is accepted).
    pub address: SocketAddr,
    /// `transport.lifeCycle.graceTimeOut`: how long in-flight requests may run after SIGTERM
    /// before the listener's connections are closed. Default 10 s, as in Traefik.
    pub grace_timeout: std::time::Duration,
    /// `transport.lifeCycle.requestAcceptGraceTimeout`: once shutdown starts, the entry point
    /// keeps accepting and serving this long (load balancers see `/ping` go 503 and move
    /// away) before it stops accepting and drains. Zero by default.
    pub accept_grace: std::time::Duration,
    /// `transport.limits`: connection and request-head limits of this entrypoint.
    pub limits: EntryPointLimits,
    /// `forwardedHeaders`: whose `X-Forwarded-*` headers are kept.
    pub forwarded: ForwardedHeadersConfig,
    /// `proxyProtocol`: who may send a PROXY protocol header (v1 or v2) naming the client;
    /// `None`: headers are not read (a client's bytes are its own).
    pub proxy_protocol: Option<ForwardedHeadersConfig>,
    /// `http.encodedCharacters`: which ambiguous escapes the request path may hold.
    pub encoded_characters: EncodedCharacters,
    /// `http.tls`: every router on this entrypoint without a `tls` of its own gets this one.
    pub tls: Option<super::model_tls::RouterTlsConfig>,
    /// `http.redirections.entryPoint`: a router redirecting every request of this entrypoint
    /// (see `config::entry_point_http`).
    pub redirect: Option<EntryPointRedirect>,
    /// `asDefault`: routers without `entryPoints` are attached to the entry points that say
    /// so; when none does, to every entry point but `traefik` (Traefik's rule).
    pub as_default: bool,
    /// `reusePort`: the listener sets `SO_REUSEPORT`, so several gateway processes can listen
    /// on this port at once (the kernel spreads new connections between them).
    pub reuse_port: bool,
    /// `http.middlewares`: put in front of the middlewares of every router on this entrypoint
    /// (`@file` suffixes kept as written; resolved at load).
    pub middlewares: Vec<String>,
    /// `transparent`: connections redirected here by iptables keep their original
    /// destination, and their protocol is detected; `None`: a normal entrypoint.
    pub transparent: Option<TransparentConfig>,
    /// `observability`: what the routers on this entrypoint without their own `observability`
    /// produce, and what a request matching no router produces.
    pub observability: super::model_router_observability::ObservabilityFlags,
}

/// A resolved `http.redirections.entryPoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPointRedirect {
    /// `to` as written: an entrypoint name, or `:port`.
    pub to: String,
    /// The port the client is sent to: `to`'s own, or that of the entrypoint it names (filled
    /// in once every entrypoint is read).
    pub port: Option<u16>,
    pub scheme: String,
    pub permanent: bool,
    pub priority: i64,
}

/// `entryPoints.<name>.transparent`: a mesh sidecar's inbound or outbound listener. Each
/// connection's original destination (`SO_ORIGINAL_DST`, before iptables `REDIRECT`) is read
/// for `OriginalDst` / `OriginalDstPort` rules and `passthrough` services, and its protocol is
/// detected from its first bytes (TLS, HTTP/1.x, h2c, else opaque TCP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransparentConfig {
    /// `detectTimeout`: how long to wait for the client's first bytes before taking the
    /// connection as opaque TCP (a protocol where the server speaks first). Default 1 s.
    pub detect_timeout: std::time::Duration,
    /// `opaquePorts`: original destination ports whose connections skip detection and go to
    /// the plain TCP routers at once.
    pub opaque_ports: Vec<u16>,
    /// `tproxy`: connections arrive by iptables `TPROXY` instead of `REDIRECT`: the listener
    /// is opened with `IP_TRANSPARENT` (needs `CAP_NET_ADMIN`), and a connection's original
    /// destination is its own local address (nothing was rewritten). Default false.
    pub tproxy: bool,
}

/// [`TransparentConfig::detect_timeout`] when not set.
pub const DEFAULT_DETECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Traefik's `encodedCharacters` options: which percent-encoded reserved characters a request
/// path may hold (a refused one answers 400). On an entrypoint (`http.encodedCharacters`) an
/// absent option takes [`EncodedCharacters::ENTRYPOINT_DEFAULT`]; in the per-router
/// `encodedCharacters` middleware an absent option is `false`, as in Traefik.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodedCharacters {
    pub allow_encoded_slash: bool,
    pub allow_encoded_back_slash: bool,
    pub allow_encoded_null_character: bool,
    pub allow_encoded_semicolon: bool,
    pub allow_encoded_percent: bool,
    pub allow_encoded_question_mark: bool,
    pub allow_encoded_hash: bool,
}

impl EncodedCharacters {
    /// An entrypoint's default: `%2F`, `%5C` and `%00` refused (an upstream may read them as a
    /// separator or a string end: the split views behind most route bypasses), `%3B`, `%25`,
    /// `%3F` and `%23` allowed (Traefik v3.6 allows all seven by default).
    pub const ENTRYPOINT_DEFAULT: EncodedCharacters = EncodedCharacters {
        allow_encoded_slash: false,
        allow_encoded_back_slash: false,
        allow_encoded_null_character: false,
        allow_encoded_semicolon: true,
        allow_encoded_percent: true,
        allow_encoded_question_mark: true,
        allow_encoded_hash: true,
    };
}

/// Traefik's `forwardedHeaders`: clients whose `X-Forwarded-*` / `X-Real-Ip` are kept (and
/// `X-Forwarded-For` appended to); from anyone else they are replaced. Default: trust nobody.
/// The same keys name who may send a PROXY protocol header (`proxyProtocol`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardedHeadersConfig {
    /// `trustedIPs`: addresses or CIDR ranges.
    pub trusted: Vec<ipnet::IpNet>,
    /// `insecure`: trust every client.
    pub insecure: bool,
}

impl ForwardedHeadersConfig {
    /// Whether a client at `ip` may speak for the hops before it.
    pub fn trusts(&self, ip: std::net::IpAddr) -> bool {
        self.insecure || self.trusted.iter().any(|net| net.contains(&ip))
    }
}

/// Protocol limits of an entrypoint (`transport.limits`), with safe defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPointLimits {
    /// `maxConnections`, default 10 000: beyond it, new connections get 503 and are closed.
    pub max_connections: usize,
    /// `maxHeaderBytes`, default 64 KiB (minimum 8 KiB): larger request heads get 431.
    pub max_header_bytes: usize,
    /// `headerReadTimeout`, default 10 s: a client slower to send its request head is
    /// disconnected (slowloris).
    pub header_read_timeout: std::time::Duration,
    /// `h2MaxConcurrentStreams`, default 250.
    pub h2_max_concurrent_streams: u32,
    /// `maxBodyBytes`: larger request bodies get 413. Default none (as Traefik).
    pub max_body_bytes: Option<u64>,
    /// `bodyReadTimeout`, default 30 s: longest pause between two pieces of a request body;
    /// then the request fails with 408 and the connection closes. `0` disables it.
    pub body_read_timeout: Option<Duration>,
    /// `respondingTimeouts.readTimeout` (Traefik's key and default, 60 s): the whole request
    /// body must have arrived this long after its head; then 408 and close. `0` disables it.
    pub read_timeout: Option<Duration>,
    /// `respondingTimeouts.writeTimeout` (Traefik's key; default 0 = none, as Traefik, so
    /// long downloads, streams and WebSockets are not cut): the overall request deadline,
    /// counted from the request head. A response head not ready by then is answered with 504;
    /// a response body still streaming is aborted.
    pub write_timeout: Option<Duration>,
    /// `http2.h2cUpgrade`: what to do with an HTTP/1.1 `Upgrade: h2c` request.
    pub h2c_upgrade: H2cUpgrade,
    /// `respondingTimeouts.idleTimeout` (Traefik's key and default, 180 s): a client connection
    /// with no bytes in either direction for this long (found idle up to an eighth of it later)
    /// is closed gracefully (an idle keep-alive connection at once; a request in flight may
    /// finish first). `0` disables it.
    pub idle_timeout: Option<Duration>,
}

/// Default `bodyReadTimeout`.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Traefik v3's default `respondingTimeouts.readTimeout`.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Traefik's default `respondingTimeouts.idleTimeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(180);

impl Default for EntryPointLimits {
    fn default() -> Self {
        EntryPointLimits {
            max_connections: 10_000,
            max_header_bytes: 64 << 10,
            header_read_timeout: std::time::Duration::from_secs(10),
            h2_max_concurrent_streams: 250,
            max_body_bytes: None,
            body_read_timeout: Some(DEFAULT_BODY_READ_TIMEOUT),
            read_timeout: Some(DEFAULT_READ_TIMEOUT),
            write_timeout: None,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            h2c_upgrade: H2cUpgrade::Reject,
        }
    }
}

/// Traefik's default `graceTimeOut`.
pub const DEFAULT_GRACE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `plugins:`.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginsConfig {
    /// `directory`: `*.wasm` files there add to or override the bundled plugins. Relative paths
    /// are joined onto the directory of the config file (so it stays relative when the config
    /// path was). Not checked for existence here; the plugin loader reads it.
    pub directory: Option<PathBuf>,
    /// `defaults`: the runtime settings every middleware starts from.
    pub defaults: PluginRuntimeConfig,
    /// `epochTick` (default 1 ms): the engine epoch period used for deadlines. A runaway call is
    /// stopped within `max(epochTick, deadline / 8)` after its deadline (`plugins::epoch_ticker`).
    pub epoch_tick: Duration,
    /// Static `experimental.localPlugins`: plugin name -> its Traefik plugin directory
    /// (`plugins-local/src/<moduleName>` next to the main file).
    pub local_plugins: Vec<(String, PathBuf)>,
    /// `store.url`: an HTTP plugin store that pinned plugin files (`plugin.sha256`) are
    /// fetched from, as `<url>/<sha256>.wasm`.
    pub store: Option<String>,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            directory: None,
            defaults: PluginRuntimeConfig::default(),
            epoch_tick: DEFAULT_EPOCH_TICK,
            local_plugins: Vec::new(),
            store: None,
        }
    }
}

/// How one middleware's plugin runs: `plugins.defaults`, overridden per middleware under
/// `plugin:`. Keys are camelCase in YAML (`memoryLimit`, `failOpen`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct PluginRuntimeConfig {
    /// `isolation`, default [`Isolation::Pooled`].
    pub isolation: Isolation,
    /// `deadline` per hook call, default 50 ms; never shorter than `plugins.epochTick`.
    pub deadline: Duration,
    /// `memoryLimit` in bytes, default 16 MiB; at least 64 KiB.
    pub memory_limit: u64,
    /// `maxRequestsPerInstance`, default 10 000; at least 1.
    pub max_requests_per_instance: u64,
    /// `poolSize`: max warm instances kept, default 64; at least 1.
    pub pool_size: usize,
    /// `failOpen`, default false: on a plugin failure pass the request on instead of a 500.
    pub fail_open: bool,
    /// `maxReplyBodySize` in bytes, default 64 KiB.
    pub max_reply_body_size: usize,
    /// `maxHeaders`, default 100; at least 1.
    pub max_headers: usize,
    /// `capabilities: [counters]` (or a built-in key whose bundled plugin needs it): the
    /// middleware may use the `counters` import. Default false.
    pub counters: bool,
    /// `capabilities: [outbound-http]` with `outboundHttp` (or Traefik's `forwardAuth`, for its
    /// address): where the middleware may send subrequests. Default none.
    pub outbound: Option<OutboundHttpConfig>,
    /// `capabilities: [body]` with `body` (or Traefik's `buffering`): which bodies the
    /// middleware gets whole, and their caps. Default none.
    pub body: Option<BodyConfig>,
    /// `capabilities: [compression]` (or Traefik's `compress`): the middleware may ask for its
    /// responses to be compressed. Default false.
    pub compression: bool,
    /// `capabilities: [kv]` (or Traefik's `circuitBreaker`): the middleware may use its `kv`
    /// store.
    pub kv: bool,
    /// Traefik's `rateLimit.redis`: the middleware's token buckets live in this Redis instead
    /// of in process. Default none.
    pub counters_redis: Option<super::rate_limit_redis::CountersRedisConfig>,
    /// `plugin.kv.redis`: the middleware's `kv` keys live in this Redis instead of in process
    /// (`denyOnError` refused: a failure is the plugin's `backend` error). Default none.
    pub kv_redis: Option<super::rate_limit_redis::CountersRedisConfig>,
    /// The longest an in-process `counters.take` may make a request wait for its tokens
    /// instead of refusing it (Traefik's `rateLimit` delays up to 1/(2·rate), at most 500 ms;
    /// set for its bundled plugin only). Default zero: a short bucket refuses at once.
    pub counters_max_wait: Duration,
}

/// The most a `body` grant may hold of one body (`body.*.maxBytes`).
pub const MAX_BODY_GRANT_BYTES: u64 = 64 << 20;

/// The default `body.*.maxBytes`.
pub const DEFAULT_BODY_GRANT_BYTES: u64 = 1 << 20;

/// What a `body` grant covers, as written (checked in `plugin_runtime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BodyConfig {
    pub request: Option<BodyLimitConfig>,
    pub response: Option<BodyLimitConfig>,
}

/// One body's cap and what happens beyond it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimitConfig {
    pub max_bytes: u64,
    pub over_limit: OverLimit,
}

/// `body.*.overLimit`: what happens to a body over its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum OverLimit {
    /// 413 for a request body, 502 for a response body.
    #[default]
    Reject,
    /// Streamed on unread.
    Pass,
}

/// What an `outbound-http` grant allows, as written (origins are checked where the grant is
/// built, `app::build`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundHttpConfig {
    /// `outboundHttp.allow`: origins.
    pub allow: Vec<String>,
    /// `outboundHttp.services`: service names.
    pub services: Vec<String>,
    /// `outboundHttp.timeout`; `None`: 30 s.
    pub timeout: Option<Duration>,
    /// `outboundHttp.maxResponseBodySize`; `None`: 1 MiB.
    pub max_response_body_size: Option<u64>,
    /// TLS to `https://` origins (Traefik's `forwardAuth.tls`); `None`: the system trust store.
    pub tls: Option<super::model_tls::UpstreamTlsConfig>,
}

impl Default for PluginRuntimeConfig {
    fn default() -> Self {
        PluginRuntimeConfig {
            isolation: Isolation::Pooled,
            deadline: DEFAULT_DEADLINE,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            max_requests_per_instance: DEFAULT_MAX_REQUESTS_PER_INSTANCE,
            pool_size: DEFAULT_POOL_SIZE,
            fail_open: false,
            max_reply_body_size: DEFAULT_MAX_REPLY_BODY_SIZE,
            max_headers: DEFAULT_MAX_HEADERS,
            counters: false,
            outbound: None,
            body: None,
            compression: false,
            kv: false,
            counters_redis: None,
            kv_redis: None,
            counters_max_wait: Duration::ZERO,
        }
    }
}

/// `entryPoints.<name>.http2.h2cUpgrade: reject | ignore`. The gateway never performs an h2c
/// upgrade (RFC 9113 deprecates it, and a proxy that relays one lets a client tunnel past every
/// router rule: "h2c smuggling"); HTTP/2 over cleartext is served with prior knowledge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum H2cUpgrade {
    /// Answer 400 and close (the default: the request is not served).
    #[default]
    Reject,
    /// Serve the request over HTTP/1.1 as if the upgrade had not been asked for (RFC 9110 §7.8
    /// lets a server ignore `Upgrade`), as nginx and Envoy do; `Upgrade` and `HTTP2-Settings`
    /// are hop-by-hop and never reach the upstream. For clients such as `curl --http2`.
    Ignore,
}

/// `isolation: pooled | per-request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// Warm, already-configured instances, one request at a time each; recycled after
    /// `maxRequestsPerInstance`, discarded after any failure.
    Pooled,
    /// A fresh instance for every request: no request can observe another's data.
    PerRequest,
}

/// `log:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `level`: one of trace, debug, info, warn, error (any case in YAML; stored lowercase;
    /// Traefik's `fatal` and `panic` are `error`). Default "info".
    pub level: String,
    /// `format: json`: one JSON object per line; `common` (the default): text lines.
    pub json: bool,
    /// `filePath` (relative to the main file's directory): the log goes there instead of
    /// standard error, reopened on `SIGUSR1` (logrotate).
    pub file_path: Option<PathBuf>,
    /// `noColor`: no ANSI colours in text lines (a file never gets them).
    pub no_color: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_string(),
            json: false,
            file_path: None,
            no_color: false,
        }
    }
}

impl StaticConfig {
    /// The signals (`flags`) of a router that sends its requests to `service`: an internal
    /// one (`api@internal`, `ping@internal`, `prometheus@internal`...) produces each only where
    /// its section says `addInternals`, as in Traefik; any other keeps them.
    pub fn signals_for_service(
        &self,
        flags: super::ObservabilityFlags,
        service: &str,
    ) -> super::ObservabilityFlags {
        if !service.ends_with("@internal") {
            return flags;
        }
        super::ObservabilityFlags {
            access_logs: flags.access_logs
                && self.access_log.as_ref().is_some_and(|l| l.add_internals),
            metrics: flags.metrics && self.metrics.as_ref().is_some_and(|m| m.add_internals),
            tracing: flags.tracing && self.tracing.as_ref().is_some_and(|t| t.add_internals),
            ..flags
        }
    }
}
