//! Test fixture `memo-probe`: declares a verdict memo (`verdict-memo`) on the request header
//! `x-key` (60 s, 16 values) and lets the value choose what `on_request` does, so a test sees
//! which calls the gateway remembers and replays and which it never does.
//!
//! For a request with `x-key: V`:
//! - every `V`: sets the request header `x-memo-probe: V` (an edit a replay makes again);
//! - `V` starting with `log`: also writes a log line (a call a replay would not make: the call
//!   is not remembered);
//! - `V` starting with `state`: also sets the request's state (likewise not remembered);
//! - `V` starting with `path`: also rewrites the path to `/rewritten` (likewise);
//! - `V` = `deny`: answers 403 (a refusal: never remembered).
//!
//! Without `x-key` it continues and edits nothing. It has no response hook. The config is
//! ignored.

use plugin_sdk::verdict_memo::VerdictMemo;
use plugin_sdk::{Action, Level, Middleware, Reply, Request, log};

/// The header the verdict is declared to depend on.
const KEY: &str = "x-key";

pub struct MemoProbe;

impl Middleware for MemoProbe {
    fn from_config(_config: &str) -> Result<Self, String> {
        Ok(MemoProbe)
    }

    /// No response hook: the hook calls a test counts are `on_request`'s alone.
    fn wants_response_hook(&self) -> bool {
        false
    }

    fn verdict_memo(&self) -> Option<VerdictMemo> {
        Some(VerdictMemo {
            header: KEY.into(),
            ttl_ms: 60_000,
            // The most the host allows: the memo is direct-mapped under a random key, so two
            // values share a slot (and the later evicts the earlier) with a chance of one in
            // `max_entries`; the tests send a handful of values and expect each remembered.
            // At 16 that failed about one run in sixteen.
            max_entries: 4096,
        })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let Some(value) = req.header_str(KEY) else {
            return Action::Continue;
        };
        if value == "deny" {
            return Action::Respond(Reply::new(403).header("x-denied-by", "memo-probe"));
        }
        if value.starts_with("log") {
            log(Level::Info, &format!("memo-probe saw {value}"));
        } else if value.starts_with("state") {
            let _ = req.set_state(value.as_bytes());
        } else if value.starts_with("path") {
            let _ = req.set_path("/rewritten");
        }
        let _ = req.set_header("x-memo-probe", value.as_bytes());
        Action::Continue
    }
}

plugin_sdk::export_middleware!(MemoProbe);
