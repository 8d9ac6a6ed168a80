//! What a hook returns: go on, or answer the client directly.

/// What the gateway does after a hook returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Go on: the next middleware runs (or the request is forwarded), with the edits made.
    Continue,
    /// Stop and answer the client with this reply. From `on_request` the upstream is never
    /// contacted; from `on_response` the upstream's response and body are discarded.
    Respond(Reply),
}

impl Action {
    /// Whether this is [`Action::Continue`].
    pub fn is_continue(&self) -> bool {
        matches!(self, Action::Continue)
    }

    /// The reply, if this is [`Action::Respond`].
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Action::Continue => None,
            Action::Respond(reply) => Some(reply),
        }
    }
}

impl From<Reply> for Action {
    fn from(reply: Reply) -> Self {
        Action::Respond(reply)
    }
}

/// A complete response a plugin produces instead of the upstream's.
///
/// The builder does not check anything: the host validates the reply when the hook returns
/// (status in 200..=599, header names and values per RFC 9110, header count and bytes, body at
/// most 64 KiB by default) and fails the request with 500 if it is invalid. [`rules::check_reply`]
/// applies the same checks, and the native `testing` harness runs them on every reply.
///
/// [`rules::check_reply`]: crate::rules::check_reply
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Header fields in order; names are sent lower-case.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A reply with this status, no headers and an empty body.
    pub fn new(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Add a header field (after any existing ones of the same name).
    pub fn header(mut self, name: impl Into<String>, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name.into(), value.as_ref().to_vec()));
        self
    }

    /// Replace the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// First value of a header (case-insensitive name), for inspecting a reply in tests.
    pub fn get_header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}
