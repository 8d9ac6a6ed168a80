//! The one log line (and failure count) for a plugin hook that failed: middleware, plugin and
//! content hash, hook, kind, and whether the middleware is fail-open. Called by the chain
//! (request and response hooks) and by `completion` (`on-complete`), off the hot path (only
//! on a failure).

use super::error::PluginError;
use super::middleware::PluginMiddleware;
use crate::admin::plugin_metrics::Hook;

pub(super) fn log_failure(mw: &PluginMiddleware, hook: &str, err: &PluginError) {
    if let Some(c) = mw.counters() {
        // `on-connect` (a connection middleware's only hook) counts as a request hook.
        let which = if hook.starts_with("on-request") || hook == "on-connect" {
            Hook::Request
        } else {
            Hook::Response
        };
        // The metrics say `deadline` where the log says `timeout`.
        let kind = match err {
            PluginError::Timeout(_) => "deadline",
            other => other.kind(),
        };
        c.failed(which, kind);
    }
    let id = mw.identity();
    tracing::warn!(
        middleware = &*id.middleware,
        plugin = &*id.plugin,
        hash = &*id.hash,
        hook,
        kind = err.kind(),
        fail_open = mw.budget().fail_open,
        "plugin failed: {err}"
    );
}
