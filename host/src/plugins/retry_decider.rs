//! A middleware whose plugin decides retries (`retry-policy`) as the load balancer's
//! [`RetryDecider`]: asked only after an attempt failed before any response, on the request's
//! task, on any instance of the middleware (one hook call).

use std::time::Duration;

use crate::lb::retry::RetryDecider;

use super::middleware::PluginMiddleware;

impl RetryDecider for PluginMiddleware {
    fn after_failure(&self, attempt: u32, method: &http::Method) -> Option<Duration> {
        match self.retry_after(attempt, method.as_str()) {
            Ok(wait) => wait.map(Duration::from_nanos),
            Err(err) => {
                let id = self.identity();
                tracing::warn!(
                    middleware = &*id.middleware,
                    plugin = &*id.plugin,
                    kind = err.kind(),
                    "retry-after failed, not retrying: {err}"
                );
                None
            }
        }
    }
}
