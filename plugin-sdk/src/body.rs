//! The `body` capability: read and replace the whole request or response body, which the
//! gateway holds for the middleware up to a cap (see `interface body` in the WIT).
//!
//! Call these from the hooks that already see the heads: [`request_body`] /
//! [`set_request_body`] in [`Middleware::on_request`](crate::Middleware::on_request),
//! [`response_body`] / [`set_response_body`] in
//! [`Middleware::on_response`](crate::Middleware::on_response). A plugin that calls any of them
//! imports `body`, and the gateway loads it only for a middleware whose config grants it and
//! says which bodies, with their caps:
//!
//! ```yaml
//! plugin:
//!   name: my-filter
//!   capabilities: [body]
//!   body:
//!     request: { maxBytes: 1MiB, overLimit: reject }   # 413 beyond (or pass: streamed unread)
//!     response: { maxBytes: 4MiB, overLimit: pass }
//! ```
//!
//! Cost: the gateway reads the granted body whole before the hooks (routes without a grant
//! stream as before); each read copies it into the instance, so read it once.
//!
//! ```
//! use plugin_sdk::{Action, Middleware, Reply, Request, body};
//!
//! /// Refuses bodies that mention "forbidden", and upper-cases the others.
//! struct Shout;
//! impl Middleware for Shout {
//!     fn from_config(_: &str) -> Result<Self, String> { Ok(Shout) }
//!     fn on_request(&self, req: &mut Request<'_>) -> Action {
//!         let Ok(bytes) = body::request_body(req) else { return Action::Continue };
//!         if bytes.windows(9).any(|w| w == b"forbidden") {
//!             return Action::Respond(Reply::new(422));
//!         }
//!         let _ = body::set_request_body(req, bytes.to_ascii_uppercase());
//!         Action::Continue
//!     }
//! }
//!
//! # use plugin_sdk::testing::{self, TestRequest};
//! let mw = testing::instance::<Shout>("{}").unwrap();
//! let mut req = TestRequest::post("/x");
//! req.body = Some(b"hello".to_vec());
//! assert!(testing::on_request(&mw, &mut req).is_continue());
//! assert_eq!(req.body.as_deref(), Some(&b"HELLO"[..]));
//! ```

use crate::{Request, Response};

/// Why a body could not be read or replaced (nothing changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// The middleware's grant does not cover this body, or there is none in this hook.
    NotAvailable,
    /// Over the grant's cap (the payload): the body passes on unread, or the replacement is
    /// too long.
    TooLarge(u64),
    /// Called outside a hook.
    NoRequest,
}

/// The request body as it stands (as the client sent it, or as an earlier middleware replaced
/// it). One host call and a copy of the body.
pub fn request_body(req: &mut Request<'_>) -> Result<Vec<u8>, BodyError> {
    imp::request_body(req.backend())
}

/// Replaces the request body sent upstream (request hooks only); the gateway sets
/// `content-length`. At most the grant's cap.
pub fn set_request_body(req: &mut Request<'_>, body: impl Into<Vec<u8>>) -> Result<(), BodyError> {
    imp::set_request_body(req.backend(), body.into())
}

/// The response body as it stands (response hooks only).
pub fn response_body(resp: &mut Response<'_>) -> Result<Vec<u8>, BodyError> {
    imp::response_body(resp.backend())
}

/// Replaces the response body sent to the client (response hooks only); the gateway sets
/// `content-length`. At most the grant's cap.
pub fn set_response_body(
    resp: &mut Response<'_>,
    body: impl Into<Vec<u8>>,
) -> Result<(), BodyError> {
    imp::set_response_body(resp.backend(), body.into())
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::BodyError;
    use crate::guest::wit::body as wit;
    use crate::request::RequestRef;
    use crate::response::ResponseRef;

    fn from_wit(e: wit::BodyError) -> BodyError {
        match e {
            wit::BodyError::NotAvailable => BodyError::NotAvailable,
            wit::BodyError::TooLarge(cap) => BodyError::TooLarge(cap),
            wit::BodyError::NoRequest => BodyError::NoRequest,
        }
    }

    // The host acts on the heads of the current hook call, which are the views passed in.
    pub(super) fn request_body(_req: &mut RequestRef<'_>) -> Result<Vec<u8>, BodyError> {
        wit::request_body().map_err(from_wit)
    }

    pub(super) fn set_request_body(_req: &mut RequestRef<'_>, b: Vec<u8>) -> Result<(), BodyError> {
        wit::set_request_body(&b).map_err(from_wit)
    }

    pub(super) fn response_body(_resp: &mut ResponseRef<'_>) -> Result<Vec<u8>, BodyError> {
        wit::response_body().map_err(from_wit)
    }

    pub(super) fn set_response_body(
        _resp: &mut ResponseRef<'_>,
        b: Vec<u8>,
    ) -> Result<(), BodyError> {
        wit::set_response_body(&b).map_err(from_wit)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::BodyError;
    use crate::testing::{TestRequest, TestResponse};

    pub(super) fn request_body(req: &mut &mut TestRequest) -> Result<Vec<u8>, BodyError> {
        req.body.clone().ok_or(BodyError::NotAvailable)
    }

    pub(super) fn set_request_body(
        req: &mut &mut TestRequest,
        b: Vec<u8>,
    ) -> Result<(), BodyError> {
        req.body = Some(b);
        Ok(())
    }

    pub(super) fn response_body(resp: &mut &mut TestResponse) -> Result<Vec<u8>, BodyError> {
        resp.body.clone().ok_or(BodyError::NotAvailable)
    }

    pub(super) fn set_response_body(
        resp: &mut &mut TestResponse,
        b: Vec<u8>,
    ) -> Result<(), BodyError> {
        resp.body = Some(b);
        Ok(())
    }
}
