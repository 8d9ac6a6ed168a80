//! Traefik's `circuitBreaker` (vulcand/oxy's `cbreaker`): one per router that uses the
//! middleware, built at config time, consulted by the proxy before it forwards and told the
//! outcome after.
//!
//! States, as oxy's:
//! - **standby**: every request passes; each outcome is recorded in the [`Window`], and at most
//!   once per `checkPeriod` the expression is evaluated on it; if it holds, the breaker trips;
//! - **tripped**: every request is answered with `responseCode` for `fallbackDuration` (the
//!   window is reset on the way in);
//! - **recovering**: for `recoveryDuration`, a growing share of requests passes (oxy's ratio:
//!   0.5 × elapsed / recoveryDuration); the expression holding again trips it again, and when
//!   the time is over it goes back to standby.
//!
//! Cost in standby: one atomic load before the request, a few relaxed increments after it, and
//! one atomic load to see whether a check is due. The mutex is taken only once per
//! `checkPeriod` and while not in standby (the rare states), as oxy does.

mod window;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::config::CircuitBreakerConfig;
pub use window::Window;

const STANDBY: u8 = 0;
const TRIPPED: u8 = 1;
const RECOVERING: u8 = 2;

/// What the breaker decided for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Forward it (and report the outcome with [`CircuitBreaker::record`]).
    Pass,
    /// Answer with this status without forwarding.
    Refuse(u16),
}

/// The state behind the mutex.
struct Phase {
    state: u8,
    /// Nanoseconds (breaker clock) when tripped or recovering ends.
    until: u64,
    /// Recovering: when it started, and the requests let through and refused since.
    recovery_start: u64,
    allowed: u64,
    denied: u64,
}

pub struct CircuitBreaker {
    router: std::sync::Arc<str>,
    config: CircuitBreakerConfig,
    window: Window,
    /// Mirror of `phase.state` for the lock-free standby check.
    state: AtomicU8,
    /// Nanoseconds (breaker clock) after which the next check is due.
    next_check: AtomicU64,
    phase: Mutex<Phase>,
    epoch: Instant,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl CircuitBreaker {
    /// A breaker in standby. Config time.
    pub fn new(router: std::sync::Arc<str>, config: CircuitBreakerConfig) -> CircuitBreaker {
        CircuitBreaker {
            router,
            config,
            window: Window::default(),
            state: AtomicU8::new(STANDBY),
            next_check: AtomicU64::new(0),
            phase: Mutex::new(Phase {
                state: STANDBY,
                until: 0,
                recovery_start: 0,
                allowed: 0,
                denied: 0,
            }),
            epoch: Instant::now(),
        }
    }

    fn now(&self) -> u64 {
        nanos(self.epoch.elapsed())
    }

    fn set_state(&self, phase: &mut Phase, state: u8, until: u64) {
        let name = ["standby", "tripped", "recovering"][usize::from(state.min(2))];
        tracing::info!(router = &*self.router, "circuit breaker: {name}");
        phase.state = state;
        phase.until = until;
        self.state.store(state, Ordering::Release);
    }

    /// Called before forwarding a request.
    pub fn admit(&self) -> Admission {
        if self.state.load(Ordering::Acquire) == STANDBY {
            return Admission::Pass;
        }
        let refuse = Admission::Refuse(self.config.response_code);
        let Ok(mut phase) = self.phase.lock() else {
            return Admission::Pass;
        };
        let now = self.now();
        if phase.state == TRIPPED {
            if now < phase.until {
                return refuse;
            }
            let until = now.saturating_add(nanos(self.config.recovery_duration));
            self.set_state(&mut phase, RECOVERING, until);
            phase.recovery_start = now;
            phase.allowed = 0;
            phase.denied = 0;
        }
        if phase.state != RECOVERING {
            return Admission::Pass;
        }
        if now > phase.until {
            self.set_state(&mut phase, STANDBY, now);
            return Admission::Pass;
        }
        // oxy's ratio controller: let this one through if that keeps the share of allowed
        // requests under the target, which grows linearly from 0 to 0.5.
        let duration = nanos(self.config.recovery_duration).max(1) as f64;
        let target = 0.5 * (now - phase.recovery_start) as f64 / duration;
        let with_this = (phase.allowed + 1) as f64 / (phase.allowed + 1 + phase.denied) as f64;
        if with_this < target {
            phase.allowed += 1;
            Admission::Pass
        } else {
            phase.denied += 1;
            refuse
        }
    }

    /// Called with the outcome of a request that [`admit`](Self::admit) let through: the
    /// status the client gets (502 / 504 for a network failure) and the time to the response
    /// head.
    pub fn record(&self, status: u16, latency: Duration) {
        let now = self.now();
        let second = now / 1_000_000_000;
        let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.window.record(second, status, latency_ms);
        if now <= self.next_check.load(Ordering::Relaxed) {
            return;
        }
        let Ok(mut phase) = self.phase.lock() else {
            return;
        };
        // Another request may have checked while this one waited for the lock.
        if now <= self.next_check.load(Ordering::Relaxed) {
            return;
        }
        let next = now.saturating_add(nanos(self.config.check_period));
        self.next_check.store(next, Ordering::Relaxed);
        if phase.state == TRIPPED {
            return;
        }
        let window = &self.window;
        if self
            .config
            .expression
            .holds(&mut |metric| window.measure(second, metric))
        {
            let until = now.saturating_add(nanos(self.config.fallback_duration));
            self.set_state(&mut phase, TRIPPED, until);
            self.window.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::breaker_expression::parse_breaker_expression;

    fn breaker(fallback: Duration, recovery: Duration) -> CircuitBreaker {
        CircuitBreaker::new(
            "r".into(),
            CircuitBreakerConfig {
                expression: parse_breaker_expression("NetworkErrorRatio() > 0.5").unwrap(),
                check_period: Duration::from_nanos(1),
                fallback_duration: fallback,
                recovery_duration: recovery,
                response_code: 503,
            },
        )
    }

    #[test]
    fn network_errors_trip_it_and_it_refuses_with_the_response_code() {
        let b = breaker(Duration::from_secs(3600), Duration::from_secs(1));
        b.record(200, Duration::ZERO);
        assert_eq!(b.admit(), Admission::Pass);
        b.record(502, Duration::ZERO);
        b.record(502, Duration::ZERO);
        assert_eq!(b.admit(), Admission::Refuse(503));
    }

    #[test]
    fn after_the_fallback_it_recovers_gradually_then_stands_by() {
        let b = breaker(Duration::ZERO, Duration::from_millis(50));
        b.record(502, Duration::ZERO);
        // Tripped with no fallback time: the next admit starts recovering, which refuses the
        // first request (the target share starts at 0).
        assert_eq!(b.admit(), Admission::Refuse(503));
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut passed = 0;
        while b.state.load(Ordering::Acquire) != STANDBY && Instant::now() < deadline {
            if b.admit() == Admission::Pass {
                passed += 1;
                b.record(200, Duration::ZERO);
            }
        }
        assert_eq!(b.state.load(Ordering::Acquire), STANDBY);
        assert!(passed > 0, "some requests passed while recovering");
        assert_eq!(b.admit(), Admission::Pass);
    }
}
