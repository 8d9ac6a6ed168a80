//! Traefik's `grpcWeb` and `retry` middlewares: resolved to options the proxy runs natively
//! around the forwarding step (ARCHITECTURE, "Native middlewares" says why these two are not
//! plugins). Every bad value is reported at its key.

use serde::Deserialize;

use super::duration::DurationValue;
use super::model_dynamic::{
    DEFAULT_RETRY_INITIAL_INTERVAL, GrpcWebConfig, NativeMiddleware, RetryConfig,
};
use crate::yaml::report::Reporter;
use crate::yaml::tree::Entry;

pub(crate) const GRPC_WEB_KEY: &str = "grpcWeb";
pub(crate) const RETRY_KEY: &str = "retry";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawGrpcWeb {
    #[serde(default)]
    allow_origins: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRetry {
    attempts: Option<i64>,
    initial_interval: Option<DurationValue>,
}

/// Whether `type_key` is one of the native middlewares.
pub(crate) fn is_native(type_key: &str) -> bool {
    matches!(type_key, GRPC_WEB_KEY | RETRY_KEY)
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
        GRPC_WEB_KEY => {
            let raw: RawGrpcWeb = reporter.parse(file, &entry.value, entry_path, entry.line)?;
            Some(NativeMiddleware::GrpcWeb(GrpcWebConfig {
                allow_origins: raw.allow_origins,
            }))
        }
        _ => {
            let raw: RawRetry = reporter.parse(file, &entry.value, entry_path, entry.line)?;
            let attempts = match raw.attempts {
                Some(n) if n >= 1 => u32::try_from(n).unwrap_or(u32::MAX),
                Some(n) => {
                    let reason = format!("must be at least 1 (got {n})");
                    reporter.at(file, &at("attempts"), reason);
                    return None;
                }
                None => {
                    reporter.at(file, entry_path, "attempts: required (at least 1)");
                    return None;
                }
            };
            Some(NativeMiddleware::Retry(RetryConfig {
                attempts,
                initial_interval: raw
                    .initial_interval
                    .map_or(DEFAULT_RETRY_INITIAL_INTERVAL, |d| d.0),
            }))
        }
    }
}
