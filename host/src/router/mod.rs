//! Router: Traefik v3 rule syntax compiled into matchers, and the route table that picks the
//! route for a request.
//!
//! ```text
//! Host(`a.test`) && (PathPrefix(`/api`) || Header(`X-Api`, `1`)) && !ClientIP(`10.0.0.0/8`)
//! ```
//! Matchers: `Host`, `HostRegexp`, `Path`, `PathPrefix`, `PathRegexp`, `Method`, `Header`,
//! `HeaderRegexp`, `Query`, `QueryRegexp`, `ClientIP`, and wasmgate's `OriginalDst`,
//! `OriginalDstPort` (transparent entrypoints); combined with `!` > `&&` > `||` and
//! parentheses. Arguments are backquoted (raw) or double-quoted (Go escapes) strings.
//!
//! When things run: [`Rule::parse`] at config load (regexes compiled there, once);
//! [`RouteTable::new`] once per config; [`RouteTable::find`] and [`Rule::matches`] per request,
//! allocation-free, over a [`RequestFacts`] built once per request.
//!
//! Semantics follow Traefik v3, with these choices written down:
//! - `Host` compares case-insensitively and ignores one trailing dot; brackets around an IPv6
//!   literal in the rule are dropped (request hosts come without them).
//! - `HostRegexp` is matched case-insensitively (Traefik lowercases the host; same outcome for
//!   lowercase patterns, and an uppercase pattern is not silently dead). Regexes are unanchored,
//!   as in Go: write `^...$` for a full match.
//! - `Path`, `PathPrefix` and `PathRegexp` see the request path after [`path::normalize`]
//!   (escapes of unreserved characters decoded, other escapes upper-cased, dot segments removed,
//!   slashes merged), and `Path`/`PathPrefix` literals are put in the same form at parse time
//!   ([`path::canonical_rule_path`]), so `/%61dmin`, `/api/../admin` and `/admin` are one path.
//! - `PathPrefix` is a plain string prefix: `/api` matches `/api`, `/api/x` and `/apix`.
//! - `Method` uppercases its argument; the request method is compared exactly.
//! - `Header` compares each value of the header exactly; names are case-insensitive.
//! - `Query(`k`)` matches when `k` is present, with any value (Traefik v3's code compares the
//!   one-argument form with the empty value, so there it only matches `?k` / `?k=`; "present"
//!   is the documented intent and what users expect). `Query(`k`, `v`)` matches when one of
//!   `k`'s values is `v`. Keys and values are compared after `+`/`%XX` decoding, pairs are read
//!   as Go's `url.ParseQuery` does.
//! - `ClientIP` looks at the connection's peer address; IPv4-mapped IPv6 counts as IPv4.
//! - `OriginalDst(`ip:port`)` / `OriginalDstPort(`port`)` look at where the connection was
//!   going before iptables redirected it to a `transparent` entrypoint; never true elsewhere.
//! - Matcher names are accepted in Traefik's four spellings (`PathPrefix`, `pathprefix`,
//!   `PATHPREFIX`, `Pathprefix`). Empty arguments are errors, as in Traefik.

mod compile;
mod error;
mod expr;
mod facts;
mod hosts;
mod lexer;
mod matcher;
mod parser;
pub mod path;
mod query;
mod table;

#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod rule_tests;

pub(crate) use compile::{Arg, client_net, original_dst, original_dst_port, regex};
pub use error::RuleError;
pub(crate) use expr::Expr;
pub(crate) use parser::{Grammar, parse_with};

/// Whether `name` is an HTTP router matcher (in one of Traefik's spellings); TCP rules use it
/// to say why `Host` and its kind are refused there.
pub(crate) fn is_http_matcher(name: &str) -> bool {
    compile::MatcherKind::lookup(name).is_some()
}
pub use facts::RequestFacts;
pub use parser::{MAX_DEPTH, MAX_RULE_LEN};
pub use table::{Route, RouteTable};

/// A compiled routing rule. Cheap to evaluate, `Send + Sync`, cloned with the config snapshot.
#[derive(Debug, Clone)]
pub struct Rule {
    text: Box<str>,
    expr: expr::Expr,
}

impl Rule {
    /// Parses and compiles `text`. Runs at config load; costs a pass over the text plus the
    /// compilation of its regexes. Never panics; rejects rules longer than [`MAX_RULE_LEN`]
    /// bytes or nesting `(`/`!` deeper than [`MAX_DEPTH`].
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        let expr = parser::parse(text)?;
        Ok(Rule {
            text: text.into(),
            expr,
        })
    }

    /// Whether the request matches. Runs per request (per route tried); allocates nothing.
    pub fn matches(&self, facts: &RequestFacts<'_>) -> bool {
        self.expr.eval(facts)
    }

    /// Traefik's default priority: the length of the rule text in bytes, so more specific
    /// (longer) rules are tried first.
    pub fn default_priority(&self) -> i64 {
        i64::try_from(self.text.len()).unwrap_or(i64::MAX)
    }

    /// The rule as written in config.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Rule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Rule, RuleError> {
        Rule::parse(text)
    }
}
