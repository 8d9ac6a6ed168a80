//! Test fixture `grpc-web-binary`: a user plugin built with the SDK on the `grpc-web` import,
//! with a policy the bundled `grpc-web` does not have: binary gRPC-Web calls are handed to the
//! gateway's codec (content type `application/grpc-web…` to `application/grpc…` and back), text
//! ones (`application/grpc-web-text…`) are refused with 415 before they reach the upstream, and
//! no CORS headers are written. Other requests pass untouched. No config.

use plugin_sdk::grpc_web::{self, Mode};
use plugin_sdk::{Action, Middleware, Reply, Request, Response};

const GRPC_WEB: &str = "application/grpc-web";
const GRPC_WEB_TEXT: &str = "application/grpc-web-text";
const GRPC: &str = "application/grpc";

pub struct GrpcWebBinary;

impl Middleware for GrpcWebBinary {
    fn from_config(_config: &str) -> Result<Self, String> {
        Ok(GrpcWebBinary)
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let content_type = req.header_str("content-type").unwrap_or_default();
        if content_type.starts_with(GRPC_WEB_TEXT) {
            return Action::Respond(Reply::new(415).body("binary gRPC-Web only\n"));
        }
        if !content_type.starts_with(GRPC_WEB) {
            return Action::Continue;
        }
        if grpc_web::translate(req, Mode::Binary).is_err() {
            return Action::Respond(Reply::new(500));
        }
        let grpc = content_type.replacen(GRPC_WEB, GRPC, 1);
        let _ = req.set_header("content-type", grpc);
        let _ = req.set_state([1]);
        Action::Continue
    }

    fn on_response(&self, req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        if req.state().is_none() {
            return Action::Continue;
        }
        if let Some(content_type) = resp.header_str("content-type")
            && content_type.starts_with(GRPC)
        {
            let web = content_type.replacen(GRPC, GRPC_WEB, 1);
            let _ = resp.set_header("content-type", web);
        }
        Action::Continue
    }
}

plugin_sdk::export_middleware!(GrpcWebBinary);
