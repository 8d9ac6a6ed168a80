//! Test fixture `deny`: answers every request directly and never continues, so the upstream must
//! see zero requests.
//!
//! Config (every key optional): `{"status": 403, "body": "denied\n"}`. The reply carries
//! `content-type: text/plain` and `x-denied-by: fixture-deny`.

use plugin_sdk::{Action, Middleware, Reply, Request, rules};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    status: u16,
    body: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            status: 403,
            body: "denied\n".to_string(),
        }
    }
}

/// The parsed config; the reply is rebuilt per request (it is consumed by the host).
pub struct Deny {
    config: Config,
}

impl Middleware for Deny {
    fn from_config(config: &str) -> Result<Self, String> {
        let config: Config = if config.trim().is_empty() {
            Config::default()
        } else {
            serde_json::from_str::<Option<Config>>(config)
                .map_err(|e| format!("invalid deny config: {e}"))?
                .unwrap_or_default()
        };
        rules::check_status(config.status).map_err(|e| format!("status: {e}"))?;
        Ok(Deny { config })
    }

    fn on_request(&self, _req: &mut Request<'_>) -> Action {
        Action::Respond(
            Reply::new(self.config.status)
                .header("content-type", "text/plain")
                .header("x-denied-by", "fixture-deny")
                .body(self.config.body.as_bytes()),
        )
    }
}

plugin_sdk::export_middleware!(Deny);
