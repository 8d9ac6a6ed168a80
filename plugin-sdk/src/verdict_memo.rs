//! An `on_request` verdict declared a function of one request header (the `verdict-memo`
//! export): when `on_request`'s `continue` (and the edits it makes) depend on that header's
//! value alone, return it from [`Middleware::verdict_memo`](crate::Middleware::verdict_memo)
//! and the gateway calls the hook once per value and `ttl_ms`: later requests carrying the same
//! value get the recorded edits (request headers set, appended or removed, and
//! [`identity::set_user`](crate::identity::set_user)) applied natively, with no instance and no
//! hook call. Requests without the header, refusals, and calls that did anything else (see
//! [`Middleware::verdict_memo`](crate::Middleware::verdict_memo)) go to the hook every time.
//!
//! The gateway keys its memo by a keyed 128-bit digest of the value (the value is not kept: it
//! is usually a credential), bounded by `max_entries` (at most 4096), and drops it with the
//! middleware (a config reload starts an empty one).
//!
//! ```
//! use plugin_sdk::verdict_memo::VerdictMemo;
//!
//! let memo = VerdictMemo { header: "authorization".into(), ttl_ms: 60_000, max_entries: 64 };
//! assert_eq!(memo.ttl_ms, 60_000);
//! ```

/// The header the verdict depends on, how long a verdict holds and how many are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictMemo {
    /// The request header (any case) whose first value decides `on_request`'s verdict.
    pub header: String,
    /// How long the gateway may replay a verdict, in milliseconds (0: never).
    pub ttl_ms: u64,
    /// At most this many header values remembered at once (the gateway caps it at 4096).
    pub max_entries: u32,
}
