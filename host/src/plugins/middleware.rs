//! A configured middleware: one plugin, one config, one budget, and its instances.
//!
//! Built at config time (validate-config runs here, so a bad plugin config is a load error).
//! Per request, `pooled` mode pops a warm instance from a lock-free queue (or instantiates one
//! if the queue is empty) and pushes it back after the call; `per-request` mode instantiates a
//! fresh one from the `InstancePre` and keeps it in the request's slot for both hooks.

use std::sync::Arc;

use crossbeam_queue::ArrayQueue;

use super::bindings::Action;
use super::budget::{Isolation, MiddlewareBudget};
use super::engine::PluginEngine;
use super::error::PluginError;
use super::heads::{RequestHead, ResponseHead};
use super::host_state::PluginIdentity;
use super::instance::PluginInstance;
use super::registry::CompiledPlugin;
use super::reply::{ValidReply, validate_reply};

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
}

/// An instance a request holds between its hooks (per-request mode only).
pub type InstanceSlot = Option<PluginInstance>;

pub struct PluginMiddleware {
    identity: PluginIdentity,
    plugin: Arc<CompiledPlugin>,
    engine: Arc<PluginEngine>,
    config_json: Arc<str>,
    budget: MiddlewareBudget,
    deadline_ticks: u64,
    pool: ArrayQueue<PluginInstance>,
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
        };
        let failed = |source| ConfigureError::Failed {
            plugin: plugin.file.name.clone(),
            source,
        };
        let mut probe =
            PluginInstance::bare(&engine, &plugin, identity.clone(), &budget).map_err(failed)?;
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
        Ok(PluginMiddleware {
            identity,
            pool: ArrayQueue::new(budget.pool_size.max(1)),
            plugin,
            engine,
            config_json: Arc::from(config_json),
            budget,
            deadline_ticks,
        })
    }

    pub fn name(&self) -> &str {
        &self.identity.middleware
    }

    pub fn identity(&self) -> &PluginIdentity {
        &self.identity
    }

    pub fn budget(&self) -> &MiddlewareBudget {
        &self.budget
    }

    fn fresh_instance(&self) -> Result<PluginInstance, PluginError> {
        PluginInstance::configured(
            &self.engine,
            &self.plugin,
            self.identity.clone(),
            &self.budget,
            &self.config_json,
        )
    }

    /// An instance for one call: from the request's slot (per-request), the warm pool, or new.
    fn checkout(&self, slot: &mut InstanceSlot) -> Result<PluginInstance, PluginError> {
        if let Some(inst) = slot.take() {
            return Ok(inst);
        }
        if self.budget.isolation == Isolation::Pooled
            && let Some(inst) = self.pool.pop()
        {
            return Ok(inst);
        }
        self.fresh_instance()
    }

    /// Returns an instance after a call. Failed instances are dropped (never reused); pooled ones
    /// go back to the pool unless they served their quota of requests; per-request ones stay in the slot
    /// until the request ends.
    fn checkin(&self, inst: PluginInstance, failed: bool, slot: &mut InstanceSlot) {
        if failed {
            return;
        }
        match self.budget.isolation {
            Isolation::PerRequest => *slot = Some(inst),
            Isolation::Pooled => {
                if inst.requests < self.budget.max_requests_per_instance {
                    // A full pool drops the surplus instance.
                    let _ = self.pool.push(inst);
                }
            }
        }
    }

    /// Runs `on-request`. The head always comes back (possibly edited).
    pub fn on_request(
        &self,
        mut head: RequestHead,
        slot: &mut InstanceSlot,
    ) -> (RequestHead, Result<HookDecision, PluginError>) {
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

    /// Runs `on-response`. Both heads always come back (possibly edited).
    pub fn on_response(
        &self,
        mut req: RequestHead,
        mut resp: ResponseHead,
        slot: &mut InstanceSlot,
    ) -> (RequestHead, ResponseHead, Result<HookDecision, PluginError>) {
        let mut inst = match self.checkout(slot) {
            Ok(inst) => inst,
            Err(e) => return (req, resp, Err(e)),
        };
        req.max_headers = self.budget.max_headers;
        resp.max_headers = self.budget.max_headers;
        let (req, resp, result) = inst.on_response(self.deadline_ticks, &self.budget, req, resp);
        let decision = result.and_then(|action| self.decide(action));
        self.checkin(inst, decision.is_err(), slot);
        (req, resp, decision)
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
