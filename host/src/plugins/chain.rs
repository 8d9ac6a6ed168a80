//! A router's middleware chain: request hooks in order, response hooks in reverse order.
//!
//! Failure policy lives here, in one place: a plugin failure (trap, timeout, memory cap,
//! invalid output) fails the request with 500, or — for a fail-open middleware — passes the
//! head on exactly as it was before that middleware ran. Every failure is logged with the
//! middleware, plugin and content hash.
//!
//! Capabilities are applied here too: the response hooks skip middlewares that declared they
//! do not need one, and [`Chain::body_peek`] tells the proxy how many leading response-body
//! bytes to hold for the chain's `on-response-body` callers (both fixed at config time).

use std::sync::Arc;

use http::{HeaderMap, Method, Uri};

use super::budget::Isolation;
use super::capabilities::BodyStart;
use super::error::PluginError;
use super::heads::{RequestHead, ResponseHead};
use super::middleware::{HookDecision, InstanceSlot, PluginMiddleware};
use super::reply::ValidReply;
use crate::admin::plugin_metrics::Hook;

/// The middlewares of one router, in config order. Built at config time, shared by requests.
#[derive(Clone, Default)]
pub struct Chain {
    middlewares: Arc<[Arc<PluginMiddleware>]>,
    /// The largest response-body peek any middleware declared (0: none).
    body_peek: usize,
    /// Whether some middleware (an http-wasm guest) needs the request / response body whole.
    buffer_request: bool,
    buffer_response: bool,
}

/// What a request carries through its chain between the request and response hooks.
pub struct ChainState {
    /// Per-request instances (per-request isolation mode), by chain position; empty (no
    /// allocation) until a middleware first keeps an instance between its hooks.
    slots: Vec<InstanceSlot>,
    /// The slot lent to pooled middlewares; they never leave an instance in it.
    spare: InstanceSlot,
    /// How many middlewares (from the start) get their response hook.
    ran: usize,
}

impl ChainState {
    /// The instance slot of chain position `i`. Only per-request middlewares keep an
    /// instance in it between their hooks; pooled ones get an always-empty spare, so a chain of
    /// pooled middlewares allocates no slots at all.
    fn slot(&mut self, i: usize, per_request: bool) -> &mut InstanceSlot {
        if i < self.slots.len() {
            return &mut self.slots[i];
        }
        if per_request {
            self.slots.resize_with(i + 1, || None);
            return &mut self.slots[i];
        }
        self.spare = None;
        &mut self.spare
    }
}

/// The result of the request hooks.
pub enum RequestOutcome {
    /// Forward the (possibly edited) request upstream.
    Forward,
    /// A plugin answered; do not contact the upstream. Response hooks of the earlier
    /// middlewares still run on this reply.
    Respond(ValidReply),
    /// A fail-closed plugin failed: answer 500.
    Failed(PluginError),
}

/// The result of the response hooks.
pub enum ResponseOutcome {
    /// Send the (possibly edited) response head, with the upstream body.
    Forward,
    /// A plugin replaced the response: send this instead, discarding the upstream body.
    Replace(ValidReply),
    /// A fail-closed plugin failed: answer 500.
    Failed(PluginError),
}

/// Request edits a fail-open middleware must be able to undo.
struct RequestSnapshot {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl Chain {
    pub fn new(middlewares: Vec<Arc<PluginMiddleware>>) -> Self {
        let body_peek = middlewares
            .iter()
            .map(|mw| mw.capabilities().body_peek)
            .max()
            .unwrap_or(0);
        let (buffer_request, buffer_response) = middlewares
            .iter()
            .map(|mw| mw.buffers_bodies())
            .fold((false, false), |(a, b), (x, y)| (a || x, b || y));
        Chain {
            middlewares: middlewares.into(),
            body_peek,
            buffer_request,
            buffer_response,
        }
    }

    /// Whether the proxy must collect the request body whole (up to
    /// `http_wasm::MAX_BUFFERED_BODY`) into the head's `extensions` before the request hooks.
    pub fn buffer_request(&self) -> bool {
        self.buffer_request
    }

    /// Whether the proxy must collect the response body whole before the response hooks.
    pub fn buffer_response(&self) -> bool {
        self.buffer_response
    }

    /// How many leading bytes of the response body the proxy must hold before the response
    /// hooks (the largest declaration in the chain, at most `MAX_BODY_PEEK`); 0: stream as is.
    pub fn body_peek(&self) -> usize {
        self.body_peek
    }

    pub fn len(&self) -> usize {
        self.middlewares.len()
    }

    pub fn is_empty(&self) -> bool {
        self.middlewares.is_empty()
    }

    pub fn start(&self) -> ChainState {
        ChainState {
            slots: Vec::new(),
            spare: None,
            ran: 0,
        }
    }

    /// Runs every request hook in order. The head always comes back.
    pub fn on_request(
        &self,
        mut head: RequestHead,
        state: &mut ChainState,
    ) -> (RequestHead, RequestOutcome) {
        for (i, mw) in self.middlewares.iter().enumerate() {
            head.current = i;
            let snapshot = mw.budget().fail_open.then(|| RequestSnapshot {
                method: head.parts.method.clone(),
                uri: head.parts.uri.clone(),
                headers: head.parts.headers.clone(),
            });
            let (h, result) = mw.on_request(
                head,
                state.slot(i, mw.budget().isolation == Isolation::PerRequest),
            );
            head = h;
            if let Some(c) = mw.counters() {
                c.called(Hook::Request);
            }
            match result {
                Ok(HookDecision::Continue) => state.ran = i + 1,
                Ok(HookDecision::Respond(reply)) => return (head, RequestOutcome::Respond(reply)),
                Err(err) => {
                    log_failure(mw, "on-request", &err);
                    match snapshot {
                        Some(s) => {
                            head.parts.method = s.method;
                            head.parts.uri = s.uri;
                            head.parts.headers = s.headers;
                            state.ran = i + 1;
                        }
                        None => return (head, RequestOutcome::Failed(err)),
                    }
                }
            }
        }
        (head, RequestOutcome::Forward)
    }

    /// [`Chain::on_response_with_body`] without body bytes: for callers that hold none (a
    /// middleware that declared a peek gets an empty, incomplete body start).
    pub fn on_response(
        &self,
        req: RequestHead,
        resp: ResponseHead,
        state: &mut ChainState,
    ) -> (RequestHead, ResponseHead, ResponseOutcome) {
        self.on_response_with_body(req, resp, state, BodyStart::UNKNOWN)
    }

    /// Runs the response hooks of the middlewares whose request hook continued, in reverse
    /// order, skipping those that declared no response hook. `body` is the first bytes of the
    /// response body (at least [`Chain::body_peek`] of them, or all of a shorter body) for the
    /// middlewares that declared a peek. When a hook replaces the response, the earlier hooks
    /// see the replacement's head, and its body as their body start.
    pub fn on_response_with_body(
        &self,
        mut req: RequestHead,
        mut resp: ResponseHead,
        state: &mut ChainState,
        body: BodyStart<'_>,
    ) -> (RequestHead, ResponseHead, ResponseOutcome) {
        let mut replacement: Option<ValidReply> = None;
        for i in (0..state.ran).rev() {
            let mw = &self.middlewares[i];
            if !mw.capabilities().response_hook {
                continue;
            }
            req.current = i;
            let snapshot = mw
                .budget()
                .fail_open
                .then(|| (resp.parts.status, resp.parts.headers.clone()));
            let body = match &replacement {
                Some(reply) => BodyStart {
                    bytes: &reply.body,
                    complete: true,
                },
                None => body,
            };
            let (r, s, result) = mw.on_response(
                req,
                resp,
                state.slot(i, mw.budget().isolation == Isolation::PerRequest),
                body,
            );
            (req, resp) = (r, s);
            if let Some(c) = mw.counters() {
                c.called(Hook::Response);
            }
            match result {
                Ok(HookDecision::Continue) => {}
                Ok(HookDecision::Respond(reply)) => {
                    resp.parts.status = reply.status;
                    resp.parts.headers = reply.headers.clone();
                    replacement = Some(reply);
                }
                Err(err) => {
                    log_failure(mw, "on-response", &err);
                    match snapshot {
                        Some((status, headers)) => {
                            resp.parts.status = status;
                            resp.parts.headers = headers;
                        }
                        None => return (req, resp, ResponseOutcome::Failed(err)),
                    }
                }
            }
        }
        let outcome = match replacement {
            // The last replacement's body, with the head as later (earlier-in-chain) hooks left it.
            Some(mut reply) => {
                reply.status = resp.parts.status;
                reply.headers = resp.parts.headers.clone();
                ResponseOutcome::Replace(reply)
            }
            None => ResponseOutcome::Forward,
        };
        (req, resp, outcome)
    }
}

fn log_failure(mw: &PluginMiddleware, hook: &str, err: &PluginError) {
    if let Some(c) = mw.counters() {
        let which = if hook == "on-request" {
            Hook::Request
        } else {
            Hook::Response
        };
        // The metrics say `deadline` where the log says `timeout`.
        let kind = match err {
            PluginError::Timeout(_) => "deadline",
            other => other.kind(),
        };
        c.failed(which, kind);
    }
    let id = mw.identity();
    tracing::warn!(
        middleware = &*id.middleware,
        plugin = &*id.plugin,
        hash = &*id.hash,
        hook,
        kind = err.kind(),
        fail_open = mw.budget().fail_open,
        "plugin failed: {err}"
    );
}
