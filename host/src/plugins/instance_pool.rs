//! One middleware's idle instances, and the per-request instance a request holds between its
//! hooks.
//!
//! Pooled mode: warm, configured instances; a call pops one and pushes it back. Per-request
//! mode: an instance with a snapshot (`snapshot`) serves one request, then is put back as
//! `init` left it and waits here for the next; one without is used once and dropped. A pop and
//! a push are lock-free (`ArrayQueue`); a full pool drops what it is given.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Weak};

use crossbeam_queue::ArrayQueue;

use crate::admin::plugin_metrics::PluginCounters;

use super::engine::InstanceTicket;
use super::instance::PluginInstance;

pub struct InstancePool {
    /// Boxed: a call moves each instance out of the pool and back in, and an instance is a few
    /// hundred bytes (its store handle and every export's function handles); a pointer moves
    /// instead.
    idle: ArrayQueue<Box<PluginInstance>>,
    /// The middleware's figures (metrics on): idle instances.
    counters: Option<Arc<PluginCounters>>,
    /// Requests an instance serves before it is dropped (`maxRequestsPerInstance`).
    max_requests: u64,
    /// Snapshotted instances alive (idle or held by a request), at most the pool's capacity
    /// ([`InstancePool::snapshot_ticket`]).
    snapshotted: Arc<AtomicUsize>,
}

impl InstancePool {
    pub fn new(
        capacity: usize,
        counters: Option<Arc<PluginCounters>>,
        max_requests: u64,
    ) -> Arc<Self> {
        Arc::new(InstancePool {
            idle: ArrayQueue::new(capacity.max(1)),
            counters,
            max_requests,
            snapshotted: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// An idle instance, if one waits.
    pub fn pop(&self) -> Option<Box<PluginInstance>> {
        let inst = self.idle.pop()?;
        if let Some(c) = &self.counters {
            c.idle_changed(-1);
        }
        Some(inst)
    }

    /// Puts an instance in the pool (a full pool drops it), counting it as idle.
    pub fn park(&self, inst: Box<PluginInstance>) {
        if self.idle.push(inst).is_ok()
            && let Some(c) = &self.counters
        {
            c.idle_changed(1);
        }
    }

    /// A place for one more snapshotted instance, while fewer are alive than the pool holds.
    /// Past that (more requests at once than the pool's size), a request gets a fresh instance
    /// from the pooled engine (≈ 9 µs) rather than one from the viewed engine (≈ 44 µs) that
    /// the full pool would drop after the request.
    pub fn snapshot_ticket(&self) -> Option<InstanceTicket> {
        InstanceTicket::take(&self.snapshotted, self.idle.capacity())
    }

    /// Whether the pool is out of spares while requests overlap: no idle instance, and more
    /// than one snapshotted instance alive. Per-request mode asks it when a hook returns and
    /// a response hook is still to come: then the instance goes back (put back as `init` left
    /// it) rather than wait out the upstream's round trip while other requests need one; a
    /// lone request (sequential traffic, one instance) keeps it and saves a copy. Two loads.
    pub fn short_of_spares(&self) -> bool {
        self.idle.is_empty() && self.snapshotted.load(Relaxed) > 1
    }

    /// Whether an instance may serve more requests (`maxRequestsPerInstance`).
    pub fn has_quota(&self, inst: &PluginInstance) -> bool {
        inst.requests < self.max_requests
    }

    /// Takes back a per-request instance its request is done with: put back as `init` left it
    /// and parked, or dropped (no snapshot, a memory that grew, its quota served). Cost: the
    /// snapshot's copy (`InstanceSnapshot::restore`).
    pub fn give_back(&self, mut inst: Box<PluginInstance>) {
        if self.has_quota(&inst) && inst.reset() {
            self.park(inst);
        }
    }
}

impl Drop for InstancePool {
    /// The idle instances go with the pool (a reload replaced the middleware).
    fn drop(&mut self) {
        if let Some(c) = &self.counters {
            c.idle_changed(-i64::try_from(self.idle.len()).unwrap_or(0));
        }
    }
}

/// The instance a request holds between its hooks (per-request mode). When the request is done
/// with it (the holder dropped), it goes back to its middleware's pool (`give_back`); if the
/// middleware is gone (a reload), it is dropped.
pub struct HeldInstance {
    inst: Option<Box<PluginInstance>>,
    home: Weak<InstancePool>,
}

impl HeldInstance {
    pub fn new(inst: Box<PluginInstance>, home: &Arc<InstancePool>) -> Self {
        HeldInstance {
            inst: Some(inst),
            home: Arc::downgrade(home),
        }
    }

    /// The instance, for the request's next hook.
    pub fn into_inner(mut self) -> Option<Box<PluginInstance>> {
        self.inst.take()
    }
}

impl Drop for HeldInstance {
    fn drop(&mut self) {
        if let Some(inst) = self.inst.take()
            && let Some(home) = self.home.upgrade()
        {
            home.give_back(inst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshotted_instances_are_capped_at_what_the_pool_holds() {
        let pool = InstancePool::new(2, None, u64::MAX);
        let first = pool.snapshot_ticket().expect("one");
        let _second = pool.snapshot_ticket().expect("two");
        assert!(
            pool.snapshot_ticket().is_none(),
            "a third would be dropped by the full pool after its request"
        );
        drop(first);
        assert!(pool.snapshot_ticket().is_some(), "a place given back");
    }
}
