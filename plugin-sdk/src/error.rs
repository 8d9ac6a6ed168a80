//! Why the host refused an edit.

use std::fmt;

/// Why the host (or, natively, the test double) refused an edit of a request or response head.
///
/// A refused edit changes nothing: if the plugin ignores the error, the request goes on with the
/// head as it was before the refused edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// The header name is not a valid HTTP field name (RFC 9110 token).
    InvalidHeaderName,
    /// The header value contains NUL, CR, LF, another control byte or DEL.
    InvalidHeaderValue,
    /// The edit would exceed the middleware's output budget (header count or size, state size).
    LimitExceeded,
    /// A path, query or status that is not well formed; the string says why.
    Invalid(String),
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::InvalidHeaderName => f.write_str("invalid header name"),
            EditError::InvalidHeaderValue => f.write_str("invalid header value"),
            EditError::LimitExceeded => f.write_str("output budget exceeded"),
            EditError::Invalid(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for EditError {}
