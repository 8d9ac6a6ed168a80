//! Which world a compiled component targets, and the export lookups for its instances.
//!
//! Both worlds share their imports (`middleware-with-capabilities` includes `middleware`), so a
//! component is told apart only by its exports: `handler` is required, `capabilities` optional.
//! Runs once per compiled component, at config time (string lookups in the component's export
//! table); per instance, `load` type-checks and fetches the functions (a few µs, at instantiation).

use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre};

use super::bindings::{capabilities, completion, handler, subresponses};
use super::error::LoadError;
use super::host_state::HostState;

/// Export name of the `capabilities` interface in a component.
const CAPABILITIES_EXPORT: &str = "wasmgate:plugin/capabilities@0.1.0";

/// Export name of the `subresponses` interface in a component.
const SUBRESPONSES_EXPORT: &str = "wasmgate:plugin/subresponses@0.1.0";

/// Export name of the `completion` interface in a component.
const COMPLETION_EXPORT: &str = "wasmgate:plugin/completion@0.1.0";

/// The world a component was built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// `middleware`: every hook called, no body access.
    Middleware,
    /// `middleware-with-capabilities`: declares its needs once per configured middleware.
    WithCapabilities,
}

impl World {
    pub fn name(self) -> &'static str {
        match self {
            World::Middleware => "middleware",
            World::WithCapabilities => "middleware-with-capabilities",
        }
    }
}

/// Export indices of a compiled component, resolved once.
#[derive(Clone)]
pub struct ComponentExports {
    handler: handler::GuestIndices,
    capabilities: Option<capabilities::GuestIndices>,
    subresponses: Option<subresponses::GuestIndices>,
    completion: Option<completion::GuestIndices>,
}

/// The exported functions of one instance.
pub struct InstanceExports {
    pub handler: handler::Guest,
    pub capabilities: Option<capabilities::Guest>,
    /// The hooks that receive subrequest answers (`middleware-with-outbound-http`).
    pub subresponses: Option<subresponses::Guest>,
    /// `wants-on-complete` and `on-complete` (`middleware-with-completion`).
    pub completion: Option<completion::Guest>,
}

impl ComponentExports {
    /// Finds the exports of either world. A component without `handler`, or one that exports a
    /// `capabilities` instance lacking a function, is refused (`LoadError::World`).
    pub fn resolve(pre: &InstancePre<HostState>) -> Result<Self, LoadError> {
        let world_err = |e: wasmtime::Error| LoadError::World(format!("{e:#}"));
        let handler = handler::GuestIndices::new(pre).map_err(world_err)?;
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
        Ok(ComponentExports {
            handler,
            capabilities,
            subresponses,
            completion,
        })
    }

    /// Whether the component exports the `subresponses` hooks.
    pub fn has_subresponses(&self) -> bool {
        self.subresponses.is_some()
    }

    /// Whether the component exports the `completion` hooks (it may still decline them).
    pub fn has_completion(&self) -> bool {
        self.completion.is_some()
    }

    pub fn world(&self) -> World {
        match self.capabilities {
            Some(_) => World::WithCapabilities,
            None => World::Middleware,
        }
    }

    /// Fetches (and type-checks) the exported functions of a new instance.
    pub fn load(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
    ) -> wasmtime::Result<InstanceExports> {
        let handler = self.handler.load(&mut *store, instance)?;
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
        Ok(InstanceExports {
            handler,
            capabilities,
            subresponses,
            completion,
        })
    }
}
