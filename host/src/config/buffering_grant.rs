//! Traefik's `buffering` options as the `body` grant of its bundled plugin: the host holds the
//! bodies, the plugin only checks the options (`plugins/buffering`).
//!
//! `retryExpression` is parsed here too ([`retry_expression`]): the proxy sends the held request
//! again while it holds (`proxy::handler`).
//!
//! `max*BodyBytes` above 0: held up to that, refused beyond (413 for a request, 502 for a
//! response). 0 or absent (Traefik: no limit): held up to `mem*BodyBytes` (default 1 MiB, as
//! Traefik's), the rest streamed on. Config time only.

use super::model_static::OverLimit;
use super::raw::{RawBody, RawBodyLimit};
use super::retry_expression::{RetryExpression, parse_retry_expression};
use super::size::SizeValue;
use crate::yaml::report::Reporter;

/// Traefik's default `memRequestBodyBytes` / `memResponseBodyBytes`.
const DEFAULT_MEM_BYTES: u64 = 1 << 20;

/// The grant for a `buffering` middleware's (already normalised) options.
pub(crate) fn grant(config: &serde_json::Value) -> RawBody {
    let number = |key: &str| {
        config.get(key).and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
    };
    let side = |max_key: &str, mem_key: &str| {
        let (max_bytes, over_limit) = match number(max_key) {
            Some(max) if max > 0 => (max as u64, OverLimit::Reject),
            _ => {
                let mem = number(mem_key).filter(|m| *m > 0).map(|m| m as u64);
                (mem.unwrap_or(DEFAULT_MEM_BYTES), OverLimit::Pass)
            }
        };
        Some(RawBodyLimit {
            max_bytes: Some(SizeValue(max_bytes)),
            over_limit: Some(over_limit),
        })
    };
    RawBody {
        request: side("maxRequestBodyBytes", "memRequestBodyBytes"),
        response: side("maxResponseBodyBytes", "memResponseBodyBytes"),
    }
}

/// `retryExpression`, parsed (`Some(None)` when absent or empty); `None` after reporting a bad
/// one at its key (`file:line: http.middlewares.NAME.buffering.retryExpression: reason`).
pub(crate) fn retry_expression(
    reporter: &mut Reporter<'_>,
    file: usize,
    entry_path: &[&str],
    config: &serde_json::Value,
) -> Option<Option<RetryExpression>> {
    let at = [entry_path, &["retryExpression"]].concat();
    match config.get("retryExpression") {
        None | Some(serde_json::Value::Null) => Some(None),
        Some(serde_json::Value::String(text)) if text.trim().is_empty() => Some(None),
        Some(serde_json::Value::String(text)) => match parse_retry_expression(text) {
            Ok(expression) => Some(Some(expression)),
            Err(reason) => {
                reporter.at(file, &at, reason);
                None
            }
        },
        Some(_) => {
            reporter.at(
                file,
                &at,
                "must be a string, e.g. \"IsNetworkError() && Attempts() < 2\"",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_max_is_a_refusing_cap_and_no_max_holds_the_mem_size_then_streams() {
        let g = grant(
            &serde_json::json!({"maxRequestBodyBytes": 2000, "memResponseBodyBytes": "4096"}),
        );
        let req = g.request.unwrap_or_else(|| panic!("request"));
        assert_eq!(req.max_bytes.map(|s| s.0), Some(2000));
        assert_eq!(req.over_limit, Some(OverLimit::Reject));
        let resp = g.response.unwrap_or_else(|| panic!("response"));
        assert_eq!(resp.max_bytes.map(|s| s.0), Some(4096));
        assert_eq!(resp.over_limit, Some(OverLimit::Pass));
    }
}
