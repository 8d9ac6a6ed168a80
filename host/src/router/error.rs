//! Why a rule failed to parse.
//!
//! Every variant carries the byte offset into the rule text of the token it is about, so a
//! config error can point at the exact spot (`routers.api.rule: unknown matcher "Hots" at
//! offset 0 ...`). Produced only at config load time; never on the request path.

/// The matcher names the parser knows, in the order error messages list them.
pub(crate) const MATCHER_NAMES: &str = "Host, HostRegexp, Path, PathPrefix, PathRegexp, Method, \
     Header, HeaderRegexp, Query, QueryRegexp, ClientIP, OriginalDst, OriginalDstPort";

/// A rule that does not parse or does not compile. `Display` is a human reason with position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The rule text is empty or only whitespace.
    #[error("empty rule")]
    Empty,

    /// The rule text is longer than [`MAX_RULE_LEN`](super::MAX_RULE_LEN).
    #[error("rule is {len} bytes long, more than the limit of {limit} bytes")]
    TooLong { len: usize, limit: usize },

    /// A character that cannot start any token (`&` alone, `$`, `;`, ...).
    #[error("unexpected character {found:?} at offset {offset}")]
    UnexpectedChar { found: char, offset: usize },

    /// A quoted argument whose closing quote never comes.
    #[error("unterminated string starting at offset {offset}")]
    UnterminatedString { offset: usize },

    /// A `\` escape in a double-quoted string that Go string syntax does not allow.
    #[error("invalid escape {escape:?} in string at offset {offset}")]
    BadEscape { escape: String, offset: usize },

    /// A double-quoted string whose escapes decode to bytes that are not UTF-8.
    #[error("string at offset {offset} is not valid UTF-8 once unescaped")]
    InvalidUtf8 { offset: usize },

    /// A token where the grammar wants something else (`Host(`a`) Path(`/`)`, `&& Host(...)`).
    #[error("unexpected {found} at offset {offset}, expected {expected}")]
    UnexpectedToken {
        found: String,
        expected: &'static str,
        offset: usize,
    },

    /// The rule stops in the middle (`Host(`a`) &&`).
    #[error("unexpected end of rule at offset {offset}, expected {expected}")]
    UnexpectedEnd {
        expected: &'static str,
        offset: usize,
    },

    /// A `(` that is never closed.
    #[error("unbalanced parentheses: '(' at offset {offset} is never closed")]
    UnclosedParen { offset: usize },

    /// A `)` with no `(` to close.
    #[error("unbalanced parentheses: ')' at offset {offset} has no matching '('")]
    UnmatchedParen { offset: usize },

    /// Input left over after a complete rule (`Host(`a`) Path(`/`)`).
    #[error(
        "unexpected {found} at offset {offset} after a complete rule (expected '&&', '||' or the end)"
    )]
    TrailingInput { found: String, offset: usize },

    /// Parentheses and `!` nest deeper than [`MAX_DEPTH`](super::MAX_DEPTH).
    #[error("rule nests deeper than {limit} levels at offset {offset}")]
    TooDeep { limit: usize, offset: usize },

    /// A name that is not a matcher (`Hots`).
    #[error("unknown matcher {name:?} at offset {offset} (expected one of {MATCHER_NAMES})")]
    UnknownMatcher { name: String, offset: usize },

    /// A matcher called with the wrong number of arguments.
    #[error("{matcher} at offset {offset} takes {expected}, got {got}")]
    ArgumentCount {
        matcher: &'static str,
        expected: &'static str,
        got: usize,
        offset: usize,
    },

    /// An empty argument (``Host(``)``), which Traefik rejects too.
    #[error("empty argument to {matcher} at offset {offset}")]
    EmptyArgument {
        matcher: &'static str,
        offset: usize,
    },

    /// A regular expression that does not compile (or compiles too large).
    #[error("invalid regular expression {pattern:?} for {matcher} at offset {offset}: {reason}")]
    BadRegex {
        matcher: &'static str,
        pattern: String,
        reason: String,
        offset: usize,
    },

    /// A `ClientIP` argument that is neither an IP address nor a CIDR range.
    #[error("invalid IP address or CIDR {value:?} for ClientIP at offset {offset}")]
    BadClientIp { value: String, offset: usize },

    /// A `Path` / `PathPrefix` argument that does not start with `/`.
    #[error("path {value:?} for {matcher} at offset {offset} does not start with '/'")]
    PathWithoutSlash {
        matcher: &'static str,
        value: String,
        offset: usize,
    },

    /// A `Header` / `HeaderRegexp` name that is not a valid HTTP header name.
    #[error("invalid header name {value:?} for {matcher} at offset {offset}")]
    BadHeaderName {
        matcher: &'static str,
        value: String,
        offset: usize,
    },

    /// A `Method` argument that is not a valid HTTP method token.
    #[error("invalid HTTP method {value:?} at offset {offset}")]
    BadMethod { value: String, offset: usize },

    /// A `Host` / `HostRegexp` argument with non-ASCII characters (use the punycode form).
    #[error(
        "host {value:?} for {matcher} at offset {offset} has non-ASCII characters (use punycode)"
    )]
    NonAsciiHost {
        matcher: &'static str,
        value: String,
        offset: usize,
    },

    /// A name that is not a TCP matcher in a TCP router's rule (an HTTP matcher such as `Host`
    /// included: a TCP connection has no HTTP request to match).
    #[error("{}", unknown_tcp_matcher(name, *offset, *http_matcher))]
    UnknownTcpMatcher {
        name: String,
        offset: usize,
        /// The name is an HTTP router matcher.
        http_matcher: bool,
    },

    /// A matcher argument that cannot be used (`HostSNI` with an invalid name, `ALPN` naming
    /// `acme-tls/1`, an `OriginalDst` that is not `ip:port`).
    #[error("invalid value {value:?} for {matcher} at offset {offset}: {reason}")]
    BadArgument {
        matcher: &'static str,
        value: String,
        reason: &'static str,
        offset: usize,
    },
}

/// The TCP router matchers, in the order error messages list them.
pub(crate) const TCP_MATCHER_NAMES: &str =
    "HostSNI, HostSNIRegexp, ClientIP, ALPN, OriginalDst, OriginalDstPort";

fn unknown_tcp_matcher(name: &str, offset: usize, http_matcher: bool) -> String {
    if http_matcher {
        format!(
            "{name} at offset {offset} is an HTTP matcher; a TCP router matches with \
             {TCP_MATCHER_NAMES}"
        )
    } else {
        format!("unknown matcher {name:?} at offset {offset} (expected one of {TCP_MATCHER_NAMES})")
    }
}
