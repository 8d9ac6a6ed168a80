//! Bundled plugin `buffering`: Traefik's `buffering` middleware. The work is the host's: the
//! config maps the options onto the middleware's `body` grant (`config::buffering`), so the
//! gateway reads the request (and response) body whole before passing it on, and refuses one
//! over the cap — a 10 MiB upload over `maxRequestBodyBytes` gets 413 before the upstream sees
//! a byte. The plugin itself only checks the options and runs no hook per request.
//!
//! Options (Traefik v3 names):
//! - `maxRequestBodyBytes` (0 or absent: no limit): larger request bodies get 413;
//! - `memRequestBodyBytes` (default 1 MiB): with no limit, the most held; the rest of a
//!   longer body streams on (Traefik spills it to disk; the gateway never writes bodies to disk);
//! - `maxResponseBodyBytes`, `memResponseBodyBytes`: the same for responses (over the limit:
//!   502, where Traefik answers 500);
//! - `retryExpression` (e.g. `IsNetworkError() && Attempts() < 2`): the gateway parses it at
//!   config time and, after each attempt at forwarding the held request, sends it again while
//!   the expression holds (at most 10 retries, as oxy); a request whose body was over the mem
//!   size (streamed on, not held) is not retried.
//!
//! Held bodies are at most 64 MiB (a larger limit is a config error).

use plugin_sdk::{Action, Middleware, Request};
use serde_json::Value;

/// The `buffering` middleware: the host holds the bodies; nothing to do per request.
pub struct Buffering;

impl Middleware for Buffering {
    fn from_config(config: &str) -> Result<Self, String> {
        let options = traefik_options::options::option_map(config)?;
        for (option, value) in options {
            match option.as_str() {
                "maxRequestBodyBytes"
                | "memRequestBodyBytes"
                | "maxResponseBodyBytes"
                | "memResponseBodyBytes" => {
                    let ok = match &value {
                        Value::Number(n) => n.as_i64().is_some(),
                        Value::String(s) => s.trim().parse::<i64>().is_ok(),
                        _ => false,
                    };
                    if !ok {
                        return Err(format!("{option}: must be a whole number of bytes"));
                    }
                }
                // Parsed and applied by the gateway (it replays the held request).
                "retryExpression" => {
                    if !matches!(value, Value::String(_) | Value::Null) {
                        return Err("retryExpression: must be a string".to_string());
                    }
                }
                _ => return Err(format!("unknown option {option:?}")),
            }
        }
        Ok(Buffering)
    }

    fn wants_response_hook(&self) -> bool {
        false
    }

    fn on_request(&self, _req: &mut Request<'_>) -> Action {
        Action::Continue
    }
}

plugin_sdk::export_middleware!(Buffering);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing;

    #[test]
    fn numbers_and_a_retry_expression_are_accepted() {
        let ok = r#"{"maxRequestBodyBytes": 2000000, "memRequestBodyBytes": "1048576",
            "retryExpression": "IsNetworkError() && Attempts() < 2"}"#;
        assert!(testing::instance::<Buffering>(ok).is_ok());
        for bad in [
            r#"{"maxRequestBodyBytes": "lots"}"#,
            r#"{"retryExpression": 2}"#,
            r#"{"colour": 1}"#,
        ] {
            assert!(testing::instance::<Buffering>(bad).is_err(), "{bad}");
        }
    }
}
