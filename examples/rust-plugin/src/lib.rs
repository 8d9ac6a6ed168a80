//! An API-key guard, written the way a user writes a wasmgate plugin (see README.md).
//!
//! Requests must carry one of the configured keys in a header (default `x-api-key`). A missing or
//! wrong key is answered with `401` and a JSON body, and the upstream never sees the request. A
//! good key is (by default) removed before forwarding, and the user it belongs to can be passed
//! upstream in a header of your choice.
//!
//! Config:
//! ```json
//! {
//!   "header": "x-api-key",
//!   "keys": { "alice": "alice-secret-key", "ci-bot": "ci-secret-key" },
//!   "userHeader": "x-api-user",
//!   "stripKey": true
//! }
//! ```

mod config;

use plugin_sdk::{Action, Middleware, Reply, Request};

pub use config::ApiKeyConfig;

/// The guard: its config, parsed once per instance.
pub struct ApiKeyGuard {
    config: ApiKeyConfig,
}

impl Middleware for ApiKeyGuard {
    fn from_config(config: &str) -> Result<Self, String> {
        ApiKeyConfig::parse(config).map(|config| ApiKeyGuard { config })
    }

    /// The guard acts on requests only: the gateway skips the response hook, and under
    /// `per-request` isolation hands the instance back as soon as `on-request` returns instead
    /// of holding it across the upstream's round trip.
    fn wants_response_hook(&self) -> bool {
        false
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let Some(presented) = req.header(&self.config.header) else {
            return unauthorized("missing API key");
        };
        let Some(user) = self.user_for(&presented) else {
            plugin_sdk::info!("api-key: rejected a wrong key from {}", req.client_addr());
            return unauthorized("invalid API key");
        };
        if self.config.strip_key {
            req.remove_header(&self.config.header);
        }
        if let Some(user_header) = &self.config.user_header {
            // Replaces any value the client sent, so the upstream can trust it. Names and values
            // were checked at config load; only the gateway's header budget can refuse this, and
            // then the request must not go upstream unlabelled: fail closed.
            if let Err(e) = req.set_header(user_header, user) {
                plugin_sdk::error!("api-key: cannot pass user {user:?} upstream: {e}");
                return Action::Respond(Reply::new(500).body("internal error\n"));
            }
        }
        Action::Continue
    }
}

impl ApiKeyGuard {
    /// The user owning `presented`. Compares against every key in constant time per key, so the
    /// time taken does not reveal how much of a key matched.
    fn user_for(&self, presented: &[u8]) -> Option<&str> {
        let mut found = None;
        for (user, key) in &self.config.keys {
            if constant_time_eq(key, presented) {
                found = Some(user.as_str());
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// `401` with a JSON body. `www-authenticate` names the scheme so clients know what to send.
fn unauthorized(reason: &str) -> Action {
    let body = serde_json::json!({ "error": reason }).to_string();
    Action::Respond(
        Reply::new(401)
            .header("content-type", "application/json")
            .header("www-authenticate", "ApiKey")
            .body(body),
    )
}

plugin_sdk::export_middleware!(ApiKeyGuard);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest};

    const CONFIG: &str = r#"{
        "keys": {"alice": "alice-secret-key", "ci-bot": "ci-secret-key"},
        "userHeader": "x-api-user"
    }"#;

    fn guard() -> ApiKeyGuard {
        testing::instance::<ApiKeyGuard>(CONFIG).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error_of(action: &Action) -> (u16, String) {
        let reply = action.reply().cloned().unwrap_or_else(|| Reply::new(0));
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
        (
            reply.status,
            body["error"].as_str().unwrap_or_default().to_string(),
        )
    }

    #[test]
    fn a_missing_key_is_answered_with_401_and_a_json_error() {
        let action = testing::on_request(&guard(), &mut TestRequest::get("/orders"));
        assert_eq!(error_of(&action), (401, "missing API key".to_string()));
        let reply = action.reply().cloned().unwrap_or_else(|| Reply::new(0));
        assert_eq!(
            reply.get_header("content-type"),
            Some(&b"application/json"[..])
        );
    }

    #[test]
    fn a_wrong_key_is_answered_with_401() {
        for wrong in [
            "alice-secret-kez",
            "alice-secret-key-longer",
            "",
            "ALICE-SECRET-KEY",
        ] {
            let mut req = TestRequest::get("/orders").header("x-api-key", wrong);
            let action = testing::on_request(&guard(), &mut req);
            assert_eq!(
                error_of(&action),
                (401, "invalid API key".to_string()),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn a_good_key_continues_with_the_user_and_without_the_secret() {
        let mut req = TestRequest::get("/orders")
            .header("X-API-Key", "ci-secret-key")
            .header("x-api-user", "spoofed-by-client");
        assert!(testing::on_request(&guard(), &mut req).is_continue());
        assert_eq!(req.header_all("x-api-user"), vec![b"ci-bot".to_vec()]);
        assert_eq!(req.header_bytes("x-api-key"), None);
    }

    #[test]
    fn the_key_can_be_kept_and_read_from_another_header() {
        let config =
            r#"{"header": "authorization-key", "keys": {"alice": "k"}, "stripKey": false}"#;
        let mw = testing::instance::<ApiKeyGuard>(config).unwrap_or_else(|e| panic!("{e}"));
        let mut req = TestRequest::get("/").header("authorization-key", "k");
        assert!(testing::on_request(&mw, &mut req).is_continue());
        assert_eq!(req.header_str("authorization-key").as_deref(), Some("k"));
        assert_eq!(req.header_bytes("x-api-user"), None);
    }
}
