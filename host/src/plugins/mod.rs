//! The plugin runtime: engine, contract bindings, registry, instances, middlewares, chains.
//!
//! Config time: `PluginRegistry` compiles components (cached by content hash) and
//! `PluginMiddleware::configure` validates each middleware's config with its plugin.
//! Request time: `Chain::on_request` / `Chain::on_response` lend the heads to the plugins under
//! each middleware's budget.

pub mod bindings;
pub mod budget;
pub mod chain;
pub mod engine;
pub mod error;
pub mod heads;
pub mod host_state;
pub mod instance;
pub mod limits;
pub mod middleware;
pub mod registry;
pub mod reply;
pub mod wasi_subset;

pub use budget::{Isolation, MiddlewareBudget};
pub use chain::{Chain, ChainState, RequestOutcome, ResponseOutcome};
pub use engine::{EngineSettings, PluginEngine};
pub use error::{LoadError, PluginError};
pub use heads::{RequestHead, ResponseHead};
pub use middleware::{ConfigureError, PluginMiddleware};
pub use registry::{CompiledPlugin, PluginRegistry, PluginSource};
pub use reply::ValidReply;
