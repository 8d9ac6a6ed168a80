//! One plugin instance: a store, its bindings, and the calls into it under a deadline.
//!
//! Cost per hook call on a warm instance: set the epoch deadline, move the head into the
//! slot (`lent`), call, move it back (~1 µs for a headers-style plugin). An instance that
//! failed in any way is poisoned: the caller must drop it, never reuse it.

use wasmtime::Store;

use super::bindings::subresponses as wit_sub;
use super::bindings::{Action, Declaration};
use super::budget::MiddlewareBudget;
use super::engine::PluginEngine;
use super::epoch_ticker::EpochArm;
use super::error::PluginError;
use super::exports::InstanceExports;
use super::heads::{RequestHead, ResponseHead};
use super::host_state::{HostState, PluginIdentity};
use super::outbound_send::{SubrequestFailure, SubrequestResult};
use super::registry::CompiledPlugin;
use super::snapshot::{InstanceSnapshot, SnapshotRefused};

pub struct PluginInstance {
    pub(super) store: Store<HostState>,
    pub(super) bindings: InstanceExports,
    /// Sets each call's deadline and keeps the engine's epoch ticker awake for it.
    pub(super) arm: EpochArm,
    /// Requests served so far (`on-request` calls; for recycling).
    pub(crate) requests: u64,
    /// Counts this instance in its middleware's live instances (metrics on) until dropped.
    pub(crate) live: Option<crate::admin::plugin_metrics::LiveInstance>,
    /// Its linear memory as `init` left it (per-request mode, `snapshot`): put back after each
    /// request, so that one instance serves request after request.
    snapshot: Option<Box<InstanceSnapshot>>,
    /// Its linear memories, when the engine shows them (`snapshot_memory`).
    memories: Vec<std::sync::Arc<super::snapshot_memory::MemoryView>>,
    /// Its places among the viewed engine's instances (`PluginEngine::instance_ticket`) and its
    /// middleware's snapshotted ones (`InstancePool::snapshot_ticket`).
    pub(super) tickets: Option<[super::engine::InstanceTicket; 2]>,
}

/// Least time a config-time call (`validate-config`) gets, whatever the middleware's request
/// deadline: config loads run off the request path, on machines that may be busy.
pub const CONFIG_TIME_DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);

impl PluginInstance {
    /// Instantiates the plugin without configuring it (for `validate-config`).
    pub fn bare(
        engine: &PluginEngine,
        plugin: &CompiledPlugin,
        identity: PluginIdentity,
        budget: &MiddlewareBudget,
    ) -> Result<Self, PluginError> {
        let mut state = HostState::new(identity, budget.memory_limit);
        state.counters = budget.counters.clone();
        state.redis_counters = budget.redis_counters.clone();
        state.take_max_wait_ns = budget.take_max_wait_ns;
        state.outbound = budget.outbound.clone();
        state.body = budget.body;
        state.compression = budget.compression;
        state.kv = budget.kv.clone();
        state.redis_kv = budget.redis_kv.is_some();
        let mut store = Store::new(engine.engine(), state);
        store.limiter(|s| &mut s.memory);
        store.epoch_deadline_trap();
        let arm = engine.epoch_arm().clone();
        arm.arm(&mut store, engine.deadline_ticks(budget.deadline));
        let (instance, memories) =
            super::snapshot_memory::collecting(|| plugin.pre.instantiate(&mut store));
        let bindings = instance
            .and_then(|instance| plugin.exports.load(&mut store, &instance))
            .map_err(|e| classify(e, &store, budget))?;
        Ok(PluginInstance {
            store,
            bindings,
            arm,
            requests: 0,
            live: None,
            memories,
            snapshot: None,
            tickets: None,
        })
    }

    /// Keeps this configured instance's state, to be put back after each request
    /// ([`Self::reset`]). Right after `init`, before any hook. Cost: a copy of the memory.
    pub fn take_snapshot(&mut self) -> Result<(), SnapshotRefused> {
        let snapshot = InstanceSnapshot::take(&mut self.store, &self.memories)?;
        self.snapshot = Some(Box::new(snapshot));
        Ok(())
    }

    /// Whether the instance has a snapshot to be put back to (`reset`).
    pub fn has_snapshot(&self) -> bool {
        self.snapshot.is_some()
    }

    /// Puts the instance back as `init` left it; `false` (drop it) when it has no snapshot or
    /// its memory grew. Per-request mode, once per request.
    pub fn reset(&mut self) -> bool {
        match &self.snapshot {
            Some(snapshot) => snapshot.restore(&mut self.store),
            None => false,
        }
    }

    /// Instantiates and runs `init(config)`: an instance ready for hook calls.
    pub fn configured(
        engine: &PluginEngine,
        plugin: &CompiledPlugin,
        identity: PluginIdentity,
        budget: &MiddlewareBudget,
        config_json: &str,
    ) -> Result<Self, PluginError> {
        let mut inst = Self::bare(engine, plugin, identity, budget)?;
        inst.arm
            .arm(&mut inst.store, engine.deadline_ticks(budget.deadline));
        let result = match (&inst.bindings.handler, &inst.bindings.connection) {
            (Some(handler), _) => handler.call_init(&mut inst.store, config_json),
            (None, Some(connection)) => connection.call_init(&mut inst.store, config_json),
            (None, None) => return Err(wrong_world()),
        }
        .map_err(|e| classify(e, &inst.store, budget))?;
        result.map_err(PluginError::Init)?;
        Ok(inst)
    }

    /// Linear memory the instance holds so far, in bytes (right after instantiation: the
    /// component's initial memory).
    pub fn memory_peak(&self) -> u64 {
        self.store.data().memory.peak()
    }

    /// Changes this instance's memory cap for the growth to come. Config time (the probe).
    pub fn set_memory_limit(&mut self, limit: u64) {
        self.store.data_mut().memory.set_limit(limit);
    }

    /// Runs `validate-config`; `Ok(Err(reason))` is the plugin's rejection. Config time: the
    /// call gets at least [`CONFIG_TIME_DEADLINE`], so a config is never refused because a
    /// loaded machine ran a plugin's check slower than a request's budget; a plugin that loops
    /// is still stopped.
    pub fn validate_config(
        &mut self,
        engine: &PluginEngine,
        budget: &MiddlewareBudget,
        config_json: &str,
    ) -> Result<Result<(), String>, PluginError> {
        let deadline = budget.deadline.max(CONFIG_TIME_DEADLINE);
        self.arm
            .arm(&mut self.store, engine.deadline_ticks(deadline));
        match (&self.bindings.handler, &self.bindings.connection) {
            (Some(handler), _) => handler.call_validate_config(&mut self.store, config_json),
            (None, Some(connection)) => {
                connection.call_validate_config(&mut self.store, config_json)
            }
            (None, None) => return Err(wrong_world()),
        }
        .map_err(|e| classify(e, &self.store, budget))
    }

    /// Calls `on-request`, lending `head`; the head always comes back, edited or not.
    pub fn on_request(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
        head: RequestHead,
    ) -> (RequestHead, Result<Action, PluginError>) {
        let Some(handler) = &self.bindings.handler else {
            return (head, Err(wrong_world()));
        };
        self.requests += 1;
        self.arm.arm(&mut self.store, deadline_ticks);
        let borrow = self.store.data_mut().heads.lend_request(head);
        let result = handler
            .call_on_request(&mut self.store, borrow)
            .map_err(|e| classify(e, &self.store, budget));
        let head = self.store.data_mut().heads.take_request();
        (head, result)
    }

    /// Calls `on-response`, lending both heads; both always come back.
    pub fn on_response(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
        req: RequestHead,
        resp: ResponseHead,
    ) -> (RequestHead, ResponseHead, Result<Action, PluginError>) {
        let Some(handler) = &self.bindings.handler else {
            return (req, resp, Err(wrong_world()));
        };
        self.arm.arm(&mut self.store, deadline_ticks);
        let heads = &mut self.store.data_mut().heads;
        let req_borrow = heads.lend_request(req);
        let resp_borrow = heads.lend_response(resp);
        let result = handler
            .call_on_response(&mut self.store, req_borrow, resp_borrow)
            .map_err(|e| classify(e, &self.store, budget));
        let heads = &mut self.store.data_mut().heads;
        let (req, resp) = (heads.take_request(), heads.take_response());
        (req, resp, result)
    }

    /// Runs `declare` on a configured instance; `Ok(None)` for a plain-`middleware` component
    /// (it has no `capabilities` export). Config time only.
    pub fn declare(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
    ) -> Result<Option<Declaration>, PluginError> {
        let Some(capabilities) = self
            .bindings
            .capabilities(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))?
        else {
            return Ok(None);
        };
        self.arm.arm(&mut self.store, deadline_ticks);
        capabilities
            .call_declare(&mut self.store)
            .map(Some)
            .map_err(|e| classify(e, &self.store, budget))
    }

    /// Calls `on-response-body`, lending both heads and copying `body_start` into the guest;
    /// both heads always come back. Only for components that declared a body peek (the caller
    /// checks); a plain-`middleware` instance gets `on-response` instead.
    pub fn on_response_body(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
        req: RequestHead,
        resp: ResponseHead,
        body_start: &[u8],
        complete: bool,
    ) -> (RequestHead, ResponseHead, Result<Action, PluginError>) {
        let capabilities = match self.bindings.capabilities(&mut self.store) {
            Ok(Some(capabilities)) => capabilities,
            Ok(None) => return self.on_response(deadline_ticks, budget, req, resp),
            Err(e) => return (req, resp, Err(classify(e, &self.store, budget))),
        };
        self.arm.arm(&mut self.store, deadline_ticks);
        let heads = &mut self.store.data_mut().heads;
        let req_borrow = heads.lend_request(req);
        let resp_borrow = heads.lend_response(resp);
        let result = capabilities
            .call_on_response_body(
                &mut self.store,
                req_borrow,
                resp_borrow,
                body_start,
                complete,
            )
            .map_err(|e| classify(e, &self.store, budget));
        let heads = &mut self.store.data_mut().heads;
        let (req, resp) = (heads.take_request(), heads.take_response());
        (req, resp, result)
    }
}

impl PluginInstance {
    /// Calls `on-request-subresponse` with the answer to the subrequest the middleware recorded,
    /// lending `head`; the head always comes back. A component without the `subresponses`
    /// export cannot have recorded one (it is refused at load), so that is a trap.
    pub fn on_request_subresponse(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
        head: RequestHead,
        answer: SubrequestResult,
    ) -> (RequestHead, Result<Action, PluginError>) {
        let hooks = match self.bindings.subresponses(&mut self.store) {
            Ok(Some(hooks)) => hooks,
            Ok(None) => return (head, Err(no_subresponse_hooks())),
            Err(e) => return (head, Err(classify(e, &self.store, budget))),
        };
        self.arm.arm(&mut self.store, deadline_ticks);
        let borrow = self.store.data_mut().heads.lend_request(head);
        let result = hooks
            .call_on_request_subresponse(&mut self.store, borrow, to_wit(answer).as_ref())
            .map_err(|e| classify(e, &self.store, budget));
        let head = self.store.data_mut().heads.take_request();
        (head, result)
    }

    /// Calls `on-response-subresponse`, lending both heads; both always come back.
    pub fn on_response_subresponse(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
        req: RequestHead,
        resp: ResponseHead,
        answer: SubrequestResult,
    ) -> (RequestHead, ResponseHead, Result<Action, PluginError>) {
        let hooks = match self.bindings.subresponses(&mut self.store) {
            Ok(Some(hooks)) => hooks,
            Ok(None) => return (req, resp, Err(no_subresponse_hooks())),
            Err(e) => return (req, resp, Err(classify(e, &self.store, budget))),
        };
        self.arm.arm(&mut self.store, deadline_ticks);
        let heads = &mut self.store.data_mut().heads;
        let req_borrow = heads.lend_request(req);
        let resp_borrow = heads.lend_response(resp);
        let result = hooks
            .call_on_response_subresponse(
                &mut self.store,
                req_borrow,
                resp_borrow,
                to_wit(answer).as_ref(),
            )
            .map_err(|e| classify(e, &self.store, budget));
        let heads = &mut self.store.data_mut().heads;
        let (req, resp) = (heads.take_request(), heads.take_response());
        (req, resp, result)
    }
}

impl PluginInstance {
    /// Asks `wants-on-complete` of a configured instance; false for a component without the
    /// `completion` export. Config time only.
    pub fn wants_on_complete(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
    ) -> Result<bool, PluginError> {
        let Some(hooks) = self
            .bindings
            .completion(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))?
        else {
            return Ok(false);
        };
        self.arm.arm(&mut self.store, deadline_ticks);
        hooks
            .call_wants_on_complete(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))
    }

    /// Calls `on-complete` with the middleware's scratch for the request and its outcome. No
    /// head is lent (the request is over). Only for middlewares that asked for it (the caller
    /// checks); a component without the export cannot have.
    pub fn on_complete(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
        state: Option<&[u8]>,
        outcome: super::bindings::completion::Outcome,
        journal: &mut Option<Box<super::kv_journal::KvJournal>>,
    ) -> Result<(), PluginError> {
        let Some(hooks) = self
            .bindings
            .completion(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))?
        else {
            return Err(PluginError::Trap(
                "on-complete for a component without the completion export".into(),
            ));
        };
        self.arm.arm(&mut self.store, deadline_ticks);
        // The journal of a Redis-backed `kv` is lent for the call (`kv_journal`).
        std::mem::swap(&mut self.store.data_mut().kv_journal, journal);
        let result = hooks
            .call_on_complete(&mut self.store, state, outcome)
            .map_err(|e| classify(e, &self.store, budget));
        std::mem::swap(&mut self.store.data_mut().kv_journal, journal);
        result
    }
}

impl PluginInstance {
    /// Asks `hook-needs` of a configured instance; `None` for a component without the export
    /// (it needs every hook). Config time only.
    pub fn hook_needs(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
    ) -> Result<Option<super::bindings::hook_needs::Needs>, PluginError> {
        let Some(hooks) = self
            .bindings
            .hook_needs(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))?
        else {
            return Ok(None);
        };
        self.arm.arm(&mut self.store, deadline_ticks);
        hooks
            .call_hook_needs(&mut self.store)
            .map(Some)
            .map_err(|e| classify(e, &self.store, budget))
    }
}

impl PluginInstance {
    /// Asks `fixed-edits` of a configured instance; `None` for a component without the export
    /// or one that answered `none` (its hooks are called). Config time only.
    pub fn fixed_edits(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
    ) -> Result<Option<super::bindings::fixed_edits::Edits>, PluginError> {
        let Some(exported) = self
            .bindings
            .fixed_edits(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))?
        else {
            return Ok(None);
        };
        self.arm.arm(&mut self.store, deadline_ticks);
        exported
            .call_fixed_edits(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))
    }
}

impl PluginInstance {
    /// Asks `pre-take` of a configured instance; `None` for a component without the export or
    /// one that answered `none` (its `on-request` is called). Config time only.
    pub fn pre_take(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
    ) -> Result<Option<super::bindings::pre_take::TakeSpec>, PluginError> {
        let Some(exported) = self
            .bindings
            .pre_take(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))?
        else {
            return Ok(None);
        };
        self.arm.arm(&mut self.store, deadline_ticks);
        exported
            .call_pre_take(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))
    }
}

impl PluginInstance {
    /// Asks `verdict-memo` of a configured instance; `None` for a component without the export
    /// or one that answered `none` (its `on-request` is called). Config time only.
    pub fn verdict_memo(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
    ) -> Result<Option<super::bindings::verdict_memo::MemoSpec>, PluginError> {
        let Some(exported) = self
            .bindings
            .verdict_memo(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))?
        else {
            return Ok(None);
        };
        self.arm.arm(&mut self.store, deadline_ticks);
        exported
            .call_verdict_memo(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))
    }
}

impl PluginInstance {
    /// Asks `wants-retry-policy` of a configured instance; `none` for a component without the
    /// `retry-policy` export. Config time only.
    pub fn wants_retry_policy(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
    ) -> Result<super::bindings::retry_policy::RetryMode, PluginError> {
        let Some(hooks) = self
            .bindings
            .retry_policy(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))?
        else {
            return Ok(super::bindings::retry_policy::RetryMode::None);
        };
        self.arm.arm(&mut self.store, deadline_ticks);
        hooks
            .call_wants_retry_policy(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))
    }

    /// Calls `retry-after` for a failed attempt. No head is lent. Only for middlewares that
    /// want retries (the caller checks); a component without the export cannot have.
    pub fn retry_after(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
        failed: &super::bindings::retry_policy::FailedAttempt,
    ) -> Result<Option<u64>, PluginError> {
        let Some(hooks) = self
            .bindings
            .retry_policy(&mut self.store)
            .map_err(|e| classify(e, &self.store, budget))?
        else {
            return Err(PluginError::Trap(
                "retry-after for a component without the retry-policy export".into(),
            ));
        };
        self.arm.arm(&mut self.store, deadline_ticks);
        hooks
            .call_retry_after(&mut self.store, failed)
            .map_err(|e| classify(e, &self.store, budget))
    }
}

/// A hook of the other kind of middleware: the builder checks worlds at config time
/// (`http.middlewares` take HTTP middlewares, `tcp.middlewares` connection ones), so this is a
/// host bug; it fails the call like a trap would.
pub(super) fn wrong_world() -> PluginError {
    PluginError::Trap("the component does not export the hook the host called".into())
}

fn no_subresponse_hooks() -> PluginError {
    PluginError::Trap("a subrequest was recorded by a component without subresponse hooks".into())
}

fn to_wit(answer: SubrequestResult) -> Result<wit_sub::Subresponse, wit_sub::SubrequestFailure> {
    match answer {
        Ok(r) => Ok(wit_sub::Subresponse {
            status: r.status,
            headers: r.headers,
            body: r.body,
            body_truncated: r.body_truncated,
        }),
        Err(SubrequestFailure::Unreachable(why)) => {
            Err(wit_sub::SubrequestFailure::Unreachable(why))
        }
        Err(SubrequestFailure::Timeout) => Err(wit_sub::SubrequestFailure::Timeout),
        Err(SubrequestFailure::NoServer) => Err(wit_sub::SubrequestFailure::NoServer),
    }
}

pub(super) fn classify(
    err: wasmtime::Error,
    store: &Store<HostState>,
    budget: &MiddlewareBudget,
) -> PluginError {
    PluginError::from_call(err, store.data().memory.exceeded(), budget.deadline)
}
