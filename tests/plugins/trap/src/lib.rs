//! Test fixture `trap`: fails in on-request the way a buggy plugin does, when the request carries
//! `x-fault`; without it, it continues.
//!
//! Config: `{"how": "panic"}` (the default; a Rust panic, which aborts: a trap) or
//! `{"how": "unreachable"}` (the `unreachable` instruction itself).

use plugin_sdk::{Action, Middleware, Request};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum How {
    #[default]
    Panic,
    Unreachable,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    how: How,
}

/// The request header that asks for the fault.
pub const FAULT_HEADER: &str = "x-fault";

/// Which way to fail.
pub struct Trap {
    how: How,
}

impl Middleware for Trap {
    fn from_config(config: &str) -> Result<Self, String> {
        let config: Config = if config.trim().is_empty() {
            Config::default()
        } else {
            serde_json::from_str::<Option<Config>>(config)
                .map_err(|e| format!("invalid trap config: {e}"))?
                .unwrap_or_default()
        };
        Ok(Trap { how: config.how })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        if req.header(FAULT_HEADER).is_none() {
            return Action::Continue;
        }
        match self.how {
            How::Panic => panic!("fixture-trap: deliberate panic on {}", req.path()),
            How::Unreachable => unreachable_instruction(),
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn unreachable_instruction() -> ! {
    core::arch::wasm32::unreachable()
}

/// Natively there is no `unreachable` instruction; aborting is the closest equivalent.
#[cfg(not(target_arch = "wasm32"))]
fn unreachable_instruction() -> ! {
    std::process::abort()
}

plugin_sdk::export_middleware!(Trap);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest};

    fn trap(config: &str) -> Trap {
        testing::instance::<Trap>(config).unwrap_or_else(|e| panic!("{config}: {e}"))
    }

    #[test]
    fn requests_without_x_fault_continue() {
        for config in ["", "{}", r#"{"how":"panic"}"#, r#"{"how":"unreachable"}"#] {
            assert!(testing::on_request(&trap(config), &mut TestRequest::get("/")).is_continue());
        }
    }

    #[test]
    #[should_panic(expected = "fixture-trap: deliberate panic on /boom")]
    fn x_fault_panics_by_default() {
        let mut req = TestRequest::get("/boom").header(FAULT_HEADER, "1");
        testing::on_request(&trap("{}"), &mut req);
    }

    #[test]
    fn unknown_ways_to_fail_are_config_errors() {
        assert!(testing::validate_config::<Trap>(r#"{"how":"segfault"}"#).is_err());
    }
}
