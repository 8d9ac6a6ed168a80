//! Retry of requests on another server when the connection fails, applied inside the load
//! balancer so that the retry can pick a different server and skip the one that failed.
//!
//! Two policies: a service's own `loadBalancer.retry` (attempts, `initialInterval` doubling,
//! idempotent methods only), and a router's `retry` middleware, whose policy a plugin decides
//! through the `retry-policy` export ([`RetryDecider`], implemented by
//! `plugins::PluginMiddleware`; the bundled `retry` plugin is Traefik's). Either way the host
//! does the resending, and only of what it can send twice: a request without a body (a streamed
//! body cannot be replayed, and is never buffered for this), after a failure before any
//! response head (connection refused or reset, not a response-header timeout: the server may be
//! working on it; not an error status).

use crate::upstream::replay::is_idempotent;
use std::sync::Arc;
use std::time::Duration;

use http::Method;

use crate::config::RetryConfig;

/// Decides, after a failed attempt, whether and when to try again (a router's `retry`
/// middleware: a plugin's `retry-after`). Called on the request's task only after a failure.
pub trait RetryDecider: Send + Sync {
    /// After attempt `attempt` (1 = the first send) of a `method` request failed before any
    /// response: the wait before the next attempt, or `None` to give up.
    fn after_failure(&self, attempt: u32, method: &Method) -> Option<Duration>;
}

/// A retry policy: the service's own, or a router middleware's.
#[derive(Clone)]
pub enum RetryPolicy {
    /// `loadBalancer.retry`: `attempts` tries in all, `initialInterval` doubling.
    Backoff {
        attempts: u32,
        initial_interval: Duration,
    },
    /// A router's `retry` middleware: its plugin decides, up to [`MAX_DECIDED_ATTEMPTS`].
    Decided(Arc<dyn RetryDecider>),
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RetryPolicy::Backoff {
                attempts,
                initial_interval,
            } => f
                .debug_struct("Backoff")
                .field("attempts", attempts)
                .field("initial_interval", initial_interval)
                .finish(),
            RetryPolicy::Decided(_) => f.write_str("Decided"),
        }
    }
}

/// Backoff never grows past this.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Tries in all under a decided policy, whatever the decider answers.
pub const MAX_DECIDED_ATTEMPTS: u32 = 10;

impl RetryPolicy {
    pub fn new(config: &RetryConfig) -> Self {
        RetryPolicy::Backoff {
            attempts: config.attempts.max(1),
            initial_interval: config.initial_interval,
        }
    }

    /// Whether a request may be retried at all (checked before the first attempt: only then
    /// does the load balancer keep a copy of the head).
    pub fn applies_to(&self, method: &Method, body_is_empty: bool) -> bool {
        match self {
            RetryPolicy::Backoff { attempts, .. } => {
                *attempts > 1 && body_is_empty && is_idempotent(method)
            }
            // The method is the decider's to judge.
            RetryPolicy::Decided(_) => body_is_empty,
        }
    }

    /// After attempt `attempt` (1 = the first) failed: the pause before the next one, or
    /// `None` when no attempt is left.
    pub fn next(&self, attempt: u32, method: &Method) -> Option<Duration> {
        match self {
            RetryPolicy::Backoff {
                attempts,
                initial_interval,
            } => (attempt < *attempts).then(|| backoff(*initial_interval, attempt)),
            RetryPolicy::Decided(decider) => {
                if attempt >= MAX_DECIDED_ATTEMPTS {
                    return None;
                }
                decider.after_failure(attempt, method)
            }
        }
    }
}

/// Pause before retry number `retry` (1 = the first retry): `initial`, doubling, capped.
fn backoff(initial: Duration, retry: u32) -> Duration {
    let factor = 1u32
        .checked_shl(retry.saturating_sub(1))
        .unwrap_or(u32::MAX);
    initial
        .checked_mul(factor)
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(&RetryConfig {
            attempts: 3,
            initial_interval: Duration::from_millis(100),
        })
    }

    #[test]
    fn only_idempotent_body_less_requests_are_retried() {
        let p = policy();
        assert!(p.applies_to(&Method::GET, true));
        assert!(p.applies_to(&Method::PUT, true));
        assert!(!p.applies_to(&Method::POST, true));
        assert!(!p.applies_to(&Method::GET, false));
    }

    #[test]
    fn backoff_doubles_from_the_initial_interval_until_the_attempts_run_out() {
        let p = policy();
        let ms = Duration::from_millis;
        assert_eq!(p.next(1, &Method::GET), Some(ms(100)));
        assert_eq!(p.next(2, &Method::GET), Some(ms(200)));
        assert_eq!(p.next(3, &Method::GET), None);
        assert_eq!(backoff(ms(100), 40), MAX_BACKOFF);
    }

    struct Always;
    impl RetryDecider for Always {
        fn after_failure(&self, _: u32, _: &Method) -> Option<Duration> {
            Some(Duration::ZERO)
        }
    }

    #[test]
    fn a_decided_policy_resends_body_less_requests_and_stops_at_the_host_cap() {
        let p = RetryPolicy::Decided(Arc::new(Always));
        assert!(p.applies_to(&Method::POST, true));
        assert!(!p.applies_to(&Method::GET, false));
        assert_eq!(p.next(1, &Method::GET), Some(Duration::ZERO));
        assert_eq!(p.next(MAX_DECIDED_ATTEMPTS, &Method::GET), None);
    }
}
