//! An http-wasm middleware: one guest module, one config, one budget, and its instances.
//!
//! Config time ([`HttpWasmMiddleware::configure`]): one instance is created and started
//! (`_initialize` or `_start`, where Rust's `main` registers the handler and guests call
//! `enable_features`); a start that traps or exits non-zero is a config error. The features it
//! enabled hold for the middleware's life and tell the chain which bodies to buffer. That
//! instance becomes the first pooled one.
//!
//! Per request: `handle_request` runs on an instance from the pool (or a fresh one; always a
//! fresh one in `per-request` isolation). The ABI's `req_ctx` is guest state, so the instance
//! that ran `handle_request` must run `handle_response` too: when the guest continues
//! (`next = 1`) the instance travels with the request head (in its `extensions`) and returns
//! to the pool after `handle_response`. A request that ends without a response hook (an
//! upstream failure) drops the instance. Any failure (trap, deadline, memory cap, refused edit)
//! drops the instance and fails that request only, like a component (`plugins::chain`).
//! Cost of a warm call: an epoch deadline, two moves of the head, the guest's host calls.

use std::sync::{Arc, Mutex};

use crossbeam_queue::ArrayQueue;
use wasmtime::{Store, TypedFunc};

use super::body::{BufferedBody, MAX_BUFFERED_BODY, set_length};
use super::module::HttpWasmModule;
use super::state::{
    BodyReader, FEATURE_BUFFER_REQUEST, FEATURE_BUFFER_RESPONSE, GuestState, Phase,
};
use crate::plugins::budget::{Isolation, MiddlewareBudget};
use crate::plugins::engine::PluginEngine;
use crate::plugins::error::PluginError;
use crate::plugins::heads::{RequestHead, ResponseHead};
use crate::plugins::host_state::PluginIdentity;
use crate::plugins::reply::ValidReply;

/// The least time a guest's start function (`_initialize` / `_start`) gets: a language
/// runtime's start (Go's scheduler and heap, Rust's `main` parsing the config) costs more than
/// a hook, and on a loaded machine a 50 ms hook deadline would fail starts spuriously. The
/// middleware's `deadline` applies when it is longer.
const MIN_START_DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);

/// What a guest's hook decided.
pub enum GuestDecision {
    Continue,
    Respond(ValidReply),
}

struct GuestInstance {
    store: Store<GuestState>,
    handle_request: TypedFunc<(), i64>,
    handle_response: TypedFunc<(i32, i32), ()>,
    requests: u64,
}

/// Instances a request holds between `handle_request` and `handle_response`, by chain
/// position, with the `req_ctx` each returned. Lives in the request head's `extensions`.
#[derive(Clone, Default)]
struct HeldGuests(Arc<Mutex<Vec<(usize, GuestInstance, i32)>>>);

pub struct HttpWasmMiddleware {
    module: Arc<HttpWasmModule>,
    engine: Arc<PluginEngine>,
    identity: PluginIdentity,
    config: Arc<[u8]>,
    budget: MiddlewareBudget,
    deadline_ticks: u64,
    features: u32,
    pool: ArrayQueue<GuestInstance>,
}

impl HttpWasmMiddleware {
    /// Starts one instance with `config_json` (what `get_config` returns) and keeps it warm.
    pub fn configure(
        engine: Arc<PluginEngine>,
        identity: PluginIdentity,
        module: Arc<HttpWasmModule>,
        config_json: &str,
        budget: MiddlewareBudget,
    ) -> Result<Self, PluginError> {
        let deadline_ticks = engine.deadline_ticks(budget.deadline);
        let middleware = HttpWasmMiddleware {
            module,
            engine,
            identity,
            config: Arc::from(config_json.as_bytes()),
            pool: ArrayQueue::new(budget.pool_size.max(1)),
            budget,
            deadline_ticks,
            features: 0,
        };
        let first = middleware.fresh_instance()?;
        let features = first.store.data().init_features;
        if middleware.budget.isolation == Isolation::Pooled {
            let _ = middleware.pool.push(first);
        }
        Ok(HttpWasmMiddleware {
            features,
            ..middleware
        })
    }

    /// Whether the guest enabled `buffer_request` at start: the proxy must collect the request
    /// body (up to [`MAX_BUFFERED_BODY`]) before the chain runs.
    pub fn buffers_request(&self) -> bool {
        self.features & FEATURE_BUFFER_REQUEST != 0
    }

    /// Whether the guest enabled `buffer_response` at start.
    pub fn buffers_response(&self) -> bool {
        self.features & FEATURE_BUFFER_RESPONSE != 0
    }

    fn classify(&self, err: wasmtime::Error, store: &Store<GuestState>) -> PluginError {
        PluginError::from_call(err, store.data().memory.exceeded(), self.budget.deadline)
    }

    /// Instantiates and starts the module. Cost: an instantiation from the pool plus the
    /// guest's start function (tens of µs for a small guest; a Go runtime start is more).
    fn fresh_instance(&self) -> Result<GuestInstance, PluginError> {
        let state = GuestState::new(
            self.identity.clone(),
            self.budget.memory_limit,
            self.config.clone(),
        );
        let mut store = Store::new(self.engine.engine(), state);
        store.limiter(|s| &mut s.memory);
        store.epoch_deadline_trap();
        let start_deadline = self.budget.deadline.max(MIN_START_DEADLINE);
        self.engine
            .epoch_arm()
            .arm(&mut store, self.engine.deadline_ticks(start_deadline));
        let instance = match self.module.pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(e) => return Err(PluginError::Instantiate(format!("{e:#}"))),
        };
        let memory = instance.get_memory(&mut store, "memory");
        store.data_mut().memory_export = memory;
        let funcs = instance
            .get_typed_func::<(), i64>(&mut store, "handle_request")
            .and_then(|req| {
                instance
                    .get_typed_func::<(i32, i32), ()>(&mut store, "handle_response")
                    .map(|resp| (req, resp))
            });
        let (handle_request, handle_response) =
            funcs.map_err(|e| PluginError::Instantiate(format!("{e:#}")))?;
        if let Some(init) = self.module.init_export {
            let start = instance
                .get_typed_func::<(), ()>(&mut store, init)
                .map_err(|e| PluginError::Instantiate(format!("{e:#}")))?;
            if let Err(e) = start.call(&mut store, ()) {
                // A command's `main` may end with `proc_exit(0)`: a clean start.
                if super::wasi_p1::exit_code(&e) != Some(0) {
                    return Err(start_failure(e, &store, start_deadline));
                }
            }
        }
        Ok(GuestInstance {
            store,
            handle_request,
            handle_response,
            requests: 0,
        })
    }

    fn checkout(&self) -> Result<GuestInstance, PluginError> {
        if self.budget.isolation == Isolation::Pooled
            && let Some(inst) = self.pool.pop()
        {
            return Ok(inst);
        }
        self.fresh_instance()
    }

    fn checkin(&self, inst: GuestInstance) {
        if self.budget.isolation == Isolation::Pooled
            && inst.requests < self.budget.max_requests_per_instance
        {
            let _ = self.pool.push(inst);
        }
    }

    /// Runs `handle_request`. The head always comes back (possibly edited; with the guest's
    /// request body in its `extensions` when it wrote one).
    pub fn on_request(
        &self,
        mut head: RequestHead,
    ) -> (RequestHead, Result<GuestDecision, PluginError>) {
        let mut inst = match self.checkout() {
            Ok(inst) => inst,
            Err(e) => return (head, Err(e)),
        };
        inst.requests += 1;
        head.max_headers = self.budget.max_headers;
        let position = head.current;
        let body = head
            .parts
            .extensions
            .get::<BufferedBody>()
            .map(|b| b.0.clone());
        let state = inst.store.data_mut();
        state.start_request();
        state.request_body = BodyReader {
            bytes: body.unwrap_or_default(),
            read: 0,
        };
        state.request = Some(head);
        self.engine
            .epoch_arm()
            .arm(&mut inst.store, self.deadline_ticks);
        let result = inst.handle_request.call(&mut inst.store, ());
        let state = inst.store.data_mut();
        let Some(mut head) = state.request.take() else {
            panic!("host invariant broken: the lent request head is gone");
        };
        let ctx_next = match result {
            Ok(v) => v,
            Err(e) => {
                let err = self.classify(e, &inst.store);
                return (head, Err(err));
            }
        };
        if let Some(body) = state.request_body_written.take() {
            set_length(&mut head.parts.headers, body.len());
            head.parts.extensions.insert(BufferedBody(body.into()));
        }
        let next = ctx_next as u32 != 0;
        if !next {
            let pending = std::mem::take(&mut state.pending);
            self.checkin(inst);
            return (head, self.direct_reply(pending).map(GuestDecision::Respond));
        }
        let ctx = (ctx_next >> 32) as i32;
        let held = head
            .parts
            .extensions
            .get_or_insert_default::<HeldGuests>()
            .clone();
        match held.0.lock() {
            Ok(mut list) => list.push((position, inst, ctx)),
            // Poisoned only by a panic while pushing; the instance is dropped, the request
            // goes on without its response hook.
            Err(_) => {
                return (
                    head,
                    Err(PluginError::Trap("instance hold-over lost".into())),
                );
            }
        }
        (head, Ok(GuestDecision::Continue))
    }

    /// The reply of a guest that returned `next = 0`: the status (default 200), headers and
    /// body it wrote.
    fn direct_reply(
        &self,
        pending: super::state::PendingResponse,
    ) -> Result<ValidReply, PluginError> {
        let body = pending.body.unwrap_or_default();
        self.reply(
            pending.status.unwrap_or(http::StatusCode::OK),
            pending.headers,
            body,
        )
    }

    fn reply(
        &self,
        status: http::StatusCode,
        mut headers: http::HeaderMap,
        body: Vec<u8>,
    ) -> Result<ValidReply, PluginError> {
        let cap = self.budget.max_reply_body_size.max(MAX_BUFFERED_BODY);
        if body.len() > cap {
            return Err(PluginError::InvalidOutput(format!(
                "body of {} bytes exceeds the limit of {cap} bytes",
                body.len()
            )));
        }
        // The length of what is sent, whatever the guest or the upstream said.
        headers.remove(http::header::CONTENT_LENGTH);
        headers.remove(http::header::TRANSFER_ENCODING);
        Ok(ValidReply {
            status,
            headers,
            body: body.into(),
        })
    }

    /// Runs `handle_response` on the instance that ran this request's `handle_request`. Both
    /// heads always come back. A body the guest wrote replaces the response (`Respond`).
    pub fn on_response(
        &self,
        req: RequestHead,
        mut resp: ResponseHead,
    ) -> (
        RequestHead,
        ResponseHead,
        Result<GuestDecision, PluginError>,
    ) {
        let position = req.current;
        let held = req.parts.extensions.get::<HeldGuests>().and_then(|held| {
            let mut list = held.0.lock().ok()?;
            let at = list.iter().position(|(p, _, _)| *p == position)?;
            Some(list.swap_remove(at))
        });
        let Some((_, mut inst, ctx)) = held else {
            // No instance held (cannot happen for a request whose hook continued).
            return (req, resp, Ok(GuestDecision::Continue));
        };
        resp.max_headers = self.budget.max_headers;
        let body = resp
            .parts
            .extensions
            .get::<BufferedBody>()
            .map(|b| b.0.clone());
        let state = inst.store.data_mut();
        // Response headers the guest set in `handle_request` apply to the response it let
        // through.
        for (name, value) in std::mem::take(&mut state.pending.headers) {
            if let Some(name) = name {
                resp.parts.headers.append(name, value);
            }
        }
        state.phase = Phase::Response;
        state.response_body = BodyReader {
            bytes: body.unwrap_or_default(),
            read: 0,
        };
        state.request = Some(req);
        state.response = Some(resp);
        self.engine
            .epoch_arm()
            .arm(&mut inst.store, self.deadline_ticks);
        let result = inst.handle_response.call(&mut inst.store, (ctx, 0));
        let state = inst.store.data_mut();
        let (Some(req), Some(resp)) = (state.request.take(), state.response.take()) else {
            panic!("host invariant broken: the lent heads are gone");
        };
        state.phase = Phase::Init;
        if let Err(e) = result {
            let err = self.classify(e, &inst.store);
            return (req, resp, Err(err));
        }
        let written = state.response_body_written.take();
        self.checkin(inst);
        match written {
            None => (req, resp, Ok(GuestDecision::Continue)),
            Some(body) => {
                let reply = self.reply(resp.parts.status, resp.parts.headers.clone(), body);
                (req, resp, reply.map(GuestDecision::Respond))
            }
        }
    }
}

/// Why a guest's start failed, in one line: the trap's root cause or exit code (not the wasm
/// backtrace) and what the guest last wrote to stderr (its panic message), which is what its
/// author needs.
fn start_failure(
    err: wasmtime::Error,
    store: &Store<GuestState>,
    deadline: std::time::Duration,
) -> PluginError {
    let state = store.data();
    let exit = super::wasi_p1::exit_code(&err);
    let cause = err.root_cause().to_string();
    match PluginError::from_call(err, state.memory.exceeded(), deadline) {
        PluginError::Trap(_) => {
            let mut reason = match exit {
                Some(code) => format!("the guest's start function exited with code {code}"),
                None => format!("the guest's start function trapped: {cause}"),
            };
            let stderr = state.stderr_summary();
            if !stderr.is_empty() {
                reason.push_str(&format!("; it wrote to stderr: {stderr}"));
            }
            PluginError::Trap(reason)
        }
        other => other,
    }
}
