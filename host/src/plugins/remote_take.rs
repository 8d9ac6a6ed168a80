//! Takes on a Redis-backed bucket, as a request records and replays them ("take, then
//! replay"): the hook's `take` never waits for Redis.
//!
//! When it runs: inside an `on-request` call of a middleware whose `counters` are backed by
//! Redis. The first time the hook takes from a key, [`RemoteTakes::take`] records the take and
//! answers `allowed` provisionally. When the hook returns, `plugins::Chain` stops with
//! `RequestOutcome::Takes`, and the proxy awaits [`TakeBatch::run`] on the request's task (no
//! thread, no plugin instance held). If Redis allowed every take, the hook's own result stands
//! (it acted on the true answers); a take allowed to wait (`maxDelay`) that Redis reserved ahead
//! counts as allowed, and the request waits for its token after its request hooks, as with the
//! in-process backend. If one was denied, the chain undoes the hook's head edits and
//! calls the hook again: this time `take` answers from [`RemoteTakes`] what Redis said, so the
//! plugin builds its refusal as it would have. Each take reaches Redis exactly once.
//!
//! Cost: nothing for middlewares on the in-process backend; for Redis ones, one small vector
//! on the request head, and a second hook call only on a refusal.

use std::sync::Arc;

use super::counters::Reservation;
use super::redis_counters::{RedisCounters, RedisTakeError};
use super::redis_kv::{KvAnswered, KvCall};

/// Rounds of take-then-replay a request may go through before it fails (a plugin whose replay
/// takes from new keys each time).
pub const MAX_ROUNDS: u8 = 4;

/// One `take` call's arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct TakeRequest {
    pub key: Box<str>,
    pub cost: u32,
    pub rate: f64,
    pub burst: u32,
    /// The longest wait for a token reserved ahead (Traefik's `maxDelay`; 0: none).
    pub max_wait_ns: u64,
}

/// The Redis takes of the current middleware of one request.
#[derive(Debug, Default)]
pub struct RemoteTakes {
    /// Recorded in this hook call, not yet sent.
    pending: Vec<TakeRequest>,
    /// What Redis answered, with whether this hook call already used the answer.
    answered: Vec<(TakeRequest, Reservation, bool)>,
    /// Rounds sent so far.
    pub(crate) rounds: u8,
}

impl RemoteTakes {
    /// The answer to `take`: Redis' answer to the same take of an earlier round (a token
    /// reserved ahead: the wait the caller puts on the request), else a provisional `Now` with
    /// the take recorded.
    pub fn take(
        &mut self,
        key: &str,
        cost: u32,
        rate: f64,
        burst: u32,
        max_wait_ns: u64,
    ) -> Reservation {
        if let Some((_, take, used)) = self
            .answered
            .iter_mut()
            .find(|(r, _, used)| !*used && *r.key == *key && r.cost == cost)
        {
            *used = true;
            return *take;
        }
        self.pending.push(TakeRequest {
            key: key.into(),
            cost,
            rate,
            burst,
            max_wait_ns,
        });
        Reservation::Now
    }

    /// Whether the hook call that just returned recorded takes.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The recorded takes, to send.
    pub(crate) fn take_pending(&mut self) -> Vec<TakeRequest> {
        std::mem::take(&mut self.pending)
    }

    /// Records Redis' answers; `Some(wait)` when all of them took (the hook's result stands,
    /// and the request waits for its furthest reserved token, 0 when none), `None` when one was
    /// refused. Every answer is marked unused for a replay.
    pub(crate) fn answer(
        &mut self,
        takes: Vec<TakeRequest>,
        answers: Vec<Reservation>,
    ) -> Option<u64> {
        let all_taken = answers.iter().try_fold(0u64, |wait, a| match a {
            Reservation::Now => Some(wait),
            Reservation::After(w) => Some(wait.max(*w)),
            Reservation::Denied(_) => None,
        });
        for entry in &mut self.answered {
            entry.2 = false;
        }
        self.answered
            .extend(takes.into_iter().zip(answers).map(|(r, a)| (r, a, false)));
        all_taken
    }

    /// Forgets the takes of a hook call that will not be replayed (it failed).
    pub(crate) fn discard_pending(&mut self) {
        self.pending.clear();
    }
}

/// What one `on-request` call left for Redis, sent together after it returned: its takes
/// (with the buckets' backend; none when it took nothing) and the `kv` operation it left
/// pending (`kv_journal`).
pub struct TakeBatch {
    pub(crate) counters: Option<Arc<RedisCounters>>,
    pub(crate) takes: Vec<TakeRequest>,
    pub(crate) kv: Option<KvCall>,
}

/// Redis' answers to a [`TakeBatch`], in its order, with the takes they answer.
pub struct TakeAnswers {
    pub(crate) takes: Vec<TakeRequest>,
    pub(crate) result: Result<Vec<Reservation>, RedisTakeError>,
    /// Whether a failure fails the request (`denyOnError`) or lets every take through.
    pub(crate) deny_on_error: bool,
    /// The `kv` operation and its answer (a failure is the plugin's `backend` error).
    pub(crate) kv: Option<KvAnswered>,
}

impl TakeBatch {
    /// Sends the takes one after the other on the request's task (a hook takes one or two),
    /// then the `kv` operation.
    pub async fn run(self) -> TakeAnswers {
        let mut answers = Vec::with_capacity(self.takes.len());
        let mut result = Ok(());
        if let Some(counters) = &self.counters {
            for t in &self.takes {
                let take = counters.take(&t.key, t.cost, t.rate, t.burst, t.max_wait_ns);
                match take.await {
                    Ok(take) => answers.push(take),
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        let kv = match self.kv {
            Some(call) => Some(call.run().await),
            None => None,
        };
        TakeAnswers {
            deny_on_error: self.counters.as_ref().is_some_and(|c| c.deny_on_error()),
            takes: self.takes,
            result: result.map(|()| answers),
            kv,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_take_is_recorded_and_a_replay_gets_the_answer() {
        let mut takes = RemoteTakes::default();
        assert_eq!(takes.take("a", 1, 10.0, 5, 0), Reservation::Now);
        assert!(takes.has_pending());
        let sent = std::mem::take(&mut takes.pending);
        assert_eq!(takes.answer(sent, vec![Reservation::Denied(7)]), None);
        assert!(!takes.has_pending());
        // The replay sees Redis' answer, once; a second take of the key is a new one.
        assert_eq!(takes.take("a", 1, 10.0, 5, 0), Reservation::Denied(7));
        assert_eq!(takes.take("a", 1, 10.0, 5, 0), Reservation::Now);
        assert!(takes.has_pending());
    }

    #[test]
    fn reserved_tokens_make_the_request_wait_for_the_furthest_one() {
        let mut takes = RemoteTakes::default();
        takes.take("a", 1, 10.0, 5, 50);
        takes.take("b", 1, 10.0, 5, 50);
        let sent = std::mem::take(&mut takes.pending);
        let answers = vec![Reservation::After(30), Reservation::Now];
        assert_eq!(takes.answer(sent, answers), Some(30));
        // A replay of a reserved take gets the reservation (its caller waits for it).
        assert_eq!(takes.take("a", 1, 10.0, 5, 50), Reservation::After(30));
    }
}
