//! Retry of idempotent requests on another server when the connection fails (Traefik's
//! `retry` middleware semantics, applied inside the load balancer so that the retry can pick a
//! different server and skip the one that failed).
//!
//! Only requests that are safe to send twice are retried: an idempotent method (RFC 9110
//! §9.2.2) and no request body (a streamed body cannot be replayed, and is never buffered for
//! this). Only failures before a response head count: connection refused or reset, not a
//! response-header timeout (the server may be working on it) and not an error status.

use std::time::Duration;

use http::Method;

use crate::config::RetryConfig;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    attempts: u32,
    initial_interval: Duration,
}

/// Backoff never grows past this.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl RetryPolicy {
    pub fn new(config: &RetryConfig) -> Self {
        RetryPolicy {
            attempts: config.attempts.max(1),
            initial_interval: config.initial_interval,
        }
    }

    /// Tries in all, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether a request may be retried at all.
    pub fn applies_to(&self, method: &Method, body_is_empty: bool) -> bool {
        self.attempts > 1 && body_is_empty && is_idempotent(method)
    }

    /// Pause before retry number `retry` (1 = the first retry): `initialInterval`, doubling.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_interval
            .checked_mul(factor)
            .unwrap_or(MAX_BACKOFF)
            .min(MAX_BACKOFF)
    }
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
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
    fn backoff_doubles_from_the_initial_interval_and_is_capped() {
        let p = policy();
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(3), Duration::from_millis(400));
        assert_eq!(p.backoff(40), MAX_BACKOFF);
    }
}
