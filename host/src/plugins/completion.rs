//! The `on-complete` hook (`completion` in the contract): what a request keeps for it, and the
//! calls once the exchange has ended.
//!
//! When it runs: `Chain::completion` creates a [`PendingCompletion`] before the request
//! hooks, only for a chain with a middleware that asked for `on-complete` (config time); every
//! other chain pays one branch. The proxy keeps it outside the request's future, takes into it
//! the in-flight counts of those middlewares after the request hooks and their scratch after
//! the response hooks, and finishes it when the response body ends or is dropped
//! (`proxy::completion_body`). If the request's future itself is dropped (the client went away
//! mid-exchange), dropping the pending completion finishes it as `client-gone`. So
//! `on-complete` runs exactly once per request whose `on-request` ran in the middleware.
//!
//! Finishing spawns one task (on the current Tokio runtime) that calls the hooks innermost
//! first and then releases the in-flight counts: the client's last bytes never wait for a
//! plugin, and no instance is held while the body streams. A middleware whose `kv` lives in
//! Redis gets a journal for the call (`kv_journal`): when the hook left a `kv` operation
//! pending, the task awaits it (no instance held) and calls the hook again with the answer.

use std::sync::Arc;
use std::time::Instant;

use super::bindings::completion::{Ending, Outcome};
use super::counters::InFlightLease;
use super::heads::RequestHead;
use super::kv::KvError;
use super::middleware::PluginMiddleware;
use super::redis_kv::KvCall;

/// A request's `on-complete` calls, waiting for the end of the exchange.
pub struct PendingCompletion {
    inner: Option<Box<Pending>>,
}

struct Pending {
    /// The chain's middlewares, in chain order.
    middlewares: Arc<[Arc<PluginMiddleware>]>,
    started: Instant,
    /// How many middlewares (from the chain's start) had their `on-request` called.
    entered: usize,
    /// Scratch by chain position, as the last hooks left it (empty: none was set).
    states: Vec<Option<Vec<u8>>>,
    /// In-flight counts of the middlewares that asked for `on-complete`, released after their
    /// hooks ran.
    leases: Vec<InFlightLease>,
}

impl PendingCompletion {
    pub(super) fn new(middlewares: Arc<[Arc<PluginMiddleware>]>) -> Self {
        PendingCompletion {
            inner: Some(Box::new(Pending {
                middlewares,
                started: Instant::now(),
                entered: 0,
                states: Vec::new(),
                leases: Vec::new(),
            })),
        }
    }

    /// After request hooks ran: remembers how many `on-request` calls were made.
    pub(super) fn entered(&mut self, entered: usize) {
        if let Some(p) = &mut self.inner {
            p.entered = p.entered.max(entered);
        }
    }

    /// After the request hooks: takes the in-flight counts of the middlewares that asked for
    /// `on-complete` out of `head` (they are held until those hooks ran) and copies the scratch
    /// (kept should the exchange fail before the response hooks). Cost: nothing when no
    /// scratch was set and no count taken.
    pub fn keep_request(&mut self, head: &mut RequestHead) {
        let Some(p) = &mut self.inner else { return };
        if !head.in_flight.is_empty() {
            let middlewares = &p.middlewares;
            let (held, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut head.in_flight)
                .into_iter()
                .partition(|(i, _)| middlewares.get(*i).is_some_and(|mw| mw.completes()));
            head.in_flight = rest;
            p.leases.extend(held.into_iter().map(|(_, lease)| lease));
        }
        if head.states.iter().any(Option::is_some) {
            p.states.clone_from(&head.states);
        }
    }

    /// After the response hooks: takes the scratch as they left it.
    pub fn keep_response(&mut self, head: &mut RequestHead) {
        if let Some(p) = &mut self.inner
            && head.states.iter().any(Option::is_some)
        {
            p.states = std::mem::take(&mut head.states);
        }
    }

    /// The exchange ended: `status` sent (none: no head was), `body_bytes` of body handed to
    /// the connection. Spawns the hook calls (or runs them here outside a Tokio runtime).
    pub fn finish(mut self, status: Option<u16>, body_bytes: u64, ending: Ending) {
        if let Some(p) = self.inner.take() {
            p.spawn(status, body_bytes, ending);
        }
    }
}

impl Drop for PendingCompletion {
    /// Never finished: the request's future was dropped before a response (client gone).
    fn drop(&mut self) {
        if let Some(p) = self.inner.take() {
            p.spawn(None, 0, Ending::ClientGone);
        }
    }
}

impl Pending {
    fn spawn(self: Box<Self>, status: Option<u16>, body_bytes: u64, ending: Ending) {
        let duration_ns = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let outcome = Outcome {
            status,
            body_bytes,
            duration_ns,
            ending,
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                // The box moves into the task (a pointer), unboxed there.
                runtime.spawn(async move { (*self).run(outcome, true).await });
            }
            // No runtime (tests outside one): nothing to wait on, so a Redis-backed `kv`
            // operation is answered `backend(...)` and the future completes at once.
            Err(_) => futures_util::FutureExt::now_or_never((*self).run(outcome, false))
                .unwrap_or_default(),
        }
    }

    /// Calls `on-complete` of every middleware that asked and whose `on-request` ran,
    /// innermost first; then the in-flight counts go.
    async fn run(self, outcome: Outcome, can_wait: bool) {
        let Pending {
            middlewares,
            entered,
            states,
            leases,
            ..
        } = self;
        let entered = entered.min(middlewares.len());
        for (i, mw) in middlewares[..entered].iter().enumerate().rev() {
            if !mw.completes() {
                continue;
            }
            let state = states.get(i).and_then(|s| s.as_deref());
            let result = match &mw.budget().redis_kv {
                None => mw.on_complete(state, outcome, &mut None),
                Some(redis) => {
                    let mut journal = Some(Box::default());
                    loop {
                        let result = mw.on_complete(state, outcome, &mut journal);
                        let Some(j) = journal.as_deref_mut() else {
                            break result;
                        };
                        let Some(op) = j.end_call() else {
                            break result;
                        };
                        if !can_wait {
                            j.answer(op, Err(KvError::Backend("no runtime to wait on".into())));
                            continue;
                        }
                        let answered = KvCall {
                            redis: redis.clone(),
                            op,
                        }
                        .run()
                        .await;
                        j.answer(answered.op, answered.result);
                    }
                }
            };
            if let Err(err) = result {
                super::failure_log::log_failure(mw, "on-complete", &err);
            }
        }
        drop(leases);
    }
}
