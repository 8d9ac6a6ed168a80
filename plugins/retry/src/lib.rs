//! Bundled plugin `retry`: Traefik's `retry` middleware, as a retry policy (the `retry-policy`
//! export); the gateway keeps the request and does the resending.
//!
//! Options: `attempts` (required, at least 1: tries in all, the first included) and
//! `initialInterval` (a Go duration or a number of seconds; default 0: retry at once).
//!
//! ```yaml
//! http:
//!   middlewares:
//!     test-retry:
//!       retry:
//!         attempts: 4
//!         initialInterval: 100ms
//! ```
//!
//! When an attempt fails before any response (the upstream could not be reached, or closed the
//! connection before answering), the request is sent again, to another server when the service
//! has one, after Traefik's exponential backoff: `initialInterval` for the first retry, then
//! multiplied by `2^(1/(attempts-1))` each time (so the last interval is about twice the first),
//! each randomized by ±50% as Go's `backoff.ExponentialBackOff` does. Once the upstream has
//! answered, whatever the status, nothing is retried. As in Traefik, only requests that are
//! safe to send twice are retried: idempotent methods (GET, HEAD, OPTIONS, TRACE, PUT,
//! DELETE), and the gateway resends only requests without a body (it keeps no copy of a
//! streamed one).
//!
//! Cost per request: none while the first attempt succeeds (`policy-only`: the gateway calls no
//! hook of this middleware); one `retry-after` call per failed attempt.

use plugin_sdk::retry::{FailedAttempt, RetryMode};
use plugin_sdk::{Action, Middleware, Request};
use serde_json::Value;
use traefik_options::go_duration;
use traefik_options::json_text;

/// Go's `backoff.ExponentialBackOff` randomization factor (its default, Traefik keeps it).
const RANDOMIZATION: f64 = 0.5;

/// Go's `backoff.ExponentialBackOff` maximum interval (its default, Traefik keeps it).
const MAX_INTERVAL_NS: f64 = 60e9;

/// The checked options of one `retry` middleware.
#[derive(Debug)]
pub struct Retry {
    attempts: u32,
    initial_interval_ns: u64,
}

impl Retry {
    /// The pause before retry number `retry` (1 = the first retry) before randomization:
    /// `initialInterval · m^(retry-1)` with `m = 2^(1/(attempts-1))`, capped at Go's maximum.
    /// Zero without `initialInterval` (Go's `ZeroBackOff`).
    pub fn interval_ns(&self, retry: u32) -> f64 {
        if self.attempts < 2 || self.initial_interval_ns == 0 {
            return 0.0;
        }
        let multiplier = 2f64.powf(1.0 / f64::from(self.attempts - 1));
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        (self.initial_interval_ns as f64 * multiplier.powi(exponent)).min(MAX_INTERVAL_NS)
    }
}

/// RFC 9110 §9.2.2.
fn is_idempotent(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
    )
}

/// A value in `[-1, 1)` from the monotonic clock's low bits (splitmix64): enough to spread
/// retries of many clients apart, as Go's jitter is meant to.
fn jitter() -> f64 {
    let mut z = plugin_sdk::monotonic_now().wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// `attempts`: a whole number, as text or a number.
fn attempts(value: &Value) -> Result<i64, String> {
    let n = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    };
    n.ok_or_else(|| {
        format!(
            "attempts: must be a whole number, got {}",
            json_text::value(value)
        )
    })
}

/// `initialInterval`: Traefik's `ptypes.Duration`, a number of seconds or a Go duration.
fn interval_ns(value: &Value) -> Result<u64, String> {
    let seconds = |secs: f64, text: &str| {
        if secs >= 0.0 {
            Ok((secs * 1e9) as u64)
        } else {
            Err(format!("initialInterval: negative value not valid: {text}"))
        }
    };
    match value {
        Value::Null => Ok(0),
        Value::Number(n) => seconds(n.as_f64().unwrap_or(-1.0), &json_text::number(n)),
        Value::String(text) => match text.trim().parse::<f64>() {
            Ok(secs) => seconds(secs, text),
            Err(_) => go_duration::parse(text.trim()).map_err(|e| format!("initialInterval: {e}")),
        },
        _ => Err("initialInterval: must be a duration such as \"100ms\"".to_string()),
    }
}

impl Middleware for Retry {
    fn from_config(config: &str) -> Result<Self, String> {
        let options = match serde_json::from_str(config) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Null) => Default::default(),
            Ok(other) => {
                return Err(format!(
                    "config must be a map, got {}",
                    json_text::value(&other)
                ));
            }
            Err(e) => return Err(format!("config is not valid JSON: {e}")),
        };
        let (mut tries, mut initial_interval_ns) = (None, 0);
        for (option, value) in &options {
            match option.as_str() {
                "attempts" => tries = Some(attempts(value)?),
                "initialInterval" => initial_interval_ns = interval_ns(value)?,
                _ => return Err(format!("unknown option {option:?}")),
            }
        }
        let attempts = match tries {
            Some(n) if n >= 1 => u32::try_from(n).unwrap_or(u32::MAX),
            Some(n) => return Err(format!("attempts: must be at least 1 (got {n})")),
            None => return Err("attempts: required (at least 1)".to_string()),
        };
        Ok(Retry {
            attempts,
            initial_interval_ns,
        })
    }

    /// Never called: the middleware is `policy-only`.
    fn on_request(&self, _req: &mut Request<'_>) -> Action {
        Action::Continue
    }

    fn wants_response_hook(&self) -> bool {
        false
    }

    fn retry_mode(&self) -> RetryMode {
        RetryMode::PolicyOnly
    }

    fn retry_after(&self, failed: &FailedAttempt) -> Option<u64> {
        if failed.attempt >= self.attempts || !is_idempotent(&failed.method) {
            return None;
        }
        let interval = self.interval_ns(failed.attempt);
        Some((interval * (1.0 + RANDOMIZATION * jitter())).max(0.0) as u64)
    }
}

plugin_sdk::export_middleware!(Retry);

#[cfg(test)]
mod tests;
