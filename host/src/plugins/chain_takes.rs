//! The chain's side of Redis-backed takes ("take, then replay", `remote_take`): parking a
//! request whose `on-request` hook took from a Redis bucket, and resuming it with Redis'
//! answers.
//!
//! The same machinery parks an `on-request` call that left a Redis `kv` operation pending
//! ("record and re-answer", `kv_journal`): the operation rides in the same batch, and its
//! answer always replays the hook.
//!
//! When it runs: only for middlewares whose `counters` or `kv` are backed by Redis (fixed at
//! config time); every other middleware goes through `Chain::request_hooks_from` as before.
//! Cost on a parked request: a copy of the head's method, URI and headers taken before the hook
//! (to undo its edits before a replay), and on a refusal or a `kv` answer one more hook call.

use super::budget::Isolation;
use super::chain::{Chain, ChainState, RequestOutcome, Step, log_failure};
use super::counters::Reservation;
use super::error::PluginError;
use super::heads::RequestHead;
use super::middleware::HookDecision;
use super::redis_kv::KvCall;
use super::remote_take::{MAX_ROUNDS, TakeAnswers, TakeBatch};
use super::undo::{HookStart, RequestSnapshot, TakeWaiting};
use crate::admin::plugin_metrics::Hook;

/// A request and where the chain left it.
type Parked = (RequestHead, RequestOutcome);

impl Chain {
    /// After `on-request` of the Redis-backed middleware `i`: parks the request (`Step::Done`
    /// with `RequestOutcome::Takes`) when the call took from a Redis bucket and did not fail,
    /// or left a `kv` operation pending (whatever its result: it acted on a provisional
    /// answer); else what `after_request_hook` does.
    pub(super) fn after_replayable_hook(
        &self,
        i: usize,
        mut head: RequestHead,
        result: Result<HookDecision, PluginError>,
        snapshot: Option<RequestSnapshot>,
        start: HookStart,
        state: &mut ChainState,
    ) -> Step {
        let mw = &self.middlewares[i];
        // The journal goes back to the chain: later hooks (subresponses) are lent none.
        let mut journal = head.kv_journal.take();
        let kv_op = journal.as_deref_mut().and_then(|j| j.end_call());
        let takes_pending = head
            .remote_takes
            .as_deref()
            .is_some_and(|t| t.has_pending());
        let counters = match &mw.budget().redis_counters {
            Some(redis) if takes_pending && (result.is_ok() || kv_op.is_some()) => {
                Some(redis.clone())
            }
            _ => None,
        };
        let kv = match (&mw.budget().redis_kv, kv_op) {
            (Some(redis), Some(op)) => Some(KvCall {
                redis: redis.clone(),
                op,
            }),
            _ => None,
        };
        if counters.is_none() && kv.is_none() {
            return self.after_request_hook(i, head, result, snapshot, state, "on-request");
        }
        if let Some(c) = mw.counters() {
            c.called(Hook::Request);
        }
        let mut takes = Vec::new();
        if counters.is_some() {
            let remote = head.remote_takes.get_or_insert_default();
            if remote.rounds >= MAX_ROUNDS {
                let err = PluginError::InvalidOutput(format!(
                    "took from new Redis keys in {MAX_ROUNDS} replays in a row"
                ));
                return self.settle_request_hook(i, head, Err(err), snapshot, state, "on-request");
            }
            remote.rounds += 1;
            takes = remote.take_pending();
        } else if let Some(remote) = head.remote_takes.as_deref_mut() {
            // Takes of a failed call parked for its `kv` operation: recorded again on replay.
            remote.discard_pending();
        }
        let batch = TakeBatch {
            counters,
            takes,
            kv,
        };
        state.take_waiting = Some(Box::new(TakeWaiting {
            i,
            decision: result,
            snapshot,
            start,
            journal,
        }));
        Step::Done(head, RequestOutcome::Takes(Box::new(batch)))
    }

    /// Hands Redis' answers to the middleware parked by [`RequestOutcome::Takes`]. A `kv`
    /// answer always replays the hook (its run acted on a provisional answer). Otherwise the
    /// hook's result stands when every take was allowed (or Redis failed and `denyOnError` is
    /// off); a refusal undoes the hook's edits and calls it again with the answers; a Redis
    /// failure with `denyOnError` is a failure of the middleware (500, or passed on when
    /// fail-open). Then runs the rest of the chain.
    pub fn resume_takes(
        &self,
        mut head: RequestHead,
        state: &mut ChainState,
        answers: TakeAnswers,
    ) -> Parked {
        let Some(waiting) = state.take_waiting.take() else {
            let err = PluginError::InvalidOutput("Redis answers nobody waits for".into());
            return (head, RequestOutcome::Failed(err));
        };
        let TakeWaiting {
            i,
            decision,
            snapshot,
            start,
            mut journal,
        } = *waiting;
        let mw = &self.middlewares[i];
        let kv_answered = answers.kv.is_some();
        if let (Some(j), Some(kv)) = (journal.as_deref_mut(), answers.kv) {
            j.answer(kv.op, kv.result);
        }
        let taken = if answers.takes.is_empty() {
            Some(0)
        } else {
            let takes = head.remote_takes.get_or_insert_default();
            let n = answers.takes.len();
            match answers.result {
                Ok(list) => takes.answer(answers.takes, list),
                Err(e) if answers.deny_on_error => {
                    let err = PluginError::Counters(e.to_string());
                    return self.finish(i, head, Err(err), snapshot, state);
                }
                Err(e) => {
                    let err = PluginError::Counters(e.to_string());
                    log_failure(mw, "counters (denyOnError: false, let through)", &err);
                    takes.answer(answers.takes, vec![Reservation::Now; n])
                }
            }
        };
        if let Some(wait) = taken.filter(|_| !kv_answered) {
            // Tokens reserved ahead (`maxDelay`): the proxy waits for them after the hooks.
            head.take_delay_ns = head.take_delay_ns.max(wait);
            return self.finish(i, head, decision, snapshot, state);
        }
        // A take was refused, or a `kv` call was answered: undo what the call did and call it
        // again with the answers.
        if let Some(s) = snapshot {
            s.restore(&mut head);
        }
        start.restore(&mut head, i);
        let snapshot = Some(RequestSnapshot::of(&head));
        let start = HookStart::of(&head, i);
        head.current = i;
        head.kv_journal = journal;
        let (h, result) = mw.on_request(
            head,
            state.slot(i, mw.budget().isolation == Isolation::PerRequest),
        );
        let step = self.after_replayable_hook(i, h, result, snapshot, start, state);
        self.continue_after(i, step, state)
    }

    /// Settles middleware `i`'s (already counted) result and runs the rest of the chain.
    fn finish(
        &self,
        i: usize,
        head: RequestHead,
        result: Result<HookDecision, PluginError>,
        snapshot: Option<RequestSnapshot>,
        state: &mut ChainState,
    ) -> Parked {
        let step = self.settle_request_hook(i, head, result, snapshot, state, "on-request");
        self.continue_after(i, step, state)
    }
}
