//! Traefik's `circuitBreaker` and `grpcWeb` middlewares: resolved to options the proxy
//! runs natively around the forwarding step (ARCHITECTURE, "Native middlewares" says why these
//! two are not plugins). Every bad value is reported at its key; the expression is parsed
//! here, once, so a typo is a load error and never a request-time surprise.

use std::time::Duration;

use serde::Deserialize;

use super::breaker_expression::parse_breaker_expression;
use super::duration::DurationValue;
use super::model_dynamic::{CircuitBreakerConfig, GrpcWebConfig, NativeMiddleware};
use crate::yaml::report::Reporter;
use crate::yaml::tree::Entry;

pub(crate) const CIRCUIT_BREAKER_KEY: &str = "circuitBreaker";
pub(crate) const GRPC_WEB_KEY: &str = "grpcWeb";

/// Traefik's (oxy's) defaults.
const DEFAULT_CHECK_PERIOD: Duration = Duration::from_millis(100);
const DEFAULT_FALLBACK_DURATION: Duration = Duration::from_secs(10);
const DEFAULT_RECOVERY_DURATION: Duration = Duration::from_secs(10);
const DEFAULT_RESPONSE_CODE: u16 = 503;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawCircuitBreaker {
    expression: Option<String>,
    check_period: Option<DurationValue>,
    fallback_duration: Option<DurationValue>,
    recovery_duration: Option<DurationValue>,
    response_code: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawGrpcWeb {
    #[serde(default)]
    allow_origins: Vec<String>,
}

/// Whether `type_key` is one of the native middlewares.
pub(crate) fn is_native(type_key: &str) -> bool {
    matches!(type_key, CIRCUIT_BREAKER_KEY | GRPC_WEB_KEY)
}

/// Resolves the options of a native middleware (`type_key` as [`is_native`] accepted) written
/// at `entry_path`; `None` after reporting.
pub(crate) fn resolve_native(
    reporter: &mut Reporter<'_>,
    file: usize,
    entry_path: &[&str],
    type_key: &str,
    entry: &Entry,
) -> Option<NativeMiddleware> {
    let at = |key: &'static str| [entry_path, &[key]].concat();
    match type_key {
        CIRCUIT_BREAKER_KEY => {
            let raw: RawCircuitBreaker =
                reporter.parse(file, &entry.value, entry_path, entry.line)?;
            let Some(text) = raw.expression.filter(|t| !t.trim().is_empty()) else {
                let reason = "expression: required, e.g. \"NetworkErrorRatio() > 0.5\"";
                reporter.at(file, entry_path, reason);
                return None;
            };
            let expression = match parse_breaker_expression(&text) {
                Ok(expression) => expression,
                Err(reason) => {
                    reporter.at(file, &at("expression"), reason);
                    return None;
                }
            };
            let response_code = raw.response_code.unwrap_or(DEFAULT_RESPONSE_CODE);
            if !(200..=599).contains(&response_code) {
                reporter.at(file, &at("responseCode"), "must be a status in 200..599");
                return None;
            }
            // Traefik keeps the default for a zero duration.
            let or = |value: Option<DurationValue>, default: Duration| {
                value
                    .map(|d| d.0)
                    .filter(|d| !d.is_zero())
                    .unwrap_or(default)
            };
            Some(NativeMiddleware::CircuitBreaker(CircuitBreakerConfig {
                expression,
                check_period: or(raw.check_period, DEFAULT_CHECK_PERIOD),
                fallback_duration: or(raw.fallback_duration, DEFAULT_FALLBACK_DURATION),
                recovery_duration: or(raw.recovery_duration, DEFAULT_RECOVERY_DURATION),
                response_code,
            }))
        }
        _ => {
            let raw: RawGrpcWeb = reporter.parse(file, &entry.value, entry_path, entry.line)?;
            Some(NativeMiddleware::GrpcWeb(GrpcWebConfig {
                allow_origins: raw.allow_origins,
            }))
        }
    }
}
