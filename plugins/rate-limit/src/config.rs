//! The `rateLimit` config: Traefik's option names, checked once at `validate-config` / `init`.

use plugin_sdk::Request;
use serde_json::{Map, Value};
use traefik_options::ip_strategy::{self, Strategy};

use crate::go_duration;

/// Whose bucket a request takes from (Traefik's `sourceCriterion`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Ip(Strategy),
    Header(String),
    Host,
}

impl Source {
    /// The bucket key of `req`.
    pub fn of(&self, req: &Request<'_>) -> String {
        match self {
            Source::Ip(strategy) => strategy.client_ip(req),
            Source::Header(name) => req.header_str(name).unwrap_or_default(),
            Source::Host => req.authority().unwrap_or_default(),
        }
    }
}

/// The parsed config.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitConfig {
    /// Tokens a second: `average / period`; 0 is no limit.
    pub rate: f64,
    /// Bucket size, at least 1.
    pub burst: u32,
    pub source: Source,
}

impl RateLimitConfig {
    /// Parses the JSON config. Any other option is refused by name.
    pub fn parse(config: &str) -> Result<Self, String> {
        let options = object(
            "config",
            serde_json::from_str(config).map_err(|e| format!("config is not valid JSON: {e}"))?,
        )?;
        let (mut average, mut period_ns, mut burst) = (0i64, 1_000_000_000u64, 1i64);
        let mut source = Source::Ip(Strategy::RemoteAddr { ipv6_subnet: None });
        for (option, value) in options {
            match option.as_str() {
                "average" => average = integer(&option, &value)?,
                "burst" => burst = integer(&option, &value)?,
                "period" => {
                    let ns = period(&value)?;
                    if ns != 0 {
                        period_ns = ns;
                    }
                }
                "sourceCriterion" => source = source_criterion(value)?,
                _ => return Err(format!("unknown option {option:?}")),
            }
        }
        if average < 0 {
            return Err(format!("average: must not be negative, got {average}"));
        }
        let rate = average as f64 * 1e9 / period_ns as f64;
        Ok(RateLimitConfig {
            rate,
            burst: u32::try_from(burst.max(1)).unwrap_or(u32::MAX),
            source,
        })
    }
}

fn source_criterion(value: Value) -> Result<Source, String> {
    let options = object("sourceCriterion", value)?;
    let mut found = Vec::new();
    for (option, value) in options {
        let name = format!("sourceCriterion.{option}");
        match option.as_str() {
            "ipStrategy" if !value.is_null() => {
                found.push(("ipStrategy", Source::Ip(ip_strategy::parse(value)?)));
            }
            "requestHeaderName" => match value {
                Value::Null => {}
                Value::String(header) if header.is_empty() => {}
                Value::String(header) => found.push(("requestHeaderName", Source::Header(header))),
                _ => return Err(format!("{name}: must be a header name")),
            },
            "requestHost" => {
                if flag(&name, &value)? {
                    found.push(("requestHost", Source::Host));
                }
            }
            "ipStrategy" => {}
            _ => return Err(format!("sourceCriterion: unknown option {option:?}")),
        }
    }
    match found.len() {
        0 => Ok(Source::Ip(Strategy::RemoteAddr { ipv6_subnet: None })),
        1 => Ok(found.remove(0).1),
        _ => {
            let names: Vec<&str> = found.iter().map(|(n, _)| *n).collect();
            Err(format!(
                "sourceCriterion: {} are mutually exclusive",
                names.join(" and ")
            ))
        }
    }
}

/// Traefik's `ptypes.Duration`: a number of seconds or a Go duration; not negative.
fn period(value: &Value) -> Result<u64, String> {
    let ns = match value {
        Value::Null => 0,
        Value::Number(n) => match n.as_f64() {
            Some(secs) if secs >= 0.0 => (secs * 1e9) as u64,
            _ => return Err(format!("period: negative value not valid: {n}")),
        },
        Value::String(text) => match text.trim().parse::<f64>() {
            Ok(secs) if secs >= 0.0 => (secs * 1e9) as u64,
            Ok(_) => return Err(format!("period: negative value not valid: {text}")),
            Err(_) => go_duration::parse(text.trim()).map_err(|e| format!("period: {e}"))?,
        },
        _ => return Err("period: must be a duration such as \"1s\"".to_string()),
    };
    Ok(ns)
}

fn object(option: &str, value: Value) -> Result<Map<String, Value>, String> {
    match value {
        Value::Null => Ok(Map::new()),
        Value::Object(map) => Ok(map),
        _ => Err(format!("{option} must be a map")),
    }
}

/// A whole number given as a number or as text (Traefik's file provider reads both).
fn integer(option: &str, value: &Value) -> Result<i64, String> {
    match value {
        Value::Null => Ok(0),
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{option}: must be a whole number, got {n}")),
        Value::String(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{option}: must be a whole number, got {text:?}")),
        _ => Err(format!("{option}: must be a number")),
    }
}

/// Go's `strconv.ParseBool` forms.
fn flag(option: &str, value: &Value) -> Result<bool, String> {
    match value {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::String(text) => match text.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            _ => Err(format!("{option}: must be true or false, got {text:?}")),
        },
        _ => Err(format!("{option}: must be true or false")),
    }
}
