//! Resolves `http.services.<name>.loadBalancer`: servers, sticky cookie, active and passive
//! health checks, retry. Every bad value is reported at its key; `None` after reporting.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use sha2::{Digest, Sha256};

use super::raw::{
    RawCookie, RawHealthCheck, RawLoadBalancer, RawPassiveHealthCheck, RawRetry, RawSticky,
};
use super::server_url::parse_server_url;
use crate::config::definitions::local_name;
use crate::config::model_dynamic::{
    DEFAULT_FAILURE_WINDOW, DEFAULT_HEALTH_INTERVAL, DEFAULT_HEALTH_TIMEOUT,
    DEFAULT_RETRY_INITIAL_INTERVAL, HealthCheckConfig, LoadBalancerConfig, PassiveHealthConfig,
    RetryConfig, SameSite, ServerConfig, StickyCookieConfig,
};
use crate::yaml::report::Reporter;

/// Where errors of one service go: the file and the key path of its kind key.
pub(crate) struct At<'p> {
    pub(crate) file: usize,
    pub(crate) base: &'p [&'p str],
}

impl At<'_> {
    pub(crate) fn report(
        &self,
        reporter: &mut Reporter<'_>,
        keys: &[&str],
        reason: impl Into<String>,
    ) {
        let path: Vec<&str> = self.base.iter().chain(keys).copied().collect();
        reporter.at(self.file, &path, reason);
    }
}

pub(crate) fn resolve_load_balancer(
    reporter: &mut Reporter<'_>,
    at: &At<'_>,
    service: &str,
    raw: RawLoadBalancer,
) -> Option<LoadBalancerConfig> {
    let mut ok = true;
    if raw.servers.is_empty() {
        // Traefik loads a service without servers and answers 503 (no available server).
        let path: Vec<&str> = at.base.iter().chain(&["servers"]).copied().collect();
        let reason =
            "no servers: the service answers 503 (no available server) until some are added";
        reporter.warn(at.file, &path, reason);
    }
    let mut servers = Vec::with_capacity(raw.servers.len());
    for (index, server) in raw.servers.iter().enumerate() {
        match parse_server_url(&server.url) {
            Ok(url) => servers.push(ServerConfig {
                url,
                weight: server.weight.unwrap_or(1),
                preserve_path: server.preserve_path.unwrap_or(false),
            }),
            Err(reason) => {
                let index = index.to_string();
                let reason = format!("invalid server URL \"{}\": {reason}", server.url);
                at.report(reporter, &["servers", &index, "url"], reason);
                ok = false;
            }
        }
    }
    if ok && !servers.is_empty() && servers.iter().all(|s| s.weight == 0) {
        at.report(
            reporter,
            &["servers"],
            "at least one server needs a weight above 0",
        );
        ok = false;
    }
    // `wrr` is what every load balancer does; Traefik's others (`p2c`, `hrw`, `leasttime`) are
    // refused by name rather than silently balanced round robin.
    if let Some(strategy) = raw.strategy.as_deref()
        && !strategy.eq_ignore_ascii_case("wrr")
    {
        let reason = format!(
            "not supported yet: strategy \"{strategy}\" (wrr is the only one so far; see README, \
             Migrating from Traefik)"
        );
        at.report(reporter, &["strategy"], reason);
        ok = false;
    }
    // Resolve every part before giving up, so that each bad key is reported.
    let sticky = raw.sticky.map(|s| resolve_sticky(reporter, at, service, s));
    let health_check = raw
        .health_check
        .map(|h| resolve_health_check(reporter, at, h));
    let passive = raw.passive_health_check.map(resolve_passive);
    let retry = raw.retry.map(|r| resolve_retry(reporter, at, r));
    let sticky = match sticky {
        None => None,
        Some(Ok(cookie)) => cookie,
        Some(Err(())) => return None,
    };
    let health_check = match health_check {
        None => None,
        Some(Some(h)) => Some(h),
        Some(None) => return None,
    };
    let retry = match retry {
        None => None,
        Some(Some(r)) => Some(r),
        Some(None) => return None,
    };
    ok.then(|| LoadBalancerConfig {
        servers,
        pass_host_header: raw.pass_host_header.unwrap_or(true),
        servers_transport: raw.servers_transport.as_deref().map(local_name),
        sticky,
        health_check,
        passive_health_check: passive,
        retry,
    })
}

/// `sticky`: `Ok(None)` when no cookie is configured (`sticky: {}`), `Err(())` after reporting.
pub(crate) fn resolve_sticky(
    reporter: &mut Reporter<'_>,
    at: &At<'_>,
    service: &str,
    raw: RawSticky,
) -> Result<Option<StickyCookieConfig>, ()> {
    let Some(cookie) = raw.cookie else {
        return Ok(None);
    };
    let RawCookie {
        name,
        secure,
        http_only,
        same_site,
        max_age,
        path,
        domain,
    } = cookie;
    let mut ok = true;
    let name = match name.filter(|n| !n.is_empty()) {
        Some(n) if n.bytes().all(is_cookie_name_byte) => n,
        Some(n) => {
            let reason =
                format!("invalid cookie name \"{n}\": letters, digits and !#$%&'*+-.^_`|~ only");
            at.report(reporter, &["sticky", "cookie", "name"], reason);
            ok = false;
            String::new()
        }
        None => default_cookie_name(service),
    };
    let same_site = match same_site.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => None,
        Some("none") => Some(SameSite::None),
        Some("lax") => Some(SameSite::Lax),
        Some("strict") => Some(SameSite::Strict),
        Some(other) => {
            let reason = format!("invalid sameSite \"{other}\" (allowed: none, lax, strict)");
            at.report(reporter, &["sticky", "cookie", "sameSite"], reason);
            ok = false;
            None
        }
    };
    let path = path.unwrap_or_else(|| "/".to_string());
    if !is_attribute_value(&path) {
        at.report(
            reporter,
            &["sticky", "cookie", "path"],
            "must not contain ';' or control characters",
        );
        ok = false;
    }
    if let Some(d) = &domain
        && !is_attribute_value(d)
    {
        at.report(
            reporter,
            &["sticky", "cookie", "domain"],
            "must not contain ';' or control characters",
        );
        ok = false;
    }
    if !ok {
        return Err(());
    }
    Ok(Some(StickyCookieConfig {
        name,
        secure: secure.unwrap_or(false),
        http_only: http_only.unwrap_or(false),
        same_site,
        max_age: max_age.unwrap_or(0),
        path,
        domain: domain.filter(|d| !d.is_empty()),
    }))
}

/// Traefik's default: `_` and an abbreviated hash of the service name.
fn default_cookie_name(service: &str) -> String {
    let digest = Sha256::digest(service.as_bytes());
    format!("_{}", &hex::encode(digest)[..6])
}

fn is_cookie_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_attribute_value(v: &str) -> bool {
    v.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b';')
}

fn resolve_health_check(
    reporter: &mut Reporter<'_>,
    at: &At<'_>,
    raw: RawHealthCheck,
) -> Option<HealthCheckConfig> {
    let mut ok = true;
    let mut fail = |reporter: &mut Reporter<'_>, key: &str, reason: String| {
        at.report(reporter, &["healthCheck", key], reason);
        ok = false;
    };
    // Traefik's `mode`: `http` (the default) probes with a request; `grpc` (the gRPC health
    // protocol) is not done here yet.
    if let Some(mode) = raw.mode.as_deref()
        && !mode.eq_ignore_ascii_case("http")
    {
        let reason = format!(
            "not supported yet: mode \"{mode}\" (http is the only one so far; see README, \
             Migrating from Traefik)"
        );
        fail(reporter, "mode", reason);
    }
    let path = raw.path.unwrap_or_else(|| "/".to_string());
    if !path.starts_with('/') || path.parse::<http::uri::PathAndQuery>().is_err() {
        fail(
            reporter,
            "path",
            format!("invalid path \"{path}\": must start with '/'"),
        );
    }
    let method = match raw.method.as_deref() {
        None => Method::GET,
        Some(m) => match Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
            Ok(m) => m,
            Err(_) => {
                fail(reporter, "method", format!("invalid method \"{m}\""));
                Method::GET
            }
        },
    };
    let scheme = raw.scheme.map(|s| s.to_ascii_lowercase());
    if let Some(s) = &scheme
        && !["http", "https", "h2c"].contains(&s.as_str())
    {
        fail(
            reporter,
            "scheme",
            format!("unsupported scheme \"{s}\" (allowed: http, https, h2c)"),
        );
    }
    let hostname = match raw.hostname.as_deref().map(HeaderValue::from_str) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => {
            fail(
                reporter,
                "hostname",
                "not a valid Host header value".to_string(),
            );
            None
        }
    };
    let mut headers = Vec::new();
    for (name, value) in raw.headers.unwrap_or_default() {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(n), Ok(v)) => headers.push((n, v)),
            _ => fail(
                reporter,
                "headers",
                format!("invalid header \"{name}: {value}\""),
            ),
        }
    }
    let interval = raw.interval.map_or(DEFAULT_HEALTH_INTERVAL, |d| d.0);
    if interval.is_zero() {
        fail(reporter, "interval", "must be above 0".to_string());
    }
    let unhealthy_interval = raw.unhealthy_interval.map_or(interval, |d| d.0);
    if raw.unhealthy_interval.is_some() && unhealthy_interval.is_zero() {
        fail(reporter, "unhealthyInterval", "must be above 0".to_string());
    }
    let timeout = raw.timeout.map_or(DEFAULT_HEALTH_TIMEOUT, |d| d.0);
    if timeout.is_zero() {
        fail(reporter, "timeout", "must be above 0".to_string());
    }
    if let Some(s) = raw.status
        && !(100..=599).contains(&s)
    {
        fail(
            reporter,
            "status",
            format!("invalid status {s}: must be 100-599"),
        );
    }
    ok.then_some(HealthCheckConfig {
        path,
        method,
        scheme,
        port: raw.port,
        hostname,
        headers,
        interval,
        unhealthy_interval,
        timeout,
        status: raw.status,
        follow_redirects: raw.follow_redirects.unwrap_or(true),
    })
}

fn resolve_passive(raw: RawPassiveHealthCheck) -> PassiveHealthConfig {
    PassiveHealthConfig {
        failure_window: raw
            .failure_window
            .map_or(DEFAULT_FAILURE_WINDOW, |d| d.0)
            .max(Duration::from_millis(1)),
        max_failed_attempts: raw.max_failed_attempts.unwrap_or(1).max(1),
        failure_statuses: raw.failure_statuses.iter().map(|r| (r.0, r.1)).collect(),
    }
}

fn resolve_retry(reporter: &mut Reporter<'_>, at: &At<'_>, raw: RawRetry) -> Option<RetryConfig> {
    let attempts = match raw.attempts {
        Some(0) => {
            at.report(reporter, &["retry", "attempts"], "must be at least 1");
            return None;
        }
        Some(n) => n,
        None => {
            at.report(reporter, &["retry"], "\"attempts\" is required");
            return None;
        }
    };
    Some(RetryConfig {
        attempts,
        initial_interval: raw
            .initial_interval
            .map_or(DEFAULT_RETRY_INITIAL_INTERVAL, |d| d.0),
    })
}
