//! A router's native middlewares (`buffering`'s `retryExpression`), built at
//! config time from the middlewares its chain names, and the retry policy of a plugin that
//! decides retries (Traefik's `retry`: the bundled `retry` plugin).

use std::sync::Arc;

use crate::config::HttpConfig;
use crate::lb::retry::RetryPolicy;
use crate::plugins::PluginMiddleware;
use crate::plugins::bindings::retry_policy::RetryMode;
use crate::proxy::NativeMiddlewares;

/// The native middlewares among `expanded` (a router's middlewares, chains expanded).
pub(super) fn native_middlewares(expanded: &[String], http: &HttpConfig) -> NativeMiddlewares {
    let mut native = NativeMiddlewares::default();
    for name in expanded {
        // A `buffering` with `retryExpression` (the last one where a chain names several).
        if let Some(expression) = http
            .middlewares
            .get(name)
            .and_then(|m| m.retry_expression.as_ref())
        {
            native.buffer_retry = Some(Arc::new(expression.clone()));
        }
    }
    native
}

/// The router's retry policy from its chain: the last middleware whose plugin decides retries
/// (`retry-policy`) becomes the policy the load balancer asks after a failed attempt; those
/// that want no other hook (`policy-only`) leave the chain, so they cost a request nothing
/// until an attempt fails.
pub(super) fn take_retry_policy(
    chain: Vec<Arc<PluginMiddleware>>,
    native: &mut NativeMiddlewares,
) -> Vec<Arc<PluginMiddleware>> {
    if chain.iter().all(|m| m.retry_mode() == RetryMode::None) {
        return chain;
    }
    let mut kept = Vec::with_capacity(chain.len());
    for mw in chain {
        match mw.retry_mode() {
            RetryMode::None => kept.push(mw),
            RetryMode::WithHooks => {
                native.retry = Some(RetryPolicy::Decided(mw.clone()));
                kept.push(mw);
            }
            RetryMode::PolicyOnly => native.retry = Some(RetryPolicy::Decided(mw)),
        }
    }
    kept
}
