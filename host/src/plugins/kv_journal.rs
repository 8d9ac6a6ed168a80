//! "Record and re-answer": the `kv` calls of one hook of a Redis-backed middleware, answered
//! from what Redis said in earlier runs of the same hook, so a `kv` call never waits for Redis
//! inside a hook.
//!
//! When it runs: the chain (or `completion`, for `on-complete`) lends a fresh [`KvJournal`] for
//! the first call of a hook of a middleware whose `kv` lives in Redis (`redis_kv`), and lends the
//! same journal again for each replay of that hook. Inside the call, `kv_import` asks
//! [`KvJournal::call`] for every answer:
//!
//! - the call at position *i* that is the same operation with the same arguments as the
//!   journal's entry *i* gets that entry's answer (Redis' answer in an earlier run);
//! - the first call not in the journal is recorded as pending and answered
//!   `backend("pending")` — a provisional answer the hook never acts on: its result (success
//!   or failure) is discarded — and every later `kv` call of that run answers the same without
//!   being recorded (its arguments may depend on the pending answer);
//! - when the hook returns, [`KvJournal::end_call`] hands the pending operation to the caller,
//!   which awaits it on the request's own task (`redis_kv::KvCall`), appends the answer
//!   ([`KvJournal::answer`]), undoes what the hook did to the heads and calls it again.
//!
//! So each operation reaches Redis exactly once, and a hook that makes *n* `kv` calls runs
//! *n* + 1 times. A replay that diverges (its call at position *i* differs from entry *i*, e.g.
//! it read the clock) drops entries *i* and later: that call becomes the pending one and is
//! sent too, while the dropped entries have already reached Redis (an `increment` of a dropped
//! entry stays applied). At most [`MAX_ROUNDS`] operations are sent per hook call; beyond that a
//! call not in the journal answers `backend(...)` for real (the hook's result then stands).
//!
//! Cost: nothing for middlewares on the in-process store (no journal is lent); for Redis-backed
//! ones, one small allocation per hook call and one more hook call per Redis operation.

use super::kv::KvError;

/// Redis operations one hook call may send (and so, replays it may go through) before its
/// further `kv` calls answer `backend(...)` for real.
pub const MAX_ROUNDS: u8 = 8;

/// What a provisional answer says (never acted on: the hook's result is discarded).
pub const PENDING: &str = "pending: answered by Redis on a replay of this hook";

/// One `kv` call, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvOp {
    Increment {
        key: String,
        delta: i64,
        ttl_ms: u64,
    },
    Get {
        key: String,
    },
    GetMany {
        keys: Vec<String>,
    },
    Set {
        key: String,
        value: Vec<u8>,
        ttl_ms: u64,
    },
    CompareAndSwap {
        key: String,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
        ttl_ms: u64,
    },
    Delete {
        key: String,
    },
}

/// The answer to a [`KvOp`] (its shape follows the operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvAnswer {
    Int(i64),
    Value(Option<Vec<u8>>),
    Values(Vec<Option<Vec<u8>>>),
    Unit,
    Bool(bool),
}

/// A call's result: an answer, or the contract's `kv-error`.
pub type KvResult = Result<KvAnswer, KvError>;

/// The `kv` calls of one hook of one request, across its replays.
#[derive(Debug, Default)]
pub struct KvJournal {
    /// Operations Redis answered, in call order.
    entries: Vec<(KvOp, KvResult)>,
    /// Position of the next call in the current run.
    cursor: usize,
    /// The first call of this run not in the journal, to send.
    pending: Option<KvOp>,
    /// Operations sent so far.
    rounds: u8,
}

impl KvJournal {
    /// The answer to `op`, the current run's next call (see the module doc).
    pub fn call(&mut self, op: KvOp) -> KvResult {
        if self.pending.is_some() {
            return Err(KvError::Backend(PENDING.into()));
        }
        if let Some((recorded, answer)) = self.entries.get(self.cursor) {
            if *recorded == op {
                self.cursor += 1;
                return answer.clone();
            }
            // Divergence: what followed the differing call no longer answers this run.
            self.entries.truncate(self.cursor);
        }
        if self.rounds >= MAX_ROUNDS {
            return Err(KvError::Backend(
                format!("more than {MAX_ROUNDS} Redis operations in one hook call").into(),
            ));
        }
        self.pending = Some(op);
        Err(KvError::Backend(PENDING.into()))
    }

    /// The hook call returned: the operation to send before replaying it, if any. Rewinds the
    /// journal for the next run.
    pub fn end_call(&mut self) -> Option<KvOp> {
        self.cursor = 0;
        self.pending.take()
    }

    /// Records Redis' answer to the operation [`KvJournal::end_call`] gave.
    pub fn answer(&mut self, op: KvOp, result: KvResult) {
        self.rounds = self.rounds.saturating_add(1);
        self.entries.push((op, result));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(key: &str) -> KvOp {
        KvOp::Increment {
            key: key.into(),
            delta: 1,
            ttl_ms: 0,
        }
    }

    fn get(key: &str) -> KvOp {
        KvOp::Get { key: key.into() }
    }

    fn pending() -> KvResult {
        Err(KvError::Backend(PENDING.into()))
    }

    #[test]
    fn each_run_is_answered_from_the_journal_up_to_its_first_new_call() {
        let mut j = KvJournal::default();
        // Run 1: the first call is pending, and so is every later one (not recorded).
        assert_eq!(j.call(incr("a")), pending());
        assert_eq!(j.call(get("b")), pending());
        let op = j.end_call().expect("the increment to send");
        assert_eq!(op, incr("a"));
        j.answer(op, Ok(KvAnswer::Int(7)));
        // Run 2: the increment is answered, the get is the new pending call.
        assert_eq!(j.call(incr("a")), Ok(KvAnswer::Int(7)));
        assert_eq!(j.call(get("b")), pending());
        let op = j.end_call().expect("the get to send");
        j.answer(op, Ok(KvAnswer::Value(None)));
        // Run 3: everything answered, nothing to send.
        assert_eq!(j.call(incr("a")), Ok(KvAnswer::Int(7)));
        assert_eq!(j.call(get("b")), Ok(KvAnswer::Value(None)));
        assert_eq!(j.end_call(), None);
    }

    #[test]
    fn a_replay_that_diverges_drops_the_rest_of_the_journal() {
        let mut j = KvJournal::default();
        for (op, answer) in [(incr("a"), 1), (incr("b"), 2)] {
            for (seen, _) in j.entries.clone() {
                j.call(seen).ok();
            }
            j.call(op.clone()).ok();
            assert_eq!(j.end_call(), Some(op.clone()));
            j.answer(op, Ok(KvAnswer::Int(answer)));
        }
        // This run asks for `c` where the journal has `b`: `b`'s entry goes, `c` is sent.
        assert_eq!(j.call(incr("a")), Ok(KvAnswer::Int(1)));
        assert_eq!(j.call(incr("c")), pending());
        assert_eq!(j.end_call(), Some(incr("c")));
        j.answer(incr("c"), Ok(KvAnswer::Int(3)));
        assert_eq!(j.call(incr("a")), Ok(KvAnswer::Int(1)));
        assert_eq!(j.call(incr("c")), Ok(KvAnswer::Int(3)));
        // `b` is no longer answered from the journal: asking for it again sends it again.
        assert_eq!(j.call(incr("b")), pending());
    }

    #[test]
    fn past_the_round_cap_a_new_call_fails_for_real() {
        let mut j = KvJournal::default();
        for n in 0..MAX_ROUNDS {
            for (seen, _) in j.entries.clone() {
                assert!(j.call(seen).is_ok());
            }
            let op = incr(&format!("k{n}"));
            assert_eq!(j.call(op.clone()), pending());
            assert_eq!(j.end_call(), Some(op.clone()));
            j.answer(op, Ok(KvAnswer::Int(1)));
        }
        for (seen, _) in j.entries.clone() {
            assert!(j.call(seen).is_ok());
        }
        let over = j.call(incr("one-more"));
        assert!(
            matches!(&over, Err(KvError::Backend(reason)) if reason.contains("more than")),
            "{over:?}"
        );
        assert_eq!(
            j.end_call(),
            None,
            "nothing more is sent: the result stands"
        );
    }

    #[test]
    fn a_failed_operation_is_answered_as_the_backend_error_it_was() {
        let mut j = KvJournal::default();
        j.call(get("a")).ok();
        let op = j.end_call().expect("sent");
        j.answer(op, Err(KvError::Backend("redis down".into())));
        assert_eq!(j.call(get("a")), Err(KvError::Backend("redis down".into())));
        assert_eq!(j.end_call(), None);
    }
}
