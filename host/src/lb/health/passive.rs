//! Passive health: `maxFailedAttempts` failures of real requests within `failureWindow` eject
//! the server for `failureWindow`; it rejoins by itself afterwards (a server still broken is
//! ejected again by its next failure). A failure is a connection error, a response-header
//! timeout, or a response status listed in `failureStatuses`.
//!
//! Runs on the request path only when a request fails (a few relaxed atomics); successes cost
//! nothing. Counting is approximate under races, which is fine for a threshold.

use std::sync::atomic::Ordering;

use super::{Clock, ServerHealth};
use crate::config::PassiveHealthConfig;

#[derive(Debug)]
pub struct PassivePolicy {
    window_ms: u64,
    max_failed: u32,
    statuses: Box<[(u16, u16)]>,
}

impl PassivePolicy {
    pub fn new(config: &PassiveHealthConfig) -> Self {
        PassivePolicy {
            window_ms: u64::try_from(config.failure_window.as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
            max_failed: config.max_failed_attempts.max(1),
            statuses: config.failure_statuses.clone().into_boxed_slice(),
        }
    }

    /// Whether a response with this status counts as a failure.
    pub fn counts_status(&self, status: u16) -> bool {
        self.statuses
            .iter()
            .any(|&(low, high)| (low..=high).contains(&status))
    }

    /// Counts one failure of the server; true when it ejects the server.
    pub fn record_failure(&self, health: &ServerHealth, clock: &Clock) -> bool {
        let now = clock.now_ms();
        let start = health.window_start.load(Ordering::Relaxed);
        let count = if start == 0 || now.saturating_sub(start) > self.window_ms {
            health.window_start.store(now, Ordering::Relaxed);
            health.failures.store(1, Ordering::Relaxed);
            1
        } else {
            health
                .failures
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1)
        };
        if count < self.max_failed {
            return false;
        }
        health.failures.store(0, Ordering::Relaxed);
        health.window_start.store(0, Ordering::Relaxed);
        health
            .ejected_until
            .store(now.saturating_add(self.window_ms), Ordering::Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn policy(max: u32) -> PassivePolicy {
        PassivePolicy::new(&PassiveHealthConfig {
            failure_window: Duration::from_secs(60),
            max_failed_attempts: max,
            failure_statuses: vec![(500, 599)],
        })
    }

    #[test]
    fn the_nth_failure_in_the_window_ejects() {
        let (clock, h, p) = (Clock::new(), ServerHealth::default(), policy(3));
        assert!(!p.record_failure(&h, &clock));
        assert!(!p.record_failure(&h, &clock));
        assert!(h.is_available(&clock));
        assert!(p.record_failure(&h, &clock));
        assert!(!h.is_available(&clock));
    }

    #[test]
    fn an_ejected_server_rejoins_when_the_window_has_passed() {
        let (clock, h) = (Clock::new(), ServerHealth::default());
        let p = PassivePolicy::new(&PassiveHealthConfig {
            failure_window: Duration::from_millis(200),
            max_failed_attempts: 1,
            failure_statuses: Vec::new(),
        });
        assert!(p.record_failure(&h, &clock));
        assert!(!h.is_available(&clock));
        std::thread::sleep(Duration::from_millis(250));
        assert!(h.is_available(&clock));
        assert_eq!(
            h.ejected_until.load(Ordering::Relaxed),
            0,
            "cleared by the pick"
        );
    }

    #[test]
    fn configured_statuses_count() {
        let p = policy(1);
        assert!(p.counts_status(503));
        assert!(!p.counts_status(404));
    }
}
