//! Typed plugin failures. Every variant fails one request (500, or passes it on unchanged when
//! the middleware is fail-open); none of them affects another request.

use wasmtime::Trap;

/// Why a plugin could not be loaded (at config time: a config error, never a request error).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("not a valid WebAssembly component: {0}")]
    Compile(String),
    #[error("does not implement the wasmgate:plugin@0.1.0 middleware world: {0}")]
    World(String),
}

/// Why a hook call failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin exceeded its deadline of {0:?}")]
    Timeout(std::time::Duration),
    #[error("plugin exceeded its memory cap: {0}")]
    MemoryExhausted(String),
    #[error("plugin trapped: {0}")]
    Trap(String),
    #[error("plugin returned invalid output: {0}")]
    InvalidOutput(String),
    #[error("plugin instance could not be created: {0}")]
    Instantiate(String),
    #[error("plugin rejected its config at init: {0}")]
    Init(String),
    /// A Redis-backed `counters` take got no answer and the middleware denies on error.
    #[error("counters backend failed: {0}")]
    Counters(String),
}

impl PluginError {
    /// Classifies an error from a call into the guest. `memory_exceeded` is the limiter's record.
    pub fn from_call(
        err: wasmtime::Error,
        memory_exceeded: bool,
        deadline: std::time::Duration,
    ) -> Self {
        if memory_exceeded {
            return PluginError::MemoryExhausted(format!("{err:#}"));
        }
        match err.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => PluginError::Timeout(deadline),
            _ => PluginError::Trap(format!("{err:#}")),
        }
    }

    /// Short label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::Timeout(_) => "timeout",
            PluginError::MemoryExhausted(_) => "memory",
            PluginError::Trap(_) => "trap",
            PluginError::InvalidOutput(_) => "invalid_output",
            PluginError::Instantiate(_) => "instantiate",
            PluginError::Init(_) => "init",
            PluginError::Counters(_) => "counters",
        }
    }
}
