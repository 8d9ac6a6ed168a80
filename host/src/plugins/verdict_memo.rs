//! A middleware's declared verdict memo (`verdict-memo` in the contract): its `on-request`
//! promised that a `continue`, and the edits made with it, depend on one request header's value
//! alone (Traefik's `basicAuth` and its `Authorization`). The chain remembers, per value, what
//! such a call did, and replays it for later requests carrying the same value without calling
//! the hook.
//!
//! - Keys: a keyed 128-bit digest of the value (SipHash-2-4 under two independent keys,
//!   `plugin_contract::siphash`, with a 256-bit key drawn from the OS per middleware), never the
//!   value: the header is usually a credential, and the memo keeps none. A lookup compares two
//!   fixed-size digests without an early exit, so its time says nothing about how much of a
//!   valid credential a guess matched (and without the key nobody can aim a value at a digest).
//! - What is remembered: the request-header edits (`set-header`, `append-header`,
//!   `remove-header`) and `identity.set-user` of an `on-request` call that answered `continue`
//!   (recorded as the host calls run, `memo_record`, carried by the request head during the
//!   call). A call that made any other call that matters (see `MemoRecord::spoil`'s callers:
//!   path, query or state edits, log lines and guest output, a refused edit, `counters`, `kv`,
//!   `outbound-http`, `body`, `compression`, `grpc-web`), that answered `respond`, or that
//!   failed, is not remembered.
//! - Bounds: `max-entries` slots (the host caps it at [`MAX_ENTRIES`]), direct-mapped by the
//!   digest: a value whose slot holds another one replaces it (eviction, simply); an entry
//!   older than `ttl-ms` is a miss and is replaced by the next call's record. The memo is the
//!   middleware's: a config reload builds a new middleware, and an empty memo.
//! - Concurrency: lock-free. Each slot is an `ArcSwapOption` of an immutable entry: a lookup is
//!   one atomic load (arc-swap's thread-local fast path: no reference-count traffic, no lock,
//!   no write to a shared line), an insert one atomic swap. Chosen over per-worker-thread memos
//!   (which would be dropped late, outliving a reload's middleware in thread-locals, and would
//!   each call the guest once per value) and over a mutex-guarded map (a shared lock on every
//!   request of every worker).
//!
//! When it runs: per request, at the middleware's place in the chain, only for a middleware
//! that declared a memo and whose hook the chain would call (no `on-complete`, no `body` grant,
//! no Redis-backed `counters` or `kv`). Cost: one header lookup, one 128-bit SipHash of its
//! value, one clock read and the replayed edits (≈ 0.1 µs), instead of an instance checkout, a
//! hook call, its host calls and the post-return (≈ 1.1 µs for `basic-auth`).

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use http::HeaderMap;
use http::header::HeaderName;
use plugin_contract::siphash::Key;

use super::bindings::verdict_memo::MemoSpec;
use super::edit_list::{Edit, apply};
use super::head_edits::header_name;
use super::host_state::monotonic_nanos;
use super::memo_record::MemoRecord;

/// The most values one middleware's memo holds, whatever it declared.
pub const MAX_ENTRIES: usize = 4096;

/// A keyed digest of a header value.
pub type Digest = [u8; 16];

/// A checked memo declaration and its slots. Config time; shared by the requests.
pub struct VerdictMemo {
    /// The header whose first value keys the memo.
    header: HeaderName,
    ttl_ns: u64,
    key: Key,
    slots: Box<[ArcSwapOption<Entry>]>,
}

impl std::fmt::Debug for VerdictMemo {
    /// Without the key or the digests.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerdictMemo")
            .field("header", &self.header)
            .field("ttl_ns", &self.ttl_ns)
            .field("slots", &self.slots.len())
            .finish_non_exhaustive()
    }
}

/// What a remembered call did, and until when it may be replayed.
struct Entry {
    digest: Digest,
    expires_ns: u64,
    /// The request-header edits, in call order.
    edits: Box<[Edit]>,
    /// How many of `edits` may add a header (sets and appends): the budget check of a replay.
    grows: usize,
    /// The user named (`identity.set-user`), if the call named one.
    user: Option<Arc<str>>,
}

/// What the chain does at a memo middleware.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The request carries no such header: call the hook, remember nothing.
    Absent,
    /// A live entry's effects were applied: go on as if the hook had continued.
    Replayed,
    /// No live entry: call the hook recording its effects, then
    /// [`VerdictMemo::remember`] them under this digest.
    Miss(Digest),
}

impl VerdictMemo {
    /// Checks a declared spec: `None` when it can remember nothing (a 0 ttl or size); an
    /// invalid header name is an error (a load error naming the middleware).
    pub fn check(spec: MemoSpec) -> Result<Option<VerdictMemo>, String> {
        let header = header_name(&spec.header)
            .map_err(|_| format!("header {:?} is not a valid header name", spec.header))?;
        let size = usize::try_from(spec.max_entries)
            .unwrap_or(MAX_ENTRIES)
            .min(MAX_ENTRIES);
        if spec.ttl_ms == 0 || size == 0 {
            return Ok(None);
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| format!("no random numbers for the memo's digest key: {e}"))?;
        Ok(Some(VerdictMemo {
            header,
            ttl_ns: spec.ttl_ms.saturating_mul(1_000_000),
            key: Key::new(key),
            slots: (0..size).map(|_| ArcSwapOption::empty()).collect(),
        }))
    }

    /// The header the memo is keyed by.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    fn slot(&self, digest: &Digest) -> &ArcSwapOption<Entry> {
        let mut low = [0u8; 8];
        low.copy_from_slice(&digest[..8]);
        let index = u64::from_le_bytes(low) % self.slots.len() as u64;
        // In range: the remainder of a division by the length.
        &self.slots[usize::try_from(index).unwrap_or(0)]
    }

    /// Per request (the native step, `chain_fixed::native_request_step`, on either path):
    /// replays a live entry for the request's header value onto its `headers` (the entry's
    /// header edits, within `max_headers`) and `user`, or says why not. An entry whose edits
    /// could take the head past `max_headers` is not used (the hook decides, as it would have).
    pub fn replay_on(
        &self,
        headers: &mut HeaderMap,
        user: &mut Option<Arc<str>>,
        max_headers: usize,
    ) -> Lookup {
        let Some(value) = headers.get(&self.header) else {
            return Lookup::Absent;
        };
        let digest = self.key.digest(value.as_bytes());
        self.replay_digest(digest, headers, user, max_headers, monotonic_nanos())
    }

    fn replay_digest(
        &self,
        digest: Digest,
        headers: &mut HeaderMap,
        user: &mut Option<Arc<str>>,
        max_headers: usize,
        now_ns: u64,
    ) -> Lookup {
        let guard = self.slot(&digest).load();
        let Some(entry) = guard.as_deref() else {
            return Lookup::Miss(digest);
        };
        let live = same_digest(&entry.digest, &digest) && now_ns < entry.expires_ns;
        let fits = headers.len().saturating_add(entry.grows) <= max_headers;
        if !(live && fits) {
            return Lookup::Miss(digest);
        }
        apply(&entry.edits, headers, max_headers);
        if let Some(named) = &entry.user {
            *user = Some(named.clone());
        }
        Lookup::Replayed
    }

    /// After a missed request's `on-request` answered `continue`: remembers what it did, unless
    /// it did something not replayable.
    pub fn remember(&self, digest: Digest, record: MemoRecord) {
        self.remember_at(digest, record, monotonic_nanos());
    }

    fn remember_at(&self, digest: Digest, record: MemoRecord, now_ns: u64) {
        if record.spoiled() {
            return;
        }
        let (edits, user) = record.into_effects();
        let grows = edits
            .iter()
            .filter(|e| !matches!(e, Edit::Remove(_)))
            .count();
        let entry = Entry {
            digest,
            expires_ns: now_ns.saturating_add(self.ttl_ns),
            edits: edits.into_boxed_slice(),
            grows,
            user,
        };
        self.slot(&digest).store(Some(Arc::new(entry)));
    }
}

/// Whether two digests are equal, comparing every byte (no early exit).
fn same_digest(a: &Digest, b: &Digest) -> bool {
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use http::header::HeaderValue;

    use super::*;
    use crate::plugins::bindings::EditError;
    use crate::plugins::head_edits::HeaderEdits;
    use crate::plugins::heads::RequestHead;

    /// What the native step replays onto `head`.
    fn replay(memo: &VerdictMemo, head: &mut RequestHead, max_headers: usize) -> Lookup {
        let fields = &mut **head;
        memo.replay_on(&mut fields.parts.headers, &mut fields.user, max_headers)
    }

    const TTL_MS: u64 = 1_000;

    fn memo(max_entries: u32) -> VerdictMemo {
        let spec = MemoSpec {
            header: "Authorization".into(),
            ttl_ms: TTL_MS,
            max_entries,
        };
        VerdictMemo::check(spec).expect("valid").expect("on")
    }

    fn head(auth: Option<&str>) -> RequestHead {
        let mut builder = http::Request::builder().uri("/");
        if let Some(auth) = auth {
            builder = builder.header("authorization", auth);
        }
        let (parts, ()) = builder.body(()).expect("request").into_parts();
        RequestHead::at(parts, SocketAddr::from(([127, 0, 0, 1], 1)))
    }

    /// What `basic-auth` does on valid credentials, recorded as the host calls would.
    fn basic_auth_call(head: &mut RequestHead) -> MemoRecord {
        let mut record = MemoRecord::default();
        record.set_user("alice");
        let headers = &mut head.parts.headers;
        let set = HeaderEdits::set_recorded(
            headers,
            usize::MAX,
            "x-webauth-user",
            b"alice".to_vec(),
            &mut record,
        );
        assert!(set.is_ok());
        HeaderEdits::remove_recorded(headers, "authorization", &mut record);
        record
    }

    fn digest_of(memo: &VerdictMemo, head: &mut RequestHead) -> Digest {
        match replay(memo, head, usize::MAX) {
            Lookup::Miss(digest) => digest,
            other => panic!("expected a miss, got {other:?}"),
        }
    }

    #[test]
    fn a_remembered_verdict_is_replayed_for_the_same_value_only() {
        let memo = memo(16);
        let mut first = head(Some("Basic YWxpY2U6cHc="));
        let digest = digest_of(&memo, &mut first);
        let record = basic_auth_call(&mut first);
        memo.remember(digest, record);

        let mut again = head(Some("Basic YWxpY2U6cHc="));
        again
            .parts
            .headers
            .insert("x-webauth-user", HeaderValue::from_static("mallory"));
        assert_eq!(replay(&memo, &mut again, usize::MAX), Lookup::Replayed);
        let users: Vec<_> = again
            .parts
            .headers
            .get_all("x-webauth-user")
            .iter()
            .collect();
        assert_eq!(
            users,
            ["alice"],
            "the recorded set replaces a client's value"
        );
        assert!(
            again.parts.headers.get("authorization").is_none(),
            "removed"
        );
        assert_eq!(again.user.as_deref(), Some("alice"));

        let mut other = head(Some("Basic YWxpY2U6cHX="));
        assert!(matches!(
            replay(&memo, &mut other, usize::MAX),
            Lookup::Miss(_)
        ));
        assert!(other.parts.headers.get("authorization").is_some());
        assert_eq!(replay(&memo, &mut head(None), usize::MAX), Lookup::Absent);
    }

    #[test]
    fn an_expired_verdict_is_a_miss() {
        let memo = memo(16);
        let mut first = head(Some("Basic YWxpY2U6cHc="));
        let digest = digest_of(&memo, &mut first);
        memo.remember_at(digest, basic_auth_call(&mut first), 5);
        let ttl_ns = TTL_MS * 1_000_000;
        let mut live = head(Some("Basic YWxpY2U6cHc="));
        let live = &mut *live;
        let at = |ns| {
            let mut h = head(Some("x"));
            let h = &mut *h;
            memo.replay_digest(digest, &mut h.parts.headers, &mut h.user, usize::MAX, ns)
        };
        assert_eq!(
            memo.replay_digest(
                digest,
                &mut live.parts.headers,
                &mut live.user,
                usize::MAX,
                5 + ttl_ns - 1
            ),
            Lookup::Replayed
        );
        assert_eq!(at(5 + ttl_ns), Lookup::Miss(digest));
        assert_eq!(at(u64::MAX), Lookup::Miss(digest));
    }

    #[test]
    fn the_memo_holds_at_most_max_entries_capped_by_the_host() {
        assert_eq!(memo(3).slots.len(), 3);
        assert_eq!(memo(u32::MAX).slots.len(), MAX_ENTRIES);
        let off = |ttl_ms, max_entries| {
            let spec = MemoSpec {
                header: "authorization".into(),
                ttl_ms,
                max_entries,
            };
            VerdictMemo::check(spec).expect("valid").is_none()
        };
        assert!(off(0, 16) && off(1000, 0));
        // One slot: a second value replaces the first (eviction), never a third entry.
        let memo = memo(1);
        let mut a = head(Some("Basic YQ=="));
        let da = digest_of(&memo, &mut a);
        memo.remember(da, basic_auth_call(&mut a));
        let mut b = head(Some("Basic Yg=="));
        let db = digest_of(&memo, &mut b);
        memo.remember(db, basic_auth_call(&mut b));
        assert_eq!(
            replay(&memo, &mut head(Some("Basic Yg==")), usize::MAX),
            Lookup::Replayed
        );
        assert!(matches!(
            replay(&memo, &mut head(Some("Basic YQ==")), usize::MAX),
            Lookup::Miss(_)
        ));
    }

    #[test]
    fn a_call_that_made_an_unrecorded_or_refused_call_is_not_remembered() {
        let memo = memo(16);
        let mut req = head(Some("Basic YWxpY2U6cHc="));
        let digest = digest_of(&memo, &mut req);
        let mut record = basic_auth_call(&mut req);
        // As `counters.take`, `set-state` or a log line do (`HostState::not_memoizable`).
        record.spoil();
        memo.remember(digest, record);
        assert!(matches!(
            replay(&memo, &mut head(Some("Basic YWxpY2U6cHc=")), usize::MAX),
            Lookup::Miss(_)
        ));

        let mut refused = MemoRecord::default();
        let headers = &mut req.parts.headers;
        let bad =
            HeaderEdits::set_recorded(headers, usize::MAX, "bad name", b"v".to_vec(), &mut refused);
        assert!(matches!(bad, Err(EditError::InvalidHeaderName)));
        assert!(refused.spoiled());
        let mut full = MemoRecord::default();
        let over = HeaderEdits::append_recorded(headers, 0, "x-a", b"1".to_vec(), &mut full);
        assert!(matches!(over, Err(EditError::LimitExceeded)));
        assert!(full.spoiled());
    }

    #[test]
    fn a_replay_that_would_pass_the_header_budget_is_a_miss() {
        let memo = memo(16);
        let mut req = head(Some("Basic YWxpY2U6cHc="));
        let digest = digest_of(&memo, &mut req);
        memo.remember(digest, basic_auth_call(&mut req));
        let mut tight = head(Some("Basic YWxpY2U6cHc="));
        // One header now, one set to replay: 2 > 1.
        assert!(matches!(replay(&memo, &mut tight, 1), Lookup::Miss(_)));
        assert!(
            tight.parts.headers.get("authorization").is_some(),
            "untouched"
        );
        assert_eq!(replay(&memo, &mut tight, 2), Lookup::Replayed);
    }

    #[test]
    fn an_invalid_memo_header_is_refused() {
        let spec = MemoSpec {
            header: "bad name".into(),
            ttl_ms: 1,
            max_entries: 1,
        };
        let err = VerdictMemo::check(spec).expect_err("a space in a name");
        assert!(err.contains("\"bad name\""), "{err}");
    }
}
