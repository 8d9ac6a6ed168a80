//! Test fixture `hooks-declared`: declares what its config says, and reports every response-side
//! call it gets in response headers, so a test sees which hooks the host really calls.
//!
//! Config (JSON): `{"responseHook": bool, "peek": N}` (defaults: true, 0), or `"name": "x"` to
//! suffix the header names (`x-on-response-x`), for several in one chain; `"fixedHeader":
//! "NAME"` declares fixed edits (`fixed-edits`) setting response header NAME to `fixed`, which
//! the hooks do not make (so a test sees the gateway applied them without calling the hooks;
//! a real plugin's hooks must make them).
//! - `on_request` sets nothing;
//! - `on_response` sets `x-on-response: N`, N counting this instance's `on_response` calls;
//! - `on_response_body` sets `x-on-response-body: <bytes seen>:<complete>` and
//!   `x-body-start: <the first (up to) 16 bytes seen, lossy text>`.

use std::cell::Cell;

use plugin_sdk::{Action, Middleware, Request, Response};

pub struct HooksDeclared {
    response_hook: bool,
    peek: u32,
    suffix: String,
    responses: Cell<u64>,
    fixed_header: Option<String>,
}

/// Reads `"key": value` from a flat JSON object of booleans, numbers and simple strings.
fn field<'a>(config: &'a str, key: &str) -> Option<&'a str> {
    let start = config.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = config[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim().trim_matches('"'))
}

impl HooksDeclared {
    fn header(&self, name: &str) -> String {
        if self.suffix.is_empty() {
            name.to_string()
        } else {
            format!("{name}-{}", self.suffix)
        }
    }
}

impl Middleware for HooksDeclared {
    fn from_config(config: &str) -> Result<Self, String> {
        let response_hook = match field(config, "responseHook") {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => return Err(format!("responseHook: expected a boolean, got {other}")),
        };
        let peek = match field(config, "peek") {
            None => 0,
            Some(n) => n.parse().map_err(|_| format!("peek: not a number: {n}"))?,
        };
        Ok(HooksDeclared {
            response_hook,
            peek,
            suffix: field(config, "name").unwrap_or_default().to_string(),
            responses: Cell::new(0),
            fixed_header: field(config, "fixedHeader").map(str::to_string),
        })
    }

    fn wants_response_hook(&self) -> bool {
        self.response_hook
    }

    fn response_body_peek(&self) -> u32 {
        self.peek
    }

    fn fixed_edits(&self) -> Option<plugin_sdk::fixed_edits::FixedEdits> {
        let name = self.fixed_header.as_deref()?;
        Some(plugin_sdk::fixed_edits::FixedEdits::new().set_response(name, "fixed"))
    }

    fn on_response(&self, _req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        let n = self.responses.get() + 1;
        self.responses.set(n);
        let _ = resp.set_header(&self.header("x-on-response"), n.to_string());
        Action::Continue
    }

    fn on_response_body(
        &self,
        _req: &mut Request<'_>,
        resp: &mut Response<'_>,
        body_start: &[u8],
        complete: bool,
    ) -> Action {
        let seen = format!("{}:{complete}", body_start.len());
        let _ = resp.set_header(&self.header("x-on-response-body"), seen);
        let head: String = String::from_utf8_lossy(&body_start[..body_start.len().min(16)])
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '.'
                }
            })
            .collect();
        let _ = resp.set_header(&self.header("x-body-start"), head);
        Action::Continue
    }
}

plugin_sdk::export_middleware!(HooksDeclared);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest, TestResponse};

    fn run(config: &str, body: &[u8]) -> (Option<Action>, TestResponse) {
        let mw = testing::instance::<HooksDeclared>(config).unwrap_or_else(|e| panic!("{e}"));
        let mut req = TestRequest::get("/");
        let mut resp = TestResponse::new(200);
        let action = testing::response_hook(&mw, &mut req, &mut resp, body);
        (action, resp)
    }

    #[test]
    fn reports_what_it_declared() {
        let (action, resp) = run(r#"{"responseHook": false}"#, b"x");
        assert!(action.is_none());
        assert_eq!(resp.headers, vec![]);
        let (_, resp) = run("{}", b"x");
        assert_eq!(resp.header_str("x-on-response").as_deref(), Some("1"));
        let (_, resp) = run(r#"{"peek": 4, "name": "a"}"#, b"<html>");
        assert_eq!(
            resp.header_str("x-on-response-body-a").as_deref(),
            Some("4:false")
        );
        assert_eq!(resp.header_str("x-body-start-a").as_deref(), Some("<htm"));
        assert!(testing::validate_config::<HooksDeclared>(r#"{"peek": "x"}"#).is_err());
    }
}
