//! A configured middleware: one plugin, one config, one budget, and its instances.
//!
//! Built at config time (validate-config runs here, so a bad plugin config is a load error).
//! Per request, `pooled` mode pops a warm instance from a lock-free queue (or instantiates one
//! if the queue is empty) and pushes it back after the call; `per-request` mode gives each
//! request an instance put back as `init` left it (`snapshot`; ≈ 1.3 µs more than a pooled
//! call for a one-page guest), or, for a plugin whose state a snapshot cannot restore, a fresh
//! one from the `InstancePre` (≈ 9 µs). It goes back to the pool when its request hook returns
//! where no response hook follows, or where requests overlap and the pool has no spare
//! (`gives_back_now`); otherwise it waits in the request's slot for the response hook.
//!
//! For a `middleware-with-capabilities` plugin, configuring also instantiates and `init`s one
//! instance and asks it `declare` (its [`Capabilities`]); that instance then becomes the first
//! pooled one (pooled mode) or is dropped (per-request mode). Config-time cost: one more
//! instantiation and `init` per such middleware.
//!
//! A plugin that declares its per-request work as fixed header edits (`fixed-edits`) gets
//! [`PluginMiddleware::fixed_edits`]: the chain applies them natively and never checks out an
//! instance for it per request. One that declares its `on-request` as a take (`pre-take`) gets
//! [`PluginMiddleware::pre_take`]: the chain makes the take natively and calls the hook only
//! when it is refused. One that declares its `on-request` verdict a function of one header
//! (`verdict-memo`) gets [`PluginMiddleware::verdict_memo`]: the chain replays a remembered
//! `continue` for a header value it saw and calls the hook for the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use crate::admin::plugin_metrics::Hook;

use super::bindings::Action;
use super::bindings::retry_policy::RetryMode;
use super::body::{BodyLimit, OverLimit};
use super::budget::{Isolation, MiddlewareBudget};
use super::capabilities::{BodyStart, Capabilities, HookNeeds};
use super::engine::PluginEngine;
use super::error::PluginError;
use super::exports::World;
use super::fixed_edits::FixedEdits;
use super::heads::{RequestHead, ResponseHead};
use super::host_state::PluginIdentity;
use super::instance::PluginInstance;
use super::instance_pool::{HeldInstance, InstancePool};
use super::outbound_send::SubrequestResult;
use super::pre_take::PreTake;
use super::registry::CompiledPlugin;
use super::reply::{ValidReply, validate_reply};
use super::verdict_memo::VerdictMemo;

/// What a hook decided, once validated.
#[derive(Debug)]
pub enum HookDecision {
    Continue,
    Respond(ValidReply),
}

/// Why a middleware could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum ConfigureError {
    #[error("plugin {plugin:?} rejected its config: {reason}")]
    Rejected { plugin: String, reason: String },
    #[error("plugin {plugin:?} failed while validating its config: {source}")]
    Failed { plugin: String, source: PluginError },
    /// The plugin declared something invalid: fixed edits (`fixed-edits`, or fixed edits
    /// together with another per-request need), a pre-take (`pre-take`) or a verdict memo
    /// (`verdict-memo`). A plugin bug, refused like a rejected config.
    #[error("middleware {middleware:?} (plugin {plugin:?}) declared {declaration}: {reason}")]
    InvalidDeclaration {
        middleware: String,
        plugin: String,
        /// What was invalid, as the message names it ("invalid fixed edits", ...).
        declaration: &'static str,
        reason: String,
    },
}

/// What `ask_declarations` learnt from the plugin.
struct Declared {
    capabilities: Capabilities,
    completes: bool,
    retry: RetryMode,
    needs: HookNeeds,
    /// `Some`: checked fixed edits; `Err`: the plugin's invalid declaration (a load error).
    fixed_edits: Result<Option<FixedEdits>, String>,
    /// What `pre-take` answered (checked in `configure`, which knows the grant).
    pre_take: Option<super::bindings::pre_take::TakeSpec>,
    /// What `verdict-memo` answered (checked in `configure`, which knows the grants).
    verdict_memo: Option<super::bindings::verdict_memo::MemoSpec>,
}

/// An instance a request holds between its hooks (per-request mode only); when the request
/// drops it, it goes back to its middleware (`instance_pool`).
pub type InstanceSlot = Option<HeldInstance>;

pub struct PluginMiddleware {
    identity: PluginIdentity,
    /// Set for a Traefik Wasm plugin (http-wasm guest): it then runs every hook, and `plugin`
    /// is `None` (`http_wasm`).
    http_wasm: Option<super::http_wasm::HttpWasmMiddleware>,
    plugin: Option<Arc<CompiledPlugin>>,
    engine: Arc<PluginEngine>,
    config_json: Arc<str>,
    budget: MiddlewareBudget,
    pub(super) deadline_ticks: u64,
    capabilities: Capabilities,
    /// The plugin asked for `on-complete` (`completion`), fixed at config time.
    completes: bool,
    /// Whether the plugin decides retries (`retry-policy`), fixed at config time.
    retry: RetryMode,
    /// What the plugin said it needs of each request (`hook-needs`), fixed at config time.
    needs: HookNeeds,
    /// The hooks' work as fixed header edits (`fixed-edits`), applied natively by the chain;
    /// fixed at config time. Boxed: read per request only through one pointer test.
    fixed_edits: Option<Box<FixedEdits>>,
    /// The `on-request`'s take (`pre-take`), made natively by the chain before the hook; fixed
    /// at config time. Only for in-process counters and no `on-complete`.
    pre_take: Option<Box<PreTake>>,
    /// The `on-request` verdicts remembered per value of a header (`verdict-memo`), replayed
    /// by the chain; the memo lives and dies with the middleware (a reload starts empty).
    verdict_memo: Option<Box<VerdictMemo>>,
    /// Idle instances: warm ones (pooled mode), or ones put back as `init` left them
    /// (per-request mode with snapshots).
    pool: Arc<InstancePool>,
    /// Per-request mode: whether new instances get a snapshot and serve request after request
    /// (`snapshot`). Set at config time from the plugin's code; turned off for good when an
    /// instance's snapshot is refused (its `init` drew randomness, its memory is too large).
    snapshots: AtomicBool,
    /// The plugin compiled for the engine whose memories the host sees
    /// (`PluginEngine::viewed`): where snapshotted instances are made.
    viewed: Option<Arc<CompiledPlugin>>,
    /// Per-request mode: whether an instance goes back to the pool as soon as its hook
    /// returns, instead of waiting in the request's slot for the request's end (across the
    /// upstream's round trip): when no later hook of the request needs that same instance.
    /// Fixed at config time ([`Self::hands_back_after_each_hook`]).
    hands_back: bool,
    /// Hook calls and failures (`admin`); `None` when metrics are off.
    counters: Option<Arc<crate::admin::plugin_metrics::PluginCounters>>,
}

impl PluginMiddleware {
    /// Validates the config with the plugin (on a throw-away instance) and builds the middleware.
    /// Pooled instances are created lazily by the first requests.
    pub fn configure(
        engine: Arc<PluginEngine>,
        name: &str,
        plugin: Arc<CompiledPlugin>,
        config_json: &str,
        budget: MiddlewareBudget,
    ) -> Result<Self, ConfigureError> {
        let identity = PluginIdentity {
            middleware: Arc::from(name),
            plugin: Arc::from(plugin.file.name.as_str()),
            hash: Arc::from(plugin.file.short_hash()),
            output_budget: Arc::default(),
        };
        let failed = |source| ConfigureError::Failed {
            plugin: plugin.file.name.clone(),
            source,
        };
        // With the default memory cap, the probe may start as big as the engine allows, and
        // its initial memory sets the middleware's cap (`MiddlewareBudget::fit_memory_to`).
        let mut budget = budget;
        let max_memory = u64::try_from(engine.settings().max_memory_size).unwrap_or(u64::MAX);
        let probe_budget = if budget.memory_limit_is_default() {
            MiddlewareBudget {
                memory_limit: max_memory,
                ..budget.clone()
            }
        } else {
            budget.clone()
        };
        let mut probe = PluginInstance::bare(&engine, &plugin, identity.clone(), &probe_budget)
            .map_err(failed)?;
        let initial_memory = probe.memory_peak();
        if let Some(fitted) = budget.fit_memory_to(initial_memory, max_memory) {
            tracing::info!(
                middleware = name,
                plugin = plugin.file.name.as_str(),
                "memory cap {fitted} bytes: the component starts with {initial_memory} bytes of \
                 linear memory (memoryLimit not set)"
            );
        }
        probe.set_memory_limit(budget.memory_limit);
        match probe
            .validate_config(&engine, &budget, config_json)
            .map_err(failed)?
        {
            Ok(()) => {}
            Err(reason) => {
                return Err(ConfigureError::Rejected {
                    plugin: plugin.file.name.clone(),
                    reason,
                });
            }
        }
        let deadline_ticks = engine.deadline_ticks(budget.deadline);
        let counters =
            crate::admin::plugin_counters(&identity.middleware, &identity.plugin, &identity.hash);
        let viewed = match (budget.isolation, plugin.resettable()) {
            (Isolation::Pooled, _) => None,
            (Isolation::PerRequest, super::snapshot::Resettable::Yes) => plugin.viewed(&engine),
            (Isolation::PerRequest, super::snapshot::Resettable::No(reason)) => {
                tracing::info!(
                    middleware = name,
                    plugin = plugin.file.name.as_str(),
                    "per-request isolation makes a fresh instance per request: {reason}"
                );
                None
            }
        };
        let mut middleware = PluginMiddleware {
            pool: InstancePool::new(
                budget.pool_size,
                counters.clone(),
                budget.max_requests_per_instance,
            ),
            snapshots: AtomicBool::new(viewed.is_some()),
            viewed,
            hands_back: false,
            counters,
            identity,
            http_wasm: None,
            plugin: Some(plugin),
            engine,
            config_json: Arc::from(config_json),
            budget,
            deadline_ticks,
            capabilities: Capabilities::PLAIN,
            completes: false,
            retry: RetryMode::None,
            needs: HookNeeds::ALL,
            fixed_edits: None,
            pre_take: None,
            verdict_memo: None,
        };
        let asks = middleware.plugin.as_ref().is_some_and(|p| {
            p.world() == World::WithCapabilities
                || p.exports.has_completion()
                || p.exports.has_retry_policy()
                || p.exports.has_hook_needs()
                || p.exports.has_fixed_edits()
                || p.exports.has_pre_take()
                || p.exports.has_verdict_memo()
        });
        if asks {
            let declared = middleware.ask_declarations();
            middleware.capabilities = declared.capabilities;
            middleware.completes = declared.completes;
            middleware.retry = declared.retry;
            middleware.needs = declared.needs;
            let plugin = &middleware.identity.plugin;
            let invalid = |declaration| {
                move |reason| ConfigureError::InvalidDeclaration {
                    middleware: name.to_owned(),
                    plugin: plugin.to_string(),
                    declaration,
                    reason,
                }
            };
            middleware.fixed_edits = declared
                .fixed_edits
                .map_err(invalid("invalid fixed edits"))?
                .map(Box::new);
            middleware.pre_take = match declared.pre_take {
                Some(spec) => middleware
                    .honoured_pre_take(spec)
                    .map_err(invalid("an invalid pre-take"))?
                    .map(Box::new),
                None => None,
            };
            middleware.verdict_memo = match declared.verdict_memo {
                Some(spec) => middleware
                    .honoured_verdict_memo(spec)
                    .map_err(invalid("an invalid verdict memo"))?
                    .map(Box::new),
                None => None,
            };
        }
        middleware.hands_back = middleware.hands_back_after_each_hook();
        Ok(middleware)
    }

    /// Whether a per-request instance may go back to the pool as soon as its hook returns
    /// ([`Self::gives_back_now`] decides per call): no `outbound-http` (a subrequest's answer
    /// goes to the instance that sent it), no Redis-backed `counters` or `kv` (a parked hook is
    /// replayed on its instance). A response hook may then run on an instance put back as
    /// `init` left it rather than the one its request hook ran on: what a guest carries from
    /// one hook to the other goes through the request's scratch state (`set-state`, kept by
    /// the host), as the contract says and pooled mode already needs. `on-complete` and
    /// `retry-after` take any instance. A held instance would otherwise wait out the
    /// upstream's round trip, and with many requests at once each would be another instance
    /// to keep and copy back (more memory than the caches hold: measured in bench/README).
    fn hands_back_after_each_hook(&self) -> bool {
        self.budget.isolation == Isolation::PerRequest
            && self.budget.outbound.is_none()
            && !self.budget.replayable()
    }

    /// The declared verdict memo, when the chain may skip the hook: no `on-complete` (which
    /// needs its `on-request` called), no `body` grant (a hook that reads or replaces bodies),
    /// no Redis-backed `counters` or `kv` (whose hooks the chain parks and replays). An invalid
    /// header name is an error.
    fn honoured_verdict_memo(
        &self,
        spec: super::bindings::verdict_memo::MemoSpec,
    ) -> Result<Option<VerdictMemo>, String> {
        let memo = VerdictMemo::check(spec)?;
        let applies = !self.completes && self.budget.body.is_none() && !self.budget.replayable();
        Ok(memo.filter(|_| applies))
    }

    /// The declared pre-take as the chain makes it, when the chain's take is the hook's: in
    /// process (with `redis` counters the hook records its take for Redis, `remote_take`, and
    /// with Redis-backed `kv` its calls are replayable: called as before either way), with the
    /// `counters` grant, and no `on-complete` (whose `on-request` is always called). An invalid
    /// spec is an error.
    fn honoured_pre_take(
        &self,
        spec: super::bindings::pre_take::TakeSpec,
    ) -> Result<Option<PreTake>, String> {
        let Some(scope) = &self.budget.counters else {
            // No grant: the hook's own take traps, as it did before (`counters_import`).
            return Ok(None);
        };
        let pre_take = PreTake::check(spec, scope.clone(), self.budget.take_max_wait_ns)?;
        let in_process = self.budget.redis_counters.is_none() && !self.budget.replayable();
        Ok((in_process && !self.completes).then_some(pre_take))
    }

    /// Asks a fresh, configured instance what the middleware needs (`declare`,
    /// `wants-on-complete`, `wants-retry-policy`, `hook-needs`, `fixed-edits`). A failure (in
    /// `init` or a call) is logged and gives the plain-world answer (every hook, no body, no
    /// `on-complete`, no retries, no fixed edits): the same failure then surfaces on requests,
    /// where it fails (or passes, fail-open) each one as before.
    fn ask_declarations(&self) -> Declared {
        let declared = self.fresh_instance().and_then(|mut inst| {
            let declared = inst.declare(self.deadline_ticks, &self.budget)?;
            let completes = inst.wants_on_complete(self.deadline_ticks, &self.budget)?;
            let retry = inst.wants_retry_policy(self.deadline_ticks, &self.budget)?;
            let needs = inst.hook_needs(self.deadline_ticks, &self.budget)?;
            let fixed_edits = inst.fixed_edits(self.deadline_ticks, &self.budget)?;
            let pre_take = inst.pre_take(self.deadline_ticks, &self.budget)?;
            let verdict_memo = inst.verdict_memo(self.deadline_ticks, &self.budget)?;
            match self.budget.isolation {
                // Configured and unused: the first warm instance.
                Isolation::Pooled => self.pool.park(inst),
                // Put back as `init` left it, when it has a snapshot.
                Isolation::PerRequest => self.pool.give_back(inst),
            }
            let capabilities =
                declared.map_or(Capabilities::PLAIN, |d| Capabilities::from_declaration(&d));
            Ok(Declared {
                capabilities,
                completes,
                retry,
                needs: needs.map_or(HookNeeds::ALL, |n| HookNeeds::from_answer(&n, completes)),
                fixed_edits: fixed_edits
                    .map(|edits| {
                        refuse_other_needs(capabilities, completes, retry)?;
                        FixedEdits::check(edits)
                    })
                    .transpose(),
                pre_take,
                verdict_memo,
            })
        });
        match declared {
            Ok(declared) => declared,
            Err(err) => {
                let id = &self.identity;
                tracing::warn!(
                    middleware = &*id.middleware,
                    plugin = &*id.plugin,
                    hash = &*id.hash,
                    kind = err.kind(),
                    "cannot read the plugin's capabilities, calling every hook without body: {err}"
                );
                Declared {
                    capabilities: Capabilities::PLAIN,
                    completes: false,
                    retry: RetryMode::None,
                    needs: HookNeeds::ALL,
                    fixed_edits: Ok(None),
                    pre_take: None,
                    verdict_memo: None,
                }
            }
        }
    }

    /// A middleware running a Traefik Wasm plugin (an http-wasm guest, see `http_wasm`),
    /// `identity` naming the guest. Config time: starts one guest instance.
    pub fn http_wasm(
        engine: Arc<PluginEngine>,
        identity: PluginIdentity,
        module: Arc<super::http_wasm::HttpWasmModule>,
        config_json: &str,
        budget: MiddlewareBudget,
    ) -> Result<Self, ConfigureError> {
        let guest = super::http_wasm::HttpWasmMiddleware::configure(
            engine.clone(),
            identity.clone(),
            module,
            config_json,
            budget.clone(),
        )
        .map_err(|source| ConfigureError::Failed {
            plugin: identity.plugin.to_string(),
            source,
        })?;
        let counters =
            crate::admin::plugin_counters(&identity.middleware, &identity.plugin, &identity.hash);
        Ok(PluginMiddleware {
            counters,
            identity,
            http_wasm: Some(guest),
            pool: InstancePool::new(1, None, u64::MAX),
            snapshots: AtomicBool::new(false),
            viewed: None,
            hands_back: false,
            plugin: None,
            engine,
            config_json: Arc::from(config_json),
            deadline_ticks: 0,
            budget,
            capabilities: Capabilities::PLAIN,
            completes: false,
            retry: RetryMode::None,
            needs: HookNeeds::ALL,
            fixed_edits: None,
            pre_take: None,
            verdict_memo: None,
        })
    }

    /// Which bodies the proxy must buffer whole for this middleware, with their limits:
    /// (request, response). http-wasm guests that enabled `buffer_request` / `buffer_response`
    /// ask for it (up to `MAX_BUFFERED_BODY`, refused beyond), and components granted `body`.
    pub fn buffers_bodies(&self) -> (Option<BodyLimit>, Option<BodyLimit>) {
        match &self.http_wasm {
            Some(guest) => {
                let whole = BodyLimit {
                    max_bytes: super::http_wasm::MAX_BUFFERED_BODY,
                    over_limit: OverLimit::Reject,
                };
                (
                    guest.buffers_request().then_some(whole),
                    guest.buffers_response().then_some(whole),
                )
            }
            None => match self.budget.body {
                Some(grant) => (grant.request, grant.response),
                None => (None, None),
            },
        }
    }

    /// What the middleware declared (after the host's caps); fixed for its life.
    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// What the middleware needs of each request (`hook-needs`); fixed for its life.
    pub fn needs(&self) -> HookNeeds {
        self.needs
    }

    /// The middleware's hooks as fixed header edits (`fixed-edits`), applied natively by the
    /// chain instead of calling them; fixed for its life.
    pub fn fixed_edits(&self) -> Option<&FixedEdits> {
        self.fixed_edits.as_deref()
    }

    /// The take the chain makes before `on-request` (`pre-take`), which is then called only
    /// when the take is refused; fixed for its life.
    pub fn pre_take(&self) -> Option<&PreTake> {
        self.pre_take.as_deref()
    }

    /// The memo of `on-request` verdicts the chain replays (`verdict-memo`); fixed for its
    /// life, emptied by nothing but a new middleware (a config reload).
    pub fn verdict_memo(&self) -> Option<&VerdictMemo> {
        self.verdict_memo.as_deref()
    }

    /// The same middleware with its hooks called even where the plugin declared fixed edits
    /// or a pre-take: for measuring the hook path (the `plugin_call` benchmark's historical
    /// rows).
    pub fn with_hooks_called(mut self) -> Self {
        self.fixed_edits = None;
        self.pre_take = None;
        self.verdict_memo = None;
        self
    }

    /// Whether the middleware asked for `on-complete`; fixed for its life.
    pub fn completes(&self) -> bool {
        self.completes
    }

    /// Whether (and how) the middleware decides retries (`retry-policy`); fixed for its life.
    pub fn retry_mode(&self) -> RetryMode {
        self.retry
    }

    /// Asks `retry-after` about a failed attempt, on any instance (pooled: the pool's next one;
    /// per-request: a fresh one, dropped after). Nanoseconds to wait before the next attempt,
    /// or `None` to give up. A failure is returned for the caller to log (it gives up); the
    /// instance is then discarded.
    pub fn retry_after(&self, attempt: u32, method: &str) -> Result<Option<u64>, PluginError> {
        let failed = super::bindings::retry_policy::FailedAttempt {
            attempt,
            failure: super::bindings::retry_policy::AttemptFailure::Unreachable,
            method: method.to_string(),
        };
        let mut slot = None;
        let mut inst = self.checkout(&mut slot)?;
        let result = inst.retry_after(self.deadline_ticks, &self.budget, &failed);
        self.checkin(inst, result.is_err(), &mut slot);
        result
    }

    /// Runs `on-complete` with the middleware's scratch for one request and its outcome, on
    /// any instance (pooled: the pool's next one; per-request: a fresh one, dropped after).
    /// A failure is returned for the caller to log; the instance is then discarded.
    pub fn on_complete(
        &self,
        state: Option<&[u8]>,
        outcome: super::bindings::completion::Outcome,
        journal: &mut Option<Box<super::kv_journal::KvJournal>>,
    ) -> Result<(), PluginError> {
        let mut slot = None;
        let mut inst = self.checkout(&mut slot)?;
        let result = inst.on_complete(self.deadline_ticks, &self.budget, state, outcome, journal);
        self.checkin(inst, result.is_err(), &mut slot);
        result
    }

    pub fn name(&self) -> &str {
        &self.identity.middleware
    }

    pub fn identity(&self) -> &PluginIdentity {
        &self.identity
    }

    /// Where this middleware's hook calls and failures are counted (metrics on).
    pub fn counters(&self) -> Option<&crate::admin::plugin_metrics::PluginCounters> {
        self.counters.as_deref()
    }

    pub fn budget(&self) -> &MiddlewareBudget {
        &self.budget
    }

    fn fresh_instance(&self) -> Result<Box<PluginInstance>, PluginError> {
        let Some(plugin) = &self.plugin else {
            return Err(PluginError::Instantiate(
                "an http-wasm middleware has no component instances".into(),
            ));
        };
        // A snapshotted instance comes from the viewed engine, while both it and this
        // middleware's pool have room for one more (else a fresh instance from the pooled
        // engine, whose own cap then applies).
        let snapshots = match (&self.viewed, self.engine.viewed()) {
            (Some(viewed), Some(engine)) if self.snapshots.load(Relaxed) => self
                .pool
                .snapshot_ticket()
                .zip(engine.instance_ticket())
                .map(|(mine, engine_wide)| (engine, viewed, [mine, engine_wide])),
            _ => None,
        };
        let (engine, plugin, tickets) = match snapshots {
            Some((engine, viewed, tickets)) => (&**engine, &**viewed, Some(tickets)),
            None => (&*self.engine, &**plugin, None),
        };
        let mut inst = Box::new(PluginInstance::configured(
            engine,
            plugin,
            self.identity.clone(),
            &self.budget,
            &self.config_json,
        )?);
        inst.live = self.counters.as_ref().map(|c| c.instantiated());
        let snapshots = tickets.is_some();
        inst.tickets = tickets;
        if snapshots
            && let Err(refused) = inst.take_snapshot()
            && self.snapshots.swap(false, Relaxed)
        {
            let id = &self.identity;
            tracing::info!(
                middleware = &*id.middleware,
                plugin = &*id.plugin,
                hash = &*id.hash,
                "per-request isolation makes a fresh instance per request: {refused}"
            );
        }
        Ok(inst)
    }

    /// Whether a pooled instance has grown into the last eighth of its memory cap. It is then
    /// retired (dropped; a fresh one is made on demand) rather than pooled, so a guest whose
    /// memory creeps up call after call (a language runtime that never gives back what it
    /// allocated: a ComponentizeJS guard was measured growing by about a kilobyte per request)
    /// is replaced before its growth traps a request on the cap. A request that needs more than
    /// that eighth in one call still hits the cap, as it should. Cost: one comparison per call.
    fn near_memory_cap(&self, inst: &PluginInstance) -> bool {
        let limit = self.budget.memory_limit;
        inst.memory_peak() > limit - limit / 8
    }

    /// Runs one hook call `call`, timing it into the hook-duration histogram when metrics are
    /// on (two clock reads).
    pub(super) fn timed<T>(&self, hook: Hook, call: impl FnOnce() -> T) -> T {
        match &self.counters {
            None => call(),
            Some(c) => {
                let started = std::time::Instant::now();
                let out = call();
                c.took(hook, started.elapsed());
                out
            }
        }
    }

    /// An instance for one call: from the request's slot (per-request), the pool (warm, or put
    /// back as `init` left it), or new.
    pub(super) fn checkout(
        &self,
        slot: &mut InstanceSlot,
    ) -> Result<Box<PluginInstance>, PluginError> {
        if let Some(inst) = slot.take().and_then(HeldInstance::into_inner) {
            return Ok(inst);
        }
        if let Some(inst) = self.pool.pop() {
            return Ok(inst);
        }
        self.fresh_instance()
    }

    /// Returns an instance after a call. Failed instances are dropped (never reused); pooled ones
    /// go back to the pool unless they served their quota of requests; per-request ones go
    /// back at once, put back as `init` left them (`hands_back` and [`Self::gives_back_now`]),
    /// or stay in the slot until the request ends (a response hook still to come on a lone
    /// request, a subrequest, a Redis-backed hook), then go back or are dropped
    /// (`InstancePool::give_back`).
    pub(super) fn checkin(&self, inst: Box<PluginInstance>, failed: bool, slot: &mut InstanceSlot) {
        if failed {
            return;
        }
        match self.budget.isolation {
            Isolation::PerRequest if self.hands_back && self.gives_back_now(&inst) => {
                self.pool.give_back(inst)
            }
            Isolation::PerRequest => *slot = Some(HeldInstance::new(inst, &self.pool)),
            Isolation::Pooled => {
                if self.pool.has_quota(&inst) && !self.near_memory_cap(&inst) {
                    self.pool.park(inst);
                }
            }
        }
    }

    /// Per-request mode (`hands_back`): whether an instance goes back to the pool as its hook
    /// returns. Always when no response hook follows; with one to come, when the instance has
    /// a snapshot and the pool is out of spares (`InstancePool::short_of_spares`: requests
    /// overlap, and a held instance would make another request need a new one); otherwise it
    /// stays in the request's slot for the response hook and goes back at the request's end.
    fn gives_back_now(&self, inst: &PluginInstance) -> bool {
        !self.capabilities.response_hook || (inst.has_snapshot() && self.pool.short_of_spares())
    }

    /// Runs `on-request`. The head always comes back (possibly edited).
    fn on_request_call(
        &self,
        mut head: RequestHead,
        slot: &mut InstanceSlot,
    ) -> (RequestHead, Result<HookDecision, PluginError>) {
        if let Some(guest) = &self.http_wasm {
            let (head, result) = guest.on_request(head);
            return (head, result.map(HookDecision::from));
        }
        let mut inst = match self.checkout(slot) {
            Ok(inst) => inst,
            Err(e) => return (head, Err(e)),
        };
        head.max_headers = self.budget.max_headers;
        let (head, result) = inst.on_request(self.deadline_ticks, &self.budget, head);
        let decision = result.and_then(|action| self.decide(action));
        self.checkin(inst, decision.is_err(), slot);
        (head, decision)
    }

    /// Runs `on-response`, or `on-response-body` with at most the declared number of leading
    /// bytes of `body` when the middleware declared a peek. Both heads always come back
    /// (possibly edited). The caller skips middlewares that declared no response hook.
    fn on_response_call(
        &self,
        mut req: RequestHead,
        mut resp: ResponseHead,
        slot: &mut InstanceSlot,
        body: BodyStart<'_>,
    ) -> (RequestHead, ResponseHead, Result<HookDecision, PluginError>) {
        if let Some(guest) = &self.http_wasm {
            let (req, resp, result) = guest.on_response(req, resp);
            return (req, resp, result.map(HookDecision::from));
        }
        let mut inst = match self.checkout(slot) {
            Ok(inst) => inst,
            Err(e) => return (req, resp, Err(e)),
        };
        req.max_headers = self.budget.max_headers;
        resp.max_headers = self.budget.max_headers;
        let peek = self.capabilities.body_peek;
        let (req, resp, result) = if peek > 0 {
            let body = body.limited_to(peek);
            inst.on_response_body(
                self.deadline_ticks,
                &self.budget,
                req,
                resp,
                body.bytes,
                body.complete,
            )
        } else {
            inst.on_response(self.deadline_ticks, &self.budget, req, resp)
        };
        let decision = result.and_then(|action| self.decide(action));
        self.checkin(inst, decision.is_err(), slot);
        (req, resp, decision)
    }

    /// Runs `on-request-subresponse` with the answer to the subrequest this middleware recorded
    /// for the request; on any instance (pooled: the pool's next one). The head always comes
    /// back.
    fn on_request_subresponse_call(
        &self,
        mut head: RequestHead,
        slot: &mut InstanceSlot,
        answer: SubrequestResult,
    ) -> (RequestHead, Result<HookDecision, PluginError>) {
        let mut inst = match self.checkout(slot) {
            Ok(inst) => inst,
            Err(e) => return (head, Err(e)),
        };
        head.max_headers = self.budget.max_headers;
        let (head, result) =
            inst.on_request_subresponse(self.deadline_ticks, &self.budget, head, answer);
        let decision = result.and_then(|action| self.decide(action));
        self.checkin(inst, decision.is_err(), slot);
        (head, decision)
    }

    /// Runs `on-response-subresponse` with the answer to the subrequest this middleware's
    /// response hook recorded. Both heads always come back.
    fn on_response_subresponse_call(
        &self,
        mut req: RequestHead,
        mut resp: ResponseHead,
        slot: &mut InstanceSlot,
        answer: SubrequestResult,
    ) -> (RequestHead, ResponseHead, Result<HookDecision, PluginError>) {
        let mut inst = match self.checkout(slot) {
            Ok(inst) => inst,
            Err(e) => return (req, resp, Err(e)),
        };
        req.max_headers = self.budget.max_headers;
        resp.max_headers = self.budget.max_headers;
        let (req, resp, result) =
            inst.on_response_subresponse(self.deadline_ticks, &self.budget, req, resp, answer);
        let decision = result.and_then(|action| self.decide(action));
        self.checkin(inst, decision.is_err(), slot);
        (req, resp, decision)
    }

    /// Runs `on-request` (timed). The head always comes back (possibly edited).
    pub fn on_request(
        &self,
        head: RequestHead,
        slot: &mut InstanceSlot,
    ) -> (RequestHead, Result<HookDecision, PluginError>) {
        self.timed(Hook::Request, || self.on_request_call(head, slot))
    }

    /// Runs the response hook (timed); see `on_response_call`.
    pub fn on_response(
        &self,
        req: RequestHead,
        resp: ResponseHead,
        slot: &mut InstanceSlot,
        body: BodyStart<'_>,
    ) -> (RequestHead, ResponseHead, Result<HookDecision, PluginError>) {
        self.timed(Hook::Response, || {
            self.on_response_call(req, resp, slot, body)
        })
    }

    /// Runs `on-request-subresponse` (timed); see `on_request_subresponse_call`.
    pub fn on_request_subresponse(
        &self,
        head: RequestHead,
        slot: &mut InstanceSlot,
        answer: SubrequestResult,
    ) -> (RequestHead, Result<HookDecision, PluginError>) {
        self.timed(Hook::Request, || {
            self.on_request_subresponse_call(head, slot, answer)
        })
    }

    /// Runs `on-response-subresponse` (timed); see `on_response_subresponse_call`.
    pub fn on_response_subresponse(
        &self,
        req: RequestHead,
        resp: ResponseHead,
        slot: &mut InstanceSlot,
        answer: SubrequestResult,
    ) -> (RequestHead, ResponseHead, Result<HookDecision, PluginError>) {
        self.timed(Hook::Response, || {
            self.on_response_subresponse_call(req, resp, slot, answer)
        })
    }

    fn decide(&self, action: Action) -> Result<HookDecision, PluginError> {
        match action {
            Action::Continue => Ok(HookDecision::Continue),
            Action::Respond(reply) => {
                validate_reply(reply, &self.budget).map(HookDecision::Respond)
            }
        }
    }
}

/// Fixed edits stand for the hooks, so they cannot go with a need the hooks would serve: an
/// `on-complete` (called for requests whose `on-request` ran), a body peek (read by
/// `on-response-body`) or a retry policy. Declaring both is a plugin bug, refused at load.
fn refuse_other_needs(
    capabilities: Capabilities,
    completes: bool,
    retry: RetryMode,
) -> Result<(), String> {
    let other = if completes {
        "wants-on-complete"
    } else if capabilities.body_peek > 0 {
        "a response body peek"
    } else if retry != RetryMode::None {
        "a retry policy"
    } else {
        return Ok(());
    };
    Err(format!(
        "fixed edits replace the hooks, but the plugin also declared {other}"
    ))
}

impl std::fmt::Debug for PluginMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginMiddleware")
            .field("middleware", &self.identity.middleware)
            .field("plugin", &self.identity.plugin)
            .field("hash", &self.identity.hash)
            .finish_non_exhaustive()
    }
}

impl From<super::http_wasm::guest::GuestDecision> for HookDecision {
    fn from(decision: super::http_wasm::guest::GuestDecision) -> Self {
        match decision {
            super::http_wasm::guest::GuestDecision::Continue => HookDecision::Continue,
            super::http_wasm::guest::GuestDecision::Respond(reply) => HookDecision::Respond(reply),
        }
    }
}
