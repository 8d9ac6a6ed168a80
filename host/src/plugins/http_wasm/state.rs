//! What one http-wasm guest store carries: identity, memory cap, config, features, and the heads
//! of the hook call in progress.
//!
//! One `GuestState` per instance. Between calls it holds no request data except what the ABI
//! makes last for a request: the response headers and status a guest set in `handle_request`
//! (they apply to the response it lets through) and the `req_ctx` it returned. Both are reset
//! when the next request starts on this instance.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;

use crate::plugins::heads::{RequestHead, ResponseHead};
use crate::plugins::host_state::PluginIdentity;
use crate::plugins::limits::MemoryCap;

/// `enable_features` flags.
pub const FEATURE_BUFFER_REQUEST: u32 = 1;
pub const FEATURE_BUFFER_RESPONSE: u32 = 2;
pub const FEATURE_TRAILERS: u32 = 4;
/// What this host supports: buffering both ways; no trailers (reads of trailers are empty,
/// writes trap, as the ABI asks of a host without them).
pub const SUPPORTED_FEATURES: u32 = FEATURE_BUFFER_REQUEST | FEATURE_BUFFER_RESPONSE;

/// Which hook is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `_initialize` / `_start`: no request; `get_config` and `enable_features` only.
    Init,
    Request,
    Response,
}

/// The response a guest builds in `handle_request`: what it answers with when it returns
/// `next = 0`, and the headers it adds to the upstream's response otherwise.
#[derive(Debug, Default)]
pub struct PendingResponse {
    pub status: Option<http::StatusCode>,
    pub headers: HeaderMap,
    /// Set by the first `write_body(response)`; later writes append.
    pub body: Option<Vec<u8>>,
}

/// A readable body and how far the guest has read it.
#[derive(Debug, Default)]
pub struct BodyReader {
    pub bytes: Bytes,
    pub read: usize,
}

pub struct GuestState {
    pub(crate) identity: PluginIdentity,
    pub(crate) memory: MemoryCap,
    /// What `get_config` returns: the middleware's config as JSON.
    pub(crate) config: Arc<[u8]>,
    /// Features enabled during the module's start (they hold for every request).
    pub(crate) init_features: u32,
    /// Features enabled for the current request (start features plus per-request ones).
    pub(crate) features: u32,
    pub(crate) phase: Phase,
    pub(crate) request: Option<RequestHead>,
    pub(crate) response: Option<ResponseHead>,
    pub(crate) pending: PendingResponse,
    pub(crate) request_body: BodyReader,
    /// Set by the first `write_body(request)` of a `handle_request`; later writes append.
    pub(crate) request_body_written: Option<Vec<u8>>,
    pub(crate) response_body: BodyReader,
    /// Set by the first `write_body(response)` in `handle_response`.
    pub(crate) response_body_written: Option<Vec<u8>>,
    pub(crate) log: LogBudget,
    /// The guest's `memory` export, looked up once after instantiation.
    pub(crate) memory_export: Option<wasmtime::Memory>,
    /// The last bytes the guest wrote to stderr (at most [`STDERR_TAIL`]): a failed start is
    /// reported with them (a Rust panic message, a Go `panic:` line).
    pub(crate) stderr_tail: Vec<u8>,
}

/// How much of a guest's stderr is kept for error messages.
pub const STDERR_TAIL: usize = 512;

impl GuestState {
    pub fn new(identity: PluginIdentity, memory_limit: u64, config: Arc<[u8]>) -> Self {
        GuestState {
            identity,
            memory: MemoryCap::new(memory_limit),
            config,
            init_features: 0,
            features: 0,
            phase: Phase::Init,
            request: None,
            response: None,
            pending: PendingResponse::default(),
            request_body: BodyReader::default(),
            request_body_written: None,
            response_body: BodyReader::default(),
            response_body_written: None,
            log: LogBudget::new(),
            memory_export: None,
            stderr_tail: Vec::new(),
        }
    }

    /// Keeps `bytes` as the end of what the guest wrote to stderr.
    pub(crate) fn remember_stderr(&mut self, bytes: &[u8]) {
        self.stderr_tail.extend_from_slice(bytes);
        let excess = self.stderr_tail.len().saturating_sub(STDERR_TAIL);
        self.stderr_tail.drain(..excess);
    }

    /// The stderr tail as one line of text, for an error message.
    pub(crate) fn stderr_summary(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr_tail);
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Clears what the previous request left, before `handle_request`.
    pub(crate) fn start_request(&mut self) {
        self.features = self.init_features;
        self.pending = PendingResponse::default();
        self.request_body = BodyReader::default();
        self.request_body_written = None;
        self.response_body = BodyReader::default();
        self.response_body_written = None;
        self.phase = Phase::Request;
    }
}

/// Log lines a guest may write per second (`log` and stdout/stderr together); the rest are
/// counted and reported once the second is over, so a chatty guest cannot flood the log.
const LOG_LINES_PER_SECOND: u32 = 100;

/// A per-instance log rate limit: a fixed one-second window.
pub struct LogBudget {
    window_start: Instant,
    used: u32,
    dropped: u32,
}

impl LogBudget {
    fn new() -> Self {
        LogBudget {
            window_start: Instant::now(),
            used: 0,
            dropped: 0,
        }
    }

    /// Whether one more line may be logged now; returns how many were dropped in the window
    /// that just ended (to report them), if any.
    pub fn take(&mut self) -> (bool, u32) {
        let mut dropped_before = 0;
        if self.window_start.elapsed().as_secs() >= 1 {
            dropped_before = std::mem::take(&mut self.dropped);
            self.window_start = Instant::now();
            self.used = 0;
        }
        if self.used < LOG_LINES_PER_SECOND {
            self.used += 1;
            (true, dropped_before)
        } else {
            self.dropped = self.dropped.saturating_add(1);
            (false, dropped_before)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guest_logs_at_most_its_lines_per_second_and_the_rest_are_counted() {
        let mut budget = LogBudget::new();
        for _ in 0..LOG_LINES_PER_SECOND {
            assert_eq!(budget.take(), (true, 0));
        }
        assert_eq!(budget.take(), (false, 0));
        assert_eq!(budget.take(), (false, 0));
        assert_eq!(budget.dropped, 2);
    }
}
