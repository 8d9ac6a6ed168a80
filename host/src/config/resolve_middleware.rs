//! Resolves `http.middlewares.<name>` to the plugin that implements it: either `plugin:` (wasmgate's
//! `{name, config, <runtime overrides>}` or Traefik's `{<pluginName>: {...}}`, see
//! [`super::plugin_form`]) or a Traefik built-in key mapped to a bundled plugin through
//! [`TRAEFIK_MIDDLEWARES`], its options read as Traefik reads them
//! ([`super::traefik_options`]). Type keys match in any case, as in Traefik.

use super::auth_deadline::auth_runtime;
use super::client_tls::resolve_client_tls;
use super::model_dynamic::MiddlewareConfig;
use super::model_static::{BodyConfig, BodyLimitConfig, EncodedCharacters, OverLimit};
use super::plugin_form::read_plugin;
use super::plugin_runtime::{RuntimeBase, apply_runtime};
use super::rate_limit_redis::{take_kv_redis, take_redis};
use super::raw::{Capability, RawEncodedCharacters, RawOutboundHttp};
use super::resolve_chain::{CHAIN_KEY, resolve_chain};
use super::resolve_static::entries_of;
use super::size::SizeValue;
use super::traefik_options::{deprecated_options, normalize_options};
use super::users_file::inline_users_file;
use crate::yaml::report::Reporter;
use crate::yaml::tree::{Node, Seg};

/// Every Traefik v3 HTTP middleware key, with the bundled plugin that implements it (`None`:
/// not supported yet). The one place to add a mapping when a bundled plugin lands.
pub const TRAEFIK_MIDDLEWARES: &[(&str, Option<&str>)] = &[
    ("addPrefix", Some("add-prefix")),
    ("basicAuth", Some("basic-auth")),
    ("buffering", Some("buffering")),
    ("chain", None), // not a plugin: resolved by the config itself (resolve_chain.rs)
    ("circuitBreaker", Some("circuit-breaker")),
    ("compress", Some("compress")),
    ("contentType", Some("content-type")),
    ("digestAuth", Some("digest-auth")),
    // not a plugin: part of the gateway's path reading (router::path), see below
    ("encodedCharacters", None),
    ("errors", Some("errors")),
    ("forwardAuth", Some("forward-auth")),
    ("grpcWeb", Some("grpc-web")),
    ("headers", Some("headers")),
    ("inFlightReq", Some("in-flight-req")),
    ("ipAllowList", Some("ip-allow-list")),
    ("ipWhiteList", Some("ip-allow-list")),
    ("passTLSClientCert", Some("pass-tls-client-cert")),
    ("rateLimit", Some("rate-limit")),
    ("redirectRegex", Some("redirect-regex")),
    ("redirectScheme", Some("redirect-scheme")),
    ("replacePath", Some("replace-path")),
    ("replacePathRegex", Some("replace-path-regex")),
    ("retry", Some("retry")),
    ("stripPrefix", Some("strip-prefix")),
    ("stripPrefixRegex", Some("strip-prefix-regex")),
];

/// The capabilities a built-in key grants to its bundled plugin (a `plugin:` middleware names
/// its own in `capabilities`).
fn bundled_grants(type_key: &str) -> Option<Vec<Capability>> {
    match type_key {
        "rateLimit" | "inFlightReq" => Some(vec![Capability::Counters]),
        "forwardAuth" | "errors" => Some(vec![Capability::OutboundHttp]),
        "compress" => Some(vec![Capability::Compression]),
        "buffering" => Some(vec![Capability::Body]),
        // Its window and state (shared by the middleware's instances) live in `kv`.
        "circuitBreaker" => Some(vec![Capability::Kv]),
        _ => None,
    }
}

/// Traefik's `rateLimit`: its `redis` option selects the Redis backend of its `counters`.
const RATE_LIMIT_KEY: &str = "rateLimit";

/// Traefik's `rateLimit` waits for a token up to `maxDelay` before refusing: 1/(2·rate) with the
/// rate (requests a second) truncated to a whole number as Go's `time.Duration(rate)` does, and
/// 500 ms for a rate below 1; nothing without `average`. Read from the (already normalised)
/// options; the plugin checks them (an invalid `period` makes it refuse the config anyway).
fn rate_limit_max_wait(config: &serde_json::Value) -> std::time::Duration {
    use std::time::Duration;
    let number = |key: &str| {
        config.get(key).and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
    };
    let average = number("average").unwrap_or(0.0);
    if average <= 0.0 {
        return Duration::ZERO;
    }
    let period = match config.get("period") {
        Some(serde_json::Value::String(text)) => match text.trim().parse::<f64>() {
            Ok(seconds) => Duration::try_from_secs_f64(seconds).ok(),
            Err(_) => super::duration::parse_duration(text.trim()).ok(),
        },
        Some(v) => v.as_f64().and_then(|s| Duration::try_from_secs_f64(s).ok()),
        None => None,
    }
    .filter(|p| !p.is_zero())
    .unwrap_or(Duration::from_secs(1));
    let rate = average / period.as_secs_f64();
    if rate < 1.0 {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(1) / (2 * rate.min(f64::from(u32::MAX / 2)) as u32)
    }
}

/// Traefik's `buffering`: its bundled plugin is granted `body` with the caps of its options.
const BUFFERING_KEY: &str = "buffering";

/// Traefik's `forwardAuth`: its bundled plugin is granted `outbound-http` to its `address`.
const FORWARD_AUTH_KEY: &str = "forwardAuth";

/// The allow-list of a `forwardAuth` middleware: its `address` (required, as in Traefik), with
/// the answer body capped by `maxResponseBodySize` where it is set and not negative (at most
/// the contract's 1 MiB either way). Traefik waits 30 s for the auth server: the grant's default.
fn forward_auth_grant(
    reporter: &mut Reporter<'_>,
    file: usize,
    entry_path: &[&str],
    config: &serde_json::Value,
) -> Option<RawOutboundHttp> {
    let Some(address) = config.get("address").and_then(serde_json::Value::as_str) else {
        let reason = "address: required (the URL of the authentication server)";
        reporter.at(file, entry_path, reason);
        return None;
    };
    let max_response_body_size = config
        .get("maxResponseBodySize")
        .and_then(serde_json::Value::as_u64)
        .map(SizeValue);
    let tls = match config.get("tls") {
        None | Some(serde_json::Value::Null) => None,
        Some(tls) => {
            let at = [entry_path, &["tls"]].concat();
            Some(resolve_client_tls(reporter, file, &at, tls)?)
        }
    };
    Some(RawOutboundHttp {
        allow: vec![address.to_string()],
        services: Vec::new(),
        timeout: None,
        max_response_body_size,
        tls,
    })
}

/// The `body` grant of a `forwardAuth` middleware's bundled plugin, which imports `body` for
/// `forwardBody`: the request body up to `maxBodySize` (64 KiB when unset or negative, the
/// contract's largest subrequest body; the plugin refuses a larger `maxBodySize`), passed on
/// unread beyond it so that the plugin answers 401 as Traefik does. Without `forwardBody` the
/// grant names no body: nothing is held and the plugin reads none.
fn forward_auth_body(config: &serde_json::Value) -> BodyConfig {
    let forward_body = match config.get("forwardBody") {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    };
    let max_body_size = config.get("maxBodySize").and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
    });
    let cap = plugin_contract::MAX_SUBREQUEST_BODY as u64;
    let max_bytes = match max_body_size {
        Some(n) if n >= 0 => (n as u64).min(cap),
        _ => cap,
    };
    BodyConfig {
        request: forward_body.then_some(BodyLimitConfig {
            max_bytes,
            over_limit: OverLimit::Pass,
        }),
        response: None,
    }
}

/// Traefik's `errors`: its bundled plugin is granted `outbound-http` to its `service`.
const ERRORS_KEY: &str = "errors";

/// The allow-list of an `errors` middleware: its `service` (required, as in Traefik).
fn errors_grant(
    reporter: &mut Reporter<'_>,
    file: usize,
    entry_path: &[&str],
    config: &serde_json::Value,
) -> Option<RawOutboundHttp> {
    let Some(service) = config
        .get("service")
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        let reason = "service: required (the service that serves the error pages)";
        reporter.at(file, entry_path, reason);
        return None;
    };
    Some(RawOutboundHttp {
        allow: Vec::new(),
        services: vec![service.to_string()],
        timeout: None,
        max_response_body_size: None,
        tls: None,
    })
}

/// Traefik's `encodedCharacters` middleware: not a plugin but a per-router override of the
/// entrypoint's `http.encodedCharacters`, checked where the path is read (options default to
/// `false`, as in Traefik).
pub(crate) const ENCODED_CHARACTERS_KEY: &str = "encodedCharacters";

/// The key that names any plugin: `plugin: {name: ..., config: ...}`.
pub const PLUGIN_KEY: &str = "plugin";

/// The middleware type a key names: Traefik's spelling of a known type written in any case
/// (`redirectscheme`, as Traefik reads it), else the key as written.
fn type_key_of(key: &str) -> &str {
    let known = TRAEFIK_MIDDLEWARES
        .iter()
        .map(|(type_key, _)| *type_key)
        .chain([PLUGIN_KEY]);
    let mut folded = None;
    for type_key in known {
        if type_key == key {
            return type_key;
        }
        if folded.is_none() && type_key.eq_ignore_ascii_case(key) {
            folded = Some(type_key);
        }
    }
    folded.unwrap_or(key)
}

/// Resolves one middleware defined in `file` with its name key on `line`; `None` after
/// reporting when it cannot be.
pub(crate) fn resolve_middleware(
    reporter: &mut Reporter<'_>,
    file: usize,
    name: &str,
    node: &Node,
    line: usize,
    base: &RuntimeBase<'_>,
) -> Option<MiddlewareConfig> {
    let path = ["http", "middlewares", name];
    let segs: Vec<Seg> = path.iter().map(|k| Seg::Key((*k).to_string())).collect();
    let entries = entries_of(reporter, file, node, &segs, line)?;
    let entry = match entries {
        [entry] => entry,
        [] => {
            let reason = "needs exactly one middleware type key, e.g. \"headers\" or \"plugin\"";
            reporter.at(file, &path, reason);
            return None;
        }
        [_, ..] => {
            let keys: Vec<String> = entries.iter().map(|e| format!("\"{}\"", e.key)).collect();
            let reason = format!(
                "has {} middleware type keys ({}); exactly one is allowed",
                keys.len(),
                keys.join(", ")
            );
            reporter.at(file, &path, reason);
            return None;
        }
    };
    let type_key = type_key_of(&entry.key);
    let entry_path = ["http", "middlewares", name, type_key];
    if type_key == CHAIN_KEY {
        return resolve_chain(reporter, file, name, entry, base);
    }
    // Settings the gateway applies itself: no plugin runs for them.
    let without_plugin = MiddlewareConfig {
        plugin: String::new(),
        sha256: None,
        config_json: "{}".to_string(),
        runtime: base.defaults.clone(),
        type_key: type_key.to_string(),
        chain: None,
        encoded_characters: None,
        retry_expression: None,
    };
    if type_key == ENCODED_CHARACTERS_KEY {
        let raw: RawEncodedCharacters =
            reporter.parse(file, &entry.value, &entry_path, entry.line)?;
        return Some(MiddlewareConfig {
            encoded_characters: Some(raw.over(EncodedCharacters::default())),
            ..without_plugin
        });
    }
    let mut retry_expression = None;
    let mut kv_redis = None;
    let (plugin, sha256, config, raw_runtime, redis) = if type_key == PLUGIN_KEY {
        let mut choice = read_plugin(reporter, file, &entry_path, entry)?;
        if let Some(mut kv) = choice.kv.take() {
            let granted = choice
                .runtime
                .capabilities
                .as_ref()
                .is_some_and(|c| c.contains(&Capability::Kv));
            let at = [&entry_path[..], &["kv"]].concat();
            kv_redis =
                take_kv_redis(reporter, file, &at, &mut kv, granted, resolve_client_tls).ok()?;
        }
        (
            choice.name,
            choice.sha256,
            choice.config,
            choice.runtime,
            None,
        )
    } else {
        match TRAEFIK_MIDDLEWARES.iter().find(|(key, _)| *key == type_key) {
            Some((_, Some(plugin))) => {
                let mut config: serde_json::Value =
                    reporter.parse(file, &entry.value, &entry_path, entry.line)?;
                normalize_options(type_key, &mut config);
                for (option, warning) in deprecated_options(type_key, &config) {
                    reporter.warn(file, &[&entry_path[..], &[option]].concat(), warning);
                }
                inline_users_file(reporter, file, &entry_path, &mut config)?;
                let mut runtime = auth_runtime(type_key, &config, base.defaults);
                runtime.capabilities = bundled_grants(type_key);
                let grant = match type_key {
                    FORWARD_AUTH_KEY => {
                        Some(forward_auth_grant(reporter, file, &entry_path, &config)?)
                    }
                    ERRORS_KEY => Some(errors_grant(reporter, file, &entry_path, &config)?),
                    _ => None,
                };
                if type_key == BUFFERING_KEY {
                    runtime.body = Some(super::buffering_grant::grant(&config));
                    retry_expression = super::buffering_grant::retry_expression(
                        reporter,
                        file,
                        &entry_path,
                        &config,
                    )?;
                }
                let redis = if type_key == RATE_LIMIT_KEY {
                    take_redis(reporter, file, &entry_path, &mut config, resolve_client_tls).ok()?
                } else {
                    None
                };
                if grant.is_some() {
                    runtime.outbound_http = grant;
                    // The auth server's refusal or the error page is the reply: let a page up
                    // to the grant's 1 MiB answer cap through (the default reply cap is 64 KiB).
                    runtime
                        .max_reply_body_size
                        .get_or_insert(SizeValue(1024 * 1024));
                }
                ((*plugin).to_string(), None, Some(config), runtime, redis)
            }
            Some((_, None)) => {
                let reason = format!("middleware type \"{type_key}\" is not supported yet");
                reporter.at(file, &path, reason);
                return None;
            }
            None => {
                reporter.at(
                    file,
                    &path,
                    format!("unknown middleware type \"{type_key}\""),
                );
                return None;
            }
        }
    };
    let counters_max_wait = (type_key == RATE_LIMIT_KEY)
        .then(|| rate_limit_max_wait(config.as_ref().unwrap_or(&serde_json::Value::Null)));
    let forward_auth_body = (type_key == FORWARD_AUTH_KEY)
        .then(|| forward_auth_body(config.as_ref().unwrap_or(&serde_json::Value::Null)));
    let config_json = match config {
        None | Some(serde_json::Value::Null) => "{}".to_string(),
        Some(value) => match serde_json::to_string(&value) {
            Ok(json) => json,
            Err(error) => {
                reporter.at(
                    file,
                    &entry_path,
                    format!("config cannot be turned into JSON: {error}"),
                );
                return None;
            }
        },
    };
    let runtime_path = ["http", "middlewares", name, PLUGIN_KEY];
    let mut runtime = apply_runtime(
        reporter,
        file,
        &runtime_path,
        base.defaults,
        &raw_runtime,
        base.epoch_tick,
    );
    runtime.counters_redis = redis;
    runtime.kv_redis = kv_redis;
    if let Some(body) = forward_auth_body {
        runtime.body = Some(body);
    }
    if let Some(wait) = counters_max_wait {
        runtime.counters_max_wait = wait;
    }
    Some(MiddlewareConfig {
        plugin,
        sha256,
        config_json,
        runtime,
        type_key: type_key.to_string(),
        chain: None,
        encoded_characters: None,
        retry_expression,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{forward_auth_body, rate_limit_max_wait};
    use crate::config::model_static::OverLimit;

    #[test]
    fn rate_limit_waits_up_to_half_a_token_interval_as_traefik() {
        let wait = |config: serde_json::Value| rate_limit_max_wait(&config);
        assert_eq!(
            wait(serde_json::json!({"average": 10})),
            Duration::from_millis(50)
        );
        // Go truncates the rate to whole requests a second.
        let fractional = serde_json::json!({"average": 107, "period": "10s"});
        assert_eq!(wait(fractional), Duration::from_millis(50));
        assert_eq!(
            wait(serde_json::json!({"average": 1})),
            Duration::from_millis(500)
        );
        let slow = serde_json::json!({"average": 1, "period": "1m"});
        assert_eq!(wait(slow), Duration::from_millis(500));
        assert_eq!(wait(serde_json::json!({})), Duration::ZERO);
    }

    #[test]
    fn forward_auth_holds_the_request_body_only_with_forward_body() {
        assert_eq!(forward_auth_body(&serde_json::json!({})).request, None);
        let limit = |config: serde_json::Value| {
            let request = forward_auth_body(&config).request;
            request.map(|l| (l.max_bytes, l.over_limit))
        };
        let body = serde_json::json!({"forwardBody": true, "maxBodySize": 42});
        assert_eq!(limit(body), Some((42, OverLimit::Pass)));
        let unlimited = serde_json::json!({"forwardBody": true, "maxBodySize": -1});
        assert_eq!(limit(unlimited), Some((64 * 1024, OverLimit::Pass)));
    }
}
