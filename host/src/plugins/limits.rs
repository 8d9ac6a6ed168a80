//! The per-instance memory cap: a `ResourceLimiter` that remembers why it refused.
//!
//! Growth past the cap traps the guest (instead of letting `memory.grow` return -1, which many
//! guest allocators turn into an abort anyway) and sets `exceeded`, so the failure is reported as
//! memory exhaustion rather than as a generic trap.

use wasmtime::ResourceLimiter;

/// Tables, memories and instances one plugin instance may create (a Rust guest uses a handful).
const MAX_TABLES: usize = 64;
const MAX_MEMORIES: usize = 16;
const MAX_INSTANCES: usize = 64;
/// Elements a table may grow to.
const MAX_TABLE_ELEMENTS: usize = 100_000;

#[derive(Debug)]
pub struct MemoryCap {
    limit: usize,
    exceeded: bool,
    /// Largest linear memory granted so far (the initial memories count: wasmtime asks the
    /// limiter when it creates them).
    peak: usize,
}

impl MemoryCap {
    pub fn new(limit: u64) -> Self {
        MemoryCap {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            exceeded: false,
            peak: 0,
        }
    }

    /// Largest linear memory granted so far, in bytes.
    pub fn peak(&self) -> u64 {
        u64::try_from(self.peak).unwrap_or(u64::MAX)
    }

    /// Changes the cap for the growth to come (what is already granted stays).
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = usize::try_from(limit).unwrap_or(usize::MAX);
    }

    /// Whether the guest tried to grow past the cap since the instance was created.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }
}

/// The error a refused growth traps with.
#[derive(Debug, thiserror::Error)]
#[error("plugin memory cap of {limit} bytes exceeded (wanted {desired} bytes)")]
pub struct MemoryCapExceeded {
    pub limit: usize,
    pub desired: usize,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
            return Err(MemoryCapExceeded {
                limit: self.limit,
                desired,
            }
            .into());
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }
    fn tables(&self) -> usize {
        MAX_TABLES
    }
    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}
