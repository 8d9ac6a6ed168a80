//! What one middleware may spend: isolation mode, deadline, memory, output bounds.

use std::sync::Arc;
use std::time::Duration;

use super::counters::CounterScope;
use super::outbound::OutboundGrant;

use crate::config::{
    DEFAULT_DEADLINE, DEFAULT_MAX_HEADERS, DEFAULT_MAX_REPLY_BODY_SIZE,
    DEFAULT_MAX_REQUESTS_PER_INSTANCE, DEFAULT_MEMORY_LIMIT, DEFAULT_POOL_SIZE,
};

/// How instances are shared between requests: the config's `isolation` value as it is (one enum
/// for config and runtime).
pub use crate::config::Isolation;

/// Budgets of one middleware. Defaults are the config's `plugins.defaults` (pooled, 50 ms,
/// 16 MiB, 10 000 calls, 64 warm instances, fail-closed, 64 KiB reply body, 100 headers), from
/// the same constants.
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
    /// The middleware's counters when its config grants `counters` (else `None`, and a
    /// component importing `counters` is refused at load).
    pub counters: Option<Arc<CounterScope>>,
    /// What the middleware may reach when its config grants `outbound-http` (else `None`, and
    /// a component importing `outbound-http` is refused at load).
    pub outbound: Option<Arc<OutboundGrant>>,
}

impl Default for MiddlewareBudget {
    fn default() -> Self {
        MiddlewareBudget {
            isolation: Isolation::Pooled,
            deadline: DEFAULT_DEADLINE,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            max_requests_per_instance: DEFAULT_MAX_REQUESTS_PER_INSTANCE,
            pool_size: DEFAULT_POOL_SIZE,
            fail_open: false,
            max_reply_body_size: DEFAULT_MAX_REPLY_BODY_SIZE,
            max_headers: DEFAULT_MAX_HEADERS,
            counters: None,
            outbound: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PluginRuntimeConfig;

    #[test]
    fn default_budget_is_the_configs_default() {
        let config = PluginRuntimeConfig::default();
        let budget = MiddlewareBudget::default();
        assert_eq!(budget.isolation, config.isolation);
        assert_eq!(budget.deadline, config.deadline);
        assert_eq!(budget.memory_limit, config.memory_limit);
        assert_eq!(
            budget.max_requests_per_instance,
            config.max_requests_per_instance
        );
        assert_eq!(budget.pool_size, config.pool_size);
        assert_eq!(budget.fail_open, config.fail_open);
        assert_eq!(budget.max_reply_body_size, config.max_reply_body_size);
        assert_eq!(budget.max_headers, config.max_headers);
        assert_eq!(
            budget.max_reply_body_size,
            plugin_contract::DEFAULT_MAX_REPLY_BODY
        );
        assert_eq!(budget.max_headers, plugin_contract::DEFAULT_MAX_HEADERS);
    }
}
