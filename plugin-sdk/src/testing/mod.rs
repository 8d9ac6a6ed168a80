//! Run a plugin natively, without a gateway: in-memory request and response heads that apply the
//! host's edit rules, and functions that call the hooks the way the host does.
//!
//! ```
//! use plugin_sdk::{Action, Middleware, Request};
//! use plugin_sdk::testing::{self, TestRequest};
//!
//! struct Tag;
//! impl Middleware for Tag {
//!     fn from_config(_: &str) -> Result<Self, String> { Ok(Tag) }
//!     fn on_request(&self, req: &mut Request<'_>) -> Action {
//!         let _ = req.set_header("x-tag", "1");
//!         Action::Continue
//!     }
//! }
//!
//! let mw = testing::instance::<Tag>("{}").unwrap();
//! let mut req = TestRequest::get("/").header("accept", "*/*");
//! assert!(testing::on_request(&mw, &mut req).is_continue());
//! assert_eq!(req.header_str("x-tag").as_deref(), Some("1"));
//! ```
//!
//! Only available natively (`cfg(not(target_arch = "wasm32"))`).

pub(crate) mod connection;
mod fields;
mod request;
mod response;

pub use connection::{TestConnection, close, connection_instance, on_connect};
pub use request::TestRequest;
pub use response::TestResponse;

use crate::rules::check_reply;
use crate::{Action, Middleware, Request, Response};

/// What `validate-config` does: check the config's nesting ([`crate::config::parse`]),
/// parse it and drop the result.
pub fn validate_config<T: Middleware>(config: &str) -> Result<(), String> {
    crate::config::parse(config, T::from_config).map(drop)
}

/// What `init` does: check the config's nesting, then parse it into the instance's middleware
/// value.
pub fn instance<T: Middleware>(config: &str) -> Result<T, String> {
    crate::config::parse(config, T::from_config)
}

/// Call `on_request` as the host does, lending `req`; inspect `req` afterwards for the edits.
///
/// # Panics
/// If the hook returns a reply the host would refuse (see [`crate::rules::check_reply`]): the
/// gateway would fail that request with 500, so the test should fail too.
#[track_caller]
pub fn on_request<T: Middleware>(middleware: &T, req: &mut TestRequest) -> Action {
    checked(on_request_unchecked(middleware, req))
}

/// Configures `T` with `config`, sends `GET target` through `on_request` and asserts that the
/// request continues; returns it to inspect the edits (the shape of most rewrite-plugin tests).
///
/// # Panics
/// If the config is refused, the hook does not continue, or it returns an invalid reply.
#[track_caller]
pub fn continued_get<T: Middleware>(config: &str, target: &str) -> TestRequest {
    let middleware = match instance::<T>(config) {
        Ok(m) => m,
        Err(e) => panic!("config {config} refused: {e}"),
    };
    let mut req = TestRequest::get(target);
    assert!(
        on_request(&middleware, &mut req).is_continue(),
        "{target} did not continue"
    );
    req
}

/// Call `on_response` as the host does, lending `req` (with the state `on_request` left in it)
/// and `resp`.
///
/// # Panics
/// If the hook returns a reply the host would refuse, as [`on_request`].
#[track_caller]
pub fn on_response<T: Middleware>(
    middleware: &T,
    req: &mut TestRequest,
    resp: &mut TestResponse,
) -> Action {
    checked(on_response_unchecked(middleware, req, resp))
}

/// Call `on_response_body` directly, lending `req`, `resp` and the given body start.
///
/// # Panics
/// If the hook returns a reply the host would refuse, as [`on_request`].
#[track_caller]
pub fn on_response_body<T: Middleware>(
    middleware: &T,
    req: &mut TestRequest,
    resp: &mut TestResponse,
    body_start: &[u8],
    complete: bool,
) -> Action {
    checked(middleware.on_response_body(
        &mut Request::new(req),
        &mut Response::new(resp),
        body_start,
        complete,
    ))
}

/// The most response-body bytes the gateway hands a middleware (`response_body_peek` is
/// capped to this), the host's own value.
pub use plugin_contract::MAX_BODY_PEEK;

/// Run the response side as the gateway does for a response whose whole body is `body`
/// (pass `b""` for a response without one): `None` when the middleware declared no response
/// hook (the gateway never calls it); else `on_response_body` with the first
/// `response_body_peek` bytes (capped at [`MAX_BODY_PEEK`]) when that is above 0, or
/// `on_response`.
///
/// # Panics
/// If the hook returns a reply the host would refuse, as [`on_request`].
#[track_caller]
pub fn response_hook<T: Middleware>(
    middleware: &T,
    req: &mut TestRequest,
    resp: &mut TestResponse,
    body: &[u8],
) -> Option<Action> {
    if !middleware.wants_response_hook() {
        return None;
    }
    let peek = usize::try_from(middleware.response_body_peek())
        .unwrap_or(MAX_BODY_PEEK)
        .min(MAX_BODY_PEEK);
    if peek == 0 {
        return Some(on_response(middleware, req, resp));
    }
    let start = &body[..body.len().min(peek)];
    Some(on_response_body(
        middleware,
        req,
        resp,
        start,
        start.len() == body.len(),
    ))
}

/// Empties the calling thread's `kv` store (natively, [`kv`](crate::kv) keeps one per thread).
pub fn clear_kv() {
    crate::kv::clear_native();
}

/// What the host does when a request is done with (response head ready, failure, client gone):
/// releases every in-flight count the request took (`counters::acquire_in_flight`).
pub fn release_in_flight(req: &mut TestRequest) {
    crate::counters::release_native(std::mem::take(&mut req.in_flight));
}

/// What the host does when a request's exchange has ended, for a middleware that
/// [`wants_on_complete`](Middleware::wants_on_complete): calls
/// [`on_complete`](Middleware::on_complete) with the request's state, then releases the
/// in-flight counts the request took. A middleware that does not want it only gets the
/// release, as from the host.
pub fn complete<T: Middleware>(
    middleware: &T,
    req: &mut TestRequest,
    outcome: crate::completion::Outcome,
) {
    if middleware.wants_on_complete() {
        middleware.on_complete(req.state.as_deref(), outcome);
    }
    release_in_flight(req);
}

/// [`on_request`] without the reply check, for tests that want to see a reply the gateway would
/// refuse (such as the gateway's own fixtures).
pub fn on_request_unchecked<T: Middleware>(middleware: &T, req: &mut TestRequest) -> Action {
    middleware.on_request(&mut Request::new(req))
}

/// [`on_response`] without the reply check.
pub fn on_response_unchecked<T: Middleware>(
    middleware: &T,
    req: &mut TestRequest,
    resp: &mut TestResponse,
) -> Action {
    middleware.on_response(&mut Request::new(req), &mut Response::new(resp))
}

#[track_caller]
fn checked(action: Action) -> Action {
    if let Action::Respond(reply) = &action
        && let Err(e) = check_reply(reply)
    {
        panic!("the gateway would refuse this reply ({e}): {reply:?}");
    }
    action
}

#[cfg(test)]
mod tests;

/// Call `on_request_subresponse` as the host does after sending the subrequest that
/// `on_request` recorded: takes it out of `req.subrequest` (the host sends each once) and
/// lends `req` with `answer`.
///
/// # Panics
/// If the hook returns a reply the host would refuse, as [`on_request`].
#[track_caller]
pub fn on_request_subresponse<T: Middleware>(
    middleware: &T,
    req: &mut TestRequest,
    answer: crate::outbound::Answer,
) -> Action {
    req.subrequest = None;
    checked(middleware.on_request_subresponse(&mut Request::new(req), answer))
}

/// Call `on_response_subresponse` as the host does after a response hook's subrequest.
///
/// # Panics
/// If the hook returns a reply the host would refuse, as [`on_request`].
#[track_caller]
pub fn on_response_subresponse<T: Middleware>(
    middleware: &T,
    req: &mut TestRequest,
    resp: &mut TestResponse,
    answer: crate::outbound::Answer,
) -> Action {
    req.subrequest = None;
    checked(middleware.on_response_subresponse(
        &mut Request::new(req),
        &mut Response::new(resp),
        answer,
    ))
}
