//! Deciding retries (the `retry-policy` export, Traefik's `retry`): the gateway keeps a request
//! that has no body and, when an attempt fails before any response (the upstream could not be
//! reached), asks [`Middleware::retry_after`](crate::Middleware::retry_after) whether and when
//! to send it again; the gateway does the resending (to another server when there is one).
//!
//! A middleware takes part only if [`Middleware::retry_mode`](crate::Middleware::retry_mode)
//! says so (asked once per configured middleware). [`RetryMode::PolicyOnly`] leaves it out of
//! the request chain: none of its hooks run, and a request that succeeds at its first attempt
//! costs nothing for it. The gateway stops after 10 attempts whatever the answers.

/// Whether and how a middleware takes part in retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetryMode {
    /// Not at all (the default).
    #[default]
    None,
    /// Its hooks run as for any middleware, and the gateway asks `retry_after` on failures.
    WithHooks,
    /// Only `retry_after` is called; none of its request or response hooks.
    PolicyOnly,
}

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptFailure {
    /// The upstream could not be reached, or closed the connection before any response.
    Unreachable,
}

/// A failed attempt, as the gateway tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAttempt {
    /// The attempt that failed: 1 for the first send.
    pub attempt: u32,
    pub failure: AttemptFailure,
    /// The request's method, upper-case.
    pub method: String,
}
