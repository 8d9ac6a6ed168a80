//! Test fixture: a user plugin built with the SDK on the `body` capability.
//!
//! Request: a body containing `forbidden` is refused with 422; any other body is sent upstream
//! upper-cased, with its original length in `x-body-bytes`; a body over the grant's cap
//! (`too-large`) passes unread, marked `x-body-over-cap: <cap>`. Response: the body is wrapped
//! as `[` body `]` and its original length set in `x-response-body-bytes`.

use plugin_sdk::body::{self, BodyError};
use plugin_sdk::{Action, Middleware, Reply, Request, Response};

pub struct BodyFilter;

impl Middleware for BodyFilter {
    fn from_config(_config: &str) -> Result<Self, String> {
        Ok(BodyFilter)
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        match body::request_body(req) {
            Ok(bytes) => {
                if bytes.windows(9).any(|w| w == b"forbidden") {
                    return Action::Respond(Reply::new(422).body("forbidden body\n"));
                }
                let _ = req.set_header("x-body-bytes", bytes.len().to_string());
                match body::set_request_body(req, bytes.to_ascii_uppercase()) {
                    Ok(()) => Action::Continue,
                    Err(e) => Action::Respond(Reply::new(500).body(format!("{e:?}"))),
                }
            }
            Err(BodyError::TooLarge(cap)) => {
                let _ = req.set_header("x-body-over-cap", cap.to_string());
                Action::Continue
            }
            Err(e) => Action::Respond(Reply::new(500).body(format!("request body: {e:?}"))),
        }
    }

    fn on_response(&self, _req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        match body::response_body(resp) {
            Ok(bytes) => {
                let _ = resp.set_header("x-response-body-bytes", bytes.len().to_string());
                let mut wrapped = Vec::with_capacity(bytes.len() + 2);
                wrapped.push(b'[');
                wrapped.extend_from_slice(&bytes);
                wrapped.push(b']');
                let _ = body::set_response_body(resp, wrapped);
                Action::Continue
            }
            // No response body granted, or none to hold (HEAD, 204...): pass it on.
            Err(_) => Action::Continue,
        }
    }
}

plugin_sdk::export_middleware!(BodyFilter);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest, TestResponse};

    #[test]
    fn a_forbidden_body_is_refused_and_others_are_upper_cased() {
        let mw = testing::instance::<BodyFilter>("{}").unwrap_or_else(|e| panic!("{e}"));
        let mut req = TestRequest::post("/x");
        req.body = Some(b"a forbidden word".to_vec());
        assert_eq!(
            testing::on_request(&mw, &mut req).reply().map(|r| r.status),
            Some(422)
        );
        let mut req = TestRequest::post("/x");
        req.body = Some(b"hello".to_vec());
        assert!(testing::on_request(&mw, &mut req).is_continue());
        assert_eq!(req.body.as_deref(), Some(&b"HELLO"[..]));
        let mut resp = TestResponse::new(200);
        resp.body = Some(b"up".to_vec());
        assert!(testing::on_response(&mw, &mut req, &mut resp).is_continue());
        assert_eq!(resp.body.as_deref(), Some(&b"[up]"[..]));
    }
}
