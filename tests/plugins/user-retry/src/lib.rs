//! Test fixture `user-retry`: a user plugin built with the SDK on the two contract additions
//! the bundled auth and retry plugins use, with a policy of its own:
//!
//! - `identity`: the value of the request's `x-user` header, if any, is named as the request's
//!   user (the access log's `ClientUsername`);
//! - `retry-policy` (`with-hooks`, so `on_request` runs too): after an attempt that found the
//!   upstream unreachable, retry at once, *whatever the method* (the bundled `retry` retries
//!   idempotent methods only), while fewer than `attempts` tries were made.
//!
//! Config: `{"attempts": N}` (default 3).

use serde::Deserialize;

use plugin_sdk::retry::{FailedAttempt, RetryMode};
use plugin_sdk::{Action, Middleware, Request, identity};

/// `{"attempts": N}`; no config: 3 tries in all.
#[derive(Debug, Deserialize)]
#[serde(default)]
struct Config {
    attempts: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config { attempts: 3 }
    }
}

pub struct UserRetry {
    attempts: u32,
}

impl Middleware for UserRetry {
    fn from_config(config: &str) -> Result<Self, String> {
        let config: Config = if config.trim().is_empty() {
            Config::default()
        } else {
            serde_json::from_str::<Option<Config>>(config)
                .map_err(|e| format!("invalid user-retry config: {e}"))?
                .unwrap_or_default()
        };
        Ok(UserRetry {
            attempts: config.attempts,
        })
    }

    fn wants_response_hook(&self) -> bool {
        false
    }

    fn retry_mode(&self) -> RetryMode {
        RetryMode::WithHooks
    }

    fn retry_after(&self, failed: &FailedAttempt) -> Option<u64> {
        (failed.attempt < self.attempts).then_some(0)
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        if let Some(user) = req.header("x-user") {
            identity::set_user(req, &String::from_utf8_lossy(&user));
        }
        Action::Continue
    }
}

plugin_sdk::export_middleware!(UserRetry);
