//! Test fixture `kv-counter`: a user plugin built with the SDK on the `kv` capability. It
//! answers every request itself, so a test reads the store through plain HTTP:
//!
//! - `/hit`: increments `hits` and answers its new value;
//! - `/window`: increments `window`, created with a time to live of `ttlMs` (config, default
//!   0: none), and answers its value (1 again once the window expired);
//! - `/claim/<v>`: compare-and-swap of `owner` from absent to `<v>`: `won` or `lost:<owner>`;
//! - `/completed`: how many requests the middleware's `on-complete` saw (a counter it
//!   increments from that hook, where there is no request);
//! - `/pass...`: goes on to the upstream; its `on-response` increments `responses` and puts the
//!   new value in `x-responses` (or the error in `x-responses-error`).
//!
//! Config: `{"ttlMs": N}` or nothing.

use std::time::Duration;

use serde::Deserialize;

use plugin_sdk::completion::Outcome;
use plugin_sdk::{Action, Middleware, Reply, Request, Response, kv};

/// `{"ttlMs": N}`; no config: no time to live.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Config {
    ttl_ms: u64,
}

pub struct KvCounter {
    ttl: Duration,
}

fn answer(text: String) -> Action {
    Action::Respond(Reply::new(200).body(text))
}

fn failed(e: kv::KvError) -> Action {
    Action::Respond(Reply::new(500).body(e.to_string()))
}

impl Middleware for KvCounter {
    fn from_config(config: &str) -> Result<Self, String> {
        let config: Config = if config.trim().is_empty() {
            Config::default()
        } else {
            serde_json::from_str::<Option<Config>>(config)
                .map_err(|e| format!("invalid kv-counter config: {e}"))?
                .unwrap_or_default()
        };
        Ok(KvCounter {
            ttl: Duration::from_millis(config.ttl_ms),
        })
    }

    fn wants_response_hook(&self) -> bool {
        true
    }

    fn on_response(&self, _req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        let edit = match kv::increment("responses", 1, Duration::ZERO) {
            Ok(n) => resp.set_header("x-responses", n.to_string()),
            Err(e) => resp.set_header("x-responses-error", e.to_string()),
        };
        match edit {
            Ok(()) => Action::Continue,
            Err(_) => Action::Respond(Reply::new(500)),
        }
    }

    fn wants_on_complete(&self) -> bool {
        true
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let path = req.path();
        if path.starts_with("/pass") {
            return Action::Continue;
        }
        let result = match path.as_str() {
            "/hit" => kv::increment("hits", 1, Duration::ZERO).map(|n| n.to_string()),
            "/window" => kv::increment("window", 1, self.ttl).map(|n| n.to_string()),
            "/completed" => kv::get_counter("completed").map(|n| n.to_string()),
            _ => match path.strip_prefix("/claim/") {
                Some(who) => {
                    match kv::compare_and_swap("owner", None, who.as_bytes(), Duration::ZERO) {
                        Ok(true) => Ok("won".to_string()),
                        Ok(false) => kv::get("owner").map(|owner| {
                            format!(
                                "lost:{}",
                                String::from_utf8_lossy(&owner.unwrap_or_default())
                            )
                        }),
                        Err(e) => Err(e),
                    }
                }
                None => return Action::Respond(Reply::new(404)),
            },
        };
        match result {
            Ok(text) => answer(text),
            Err(e) => failed(e),
        }
    }

    fn on_complete(&self, _state: Option<&[u8]>, _outcome: Outcome) {
        let _ = kv::increment("completed", 1, Duration::ZERO);
    }
}

plugin_sdk::export_middleware!(KvCounter);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest};

    fn body(mw: &KvCounter, path: &str) -> String {
        let mut req = TestRequest::get(path);
        match testing::on_request(mw, &mut req) {
            Action::Respond(reply) => String::from_utf8_lossy(&reply.body).into_owned(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn counts_and_claims_in_the_native_store() {
        testing::clear_kv();
        let mw = testing::instance::<KvCounter>("{}").expect("config");
        assert_eq!(body(&mw, "/hit"), "1");
        assert_eq!(body(&mw, "/hit"), "2");
        assert_eq!(body(&mw, "/claim/a"), "won");
        assert_eq!(body(&mw, "/claim/b"), "lost:a");
    }
}
