//! Test fixture: on every request, sets `x-original-dst`, `x-local-addr` and
//! `x-client-certs` (the number of client certificates) from the `connection` interface, and
//! `x-client-ip` from the `client-ip` import, so an end-to-end test can see what a plugin reads.

use plugin_sdk::{Action, Middleware, Request, client_connection};

pub struct ConnInfo;

impl Middleware for ConnInfo {
    fn from_config(_config: &str) -> Result<Self, String> {
        Ok(ConnInfo)
    }

    fn wants_response_hook(&self) -> bool {
        false
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let dst = client_connection::original_destination(req);
        let local = client_connection::local_addr(req);
        let certs = client_connection::client_certificates(req).len();
        let _ = req.set_header("x-original-dst", dst);
        let _ = req.set_header("x-local-addr", local);
        let _ = req.set_header("x-client-certs", certs.to_string());
        let _ = req.set_header("x-client-ip", req.client_ip().to_string());
        Action::Continue
    }
}

plugin_sdk::export_middleware!(ConnInfo);
