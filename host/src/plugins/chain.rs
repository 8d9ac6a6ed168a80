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
//! A middleware that declared fixed edits (`fixed-edits`) has them applied natively where its
//! hooks would run (no instance, no hook call, no hook-call count). A middleware that declared
//! its `on-request`'s take (`pre-take`) has it made natively first: an admitted request goes on
//! without the hook (no instance, no hook-call count), a refused one calls it. One that
//! declared its verdict a function of one header (`verdict-memo`) has a remembered `continue`
//! for that header's value replayed (no instance, no hook-call count); otherwise the hook is
//! called with its effects recorded, and a `continue` remembered.

use std::sync::Arc;

use http::HeaderMap;

use super::body::{BodyLimit, merge_limits};
use super::budget::Isolation;
use super::capabilities::BodyStart;
use super::chain_fixed::{FixedChain, NativeStep, NativeStop, Tried, native_request_step};
use super::chain_trace::{ChainTrace, labels_of};
use super::completion::PendingCompletion;
use super::error::PluginError;
pub(super) use super::failure_log::log_failure;
use super::heads::{RequestHead, ResponseHead};
use super::kv_journal::KvJournal;
use super::middleware::{HookDecision, InstanceSlot, PluginMiddleware};
use super::outbound::Subrequest;
use super::outbound_send::SubrequestResult;
use super::redis_kv::{KvAnswered, KvCall};
use super::remote_take::TakeBatch;
use super::reply::ValidReply;
use super::undo::{HookStart, RequestSnapshot, ResponseStart, TakeWaiting};
use super::verdict_memo::Lookup;
use crate::admin::plugin_metrics::Hook;
use crate::admin::trace::{MiddlewareLabels, TraceParent};

/// The middlewares of one router, in config order. Built at config time, shared by requests.
#[derive(Clone, Default)]
pub struct Chain {
    pub(super) middlewares: Arc<[Arc<PluginMiddleware>]>,
    /// The largest response-body peek any middleware declared (0: none).
    body_peek: usize,
    /// Whether some middleware (an http-wasm guest, a component granted `body`) needs the
    /// request / response body whole, and up to what (the chain's merged limit).
    request_body: Option<BodyLimit>,
    response_body: Option<BodyLimit>,
    /// Whether some middleware was granted `compression` (its responses may then carry a
    /// `CompressWith`).
    compresses: bool,
    /// Whether some middleware imports `grpc-web` (its requests may then carry a
    /// `TranslateGrpcWeb`).
    translates_grpc_web: bool,
    /// Whether some middleware asked for `on-complete` (`completion`).
    completes: bool,
    /// Whether some middleware's response hook reads the request's headers (`hook-needs`):
    /// the proxy then forwards a copy and keeps them for the response hooks.
    keeps_request_headers: bool,
    /// Whether the response side never waits nor calls a guest: no body held or peeked, no
    /// response hook but fixed edits, no gRPC-Web translation (`Chain::settles_inline`).
    settles_inline: bool,
    /// Each middleware's span name and attributes (tracing on only).
    trace_labels: Option<Arc<[MiddlewareLabels]>>,
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
    /// How many middlewares (from the start) had their `on-request` called.
    entered: usize,
    /// The middleware waiting for a subrequest's answer (request phase), with what a fail-open
    /// one must restore if its subresponse hook fails. Boxed, as the response phase's and the
    /// spans: rarely there, and this state is part of every chain request's future, which the
    /// proxy copies whole when it boxes it (hundreds of bytes inline).
    waiting: Option<Box<(usize, Option<RequestSnapshot>)>>,
    /// The same in the response phase.
    response_waiting: Option<Box<ResponseWaiting>>,
    /// The middleware waiting for Redis' answers to its takes (`remote_take`).
    pub(super) take_waiting: Option<Box<TakeWaiting>>,
    /// The middleware spans (tracing on, request sampled).
    trace: Option<Box<ChainTrace>>,
}

impl ChainState {
    /// The instance slot of chain position `i`. Only per-request middlewares keep an
    /// instance in it between their hooks; pooled ones get an always-empty spare, so a chain of
    /// pooled middlewares allocates no slots at all.
    pub(super) fn slot(&mut self, i: usize, per_request: bool) -> &mut InstanceSlot {
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
    /// A middleware recorded a subrequest (`outbound-http.send`) and continued: send it, then
    /// hand the answer to [`Chain::resume_request`], which runs the rest of the chain.
    Subrequest(Box<Subrequest>),
    /// A middleware took from a Redis-backed bucket: send the takes, then hand the answers to
    /// [`Chain::resume_takes`] (`remote_take`).
    Takes(Box<TakeBatch>),
}

/// The result of the response hooks.
pub enum ResponseOutcome {
    /// Send the (possibly edited) response head, with the upstream body.
    Forward,
    /// A plugin replaced the response: send this instead, discarding the upstream body.
    Replace(ValidReply),
    /// A fail-closed plugin failed: answer 500.
    Failed(PluginError),
    /// A response hook recorded a subrequest and continued: send it, then hand the answer to
    /// [`Chain::resume_response`].
    Subrequest(Box<Subrequest>),
    /// A response hook of a middleware whose `kv` lives in Redis left an operation pending
    /// (`kv_journal`): send it, then hand the answer to [`Chain::resume_response_kv`], which
    /// calls the hook again.
    Kv(Box<KvCall>),
}

/// Where the request hooks go after one middleware's hook.
pub(super) enum Step {
    Next(RequestHead),
    Done(RequestHead, RequestOutcome),
}

impl Chain {
    pub fn new(middlewares: Vec<Arc<PluginMiddleware>>) -> Self {
        let body_peek = middlewares
            .iter()
            .map(|mw| mw.capabilities().body_peek)
            .max()
            .unwrap_or(0);
        let request_body = merge_limits(middlewares.iter().map(|mw| mw.buffers_bodies().0));
        let response_body = merge_limits(middlewares.iter().map(|mw| mw.buffers_bodies().1));
        let compresses = middlewares.iter().any(|mw| mw.budget().compression);
        let translates_grpc_web = middlewares.iter().any(|mw| mw.budget().grpc_web);
        let completes = middlewares.iter().any(|mw| mw.completes());
        let keeps_request_headers = middlewares.iter().any(|mw| {
            mw.fixed_edits().is_none()
                && mw.capabilities().response_hook
                && mw.needs().request_headers_in_response
        });
        let trace_labels = labels_of(&middlewares);
        let no_guest_response_hook = middlewares
            .iter()
            .all(|mw| !mw.capabilities().response_hook || mw.fixed_edits().is_some());
        let mut chain = Chain {
            middlewares: middlewares.into(),
            body_peek,
            request_body,
            response_body,
            compresses,
            translates_grpc_web,
            completes,
            keeps_request_headers,
            settles_inline: false,
            trace_labels,
        };
        chain.settles_inline = no_guest_response_hook && chain.passes_bodies_through();
        chain
    }

    /// Whether both bodies stream through untouched: none collected, peeked or buffered for a
    /// middleware, no gRPC-Web translation. Config time.
    fn passes_bodies_through(&self) -> bool {
        self.body_peek == 0
            && self.request_body.is_none()
            && self.response_body.is_none()
            && !self.translates_grpc_web
    }

    /// The chain as a [`FixedChain`] for the plain path, when every middleware declared fixed
    /// edits and the chain needs nothing else of the chain path: no body held, no compression
    /// or gRPC-Web translation, no `on-complete`, no middleware spans (tracing off). Config
    /// time.
    pub fn fixed_only(&self) -> Option<FixedChain> {
        let all_fixed = self.middlewares.iter().all(|mw| mw.fixed_edits().is_some());
        (all_fixed && self.plain_eligible()).then(|| FixedChain::new(self.middlewares.clone()))
    }

    /// The chain as a [`FixedChain`] whose request steps the plain path runs natively, falling
    /// back to this chain where one needs its guest (`chain_fixed`), when every middleware has
    /// fixed edits, or no guest response hook and a request side that is a declared take, a
    /// verdict memo or nothing (`hook-needs`), and the chain needs nothing else of the chain
    /// path (as [`Chain::fixed_only`]). Config time.
    pub fn native_only(&self) -> Option<FixedChain> {
        let all_native = self.middlewares.iter().all(|mw| {
            mw.fixed_edits().is_some()
                || (!mw.capabilities().response_hook
                    && (!mw.needs().request_hook
                        || mw.pre_take().is_some()
                        || mw.verdict_memo().is_some()))
        });
        (all_native && self.plain_eligible()).then(|| FixedChain::new(self.middlewares.clone()))
    }

    /// Whether the chain is not empty and needs nothing of the chain path but its hooks: no
    /// body held, no compression or gRPC-Web translation, no `on-complete`, no middleware spans
    /// (tracing off). Config time.
    fn plain_eligible(&self) -> bool {
        !self.middlewares.is_empty()
            && self.passes_bodies_through()
            && !self.compresses
            && !self.completes
            && self.trace_labels.is_none()
    }

    /// A request's pending `on-complete` calls, when some middleware of the chain asked for
    /// them (fixed at config time); `None` otherwise, at the cost of one branch. Call before
    /// the request hooks (the hook's duration counts from here).
    pub fn completion(&self) -> Option<PendingCompletion> {
        self.completes
            .then(|| PendingCompletion::new(self.middlewares.clone()))
    }

    /// Tells `completion` how many `on-request` calls this request has had so far. Call after
    /// each request-phase step ([`Chain::on_request`], the resumes).
    pub fn note_entered(&self, state: &ChainState, completion: &mut PendingCompletion) {
        completion.entered(state.entered);
    }

    /// Whether the response hooks may read the request's headers (some middleware with a
    /// response hook did not say otherwise, `hook-needs`): the proxy then sends a copy of them
    /// upstream; else it sends them and the response hooks see a request without headers.
    pub fn keeps_request_headers(&self) -> bool {
        self.keeps_request_headers
    }

    /// Whether a request's chain needs no wait but its request hooks' own (a subrequest, Redis
    /// takes, a take delay) and the forward: no body collected, peeked or buffered, no gRPC-Web
    /// translation, and no response hook but fixed edits (so the response hooks call no guest
    /// and cannot wait). Fixed at config time. The proxy then runs the request hooks when the
    /// request arrives and the response side in the forward's continuation, without boxing
    /// the whole chain's future (`proxy::handler`).
    pub fn settles_inline(&self) -> bool {
        self.settles_inline
    }

    /// Whether the proxy must collect the request body whole into the head's `extensions`
    /// before the request hooks.
    pub fn buffer_request(&self) -> bool {
        self.request_body.is_some()
    }

    /// Whether the proxy must collect the response body whole before the response hooks.
    pub fn buffer_response(&self) -> bool {
        self.response_body.is_some()
    }

    /// The request body's limit when [`Chain::buffer_request`]: the smallest cap granted in
    /// the chain, refused beyond it if any middleware says so (`body::merge_limits`).
    pub fn request_body_limit(&self) -> Option<BodyLimit> {
        self.request_body
    }

    /// The same for the response body.
    pub fn response_body_limit(&self) -> Option<BodyLimit> {
        self.response_body
    }

    /// Whether a response hook may have asked for the body to be compressed
    /// (`compression_import::CompressWith`); false: the proxy does not look.
    pub fn compresses(&self) -> bool {
        self.compresses
    }

    /// Whether a request hook may have asked for the call to be translated as gRPC-Web
    /// (`grpc_web_import::TranslateGrpcWeb`); false: the proxy does not look.
    pub fn translates_grpc_web(&self) -> bool {
        self.translates_grpc_web
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
            entered: 0,
            waiting: None,
            response_waiting: None,
            take_waiting: None,
            trace: None,
        }
    }

    /// Traces the middlewares of this request under `parent` (the request's span), when it is
    /// sampled. Call before the request hooks.
    pub fn trace(&self, state: &mut ChainState, parent: TraceParent) {
        if let Some(labels) = &self.trace_labels
            && parent.is_recording()
        {
            state.trace = Some(Box::new(ChainTrace::new(labels.clone(), parent)));
        }
    }

    /// The span the upstream request goes under: the innermost open middleware span, or
    /// `root` when nothing is traced in the chain.
    pub fn trace_parent(&self, state: &ChainState, root: &TraceParent) -> TraceParent {
        match &state.trace {
            Some(t) => t.innermost(),
            None => root.clone(),
        }
    }

    /// Runs every request hook in order. The head always comes back. Stops early with
    /// [`RequestOutcome::Subrequest`] when a middleware recorded one.
    pub fn on_request(
        &self,
        head: RequestHead,
        state: &mut ChainState,
    ) -> (RequestHead, RequestOutcome) {
        self.request_hooks_from(0, head, state)
    }

    /// Hands the answer to the subrequest of [`RequestOutcome::Subrequest`] to the middleware
    /// that recorded it (`on-request-subresponse`, on any of its instances), then runs the rest
    /// of the request hooks as [`Chain::on_request`] does.
    pub fn resume_request(
        &self,
        mut head: RequestHead,
        state: &mut ChainState,
        answer: SubrequestResult,
    ) -> (RequestHead, RequestOutcome) {
        let Some((i, snapshot)) = state.waiting.take().map(|w| *w) else {
            let err = PluginError::InvalidOutput("a subrequest answer nobody waits for".into());
            return (head, RequestOutcome::Failed(err));
        };
        let mw = &self.middlewares[i];
        head.current = i;
        let (h, result) = mw.on_request_subresponse(
            head,
            state.slot(i, mw.budget().isolation == Isolation::PerRequest),
            answer,
        );
        let step = self.after_request_hook(i, h, result, snapshot, state, "on-request-subresponse");
        self.continue_after(i, step, state)
    }

    /// After middleware `i` of a resumed request: the rest of the request hooks, or where the
    /// step stopped.
    pub(super) fn continue_after(
        &self,
        i: usize,
        step: Step,
        state: &mut ChainState,
    ) -> (RequestHead, RequestOutcome) {
        match step {
            Step::Next(head) => self.request_hooks_from(i + 1, head, state),
            Step::Done(head, outcome) => (head, outcome),
        }
    }

    /// Goes on with the request hooks where the plain path's native steps stopped
    /// ([`FixedChain::run_request`]): `head` as they left it (their edits, user and wait), the
    /// middlewares before `stop` counted as run. Without a stop every step ran: the request is
    /// forwarded (the proxy comes here for a reserved token's wait).
    pub fn resume_native(
        &self,
        stop: Option<NativeStop>,
        head: RequestHead,
        state: &mut ChainState,
    ) -> (RequestHead, RequestOutcome) {
        let Some(NativeStop { at, tried }) = stop else {
            state.ran = self.middlewares.len();
            state.entered = self.middlewares.len();
            return (head, RequestOutcome::Forward);
        };
        state.ran = at;
        self.request_hooks_tried(at, head, state, Some(tried))
    }

    pub(super) fn request_hooks_from(
        &self,
        start: usize,
        head: RequestHead,
        state: &mut ChainState,
    ) -> (RequestHead, RequestOutcome) {
        self.request_hooks_tried(start, head, state, None)
    }

    /// The request hooks from `start`; `tried`: what the native steps already tried at
    /// `start` (not tried again).
    fn request_hooks_tried(
        &self,
        start: usize,
        mut head: RequestHead,
        state: &mut ChainState,
        mut tried: Option<Tried>,
    ) -> (RequestHead, RequestOutcome) {
        for (i, mw) in self.middlewares.iter().enumerate().skip(start) {
            head.current = i;
            state.entered = i + 1;
            if let Some(t) = &mut state.trace {
                t.enter(i);
            }
            // Only the first middleware's: where the native steps stopped.
            let tried_here = tried.take().unwrap_or_default();
            let fields = &mut *head;
            let step = native_request_step(
                mw,
                &mut fields.parts,
                fields.client_addr,
                &mut fields.user,
                &mut fields.take_delay_ns,
                tried_here,
            );
            let lookup = match step {
                NativeStep::Ran => {
                    state.ran = i + 1;
                    continue;
                }
                NativeStep::NeedsGuest(Tried { lookup, .. }) => lookup,
            };
            let memo = match (mw.verdict_memo(), lookup) {
                (Some(memo), Some(Lookup::Miss(digest))) => {
                    head.memo_record = Some(Box::default());
                    Some((memo, digest))
                }
                _ => None,
            };
            let replayable = mw.budget().replayable();
            let snapshot =
                (mw.budget().fail_open || replayable).then(|| RequestSnapshot::of(&head));
            let before = replayable.then(|| HookStart::of(&head, i));
            if mw.budget().redis_kv.is_some() {
                // A fresh journal for this hook's `kv` calls (`kv_journal`).
                head.kv_journal = Some(Box::default());
            }
            let (mut h, result) = mw.on_request(
                head,
                state.slot(i, mw.budget().isolation == Isolation::PerRequest),
            );
            if let Some((memo, digest)) = memo
                && let Some(record) = h.memo_record.take()
                && matches!(result, Ok(HookDecision::Continue))
                && h.pending_subrequest.is_none()
            {
                memo.remember(digest, *record);
            }
            let step = match before {
                Some(start) => self.after_replayable_hook(i, h, result, snapshot, start, state),
                None => self.after_request_hook(i, h, result, snapshot, state, "on-request"),
            };
            match step {
                Step::Next(h) => head = h,
                Step::Done(h, outcome) => return (h, outcome),
            }
        }
        (head, RequestOutcome::Forward)
    }

    /// What follows a request-side hook of middleware `i`: the failure policy, and a recorded
    /// subrequest kept only when the hook continued.
    pub(super) fn after_request_hook(
        &self,
        i: usize,
        head: RequestHead,
        result: Result<HookDecision, PluginError>,
        snapshot: Option<RequestSnapshot>,
        state: &mut ChainState,
        hook: &str,
    ) -> Step {
        let mw = &self.middlewares[i];
        if let Some(c) = mw.counters() {
            c.called(Hook::Request);
        }
        if result.is_ok()
            && let Some(takes) = head.remote_takes.as_deref()
            && takes.has_pending()
        {
            // Only a first `on-request` call is replayed (`remote_take`).
            let err = PluginError::InvalidOutput(format!(
                "a Redis-backed take in {hook}, which cannot be replayed"
            ));
            return self.settle_request_hook(i, head, Err(err), snapshot, state, hook);
        }
        self.settle_request_hook(i, head, result, snapshot, state, hook)
    }

    /// [`Chain::after_request_hook`] without counting the call (a parked hook's result, counted
    /// when it returned).
    pub(super) fn settle_request_hook(
        &self,
        i: usize,
        mut head: RequestHead,
        result: Result<HookDecision, PluginError>,
        snapshot: Option<RequestSnapshot>,
        state: &mut ChainState,
        hook: &str,
    ) -> Step {
        let mw = &self.middlewares[i];
        if let Some(takes) = head.remote_takes.as_deref_mut() {
            takes.discard_pending();
        }
        let pending = head.pending_subrequest.take();
        match result {
            Ok(HookDecision::Continue) => match pending {
                Some(sub) => {
                    state.waiting = Some(Box::new((i, snapshot)));
                    Step::Done(head, RequestOutcome::Subrequest(sub))
                }
                None => {
                    state.ran = i + 1;
                    Step::Next(head)
                }
            },
            Ok(HookDecision::Respond(reply)) => Step::Done(head, RequestOutcome::Respond(reply)),
            Err(err) => {
                log_failure(mw, hook, &err);
                if let Some(t) = &state.trace {
                    t.failed(i, &err);
                }
                match snapshot {
                    Some(s) if mw.budget().fail_open => {
                        s.restore(&mut head);
                        state.ran = i + 1;
                        Step::Next(head)
                    }
                    _ => Step::Done(head, RequestOutcome::Failed(err)),
                }
            }
        }
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
    /// see the replacement's head, and its body as their body start. Stops early with
    /// [`ResponseOutcome::Subrequest`] when a middleware recorded one.
    pub fn on_response_with_body(
        &self,
        req: RequestHead,
        resp: ResponseHead,
        state: &mut ChainState,
        body: BodyStart<'_>,
    ) -> (RequestHead, ResponseHead, ResponseOutcome) {
        let below = state.ran;
        self.response_hooks_below(below, req, resp, state, body, None)
    }

    /// Hands the answer to the subrequest of [`ResponseOutcome::Subrequest`] to the middleware
    /// that recorded it (`on-response-subresponse`), then runs the remaining response hooks as
    /// [`Chain::on_response_with_body`] does (`body` as given to it).
    pub fn resume_response(
        &self,
        mut req: RequestHead,
        mut resp: ResponseHead,
        state: &mut ChainState,
        body: BodyStart<'_>,
        answer: SubrequestResult,
    ) -> (RequestHead, ResponseHead, ResponseOutcome) {
        let Some(waiting) = state.response_waiting.take().map(|w| *w) else {
            let err = PluginError::InvalidOutput("a subrequest answer nobody waits for".into());
            return (req, resp, ResponseOutcome::Failed(err));
        };
        let ResponseWaiting {
            index: i,
            snapshot,
            mut replacement,
            ..
        } = waiting;
        let mw = &self.middlewares[i];
        req.current = i;
        let (r, s, result) = mw.on_response_subresponse(
            req,
            resp,
            state.slot(i, mw.budget().isolation == Isolation::PerRequest),
            answer,
        );
        (req, resp) = (r, s);
        let step = self.after_response_hook(
            i,
            &mut req,
            &mut resp,
            result,
            snapshot,
            &mut replacement,
            "on-response-subresponse",
        );
        if let Some(stop) = step.stop_at(i, state, &mut replacement) {
            return (req, resp, stop);
        }
        self.response_hooks_below(i, req, resp, state, body, replacement)
    }

    fn response_hooks_below(
        &self,
        below: usize,
        mut req: RequestHead,
        mut resp: ResponseHead,
        state: &mut ChainState,
        body: BodyStart<'_>,
        mut replacement: Option<ValidReply>,
    ) -> (RequestHead, ResponseHead, ResponseOutcome) {
        for i in (0..below).rev() {
            let mw = &self.middlewares[i];
            if let Some(t) = &mut state.trace {
                // Spans deeper than this middleware (one that answered, or ran no response
                // hook) end before its response hook runs.
                t.close_from(i + 1);
            }
            if !mw.capabilities().response_hook {
                continue;
            }
            if let Some(fixed) = mw.fixed_edits() {
                // Its response hook always makes these edits and continues (`fixed-edits`).
                fixed.apply_response(&mut resp.parts.headers, mw.budget().max_headers);
                continue;
            }
            // A fresh journal for this hook's `kv` calls when they go to Redis (`kv_journal`).
            let journal = mw.budget().redis_kv.is_some().then(Box::default);
            let stop;
            (req, resp, stop) =
                self.response_hook(i, req, resp, state, body, &mut replacement, journal);
            if let Some(stop) = stop {
                return (req, resp, stop);
            }
        }
        if let Some(t) = &mut state.trace {
            t.close_from(0);
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

    /// Calls the response hook of middleware `i` (lending `journal`, for a Redis `kv`) and
    /// settles it; `Some` when the response hooks stop there.
    #[allow(
        clippy::too_many_arguments,
        reason = "the response loop's state, passed by reference instead of a one-use struct"
    )]
    fn response_hook(
        &self,
        i: usize,
        mut req: RequestHead,
        mut resp: ResponseHead,
        state: &mut ChainState,
        body: BodyStart<'_>,
        replacement: &mut Option<ValidReply>,
        journal: Option<Box<KvJournal>>,
    ) -> (RequestHead, ResponseHead, Option<ResponseOutcome>) {
        let mw = &self.middlewares[i];
        req.current = i;
        let snapshot = mw
            .budget()
            .fail_open
            .then(|| (resp.parts.status, resp.parts.headers.clone()));
        let undo = journal.is_some().then(|| ResponseStart::of(&req, &resp, i));
        req.kv_journal = journal;
        let body = match replacement {
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
        let mut journal = req.kv_journal.take();
        if let (Some(j), Some(redis), Some(undo)) =
            (journal.as_deref_mut(), &mw.budget().redis_kv, undo)
            && let Some(op) = j.end_call()
        {
            // Acted on a provisional `kv` answer: park until Redis answers, then call again.
            if let Some(c) = mw.counters() {
                c.called(Hook::Response);
            }
            state.response_waiting = Some(Box::new(ResponseWaiting {
                index: i,
                snapshot,
                replacement: replacement.take(),
                kv: Some(Box::new((undo, journal.take().unwrap_or_default()))),
            }));
            let call = KvCall {
                redis: redis.clone(),
                op,
            };
            return (req, resp, Some(ResponseOutcome::Kv(Box::new(call))));
        }
        if let (Err(err), Some(t)) = (&result, &state.trace) {
            t.failed(i, err);
        }
        let step = self.after_response_hook(
            i,
            &mut req,
            &mut resp,
            result,
            snapshot,
            replacement,
            "on-response",
        );
        let stop = step.stop_at(i, state, replacement);
        (req, resp, stop)
    }

    /// Hands Redis' answer to the `kv` operation of [`ResponseOutcome::Kv`] to the parked
    /// middleware's journal, undoes what its response hook did to the heads and calls it
    /// again; then runs the remaining response hooks as [`Chain::on_response_with_body`] does
    /// (`body` as given to it).
    pub fn resume_response_kv(
        &self,
        mut req: RequestHead,
        mut resp: ResponseHead,
        state: &mut ChainState,
        body: BodyStart<'_>,
        answered: KvAnswered,
    ) -> (RequestHead, ResponseHead, ResponseOutcome) {
        let Some(ResponseWaiting {
            index: i,
            replacement: mut kept,
            kv: Some(parked),
            ..
        }) = state.response_waiting.take().map(|w| *w)
        else {
            let err = PluginError::InvalidOutput("a kv answer nobody waits for".into());
            return (req, resp, ResponseOutcome::Failed(err));
        };
        let (undo, mut journal) = *parked;
        undo.restore(&mut req, &mut resp, i);
        journal.answer(answered.op, answered.result);
        let stop;
        (req, resp, stop) = self.response_hook(i, req, resp, state, body, &mut kept, Some(journal));
        if let Some(stop) = stop {
            return (req, resp, stop);
        }
        self.response_hooks_below(i, req, resp, state, body, kept)
    }

    /// What follows a response-side hook of middleware `i`: the failure policy, a replacement,
    /// and a recorded subrequest kept only when the hook continued.
    #[allow(
        clippy::too_many_arguments,
        reason = "the response loop's state, passed by reference instead of a one-use struct"
    )]
    fn after_response_hook(
        &self,
        i: usize,
        req: &mut RequestHead,
        resp: &mut ResponseHead,
        result: Result<HookDecision, PluginError>,
        snapshot: Option<(http::StatusCode, HeaderMap)>,
        replacement: &mut Option<ValidReply>,
        hook: &str,
    ) -> ResponseStep {
        let mw = &self.middlewares[i];
        if let Some(c) = mw.counters() {
            c.called(Hook::Response);
        }
        let pending = req.pending_subrequest.take();
        match result {
            Ok(HookDecision::Continue) => match pending {
                Some(sub) => ResponseStep::Subrequest(sub, snapshot),
                None => ResponseStep::Next,
            },
            Ok(HookDecision::Respond(reply)) => {
                resp.parts.status = reply.status;
                resp.parts.headers = reply.headers.clone();
                *replacement = Some(reply);
                ResponseStep::Next
            }
            Err(err) => {
                log_failure(mw, hook, &err);
                match snapshot {
                    Some((status, headers)) => {
                        resp.parts.status = status;
                        resp.parts.headers = headers;
                        ResponseStep::Next
                    }
                    None => ResponseStep::Failed(err),
                }
            }
        }
    }
}

/// Where the response hooks go after one middleware's hook.
enum ResponseStep {
    Next,
    Failed(PluginError),
    Subrequest(Box<Subrequest>, Option<(http::StatusCode, HeaderMap)>),
}

impl ResponseStep {
    /// Where the response hooks stop after middleware `index`'s step: `None` to go on; a
    /// failure; or its subrequest, with the loop's state parked in `state` until
    /// `resume_response` brings the answer.
    fn stop_at(
        self,
        index: usize,
        state: &mut ChainState,
        replacement: &mut Option<ValidReply>,
    ) -> Option<ResponseOutcome> {
        match self {
            ResponseStep::Next => None,
            ResponseStep::Failed(err) => Some(ResponseOutcome::Failed(err)),
            ResponseStep::Subrequest(sub, snapshot) => {
                state.response_waiting = Some(Box::new(ResponseWaiting {
                    index,
                    snapshot,
                    replacement: replacement.take(),
                    kv: None,
                }));
                Some(ResponseOutcome::Subrequest(sub))
            }
        }
    }
}

/// A middleware waiting for a subrequest's answer in the response phase, with the response
/// loop's state: what a fail-open middleware restores, and the reply that replaces the
/// upstream's so far.
struct ResponseWaiting {
    index: usize,
    snapshot: Option<(http::StatusCode, HeaderMap)>,
    replacement: Option<ValidReply>,
    /// Parked for a Redis `kv` operation instead (`ResponseOutcome::Kv`): what undoes the
    /// hook's run, and its journal.
    kv: Option<Box<(ResponseStart, Box<KvJournal>)>>,
}
