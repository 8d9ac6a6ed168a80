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
    /// Where the token buckets live when the config names a Redis (`rateLimit.redis`); else
    /// in `counters`, in process.
    pub redis_counters: Option<Arc<super::redis_counters::RedisCounters>>,
    /// The longest an in-process `take` may delay a request rather than refuse it, in
    /// nanoseconds (`counters::CounterScope::reserve`); 0: refuse at once.
    pub take_max_wait_ns: u64,
    /// What the middleware may reach when its config grants `outbound-http` (else `None`, and
    /// a component importing `outbound-http` is refused at load).
    pub outbound: Option<Arc<OutboundGrant>>,
    /// Which bodies the middleware may read and replace when its config grants `body` (else
    /// `None`, and a component importing `body` is refused at load).
    pub body: Option<super::body::BodyGrant>,
    /// Whether the middleware may ask for its responses to be compressed (config grants
    /// `compression`; else a component importing it is refused at load).
    pub compression: bool,
    /// Whether the component imports `grpc-web` (no grant: set from its imports at load), so
    /// its chains look for a `TranslateGrpcWeb` after the hooks.
    pub grpc_web: bool,
    /// The middleware's store when its config grants `kv` (else `None`, and a component
    /// importing `kv` is refused at load).
    pub kv: Option<Arc<super::kv::KvScope>>,
    /// Where `kv` lives when the config names a Redis (`plugin.kv.redis`); else in `kv`.
    pub redis_kv: Option<Arc<super::redis_kv::RedisKv>>,
}

/// Room a component gets above its initial linear memory when `memoryLimit` is left at its
/// default (see `MiddlewareBudget::fit_memory_to`).
pub const MEMORY_HEADROOM: u64 = 8 << 20;

impl MiddlewareBudget {
    /// Whether a request hook may be parked and called again ("take, then replay" for Redis
    /// buckets, "record and re-answer" for Redis `kv`).
    pub fn replayable(&self) -> bool {
        self.redis_counters.is_some() || self.redis_kv.is_some()
    }

    /// Whether the memory cap is the default one, which `fit_memory_to` may raise.
    pub fn memory_limit_is_default(&self) -> bool {
        self.memory_limit == DEFAULT_MEMORY_LIMIT
    }

    /// Fits the default memory cap to a component whose instances start with `initial` bytes of
    /// linear memory: components built around a language engine start big (measured: JavaScript
    /// 9.1 MiB, Python 12.4 MiB), so the default 16 MiB is raised to `initial` + 8 MiB where
    /// that is more, at most `max` (the engine's largest memory). A cap set in the config
    /// (any value but the default) is kept as it is. Config time, once per middleware. Returns
    /// the new cap when it changed.
    pub fn fit_memory_to(&mut self, initial: u64, max: u64) -> Option<u64> {
        if !self.memory_limit_is_default() {
            return None;
        }
        let fitted = initial.saturating_add(MEMORY_HEADROOM).min(max);
        (fitted > self.memory_limit).then(|| {
            self.memory_limit = fitted;
            fitted
        })
    }
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
            redis_counters: None,
            take_max_wait_ns: 0,
            outbound: None,
            body: None,
            compression: false,
            grpc_web: false,
            kv: None,
            redis_kv: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_memory_cap_fits_big_components_and_a_configured_one_stays() {
        let mut budget = MiddlewareBudget::default();
        assert_eq!(
            budget.fit_memory_to(170 << 10, 256 << 20),
            None,
            "small: 16 MiB"
        );
        assert_eq!(budget.memory_limit, DEFAULT_MEMORY_LIMIT);
        let python = 13_041_664;
        assert_eq!(
            budget.fit_memory_to(python, 256 << 20),
            Some(python + MEMORY_HEADROOM)
        );
        let mut capped = MiddlewareBudget::default();
        assert_eq!(capped.fit_memory_to(300 << 20, 256 << 20), Some(256 << 20));
        let mut configured = MiddlewareBudget {
            memory_limit: 8 << 20,
            ..MiddlewareBudget::default()
        };
        assert_eq!(configured.fit_memory_to(python, 256 << 20), None);
        assert_eq!(configured.memory_limit, 8 << 20);
    }
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
