//! What one middleware may spend: isolation mode, deadline, memory, output bounds.

use std::time::Duration;

/// How instances are shared between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Warm, configured instances, each serving one hook call at a time; discarded after any
    /// failure, recycled after `max_requests_per_instance` calls.
    Pooled,
    /// A fresh instance for every request (kept for that request's two hooks, then dropped): no
    /// request can observe another's data.
    PerRequest,
}

/// Budgets of one middleware. Defaults: pooled, 50 ms, 16 MiB, 10 000 calls, 64 warm
/// instances, fail-closed, 64 KiB reply body, 100 headers.
#[derive(Debug, Clone, PartialEq)]
pub struct MiddlewareBudget {
    pub isolation: Isolation,
    pub deadline: Duration,
    pub memory_limit: u64,
    pub max_requests_per_instance: u64,
    pub pool_size: usize,
    pub fail_open: bool,
    pub max_reply_body_size: usize,
    pub max_headers: usize,
}

impl Default for MiddlewareBudget {
    fn default() -> Self {
        MiddlewareBudget {
            isolation: Isolation::Pooled,
            deadline: Duration::from_millis(50),
            memory_limit: 16 << 20,
            max_requests_per_instance: 10_000,
            pool_size: 64,
            fail_open: false,
            max_reply_body_size: 64 << 10,
            max_headers: 100,
        }
    }
}
