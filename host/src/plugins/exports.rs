//! Which world a compiled component targets, and the export lookups for its instances.
//!
//! The worlds share their imports (`middleware-with-capabilities` includes `middleware`), so a
//! component is told apart only by its exports: an HTTP middleware exports `handler` (and
//! optionally `capabilities`), a connection middleware (`connection-middleware`) exports
//! `connection` instead; one of the two is required.
//! Runs once per compiled component, at config time (string lookups in the component's export
//! table); per instance, `load` type-checks and fetches the functions (a few µs, at instantiation).

use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre};

use super::bindings::{
    capabilities, completion, connection, handler, hook_needs, retry_policy, subresponses,
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
}

/// The exported functions of one instance.
pub struct InstanceExports {
    /// `None` for a connection middleware.
    pub handler: Option<handler::Guest>,
    /// `Some` for a connection middleware only.
    pub connection: Option<connection::Guest>,
    pub capabilities: Option<capabilities::Guest>,
    /// The hooks that receive subrequest answers (`middleware-with-outbound-http`).
    pub subresponses: Option<subresponses::Guest>,
    /// `wants-on-complete` and `on-complete` (`middleware-with-completion`).
    pub completion: Option<completion::Guest>,
    /// `wants-retry-policy` and `retry-after` (`middleware-with-retry-policy`).
    pub retry_policy: Option<retry_policy::Guest>,
    /// `hook-needs` (`middleware-with-hook-needs`).
    pub hook_needs: Option<hook_needs::Guest>,
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
        Ok(ComponentExports {
            handler,
            connection,
            capabilities,
            subresponses,
            completion,
            retry_policy,
            hook_needs,
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

    /// Fetches (and type-checks) the exported functions of a new instance.
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
        let capabilities = match &self.capabilities {
            Some(indices) => Some(indices.load(&mut *store, instance)?),
            None => None,
        };
        let subresponses = match &self.subresponses {
            Some(indices) => Some(indices.load(&mut *store, instance)?),
            None => None,
        };
        let completion = match &self.completion {
            Some(indices) => Some(indices.load(&mut *store, instance)?),
            None => None,
        };
        let retry_policy = match &self.retry_policy {
            Some(indices) => Some(indices.load(&mut *store, instance)?),
            None => None,
        };
        let hook_needs = match &self.hook_needs {
            Some(indices) => Some(indices.load(&mut *store, instance)?),
            None => None,
        };
        Ok(InstanceExports {
            handler,
            connection,
            capabilities,
            subresponses,
            completion,
            retry_policy,
            hook_needs,
        })
    }
}
