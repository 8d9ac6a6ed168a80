//! Which world a compiled component targets, and the export lookups for its instances.
//!
//! The worlds share their imports (`middleware-with-capabilities` includes `middleware`), so a
//! component is told apart only by its exports: an HTTP middleware exports `handler` (and
//! optionally `capabilities`), a connection middleware (`connection-middleware`) exports
//! `connection` instead; one of the two is required.
//! Runs once per compiled component, at config time (string lookups in the component's export
//! table). Per instance, `load` fetches and type-checks the `handler` (or `connection`)
//! functions; the optional interfaces (`capabilities`, `subresponses`, `completion`,
//! `retry-policy`, `hook-needs`, `fixed-edits`, `pre-take`, `verdict-memo`) are fetched on their first call ([`Lazy`]), so a `per-request`
//! instance, which calls `init` and one or two hooks, no longer type-checks a dozen functions
//! it never calls (≈ 0.4 µs of the per-request floor). The first instance of each compiled
//! component still loads everything, so a component with a mistyped export is refused when its
//! config loads, not at its first request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre};

use super::bindings::{
    capabilities, completion, connection, fixed_edits, handler, hook_needs, pre_take, retry_policy,
    subresponses, verdict_memo,
};
use super::error::LoadError;
use super::host_state::HostState;

/// Export name of the `capabilities` interface in a component.
const CAPABILITIES_EXPORT: &str = "wasmgate:plugin/capabilities@0.1.0";

/// Export name of the `subresponses` interface in a component.
const SUBRESPONSES_EXPORT: &str = "wasmgate:plugin/subresponses@0.1.0";

/// Export name of the `completion` interface in a component.
const COMPLETION_EXPORT: &str = "wasmgate:plugin/completion@0.1.0";

/// Export name of the `retry-policy` interface in a component.
const RETRY_POLICY_EXPORT: &str = "wasmgate:plugin/retry-policy@0.1.0";

/// Export name of the `hook-needs` interface in a component.
const HOOK_NEEDS_EXPORT: &str = "wasmgate:plugin/hook-needs@0.1.0";

/// Export name of the `fixed-edits` interface in a component.
const FIXED_EDITS_EXPORT: &str = "wasmgate:plugin/fixed-edits@0.1.0";

/// Export name of the `pre-take` interface in a component.
const PRE_TAKE_EXPORT: &str = "wasmgate:plugin/pre-take@0.1.0";

/// Export name of the `verdict-memo` interface in a component.
const VERDICT_MEMO_EXPORT: &str = "wasmgate:plugin/verdict-memo@0.1.0";

/// Export name of the `handler` interface in a component.
const HANDLER_EXPORT: &str = "wasmgate:plugin/handler@0.1.0";

/// Export name of the `connection` interface in a component.
const CONNECTION_EXPORT: &str = "wasmgate:plugin/connection@0.1.0";

/// The world a component was built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// `middleware`: every hook called, no body access.
    Middleware,
    /// `middleware-with-capabilities`: declares its needs once per configured middleware.
    WithCapabilities,
    /// `connection-middleware`: a connection-level (L4) middleware, for `tcp.middlewares`.
    Connection,
}

impl World {
    pub fn name(self) -> &'static str {
        match self {
            World::Middleware => "middleware",
            World::WithCapabilities => "middleware-with-capabilities",
            World::Connection => "connection-middleware",
        }
    }

    /// Whether its components serve HTTP middlewares (else connection ones).
    pub fn is_http(self) -> bool {
        !matches!(self, World::Connection)
    }
}

/// Export indices of a compiled component, resolved once.
#[derive(Clone)]
pub struct ComponentExports {
    /// `None` for a connection middleware.
    handler: Option<handler::GuestIndices>,
    /// `Some` for a connection middleware only.
    connection: Option<connection::GuestIndices>,
    capabilities: Option<capabilities::GuestIndices>,
    subresponses: Option<subresponses::GuestIndices>,
    completion: Option<completion::GuestIndices>,
    retry_policy: Option<retry_policy::GuestIndices>,
    hook_needs: Option<hook_needs::GuestIndices>,
    fixed_edits: Option<fixed_edits::GuestIndices>,
    pre_take: Option<pre_take::GuestIndices>,
    verdict_memo: Option<verdict_memo::GuestIndices>,
    /// Whether one instance of this component has loaded (and so type-checked) every export;
    /// until then `load` loads them all.
    all_checked: Arc<AtomicBool>,
}

/// An optional export interface of one instance, fetched and type-checked on its first use.
pub enum Lazy<G> {
    /// The component does not export it.
    Absent,
    Unloaded,
    Loaded(G),
}

impl<G> Lazy<G> {
    fn new(exported: bool) -> Self {
        if exported {
            Lazy::Unloaded
        } else {
            Lazy::Absent
        }
    }

    /// The interface, fetched by `load` on the first call; `Ok(None)` when not exported.
    fn get(&mut self, load: impl FnOnce() -> wasmtime::Result<G>) -> wasmtime::Result<Option<&G>> {
        if let Lazy::Unloaded = self {
            *self = Lazy::Loaded(load()?);
        }
        Ok(match self {
            Lazy::Loaded(g) => Some(g),
            Lazy::Absent | Lazy::Unloaded => None,
        })
    }
}

/// The exported functions of one instance.
pub struct InstanceExports {
    /// `None` for a connection middleware.
    pub handler: Option<handler::Guest>,
    /// `Some` for a connection middleware only.
    pub connection: Option<connection::Guest>,
    capabilities: Lazy<capabilities::Guest>,
    /// The hooks that receive subrequest answers (`middleware-with-outbound-http`).
    subresponses: Lazy<subresponses::Guest>,
    /// `wants-on-complete` and `on-complete` (`middleware-with-completion`).
    completion: Lazy<completion::Guest>,
    /// `wants-retry-policy` and `retry-after` (`middleware-with-retry-policy`).
    retry_policy: Lazy<retry_policy::Guest>,
    /// `hook-needs` (`middleware-with-hook-needs`).
    hook_needs: Lazy<hook_needs::Guest>,
    /// `fixed-edits` (`middleware-with-fixed-edits`).
    fixed_edits: Lazy<fixed_edits::Guest>,
    /// `pre-take` (`middleware-with-pre-take`).
    pre_take: Lazy<pre_take::Guest>,
    /// `verdict-memo` (`middleware-with-verdict-memo`).
    verdict_memo: Lazy<verdict_memo::Guest>,
    /// Where the lazy interfaces are found.
    instance: Instance,
    indices: ComponentExports,
}

/// The error of a lazy load whose index is missing (cannot happen: `Lazy::new` says `Absent`).
fn not_exported(what: &str) -> wasmtime::Error {
    wasmtime::Error::msg(format!("the component does not export {what}"))
}

impl InstanceExports {
    /// `capabilities` (`middleware-with-capabilities`), fetched on first use.
    pub fn capabilities(
        &mut self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Option<&capabilities::Guest>> {
        let (ix, instance) = (&self.indices.capabilities, &self.instance);
        self.capabilities.get(|| match ix {
            Some(ix) => ix.load(store, instance),
            None => Err(not_exported(CAPABILITIES_EXPORT)),
        })
    }

    /// `subresponses`, fetched on first use.
    pub fn subresponses(
        &mut self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Option<&subresponses::Guest>> {
        let (ix, instance) = (&self.indices.subresponses, &self.instance);
        self.subresponses.get(|| match ix {
            Some(ix) => ix.load(store, instance),
            None => Err(not_exported(SUBRESPONSES_EXPORT)),
        })
    }

    /// `completion`, fetched on first use.
    pub fn completion(
        &mut self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Option<&completion::Guest>> {
        let (ix, instance) = (&self.indices.completion, &self.instance);
        self.completion.get(|| match ix {
            Some(ix) => ix.load(store, instance),
            None => Err(not_exported(COMPLETION_EXPORT)),
        })
    }

    /// `retry-policy`, fetched on first use.
    pub fn retry_policy(
        &mut self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Option<&retry_policy::Guest>> {
        let (ix, instance) = (&self.indices.retry_policy, &self.instance);
        self.retry_policy.get(|| match ix {
            Some(ix) => ix.load(store, instance),
            None => Err(not_exported(RETRY_POLICY_EXPORT)),
        })
    }

    /// `hook-needs`, fetched on first use.
    pub fn hook_needs(
        &mut self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Option<&hook_needs::Guest>> {
        let (ix, instance) = (&self.indices.hook_needs, &self.instance);
        self.hook_needs.get(|| match ix {
            Some(ix) => ix.load(store, instance),
            None => Err(not_exported(HOOK_NEEDS_EXPORT)),
        })
    }

    /// `fixed-edits`, fetched on first use.
    pub fn fixed_edits(
        &mut self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Option<&fixed_edits::Guest>> {
        let (ix, instance) = (&self.indices.fixed_edits, &self.instance);
        self.fixed_edits.get(|| match ix {
            Some(ix) => ix.load(store, instance),
            None => Err(not_exported(FIXED_EDITS_EXPORT)),
        })
    }

    /// `pre-take`, fetched on first use.
    pub fn pre_take(
        &mut self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Option<&pre_take::Guest>> {
        let (ix, instance) = (&self.indices.pre_take, &self.instance);
        self.pre_take.get(|| match ix {
            Some(ix) => ix.load(store, instance),
            None => Err(not_exported(PRE_TAKE_EXPORT)),
        })
    }

    /// `verdict-memo`, fetched on first use.
    pub fn verdict_memo(
        &mut self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Option<&verdict_memo::Guest>> {
        let (ix, instance) = (&self.indices.verdict_memo, &self.instance);
        self.verdict_memo.get(|| match ix {
            Some(ix) => ix.load(store, instance),
            None => Err(not_exported(VERDICT_MEMO_EXPORT)),
        })
    }

    /// Loads every optional interface now (the first instance of a component: its exports'
    /// types are checked when its config loads).
    fn load_all(&mut self, store: &mut Store<HostState>) -> wasmtime::Result<()> {
        self.capabilities(store)?;
        self.subresponses(store)?;
        self.completion(store)?;
        self.retry_policy(store)?;
        self.hook_needs(store)?;
        self.fixed_edits(store)?;
        self.pre_take(store)?;
        self.verdict_memo(store)?;
        Ok(())
    }
}

impl ComponentExports {
    /// Finds the exports of any world. A component with neither `handler` nor `connection` (or
    /// both), or one that exports an instance lacking a function, is refused (`LoadError::World`).
    pub fn resolve(pre: &InstancePre<HostState>) -> Result<Self, LoadError> {
        let world_err = |e: wasmtime::Error| LoadError::World(format!("{e:#}"));
        let exported = |name| pre.component().get_export_index(None, name).is_some();
        let (handler, connection) = match (exported(HANDLER_EXPORT), exported(CONNECTION_EXPORT)) {
            (true, false) => (
                Some(handler::GuestIndices::new(pre).map_err(world_err)?),
                None,
            ),
            (false, true) => (
                None,
                Some(connection::GuestIndices::new(pre).map_err(world_err)?),
            ),
            (true, true) => {
                return Err(LoadError::World(format!(
                    "the component exports both {HANDLER_EXPORT} and {CONNECTION_EXPORT}; a \
                     plugin is either an HTTP or a connection middleware"
                )));
            }
            (false, false) => {
                return Err(LoadError::World(format!(
                    "the component exports neither {HANDLER_EXPORT} (an HTTP middleware) nor \
                     {CONNECTION_EXPORT} (a connection middleware)"
                )));
            }
        };
        let capabilities = match pre.component().get_export_index(None, CAPABILITIES_EXPORT) {
            None => None,
            Some(_) => Some(capabilities::GuestIndices::new(pre).map_err(world_err)?),
        };
        let subresponses = match pre.component().get_export_index(None, SUBRESPONSES_EXPORT) {
            None => None,
            Some(_) => Some(subresponses::GuestIndices::new(pre).map_err(world_err)?),
        };
        let completion = match pre.component().get_export_index(None, COMPLETION_EXPORT) {
            None => None,
            Some(_) => Some(completion::GuestIndices::new(pre).map_err(world_err)?),
        };
        let retry_policy = match pre.component().get_export_index(None, RETRY_POLICY_EXPORT) {
            None => None,
            Some(_) => Some(retry_policy::GuestIndices::new(pre).map_err(world_err)?),
        };
        let hook_needs = match pre.component().get_export_index(None, HOOK_NEEDS_EXPORT) {
            None => None,
            Some(_) => Some(hook_needs::GuestIndices::new(pre).map_err(world_err)?),
        };
        let fixed_edits = match pre.component().get_export_index(None, FIXED_EDITS_EXPORT) {
            None => None,
            Some(_) => Some(fixed_edits::GuestIndices::new(pre).map_err(world_err)?),
        };
        let pre_take = match pre.component().get_export_index(None, PRE_TAKE_EXPORT) {
            None => None,
            Some(_) => Some(pre_take::GuestIndices::new(pre).map_err(world_err)?),
        };
        let verdict_memo = match pre.component().get_export_index(None, VERDICT_MEMO_EXPORT) {
            None => None,
            Some(_) => Some(verdict_memo::GuestIndices::new(pre).map_err(world_err)?),
        };
        Ok(ComponentExports {
            handler,
            connection,
            capabilities,
            subresponses,
            completion,
            retry_policy,
            hook_needs,
            fixed_edits,
            pre_take,
            verdict_memo,
            all_checked: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Whether the component exports the `subresponses` hooks.
    pub fn has_subresponses(&self) -> bool {
        self.subresponses.is_some()
    }

    /// Whether the component exports the `retry-policy` hooks (it may still decline them).
    pub fn has_retry_policy(&self) -> bool {
        self.retry_policy.is_some()
    }

    /// Whether the component exports `hook-needs` (it may still need every hook).
    pub fn has_hook_needs(&self) -> bool {
        self.hook_needs.is_some()
    }

    /// Whether the component exports `fixed-edits` (it may still answer `none`).
    pub fn has_fixed_edits(&self) -> bool {
        self.fixed_edits.is_some()
    }

    /// Whether the component exports `pre-take` (it may still answer `none`).
    pub fn has_pre_take(&self) -> bool {
        self.pre_take.is_some()
    }

    /// Whether the component exports `verdict-memo` (it may still answer `none`).
    pub fn has_verdict_memo(&self) -> bool {
        self.verdict_memo.is_some()
    }

    /// Whether the component exports the `completion` hooks (it may still decline them).
    pub fn has_completion(&self) -> bool {
        self.completion.is_some()
    }

    pub fn world(&self) -> World {
        match (&self.connection, &self.capabilities) {
            (Some(_), _) => World::Connection,
            (None, Some(_)) => World::WithCapabilities,
            (None, None) => World::Middleware,
        }
    }

    /// Fetches (and type-checks) the `handler` or `connection` functions of a new instance;
    /// the other interfaces on first use, except for the component's first instance, which
    /// loads them all.
    pub fn load(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
    ) -> wasmtime::Result<InstanceExports> {
        let handler = match &self.handler {
            Some(indices) => Some(indices.load(&mut *store, instance)?),
            None => None,
        };
        let connection = match &self.connection {
            Some(indices) => Some(indices.load(&mut *store, instance)?),
            None => None,
        };
        let mut exports = InstanceExports {
            handler,
            connection,
            capabilities: Lazy::new(self.capabilities.is_some()),
            subresponses: Lazy::new(self.subresponses.is_some()),
            completion: Lazy::new(self.completion.is_some()),
            retry_policy: Lazy::new(self.retry_policy.is_some()),
            hook_needs: Lazy::new(self.hook_needs.is_some()),
            fixed_edits: Lazy::new(self.fixed_edits.is_some()),
            pre_take: Lazy::new(self.pre_take.is_some()),
            verdict_memo: Lazy::new(self.verdict_memo.is_some()),
            instance: *instance,
            indices: self.clone(),
        };
        if !self.all_checked.load(Ordering::Relaxed) {
            exports.load_all(store)?;
            self.all_checked.store(true, Ordering::Relaxed);
        }
        Ok(exports)
    }
}

#[cfg(test)]
mod tests {
    use super::Lazy;

    #[test]
    fn an_optional_export_is_fetched_once_on_first_use_and_never_when_not_exported() {
        let mut loads = 0;
        let mut present = Lazy::new(true);
        for _ in 0..3 {
            let got = present
                .get(|| {
                    loads += 1;
                    Ok(7)
                })
                .expect("loads");
            assert_eq!(got, Some(&7));
        }
        assert_eq!(loads, 1);

        let mut absent: Lazy<u32> = Lazy::new(false);
        let got = absent
            .get(|| panic!("an absent export is never fetched"))
            .expect("no load");
        assert_eq!(got, None);
    }

    #[test]
    fn a_failed_fetch_is_reported_and_tried_again_on_the_next_use() {
        let mut lazy = Lazy::new(true);
        assert!(lazy.get(|| Err(wasmtime::Error::msg("mistyped"))).is_err());
        assert_eq!(lazy.get(|| Ok(1)).expect("second try"), Some(&1));
    }
}
