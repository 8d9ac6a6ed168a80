//! The middleware spans of one request's chain, when tracing is on and the request is sampled
//! (`admin::trace`): a span opens before a middleware's request hook, under the span of the
//! middleware before it (Traefik nests middleware spans so), and closes after its response
//! hook — or when the response phase passes it without one, or when the chain stops (the
//! spans still open end when the request's `ChainState` is dropped). A failed hook marks its
//! span with the failure's kind.
//!
//! Costs nothing when tracing is off: the chain has no labels and `ChainState::trace` stays
//! `None`.

use std::sync::Arc;

use super::error::PluginError;
use super::middleware::PluginMiddleware;
use crate::admin::trace::{MiddlewareLabels, MiddlewareSpan, TraceParent};

/// The span labels of a chain's middlewares, by position; `None` when tracing is off. Config
/// time.
pub(super) fn labels_of(middlewares: &[Arc<PluginMiddleware>]) -> Option<Arc<[MiddlewareLabels]>> {
    crate::admin::trace::tracer()?;
    middlewares
        .iter()
        .map(|mw| {
            let id = mw.identity();
            MiddlewareLabels::new(&id.middleware, &id.plugin, &id.hash)
        })
        .collect::<Option<Vec<_>>>()
        .map(Into::into)
}

/// The open middleware spans of one request.
pub(super) struct ChainTrace {
    labels: Arc<[MiddlewareLabels]>,
    root: TraceParent,
    /// Open spans with their chain positions, innermost last.
    open: Vec<(usize, MiddlewareSpan)>,
}

impl ChainTrace {
    pub(super) fn new(labels: Arc<[MiddlewareLabels]>, root: TraceParent) -> ChainTrace {
        let open = Vec::with_capacity(labels.len());
        ChainTrace { labels, root, open }
    }

    /// Where the next span goes: the innermost open middleware span, else the request's.
    pub(super) fn innermost(&self) -> TraceParent {
        match self.open.last() {
            Some((_, span)) => span.parent(),
            None => self.root.clone(),
        }
    }

    /// Middleware `i`'s request hook is about to run.
    pub(super) fn enter(&mut self, i: usize) {
        let Some(labels) = self.labels.get(i) else {
            return;
        };
        if let Some(span) = self.innermost().middleware(labels) {
            self.open.push((i, span));
        }
    }

    /// Middleware `i`'s hook failed.
    pub(super) fn failed(&self, i: usize, err: &PluginError) {
        if let Some((_, span)) = self.open.iter().rev().find(|(at, _)| *at == i) {
            span.failed(err.kind(), err.to_string());
        }
    }

    /// Ends the spans of middlewares at position `i` and after, innermost first.
    pub(super) fn close_from(&mut self, i: usize) {
        while self.open.last().is_some_and(|(at, _)| *at >= i) {
            self.open.pop();
        }
    }
}

impl Drop for ChainTrace {
    fn drop(&mut self) {
        self.close_from(0);
    }
}
