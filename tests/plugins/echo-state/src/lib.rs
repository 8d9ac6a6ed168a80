//! Test fixture `echo-state`: on-request stores the request path in the per-request state;
//! on-response copies the state into the response header `x-state` (absent if there is no state).
//! Proves the host keeps the scratch between the two hooks, across instance check-outs.
//! Config is ignored.

use plugin_sdk::{Action, Middleware, Request, Response};

/// No config, no instance state: everything lives in the request's scratch.
pub struct EchoState;

impl Middleware for EchoState {
    fn from_config(_config: &str) -> Result<Self, String> {
        Ok(EchoState)
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        // A path fits the 64 KiB state cap; a refused store shows up as a missing x-state header.
        let _ = req.set_state(req.path());
        Action::Continue
    }

    fn on_response(&self, req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        if let Some(state) = req.state() {
            let _ = resp.set_header("x-state", state);
        }
        Action::Continue
    }
}

plugin_sdk::export_middleware!(EchoState);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest, TestResponse};

    #[test]
    fn the_path_travels_from_request_to_response_through_the_state() {
        let mut req = TestRequest::get("/some/path?q=1");
        let mut resp = TestResponse::new(200);
        testing::on_request(&EchoState, &mut req);
        testing::on_response(&EchoState, &mut req, &mut resp);
        assert_eq!(resp.header_str("x-state").as_deref(), Some("/some/path"));
    }
}
