//! The `rateLimit` config: Traefik's option names, checked once at `validate-config` / `init`.

use serde_json::{Map, Value};
use traefik_options::source_criterion;
pub use traefik_options::source_criterion::Source;

use traefik_options::go_duration;
use traefik_options::json_text;

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
        let mut source = Source::PEER;
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
                "sourceCriterion" => source = source_criterion::parse(value, Source::PEER)?,
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

/// Traefik's `ptypes.Duration`: a number of seconds or a Go duration; not negative.
fn period(value: &Value) -> Result<u64, String> {
    let ns = match value {
        Value::Null => 0,
        Value::Number(n) => match n.as_f64() {
            Some(secs) if secs >= 0.0 => (secs * 1e9) as u64,
            _ => {
                return Err(format!(
                    "period: negative value not valid: {}",
                    json_text::number(n)
                ));
            }
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
        Value::Number(n) => n.as_i64().ok_or_else(|| {
            format!(
                "{option}: must be a whole number, got {}",
                json_text::number(n)
            )
        }),
        Value::String(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{option}: must be a whole number, got {text:?}")),
        _ => Err(format!("{option}: must be a number")),
    }
}
