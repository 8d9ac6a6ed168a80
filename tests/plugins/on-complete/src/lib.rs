//! Test fixture `on-complete`: `on-request` keeps the request path in the per-request state;
//! `on-complete` logs one line `on-complete path=<path> status=<status|-> bytes=<n>
//! ending=<complete|client-gone|upstream-failed>` at `warn`, which the e2e tests await in the
//! gateway's log.
//!
//! Config (JSON text): `"off"` declines `on-complete` (`wants_on_complete` false); `"trap"`
//! panics in `on-complete` (the instance traps); anything else logs.

use plugin_sdk::completion::{Ending, Outcome};
use plugin_sdk::{Action, Level, Middleware, Request, log};

pub struct OnComplete {
    mode: Mode,
}

#[derive(PartialEq)]
enum Mode {
    Log,
    Off,
    Trap,
}

impl Middleware for OnComplete {
    fn from_config(config: &str) -> Result<Self, String> {
        let mode = match config.trim().trim_matches('"') {
            "off" => Mode::Off,
            "trap" => Mode::Trap,
            _ => Mode::Log,
        };
        Ok(OnComplete { mode })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let _ = req.set_state(req.path());
        Action::Continue
    }

    fn wants_response_hook(&self) -> bool {
        false
    }

    fn wants_on_complete(&self) -> bool {
        self.mode != Mode::Off
    }

    fn on_complete(&self, state: Option<&[u8]>, outcome: Outcome) {
        if self.mode == Mode::Trap {
            panic!("on-complete trap");
        }
        log(Level::Warn, &line(state, outcome));
    }
}

/// The log line for one outcome.
fn line(state: Option<&[u8]>, outcome: Outcome) -> String {
    let path = String::from_utf8_lossy(state.unwrap_or(b"?"));
    let status = outcome
        .status
        .map_or_else(|| "-".to_string(), |s| s.to_string());
    let ending = match outcome.ending {
        Ending::Complete => "complete",
        Ending::ClientGone => "client-gone",
        Ending::UpstreamFailed => "upstream-failed",
    };
    format!(
        "on-complete path={path} status={status} bytes={} ending={ending}",
        outcome.body_bytes
    )
}

plugin_sdk::export_middleware!(OnComplete);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_path_status_bytes_and_ending() {
        let outcome = Outcome {
            status: Some(502),
            body_bytes: 16,
            duration_ns: 1,
            ending: Ending::UpstreamFailed,
        };
        assert_eq!(
            line(Some(b"/x"), outcome),
            "on-complete path=/x status=502 bytes=16 ending=upstream-failed"
        );
        let gone = Outcome {
            status: None,
            ending: Ending::ClientGone,
            ..outcome
        };
        assert_eq!(
            line(None, gone),
            "on-complete path=? status=- bytes=16 ending=client-gone"
        );
    }
}
