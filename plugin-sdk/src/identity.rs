//! The `identity` interface: naming the authenticated user of the request, which the gateway
//! writes to its access-log line (Traefik's `ClientUsername`, CLF's third field).
//!
//! Call it from `on_request` (or `on_request_subresponse`) once the request is authenticated;
//! a later call, by this middleware or a later one, replaces the name. Needs no grant. One host
//! call that copies the name; a plugin that never calls it does not import the interface.

use crate::Request;

/// Names `user` as the authenticated user of `req` in the access log.
pub fn set_user(req: &mut Request<'_>, user: &str) {
    imp::set_user(req.backend(), user);
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use crate::request::RequestRef;

    // The host keeps the name with the request of the current hook call, which is `req`'s.
    pub(super) fn set_user(_req: &mut RequestRef<'_>, user: &str) {
        crate::guest::wit::identity::set_user(user);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use crate::request::RequestRef;

    pub(super) fn set_user(req: &mut RequestRef<'_>, user: &str) {
        req.user = Some(user.to_string());
    }
}
