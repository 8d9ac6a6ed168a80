//! Traefik's `rateLimit.redis`: the Redis that holds a rate limit's buckets for a cluster of
//! gateways. Read by the host (the bundled plugin never sees it): it selects the Redis backend
//! of the middleware's `counters` (`plugins::redis_counters`). Config time only.
//!
//! Keys, as Traefik v3 has them: `endpoints` (default `localhost:6379`), `username`,
//! `password`, `db`, `poolSize`, `minIdleConns`, `maxActiveConns`, `readTimeout` (3s),
//! `writeTimeout` (3s), `dialTimeout` (5s), `denyOnError` (true: Redis failing gives 500;
//! false: the request passes unlimited) and `tls` (`ca`, `cert`, `key`, `insecureSkipVerify`;
//! files relative to the config file, read as the providers' Redis TLS is). Keys match in any
//! case.
//! Unlike Traefik, a timeout of 0 ("none") is refused: a request must never wait on Redis
//! without bound.

use std::time::Duration;

use serde_json::Value;

use super::duration::parse_duration;
use crate::yaml::report::Reporter;

/// The Redis of a rate limit, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CountersRedisConfig {
    /// `host:port` endpoints, tried in order when dialling.
    pub endpoints: Vec<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: i64,
    /// Multiplexed connections kept (`poolSize`, 0: one), at most `maxActiveConns` when set.
    pub connections: usize,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub dial_timeout: Duration,
    /// Redis unreachable or failing: `true` fails the request (500), `false` lets it through.
    pub deny_on_error: bool,
    /// `tls`: connect over TLS, with these CA / client certificate files.
    pub tls: Option<super::model_tls::UpstreamTlsConfig>,
}

impl Default for CountersRedisConfig {
    fn default() -> Self {
        CountersRedisConfig {
            endpoints: vec!["localhost:6379".to_string()],
            username: None,
            password: None,
            db: 0,
            connections: 1,
            read_timeout: Duration::from_secs(3),
            write_timeout: Duration::from_secs(3),
            dial_timeout: Duration::from_secs(5),
            deny_on_error: true,
            tls: None,
        }
    }
}

/// The option that names the Redis in a `rateLimit`.
const REDIS_KEY: &str = "redis";

/// How `tls` is read: the caller's client-TLS reader (`config::client_tls`, kept out of this
/// file's imports), reporting at the path it is given.
pub(crate) type TlsReader =
    fn(&mut Reporter<'_>, usize, &[&str], &Value) -> Option<super::model_tls::UpstreamTlsConfig>;

/// Removes `redis` from a `rateLimit`'s options (at `entry_path` in `file`) and checks it,
/// reading `tls` with `read_tls`. `Ok(None)`: no Redis (in-process buckets). `Err(())`:
/// reported.
pub(crate) fn take_redis(
    reporter: &mut Reporter<'_>,
    file: usize,
    entry_path: &[&str],
    config: &mut Value,
    read_tls: TlsReader,
) -> Result<Option<CountersRedisConfig>, ()> {
    let Some(options) = config.as_object_mut() else {
        return Ok(None);
    };
    let Some(written) = options
        .keys()
        .find(|k| k.eq_ignore_ascii_case(REDIS_KEY))
        .cloned()
    else {
        return Ok(None);
    };
    let value = options.remove(&written).unwrap_or(Value::Null);
    let at = [entry_path, &[written.as_str()]].concat();
    let map = match value {
        Value::Null => serde_json::Map::new(),
        Value::Object(map) => map,
        _ => {
            reporter.at(file, &at, "must be a map of Redis options");
            return Err(());
        }
    };
    let mut out = CountersRedisConfig::default();
    let (mut pool_size, mut max_active) = (0u64, 0u64);
    let mut ok = true;
    for (key, value) in &map {
        if key.eq_ignore_ascii_case("tls") {
            let path = [&at[..], &[key.as_str()]].concat();
            match read_tls(reporter, file, &path, value) {
                Some(tls) => out.tls = Some(tls),
                None => ok = false,
            }
            continue;
        }
        let mut report = |reason: String| {
            let path = [&at[..], &[key.as_str()]].concat();
            reporter.at(file, &path, reason);
            ok = false;
        };
        let result = match key.to_ascii_lowercase().as_str() {
            "endpoints" => endpoints(value).map(|e| out.endpoints = e),
            "username" => text(value).map(|t| out.username = t),
            "password" => text(value).map(|t| out.password = t),
            "db" => whole(value).map(|n| out.db = n as i64),
            "poolsize" => whole(value).map(|n| pool_size = n),
            "maxactiveconns" => whole(value).map(|n| max_active = n),
            // Connections are kept open once dialled: there is always an idle one.
            "minidleconns" => whole(value).map(|_| ()),
            "readtimeout" => timeout(value).map(|d| out.read_timeout = d),
            "writetimeout" => timeout(value).map(|d| out.write_timeout = d),
            "dialtimeout" => timeout(value).map(|d| out.dial_timeout = d),
            "denyonerror" => boolean(value).map(|b| out.deny_on_error = b),
            _ => Err(
                "unknown option (known: endpoints, username, password, db, poolSize, \
                      minIdleConns, maxActiveConns, readTimeout, writeTimeout, dialTimeout, \
                      denyOnError, tls)"
                    .to_string(),
            ),
        };
        if let Err(reason) = result {
            report(reason);
        }
    }
    let mut connections = pool_size.max(1);
    if max_active > 0 {
        connections = connections.min(max_active);
    }
    out.connections = usize::try_from(connections.min(64)).unwrap_or(64);
    if ok { Ok(Some(out)) } else { Err(()) }
}

/// Checks a `plugin:` middleware's `kv` (at `at` in `file`): `{redis: {...}}` with the keys of
/// `rateLimit.redis` except `denyOnError` (a failed Redis call answers the plugin
/// `kv-error::backend`, and the plugin decides), only with `capabilities: [kv]`. `Ok(None)`:
/// the keys stay in process. `Err(())`: reported.
pub(crate) fn take_kv_redis(
    reporter: &mut Reporter<'_>,
    file: usize,
    at: &[&str],
    kv: &mut Value,
    granted: bool,
    read_tls: TlsReader,
) -> Result<Option<CountersRedisConfig>, ()> {
    if !granted {
        reporter.at(file, at, "has no effect without capabilities: [kv]");
        return Err(());
    }
    let Some(options) = kv.as_object() else {
        reporter.at(file, at, "must be a map: kv: {redis: {endpoints: [...]}}");
        return Err(());
    };
    let deny = options
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(REDIS_KEY))
        .and_then(|(k, v)| {
            let redis = v.as_object()?;
            let deny = redis
                .keys()
                .find(|d| d.eq_ignore_ascii_case("denyOnError"))?;
            Some((k.clone(), deny.clone()))
        });
    if let Some((redis, deny)) = deny {
        let path = [at, &[redis.as_str(), deny.as_str()]].concat();
        let reason = "not for kv: a failed Redis call answers the plugin kv-error backend(reason), \
                      and the plugin decides";
        reporter.at(file, &path, reason);
        return Err(());
    }
    let redis = take_redis(reporter, file, at, kv, read_tls)?;
    let mut ok = true;
    for key in kv.as_object().into_iter().flat_map(|o| o.keys()) {
        let path = [at, &[key.as_str()]].concat();
        reporter.at(file, &path, "unknown option (known: redis)");
        ok = false;
    }
    if ok { Ok(redis) } else { Err(()) }
}

/// A list of `host:port`, or Traefik's comma-separated scalar form.
fn endpoints(value: &Value) -> Result<Vec<String>, String> {
    let list: Vec<String> = match value {
        Value::String(s) => s.split(',').map(|e| e.trim().to_string()).collect(),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.trim().to_string()),
                _ => Err("every endpoint must be a \"host:port\" string".to_string()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("must be a list of \"host:port\"".to_string()),
    };
    if list.is_empty() || list.iter().any(String::is_empty) {
        return Err("must list at least one \"host:port\", none empty".to_string());
    }
    Ok(list)
}

fn text(value: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err("must be text".to_string()),
    }
}

fn whole(value: &Value) -> Result<u64, String> {
    let n = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.ok_or_else(|| format!("must be a whole number, 0 or more; got {value}"))
}

fn boolean(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(format!("must be true or false; got {value}")),
    }
}

fn timeout(value: &Value) -> Result<Duration, String> {
    let d = match value {
        Value::Number(n) => match n.as_f64() {
            Some(secs) if secs >= 0.0 => Duration::from_secs_f64(secs),
            _ => return Err(format!("must be a duration such as \"3s\"; got {n}")),
        },
        Value::String(s) => parse_duration(s).map_err(|e| format!("{e}: {s:?}"))?,
        _ => return Err("must be a duration such as \"3s\"".to_string()),
    };
    if d.is_zero() {
        return Err("must be above 0 (a request never waits on Redis without bound)".to_string());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoints_are_a_list_or_traefiks_comma_scalar_and_never_empty() {
        assert_eq!(
            endpoints(&json!("a:1, b:2")),
            Ok(vec!["a:1".to_string(), "b:2".to_string()])
        );
        assert_eq!(endpoints(&json!(["a:1"])), Ok(vec!["a:1".to_string()]));
        assert!(endpoints(&json!([])).is_err());
        assert!(endpoints(&json!("a:1,")).is_err());
        assert!(endpoints(&json!(6379)).is_err());
    }

    #[test]
    fn timeouts_are_go_durations_or_seconds_and_never_zero() {
        assert_eq!(timeout(&json!("250ms")), Ok(Duration::from_millis(250)));
        assert_eq!(timeout(&json!(2)), Ok(Duration::from_secs(2)));
        assert!(timeout(&json!("0s")).is_err());
        assert!(timeout(&json!(0)).is_err());
        assert!(timeout(&json!("-1s")).is_err());
        assert!(boolean(&json!("FALSE")) == Ok(false) && boolean(&json!(1)).is_err());
    }
}
