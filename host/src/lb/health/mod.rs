//! Server health: what the balancer reads on every pick (atomics only), and the two ways it
//! changes — active probes (`active`, a background task per server) and passive observation of
//! real requests (`passive`, on the request path, only when a request fails).

pub mod active;
pub mod passive;
mod probe_redirect;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

/// Milliseconds since the balancer was built; never 0 (0 means "not ejected").
#[derive(Debug)]
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    pub fn new() -> Self {
        Clock {
            epoch: Instant::now(),
        }
    }

    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// One server's health. A server is available when the last active probe passed (or none ran
/// yet) and no passive ejection is running.
#[derive(Debug)]
pub struct ServerHealth {
    up: AtomicBool,
    /// Clock time the passive ejection ends; 0 = not ejected.
    ejected_until: AtomicU64,
    /// Passive failures counted in the current window, and when that window started.
    failures: AtomicU32,
    window_start: AtomicU64,
}

impl Default for ServerHealth {
    fn default() -> Self {
        ServerHealth {
            up: AtomicBool::new(true),
            ejected_until: AtomicU64::new(0),
            failures: AtomicU32::new(0),
            window_start: AtomicU64::new(0),
        }
    }
}

impl ServerHealth {
    /// Read on every pick: one or two relaxed loads; the clock is read only while the server
    /// is (or was) ejected, and an ended ejection is cleared by the first pick that sees it.
    pub fn is_available(&self, clock: &Clock) -> bool {
        if !self.up.load(Ordering::Relaxed) {
            return false;
        }
        let until = self.ejected_until.load(Ordering::Relaxed);
        if until == 0 {
            return true;
        }
        if clock.now_ms() < until {
            return false;
        }
        let _ = self
            .ejected_until
            .compare_exchange(until, 0, Ordering::Relaxed, Ordering::Relaxed);
        true
    }

    /// The active verdict; returns the previous one.
    pub fn set_up(&self, up: bool) -> bool {
        self.up.swap(up, Ordering::Relaxed)
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_available_until_probed_down() {
        let clock = Clock::new();
        let h = ServerHealth::default();
        assert!(h.is_available(&clock));
        assert!(h.set_up(false));
        assert!(!h.is_available(&clock));
        h.set_up(true);
        assert!(h.is_available(&clock));
    }
}
