//! wasmgate's own plugin figures, per middleware and plugin version (name, content hash): hook
//! calls, failures by kind, a hook-duration histogram with fixed buckets, and the instances
//! (live, idle in the pool, instantiated so far). A middleware gets its [`PluginCounters`] when
//! it is configured (config time); a hook call adds to a few atomics, never a lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::histogram::FixedHistogram;

/// Every middleware's counters by (middleware, plugin, content hash), kept across reloads for
/// as long as a configured middleware runs that version (see [`lock_in_use`]). Shared by the
/// metrics page and the API's `/api/plugins`; locked at config time and when read (scrape,
/// API call), never per request.
pub type PluginTable = std::sync::Mutex<PluginCountersByVersion>;

/// The table's contents: counters by (middleware, plugin, content hash).
pub type PluginCountersByVersion =
    std::collections::BTreeMap<(String, String, String), Arc<PluginCounters>>;

/// Locks the table for reading (a scrape, an API call) after dropping the counters that no
/// middleware holds any more: a replaced plugin version, a middleware removed from the
/// config. Their series leave `/metrics` (as Traefik drops a removed router's series) instead
/// of one set of series staying per version ever loaded. A middleware holds its counters from
/// the moment it is configured (and its instances, including those of requests still running
/// on an old config, hold them too), so only versions nothing runs are dropped; the same
/// triple configured again later starts from zero, which Prometheus reads as a counter reset.
/// Costs one pass over the table per read.
pub fn lock_in_use(table: &PluginTable) -> std::sync::MutexGuard<'_, PluginCountersByVersion> {
    // Poisoning is ignored as everywhere in admin (`metrics::lock`, not imported: that file
    // imports this one): the counters stay valid whatever a panicking holder did.
    let mut counters = table
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    counters.retain(|_, c| Arc::strong_count(c) > 1);
    counters
}

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

/// Upper bounds (seconds) of the hook-duration histogram: 5 µs to 1 s, fixed, so an
/// observation is one comparison scan and one atomic add. A warm hook takes a few µs; the
/// default deadline is 50 ms.
pub static HOOK_BUCKETS: [f64; 16] = [
    0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005,
    0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// The counters of one middleware running one plugin version.
#[derive(Debug)]
pub struct PluginCounters {
    pub middleware: String,
    pub plugin: String,
    /// The short content hash (`PluginFile::short_hash`).
    pub hash: String,
    calls: [AtomicU64; 2],
    /// By hook, then by [`FAILURE_KINDS`] index.
    failures: [[AtomicU64; 6]; 2],
    durations: [FixedHistogram; 2],
    /// Instances alive (pooled, in use, or held by a request in per-request mode).
    live: AtomicI64,
    /// Instances waiting in the pool.
    idle: AtomicI64,
    /// Instances created so far (configured and ready).
    instantiations: AtomicU64,
}

impl PluginCounters {
    pub fn new(middleware: &str, plugin: &str, hash: &str) -> Self {
        PluginCounters {
            middleware: middleware.to_string(),
            plugin: plugin.to_string(),
            hash: hash.to_string(),
            calls: Default::default(),
            failures: Default::default(),
            durations: [
                FixedHistogram::new(&HOOK_BUCKETS),
                FixedHistogram::new(&HOOK_BUCKETS),
            ],
            live: AtomicI64::new(0),
            idle: AtomicI64::new(0),
            instantiations: AtomicU64::new(0),
        }
    }

    /// One hook call (whatever its outcome).
    pub fn called(&self, hook: Hook) {
        self.calls[hook as usize].fetch_add(1, Relaxed);
    }

    /// How long one hook call took (checkout of an instance included).
    pub fn took(&self, hook: Hook, took: Duration) {
        self.durations[hook as usize].observe(took);
    }

    /// One failed hook call; `kind` is one of [`FAILURE_KINDS`] (others count as `trap`).
    pub fn failed(&self, hook: Hook, kind: &str) {
        let i = FAILURE_KINDS.iter().position(|k| *k == kind).unwrap_or(0);
        self.failures[hook as usize][i].fetch_add(1, Relaxed);
    }

    /// An instance was created: counted as instantiated and live until the returned guard
    /// (kept with the instance) is dropped.
    pub fn instantiated(self: &Arc<Self>) -> LiveInstance {
        self.instantiations.fetch_add(1, Relaxed);
        self.live.fetch_add(1, Relaxed);
        LiveInstance(self.clone())
    }

    /// `n` instances went into the pool (negative: left it).
    pub fn idle_changed(&self, n: i64) {
        self.idle.fetch_add(n, Relaxed);
    }

    /// `(hook, calls)` pairs.
    pub fn calls(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        HOOKS
            .iter()
            .zip(&self.calls)
            .map(|(h, c)| (*h, c.load(Relaxed)))
    }

    /// `(hook, kind, failures)` for the non-zero counts.
    pub fn failures(&self) -> impl Iterator<Item = (&'static str, &'static str, u64)> + '_ {
        HOOKS.iter().zip(&self.failures).flat_map(|(h, kinds)| {
            FAILURE_KINDS
                .iter()
                .zip(kinds)
                .map(move |(k, n)| (*h, *k, n.load(Relaxed)))
                .filter(|(_, _, n)| *n > 0)
        })
    }

    /// `(hook, durations)` pairs.
    pub fn durations(&self) -> impl Iterator<Item = (&'static str, &FixedHistogram)> + '_ {
        HOOKS.iter().copied().zip(&self.durations)
    }

    /// (live, idle) instances now.
    pub fn instances(&self) -> (i64, i64) {
        (
            self.live.load(Relaxed).max(0),
            self.idle.load(Relaxed).max(0),
        )
    }

    pub fn instantiations(&self) -> u64 {
        self.instantiations.load(Relaxed)
    }
}

/// Counts one instance as live while it exists (kept inside the instance).
#[derive(Debug)]
pub struct LiveInstance(Arc<PluginCounters>);

impl Drop for LiveInstance {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_durations_and_instances_are_counted() {
        let c = Arc::new(PluginCounters::new("m", "p", "h"));
        for _ in 0..99 {
            c.took(Hook::Request, Duration::from_micros(3));
        }
        c.took(Hook::Request, Duration::from_millis(20));
        let p50 = c.durations[0].quantile(0.5).unwrap();
        assert!(p50 > 0.0 && p50 <= 0.000_005, "{p50}");
        assert_eq!(c.durations[1].count(), 0);
        let a = c.instantiated();
        let b = c.instantiated();
        c.idle_changed(1);
        assert_eq!(c.instances(), (2, 1));
        drop(a);
        drop(b);
        assert_eq!(c.instances(), (0, 1));
        assert_eq!(c.instantiations(), 2);
    }
}
