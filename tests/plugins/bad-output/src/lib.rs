//! Test fixture `bad-output`: when the request carries `x-fault`, answers with a reply the host
//! must refuse, to exercise its output validation; without it, it continues. The reply is built
//! field by field, without the SDK's builder.
//!
//! Config: `{"mode": M, "hook": "request" | "response"}` where `M` is one of `status-999`,
//! `bad-header-name` (`bad header`), `bad-header-value` (a CR LF inside), `huge-body` (1 MiB, past
//! the 64 KiB default cap) or `too-many-headers` (10 000 headers). `hook` (default `request`) picks
//! which hook answers; with `response`, on-request always continues.

use plugin_sdk::{Action, Middleware, Reply, Request, Response};
use serde::Deserialize;

/// The request header that asks for the fault.
pub const FAULT_HEADER: &str = "x-fault";

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    #[serde(rename = "status-999")]
    Status999,
    BadHeaderName,
    BadHeaderValue,
    HugeBody,
    TooManyHeaders,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Hook {
    #[default]
    Request,
    Response,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    mode: Mode,
    #[serde(default)]
    hook: Hook,
}

/// Which invalid reply to send, from which hook.
pub struct BadOutput {
    mode: Mode,
    hook: Hook,
}

impl BadOutput {
    fn answer(&self, hook: Hook, req: &Request<'_>) -> Action {
        if self.hook == hook && req.header(FAULT_HEADER).is_some() {
            Action::Respond(self.reply())
        } else {
            Action::Continue
        }
    }

    fn reply(&self) -> Reply {
        let text_plain = || ("content-type".to_string(), b"text/plain".to_vec());
        match self.mode {
            Mode::Status999 => Reply {
                status: 999,
                headers: vec![text_plain()],
                body: b"x".to_vec(),
            },
            Mode::BadHeaderName => Reply {
                status: 200,
                headers: vec![("bad header".to_string(), b"v".to_vec())],
                body: Vec::new(),
            },
            Mode::BadHeaderValue => Reply {
                status: 200,
                headers: vec![(
                    "x-injected".to_string(),
                    b"a\r\nset-cookie: evil=1".to_vec(),
                )],
                body: Vec::new(),
            },
            Mode::HugeBody => Reply {
                status: 200,
                headers: vec![text_plain()],
                body: vec![b'x'; 1 << 20],
            },
            Mode::TooManyHeaders => Reply {
                status: 200,
                headers: (0..10_000)
                    .map(|i| (format!("x-h-{i}"), b"v".to_vec()))
                    .collect(),
                body: Vec::new(),
            },
        }
    }
}

impl Middleware for BadOutput {
    fn from_config(config: &str) -> Result<Self, String> {
        let config: Config =
            serde_json::from_str(config).map_err(|e| format!("invalid bad-output config: {e}"))?;
        Ok(BadOutput {
            mode: config.mode,
            hook: config.hook,
        })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        self.answer(Hook::Request, req)
    }

    fn on_response(&self, req: &mut Request<'_>, _resp: &mut Response<'_>) -> Action {
        self.answer(Hook::Response, req)
    }
}

plugin_sdk::export_middleware!(BadOutput);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::rules::check_reply;
    use plugin_sdk::testing::{
        TestRequest, TestResponse, on_request_unchecked, on_response_unchecked,
    };

    fn fixture(config: &str) -> BadOutput {
        BadOutput::from_config(config).unwrap_or_else(|e| panic!("{config}: {e}"))
    }

    fn faulty() -> TestRequest {
        TestRequest::get("/").header(FAULT_HEADER, "1")
    }

    #[test]
    fn every_mode_builds_a_reply_the_host_refuses() {
        let modes = [
            "status-999",
            "bad-header-name",
            "bad-header-value",
            "huge-body",
            "too-many-headers",
        ];
        for mode in modes {
            let mw = fixture(&format!(r#"{{"mode":"{mode}"}}"#));
            let action = on_request_unchecked(&mw, &mut faulty());
            let reply = action.reply().unwrap_or_else(|| panic!("{mode}: no reply"));
            assert!(check_reply(reply).is_err(), "{mode}");
        }
    }

    #[test]
    fn only_requests_with_x_fault_get_the_bad_reply_from_the_configured_hook() {
        let on_req = fixture(r#"{"mode":"status-999"}"#);
        let on_resp = fixture(r#"{"mode":"status-999","hook":"response"}"#);
        let mut plain = TestRequest::get("/");
        let mut resp = TestResponse::new(200);
        assert!(on_request_unchecked(&on_req, &mut plain).is_continue());
        assert!(on_response_unchecked(&on_resp, &mut plain, &mut resp).is_continue());

        let status = |action: Action| action.reply().map(|r| r.status);
        assert_eq!(
            status(on_request_unchecked(&on_req, &mut faulty())),
            Some(999)
        );
        assert_eq!(
            status(on_response_unchecked(&on_req, &mut faulty(), &mut resp)),
            None
        );
        assert_eq!(status(on_request_unchecked(&on_resp, &mut faulty())), None);
        assert_eq!(
            status(on_response_unchecked(&on_resp, &mut faulty(), &mut resp)),
            Some(999)
        );
    }

    #[test]
    fn unknown_modes_are_config_errors() {
        assert!(BadOutput::from_config(r#"{"mode":"nope"}"#).is_err());
        assert!(BadOutput::from_config("{}").is_err());
    }
}
