//! Resolves the static part of the main file: `entryPoints`, `providers`, `plugins`, `log`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use super::listen_address::{addresses_clash, parse_listen_address};
use std::path::{Path, PathBuf};

use super::model_static::{
    EncodedCharacters, EntryPointConfig, LogConfig, PluginsConfig, StaticConfig,
};
use super::paths::join_clean;
use super::plugin_runtime::apply_runtime;
use super::raw::{RawEntryPoint, RawLog, RawPlugins, RawProviders};
use crate::yaml::report::Reporter;
use crate::yaml::tree::{Entry, Node, Resolved, Seg, Value};

/// Top-level keys of the main file.
pub(crate) const STATIC_KEYS: &[&str] = &[
    "entryPoints",
    "providers",
    "plugins",
    "log",
    "metrics",
    "accessLog",
    "tracing",
    "api",
    "ping",
    "experimental",
    "core",
    "global",
    "serversTransport",
    "certificatesResolvers",
];
const MAIN_KEYS: &str = "entryPoints, providers, plugins, log, metrics, accessLog, tracing, api, ping, \
     experimental, core, global, serversTransport, certificatesResolvers, http, tcp, udp, tls";
const MAIN_KEY_NAMES: &[&str] = &[
    "entryPoints",
    "providers",
    "plugins",
    "log",
    "metrics",
    "accessLog",
    "api",
    "ping",
    "experimental",
    "core",
    "global",
    "serversTransport",
    "certificatesResolvers",
    "http",
    "tcp",
    "udp",
    "tls",
];
const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];

/// Where `providers.file` points, resolved against the main file's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileProvider {
    File(PathBuf),
    Directory(PathBuf),
}

/// The static config plus what the rest of the load needs from it.
#[derive(Debug)]
pub(crate) struct StaticParts {
    pub(crate) config: StaticConfig,
    /// Every entry point name written, valid or not (so a bad address does not also make every
    /// router that names it fail), UDP ones aside.
    pub(crate) entry_point_names: BTreeSet<String>,
    /// Every UDP entry point name (address ending in `/udp`), valid or not.
    pub(crate) udp_entry_point_names: BTreeSet<String>,
    pub(crate) provider: Option<FileProvider>,
    /// Every `certificatesResolvers` name written, valid or not (routers naming an invalid
    /// one get only its own errors).
    pub(crate) resolver_names: BTreeSet<String>,
    /// `core.defaultRuleSyntax`: the syntax of routers without a `ruleSyntax` of their own.
    pub(crate) default_rule_syntax: super::rule_syntax::RuleSyntax,
    /// `providers.http`, `.redis`, `.etcd` as written; resolved by the loader
    /// (`super::resolve_providers`).
    pub(crate) control_planes: (
        Option<super::raw_providers::RawHttpProvider>,
        Option<super::raw_providers::RawKvProvider>,
        Option<super::raw_providers::RawKvProvider>,
    ),
    /// `tracing` as written (`Some(None)`: the key with no value); resolved by the loader
    /// (`super::resolve_tracing`).
    pub(crate) tracing: Option<Option<super::raw_tracing::RawTracing>>,
}

/// `global:` (Traefik's update check and anonymous usage statistics): read and ignored, since
/// wasmgate never calls home.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawGlobal {
    #[allow(
        dead_code,
        reason = "accepted for Traefik files; nothing to switch off"
    )]
    check_new_version: Option<bool>,
    #[allow(
        dead_code,
        reason = "accepted for Traefik files; nothing to switch off"
    )]
    send_anonymous_usage: Option<bool>,
}

/// `core:` (Traefik's static `core` section).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawCore {
    default_rule_syntax: Option<String>,
}

/// The entries of a mapping node; `None` (after reporting) when it is not a mapping. A null
/// value (`key:` with nothing after it) counts as an empty mapping.
pub(crate) fn entries_of<'n>(
    reporter: &mut Reporter<'_>,
    file: usize,
    node: &'n Node,
    path: &[Seg],
    line: usize,
) -> Option<&'n [Entry]> {
    match &node.value {
        Value::Map(entries) => Some(entries),
        Value::Scalar(scalar) if scalar.resolve() == Resolved::Null => Some(&[]),
        _ => {
            reporter.exact(file, path, Some(line), "expected a mapping");
            None
        }
    }
}

fn key(name: &str) -> Seg {
    Seg::Key(name.to_string())
}

/// Resolves the static keys of file 0 (the main file), reporting unknown top-level keys.
pub(crate) fn resolve_static(reporter: &mut Reporter<'_>, main_dir: &Path) -> StaticParts {
    let mut parts = StaticParts {
        config: StaticConfig {
            entry_points: BTreeMap::new(),
            plugins: PluginsConfig::default(),
            log: LogConfig::default(),
            metrics: None,
            access_log: None,
            tracing: None,
            api: None,
            ping: None,
            certificate_resolvers: BTreeMap::new(),
            providers: super::model_providers::ProvidersConfig::default(),
            udp_entry_points: BTreeMap::new(),
        },
        entry_point_names: BTreeSet::new(),
        udp_entry_point_names: BTreeSet::new(),
        provider: None,
        default_rule_syntax: super::rule_syntax::RuleSyntax::default(),
        resolver_names: BTreeSet::new(),
        control_planes: (None, None, None),
        tracing: None,
    };
    let sources = reporter.sources;
    let entries = match sources.root(0) {
        Some(root) => entries_of(reporter, 0, root, &[], root.line).unwrap_or(&[]),
        None => &[],
    };
    let mut raw_plugins = RawPlugins::default();
    let mut plugins_given = false;
    let mut raw_metrics = None;
    let mut raw_ping = None;
    let mut local_plugins = Vec::new();
    let mut raw_resolvers = None;
    for entry in entries {
        let path = [entry.key.as_str()];
        // Top-level keys match in any case, as Traefik reads them.
        let folded = crate::yaml::case_fold::field_for(&entry.key, MAIN_KEY_NAMES);
        match folded.unwrap_or(entry.key.as_str()) {
            "entryPoints" => resolve_entry_points(reporter, entry, &mut parts),
            "providers" => {
                if let Some(mut raw) =
                    reporter.parse::<RawProviders>(0, &entry.value, &path, entry.line)
                {
                    parts.control_planes = (raw.http.take(), raw.redis.take(), raw.etcd.take());
                    parts.provider = resolve_provider(reporter, raw, main_dir);
                }
            }
            "plugins" => {
                if let Some(raw) = reporter.parse::<RawPlugins>(0, &entry.value, &path, entry.line)
                {
                    raw_plugins = raw;
                    plugins_given = true;
                }
            }
            "log" => {
                if let Some(raw) = reporter.parse::<RawLog>(0, &entry.value, &path, entry.line) {
                    parts.config.log = resolve_log(reporter, raw, main_dir);
                }
            }
            "experimental" => {
                if let Some(raw) = reporter.parse(0, &entry.value, &path, entry.line) {
                    local_plugins =
                        super::experimental::resolve_experimental(reporter, raw, main_dir);
                }
            }
            "metrics" => {
                raw_metrics = reporter.parse(0, &entry.value, &path, entry.line);
            }
            "accessLog" => {
                if let Some(raw) = reporter.parse(0, &entry.value, &path, entry.line) {
                    parts.config.access_log = Some(
                        super::resolve_observability::resolve_access_log(reporter, raw, main_dir),
                    );
                }
            }
            "tracing" => {
                // `tracing:` with no value (null) is tracing on with every default.
                if let Some(raw) = reporter.parse(0, &entry.value, &path, entry.line) {
                    parts.tracing = Some(raw);
                }
            }
            "api" => {
                if let Some(raw) = reporter.parse(0, &entry.value, &path, entry.line) {
                    parts.config.api = Some(super::resolve_internal::resolve_api(reporter, raw));
                }
            }
            "ping" => raw_ping = reporter.parse(0, &entry.value, &path, entry.line),
            "certificatesResolvers" => raw_resolvers = Some(entry),
            "global" => {
                let _ = reporter.parse::<RawGlobal>(0, &entry.value, &path, entry.line);
            }
            "core" => {
                if let Some(raw) = reporter.parse::<RawCore>(0, &entry.value, &path, entry.line) {
                    parts.default_rule_syntax = super::rule_syntax::RuleSyntax::resolve_default(
                        reporter,
                        raw.default_rule_syntax.as_deref(),
                    );
                }
            }
            // Dynamic configuration, resolved by `resolve_dynamic` / `resolve_tls`; the static
            // `serversTransport` too (it becomes `default@internal` among the transports).
            "http" | "tcp" | "udp" | "tls" | "serversTransport" => {}
            other => reporter.exact(
                0,
                &[key(other)],
                Some(entry.line),
                format!("unknown key \"{other}\" (allowed: {MAIN_KEYS})"),
            ),
        }
    }
    if let Some(raw) = raw_metrics {
        // After the entry points: `metrics.prometheus.entryPoint` must name one.
        parts.config.metrics =
            super::resolve_observability::resolve_metrics(reporter, raw, &parts.entry_point_names);
    }
    if let Some(raw) = raw_ping {
        // After the entry points: `ping.entryPoint` must name one.
        parts.config.ping = Some(super::resolve_internal::resolve_ping(
            reporter,
            raw,
            &parts.entry_point_names,
        ));
    }
    if let Some(entry) = raw_resolvers {
        // After the entry points: `httpChallenge.entryPoint` must name one.
        resolve_resolvers(reporter, entry, main_dir, &mut parts);
    }
    super::resolve_internal::check_api_entry_point(
        reporter,
        parts.config.api.as_ref(),
        &parts.entry_point_names,
    );
    if plugins_given {
        parts.config.plugins = resolve_plugins(reporter, raw_plugins, main_dir);
    }
    parts.config.plugins.local_plugins = local_plugins;
    if parts.entry_point_names.is_empty() && parts.udp_entry_point_names.is_empty() {
        reporter.at(0, &["entryPoints"], "at least one entry point is required");
    }
    parts
}

/// `certificatesResolvers.<name>`: each parsed and resolved (`resolve_acme`).
fn resolve_resolvers(
    reporter: &mut Reporter<'_>,
    entry: &Entry,
    main_dir: &Path,
    parts: &mut StaticParts,
) {
    let path = [key(&entry.key)];
    let Some(entries) = entries_of(reporter, 0, &entry.value, &path, entry.line) else {
        return;
    };
    for resolver in entries {
        parts.resolver_names.insert(resolver.key.clone());
        let at = ["certificatesResolvers", resolver.key.as_str()];
        let Some(raw) = reporter.parse(0, &resolver.value, &at, resolver.line) else {
            continue;
        };
        let names = &parts.entry_point_names;
        let resolved =
            super::resolve_acme::resolve_resolver(reporter, &resolver.key, raw, main_dir, names);
        if let Some(config) = resolved {
            let resolvers = &mut parts.config.certificate_resolvers;
            resolvers.insert(resolver.key.clone(), config);
        }
    }
}

fn resolve_entry_points(reporter: &mut Reporter<'_>, entry: &Entry, parts: &mut StaticParts) {
    let path = [key("entryPoints")];
    let Some(entries) = entries_of(reporter, 0, &entry.value, &path, entry.line) else {
        return;
    };
    // In source order, so a clash is reported on the second entry point.
    let mut seen: Vec<(SocketAddr, &str)> = Vec::new();
    let mut seen_udp: Vec<(SocketAddr, String)> = Vec::new();
    for ep in entries {
        parts.entry_point_names.insert(ep.key.clone());
        let key_path = ["entryPoints", ep.key.as_str()];
        let Some(raw) = reporter.parse::<RawEntryPoint>(0, &ep.value, &key_path, ep.line) else {
            continue;
        };
        if super::entry_point_udp::udp_address(&raw.address).is_some() {
            // A UDP entry point: only UDP routers may name it.
            parts.entry_point_names.remove(&ep.key);
            parts.udp_entry_point_names.insert(ep.key.clone());
            let resolved = super::entry_point_udp::resolve_udp_entry_point(
                reporter,
                &ep.key,
                raw,
                &mut seen_udp,
            );
            if let Some(udp) = resolved {
                parts.config.udp_entry_points.insert(ep.key.clone(), udp);
            }
            continue;
        }
        super::entry_point_udp::refuse_udp_on_tcp(reporter, &ep.key, &raw);
        let address_path = ["entryPoints", ep.key.as_str(), "address"];
        let address = match parse_listen_address(&raw.address) {
            Ok(address) => address,
            Err(reason) => {
                let reason = format!("invalid address \"{}\": {reason}", raw.address);
                reporter.at(0, &address_path, reason);
                continue;
            }
        };
        if let Some((_, other)) = seen
            .iter()
            .find(|(used, _)| addresses_clash(*used, address))
        {
            let reason = format!("address {address} is already used by entry point \"{other}\"");
            reporter.at(0, &address_path, reason);
            continue;
        }
        seen.push((address, ep.key.as_str()));
        let forwarded = raw
            .forwarded_headers
            .map(|raw_fwd| trusted_senders(reporter, &ep.key, "forwardedHeaders", raw_fwd))
            .unwrap_or_default();
        let proxy_protocol = raw
            .proxy_protocol
            .map(|raw_pp| trusted_senders(reporter, &ep.key, "proxyProtocol", raw_pp));
        let transport = raw.transport.unwrap_or_default();
        let life_cycle = transport.life_cycle.unwrap_or_default();
        let grace_timeout = life_cycle
            .grace_time_out
            .map_or(super::model_static::DEFAULT_GRACE_TIMEOUT, |d| d.0);
        let accept_grace = life_cycle
            .request_accept_grace_timeout
            .map_or(std::time::Duration::ZERO, |d| d.0);
        let mut limits = super::model_static::EntryPointLimits::default();
        if let Some(raw_limits) = transport.limits {
            let limits_path = ["entryPoints", ep.key.as_str(), "transport", "limits"];
            if let Some(n) = raw_limits.max_connections {
                if n == 0 {
                    reporter.at(0, &limits_path, "maxConnections must be at least 1");
                }
                limits.max_connections = n.max(1);
            }
            if let Some(size) = raw_limits.max_header_bytes {
                let bytes = usize::try_from(size.0).unwrap_or(usize::MAX);
                if bytes < 8 << 10 {
                    reporter.at(0, &limits_path, "maxHeaderBytes must be at least 8KiB");
                }
                limits.max_header_bytes = bytes.max(8 << 10);
            }
            if let Some(d) = raw_limits.header_read_timeout {
                limits.header_read_timeout = d.0;
            }
            if let Some(n) = raw_limits.h2_max_concurrent_streams {
                limits.h2_max_concurrent_streams = n;
            }
            limits.max_body_bytes = raw_limits.max_body_bytes.map(|s| s.0);
            if let Some(d) = raw_limits.body_read_timeout {
                limits.body_read_timeout = nonzero(d.0);
            }
        }
        if let Some(http2) = raw.http2 {
            if let Some(n) = http2.max_concurrent_streams {
                limits.h2_max_concurrent_streams = n;
            }
            if let Some(mode) = http2.h2c_upgrade {
                limits.h2c_upgrade = mode;
            }
        }
        if let Some(timeouts) = transport.responding_timeouts {
            if let Some(d) = timeouts.read_timeout {
                limits.read_timeout = nonzero(d.0);
            }
            if let Some(d) = timeouts.write_timeout {
                limits.write_timeout = nonzero(d.0);
            }
            if let Some(d) = timeouts.idle_timeout {
                limits.idle_timeout = nonzero(d.0);
            }
        }
        let http = raw.http.unwrap_or_default();
        if let Some(size) = http.max_header_bytes {
            let bytes = usize::try_from(size.0).unwrap_or(usize::MAX);
            if bytes < 8 << 10 {
                let at = ["entryPoints", ep.key.as_str(), "http", "maxHeaderBytes"];
                reporter.at(0, &at, "must be at least 8KiB");
            }
            limits.max_header_bytes = bytes.max(8 << 10);
        }
        let (encoded_characters, tls) = (http.encoded_characters, http.tls);
        let redirect = http
            .redirections
            .and_then(|raw| super::entry_point_http::resolve_redirections(reporter, &ep.key, raw));
        let tls = tls.map(super::router_tls::resolve_router_tls);
        parts.config.entry_points.insert(
            ep.key.clone(),
            EntryPointConfig {
                address,
                grace_timeout,
                accept_grace,
                limits,
                forwarded,
                proxy_protocol,
                encoded_characters: encoded_characters
                    .map_or(EncodedCharacters::ENTRYPOINT_DEFAULT, |raw| {
                        raw.over(EncodedCharacters::ENTRYPOINT_DEFAULT)
                    }),
                tls,
                redirect,
                as_default: raw.as_default.unwrap_or(false),
                reuse_port: raw.reuse_port.unwrap_or(false),
                middlewares: http.middlewares,
                transparent: raw
                    .transparent
                    .map(|t| super::model_static::TransparentConfig {
                        detect_timeout: t
                            .detect_timeout
                            .map_or(super::model_static::DEFAULT_DETECT_TIMEOUT, |d| d.0),
                        opaque_ports: t.opaque_ports.unwrap_or_default(),
                        tproxy: t.tproxy.unwrap_or(false),
                    }),
                observability: raw.observability.map(|o| o.resolve()).unwrap_or_default(),
            },
        );
    }
    super::entry_point_http::resolve_redirect_ports(reporter, &mut parts.config.entry_points);
}

/// A configured timeout: `0` means "none", as in Traefik.
fn nonzero(d: std::time::Duration) -> Option<std::time::Duration> {
    (!d.is_zero()).then_some(d)
}

fn resolve_provider(
    reporter: &mut Reporter<'_>,
    raw: RawProviders,
    main_dir: &Path,
) -> Option<FileProvider> {
    let file = raw.file?;
    match (file.filename, file.directory) {
        (Some(filename), None) => Some(FileProvider::File(join_clean(main_dir, &filename))),
        (None, Some(directory)) => Some(FileProvider::Directory(join_clean(main_dir, &directory))),
        (Some(_), Some(_)) => {
            reporter.at(
                0,
                &["providers", "file"],
                "set either \"filename\" or \"directory\", not both",
            );
            None
        }
        (None, None) => {
            reporter.at(
                0,
                &["providers", "file"],
                "needs \"filename\" or \"directory\"",
            );
            None
        }
    }
}

fn resolve_plugins(reporter: &mut Reporter<'_>, raw: RawPlugins, main_dir: &Path) -> PluginsConfig {
    let mut plugins = PluginsConfig {
        directory: raw.directory.map(|dir| join_clean(main_dir, &dir)),
        ..PluginsConfig::default()
    };
    if let Some(store) = raw.store {
        let url = store.url.trim().trim_end_matches('/').to_string();
        if (url.starts_with("http://") || url.starts_with("https://"))
            && url.parse::<http::Uri>().is_ok()
        {
            plugins.store = Some(url);
        } else {
            let reason = format!("\"{url}\" is not an http:// or https:// URL");
            reporter.at(0, &["plugins", "store", "url"], reason);
        }
    }
    if let Some(tick) = raw.epoch_tick {
        if tick.0.is_zero() {
            reporter.at(0, &["plugins", "epochTick"], "must be greater than 0");
        } else {
            plugins.epoch_tick = tick.0;
        }
    }
    let defaults = raw.defaults.unwrap_or_default();
    plugins.defaults = apply_runtime(
        reporter,
        0,
        &["plugins", "defaults"],
        &plugins.defaults,
        &defaults,
        plugins.epoch_tick,
    );
    if defaults.deadline.is_none() && plugins.defaults.deadline < plugins.epoch_tick {
        let reason = format!(
            "{:?} is longer than the default plugin deadline ({:?})",
            plugins.epoch_tick, plugins.defaults.deadline
        );
        reporter.at(0, &["plugins", "epochTick"], reason);
    }
    plugins
}

/// Traefik's `log`: `level`, `format`, `filePath`, `noColor`; its own rotation keys are refused
/// (logrotate renames the file and `SIGUSR1` reopens it, as for the access log).
fn resolve_log(reporter: &mut Reporter<'_>, raw: RawLog, main_dir: &Path) -> LogConfig {
    let mut log = LogConfig::default();
    if let Some(level) = raw.level {
        let lower = level.to_ascii_lowercase();
        match lower.as_str() {
            // Traefik's levels past `error` stop the process; here they log errors only.
            "fatal" | "panic" => log.level = "error".to_string(),
            known if LOG_LEVELS.contains(&known) => log.level = lower,
            _ => {
                let reason = format!(
                    "unknown log level \"{level}\" (allowed: {}, fatal, panic)",
                    LOG_LEVELS.join(", ")
                );
                reporter.at(0, &["log", "level"], reason);
            }
        }
    }
    match raw
        .format
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("common") => {}
        Some("json") => log.json = true,
        Some(other) => {
            let reason = format!("unknown format \"{other}\" (allowed: common, json)");
            reporter.at(0, &["log", "format"], reason);
        }
    }
    log.file_path = raw
        .file_path
        .filter(|p| !p.is_empty())
        .map(|p| join_clean(main_dir, &p));
    log.no_color = raw.no_color.unwrap_or(false);
    for (given, key) in [
        (raw.max_size.is_some(), "maxSize"),
        (raw.max_age.is_some(), "maxAge"),
        (raw.max_backups.is_some(), "maxBackups"),
        (raw.compress.is_some(), "compress"),
    ] {
        if given {
            let reason = "not supported yet: rotate the file with logrotate (rename, then \
                          SIGUSR1 reopens it)";
            reporter.at(0, &["log", key], reason);
        }
    }
    log
}

/// `trustedIPs` and `insecure` of an entrypoint's `forwardedHeaders` or `proxyProtocol`
/// (`section`); each entry that is not an address or CIDR range is reported.
fn trusted_senders(
    reporter: &mut Reporter<'_>,
    entrypoint: &str,
    section: &str,
    raw: super::raw::RawForwardedHeaders,
) -> super::model_static::ForwardedHeadersConfig {
    let mut senders = super::model_static::ForwardedHeadersConfig {
        insecure: raw.insecure,
        ..Default::default()
    };
    for (i, text) in raw.trusted_ips.iter().enumerate() {
        let parsed = text
            .parse::<ipnet::IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
        match parsed {
            Ok(net) => senders.trusted.push(net),
            Err(_) => {
                let index = i.to_string();
                let path = ["entryPoints", entrypoint, section, "trustedIPs", &index];
                let reason = format!("\"{text}\" is not an IP address or CIDR range");
                reporter.at(0, &path, reason);
            }
        }
    }
    senders
}
