//! A router's chain when every middleware on it declared fixed edits (`fixed-edits`) and the
//! chain needs nothing else of the chain path (no body, compression, gRPC-Web, `on-complete`,
//! tracing): the proxy then takes the plain path (no request head, no chain state, no boxed
//! chain future) and applies the edits around forwarding, exactly where the hooks would run:
//! request edits in chain order before the request goes upstream, response edits in reverse
//! order on the response head. Built at config time (`Chain::fixed_only`).

use std::sync::Arc;

use http::HeaderMap;

use super::middleware::PluginMiddleware;

/// The middlewares of a chain made only of fixed edits, in chain order.
#[derive(Clone)]
pub struct FixedChain {
    middlewares: Arc<[Arc<PluginMiddleware>]>,
}

impl FixedChain {
    /// `middlewares` must all have fixed edits (`Chain::fixed_only` checks).
    pub(super) fn new(middlewares: Arc<[Arc<PluginMiddleware>]>) -> Self {
        FixedChain { middlewares }
    }

    /// The request edits of every middleware, in chain order (one header-map edit each).
    pub fn apply_request(&self, headers: &mut HeaderMap) {
        for mw in self.middlewares.iter() {
            if let Some(fixed) = mw.fixed_edits() {
                fixed.apply_request(headers, mw.budget().max_headers);
            }
        }
    }

    /// The response edits, in reverse chain order, of the middlewares whose response hook
    /// would run (`capabilities`).
    pub fn apply_response(&self, headers: &mut HeaderMap) {
        for mw in self.middlewares.iter().rev() {
            if let Some(fixed) = mw.fixed_edits()
                && mw.capabilities().response_hook
            {
                fixed.apply_response(headers, mw.budget().max_headers);
            }
        }
    }
}
