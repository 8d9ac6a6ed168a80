//! The host side of the `outbound-http` import: `send` checks the plugin's subrequest against
//! the middleware's grant (`outbound`) and records it on the current request head; the chain
//! takes it from there when the hook returns (`chain`, then `outbound_send`).
//!
//! A component that imports `outbound-http` loads only for a middleware whose config grants it
//! (`app::build` refuses it otherwise), so a call without a grant is a host bug or a bypass: it
//! traps, failing that request only.

use super::bindings::wasmgate::plugin::outbound_http::{self, Destination, SendError, Subrequest};
use super::host_state::HostState;
use super::outbound::{Asked, Refusal, check};
use plugin_contract::MAX_SUBREQUESTS_PER_MIDDLEWARE;

impl outbound_http::Host for HostState {
    fn send(&mut self, request: Subrequest) -> wasmtime::Result<Result<(), SendError>> {
        self.not_memoizable();
        let grant = self.outbound.clone().ok_or_else(|| {
            wasmtime::format_err!(
                "middleware {:?} called outbound-http without the outbound-http grant",
                &*self.identity.middleware
            )
        })?;
        let Ok(head) = self.heads.current_request_mut() else {
            return Ok(Err(SendError::NoRequest));
        };
        let current = head.current;
        if head.pending_subrequest.is_some()
            || head.subrequests_sent(current) >= MAX_SUBREQUESTS_PER_MIDDLEWARE
        {
            return Ok(Err(SendError::TooMany));
        }
        let (url, service) = match &request.destination {
            Destination::Url(url) => (Some(url.as_str()), None),
            Destination::Service(t) => (None, Some((t.name.as_str(), t.path_and_query.as_str()))),
        };
        let asked = Asked {
            method: &request.method,
            url,
            service,
            headers: request.headers,
            body: request.body,
            timeout_ms: request.timeout_ms,
            max_response_body: request.max_response_body,
        };
        match check(&grant, asked) {
            Ok(sub) => {
                head.count_subrequest(current);
                head.pending_subrequest = Some(Box::new(sub));
                Ok(Ok(()))
            }
            Err(Refusal::NotAllowed(why)) => Ok(Err(SendError::NotAllowed(why))),
            Err(Refusal::Invalid(why)) => Ok(Err(SendError::Invalid(why))),
        }
    }
}
