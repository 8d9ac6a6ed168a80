//! wasmgate's own plugin figures: hook calls and failures by kind, per middleware and plugin
//! version (name, content hash). A middleware gets its [`PluginCounters`] when it is configured
//! (config time); a hook call adds to one atomic, never a lock.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The hooks counted.
#[derive(Debug, Clone, Copy)]
pub enum Hook {
    Request = 0,
    Response = 1,
}

const HOOKS: [&str; 2] = ["on-request", "on-response"];

/// Failure kinds, as the `kind` label spells them.
pub const FAILURE_KINDS: [&str; 6] = [
    "trap",
    "deadline",
    "memory",
    "invalid_output",
    "instantiate",
    "init",
];

/// The counters of one middleware running one plugin version.
#[derive(Debug)]
pub struct PluginCounters {
    pub(super) middleware: String,
    pub(super) plugin: String,
    pub(super) hash: String,
    calls: [AtomicU64; 2],
    /// By hook, then by [`FAILURE_KINDS`] index.
    failures: [[AtomicU64; 6]; 2],
}

impl PluginCounters {
    pub(super) fn new(middleware: &str, plugin: &str, hash: &str) -> Self {
        PluginCounters {
            middleware: middleware.to_string(),
            plugin: plugin.to_string(),
            hash: hash.to_string(),
            calls: Default::default(),
            failures: Default::default(),
        }
    }

    /// One hook call (whatever its outcome).
    pub fn called(&self, hook: Hook) {
        self.calls[hook as usize].fetch_add(1, Relaxed);
    }

    /// One failed hook call; `kind` is one of [`FAILURE_KINDS`] (others count as `trap`).
    pub fn failed(&self, hook: Hook, kind: &str) {
        let i = FAILURE_KINDS.iter().position(|k| *k == kind).unwrap_or(0);
        self.failures[hook as usize][i].fetch_add(1, Relaxed);
    }

    /// `(hook, calls)` pairs.
    pub(super) fn calls(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        HOOKS
            .iter()
            .zip(&self.calls)
            .map(|(h, c)| (*h, c.load(Relaxed)))
    }

    /// `(hook, kind, failures)` for the non-zero counts.
    pub(super) fn failures(&self) -> impl Iterator<Item = (&'static str, &'static str, u64)> + '_ {
        HOOKS.iter().zip(&self.failures).flat_map(|(h, kinds)| {
            FAILURE_KINDS
                .iter()
                .zip(kinds)
                .map(move |(k, n)| (*h, *k, n.load(Relaxed)))
                .filter(|(_, _, n)| *n > 0)
        })
    }
}
