//! What a request hook changed that the chain may have to undo: the head's method, URI and
//! headers (a fail-open middleware's failed call, a replayed call, `remote_take`), and for a
//! replay also the middleware's scratch state and the in-flight leases the call took.
//!
//! When it runs: before a hook call of a fail-open or Redis-backed middleware only (fixed at
//! config time). Cost: a copy of the method, URI and header map.

use http::{HeaderMap, Method, Uri};

use super::heads::RequestHead;
use super::middleware::HookDecision;

/// Request edits a fail-open middleware (or a replayed one) must be able to undo.
pub struct RequestSnapshot {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl RequestSnapshot {
    pub fn of(head: &RequestHead) -> Self {
        RequestSnapshot {
            method: head.parts.method.clone(),
            uri: head.parts.uri.clone(),
            headers: head.parts.headers.clone(),
        }
    }

    pub fn restore(self, head: &mut RequestHead) {
        head.parts.method = self.method;
        head.parts.uri = self.uri;
        head.parts.headers = self.headers;
    }
}

/// What a replay must put back besides the head's method, URI and headers.
pub struct HookStart {
    scratch: Option<Vec<u8>>,
    in_flight: usize,
}

impl HookStart {
    /// Before the call of the middleware at chain position `i`.
    pub fn of(head: &RequestHead, i: usize) -> Self {
        HookStart {
            scratch: head.states.get(i).cloned().flatten(),
            in_flight: head.in_flight.len(),
        }
    }

    pub fn restore(self, head: &mut RequestHead, i: usize) {
        if let Some(slot) = head.states.get_mut(i) {
            *slot = self.scratch;
        }
        // Leases taken by the undone call are released; its subrequest is not sent.
        head.in_flight.truncate(self.in_flight);
        head.pending_subrequest = None;
    }
}

/// A middleware parked until Redis answers: its chain position, the hook's own result, what
/// undoes the call before a replay, and its `kv` journal (Redis-backed `kv` only).
pub struct TakeWaiting {
    pub(crate) i: usize,
    pub(crate) decision: Result<HookDecision, super::error::PluginError>,
    pub(crate) snapshot: Option<RequestSnapshot>,
    pub(crate) start: HookStart,
    pub(crate) journal: Option<Box<super::kv_journal::KvJournal>>,
}

/// What a replayed response hook must put back: the response's status and headers, and the
/// request's scratch and leases.
pub struct ResponseStart {
    pub(crate) status: http::StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) start: HookStart,
}

impl ResponseStart {
    /// Before the response hook of the middleware at chain position `i`.
    pub fn of(req: &RequestHead, resp: &super::heads::ResponseHead, i: usize) -> Self {
        ResponseStart {
            status: resp.parts.status,
            headers: resp.parts.headers.clone(),
            start: HookStart::of(req, i),
        }
    }

    pub fn restore(self, req: &mut RequestHead, resp: &mut super::heads::ResponseHead, i: usize) {
        resp.parts.status = self.status;
        resp.parts.headers = self.headers;
        self.start.restore(req, i);
    }
}
