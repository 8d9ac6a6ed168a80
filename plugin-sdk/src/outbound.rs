//! The `outbound-http` capability: ask the gateway to send a request (a *subrequest*) to an
//! allow-listed address or service, e.g. an authentication server, and receive its answer in
//! [`Middleware::on_request_subresponse`](crate::Middleware::on_request_subresponse) (or
//! [`on_response_subresponse`](crate::Middleware::on_response_subresponse) when sent from a
//! response hook).
//!
//! [`send`] only records the subrequest; return [`Action::Continue`](crate::Action::Continue)
//! from the hook and the gateway sends it without holding a thread or this instance, then calls
//! the subresponse hook, possibly on another instance: keep what it needs in the request's
//! state ([`Request::set_state`]). Returning a reply instead drops the recorded subrequest.
//!
//! A plugin that calls [`send`] imports `outbound-http`, and the gateway loads it only for a
//! middleware whose config grants it:
//!
//! ```yaml
//! plugin:
//!   name: my-auth
//!   capabilities: [outbound-http]
//!   outboundHttp:
//!     allow: ["http://auth.internal:9000"]
//!     services: [auth]
//!     timeout: 2s
//! ```
//!
//! ```
//! use plugin_sdk::outbound::{self, Subrequest, Subresponse, SubrequestFailure};
//! use plugin_sdk::{Action, Middleware, Reply, Request};
//!
//! struct AskFirst;
//! impl Middleware for AskFirst {
//!     fn from_config(_: &str) -> Result<Self, String> { Ok(AskFirst) }
//!     fn on_request(&self, req: &mut Request<'_>) -> Action {
//!         let ask = Subrequest::get("http://auth.internal:9000/check").header("x-path", req.path());
//!         match outbound::send(req, ask) {
//!             Ok(()) => Action::Continue,
//!             Err(e) => Action::Respond(Reply::new(500).body(format!("{e:?}"))),
//!         }
//!     }
//!     fn on_request_subresponse(
//!         &self,
//!         _req: &mut Request<'_>,
//!         answer: Result<Subresponse, SubrequestFailure>,
//!     ) -> Action {
//!         match answer {
//!             Ok(r) if r.status == 200 => Action::Continue,
//!             _ => Action::Respond(Reply::new(403)),
//!         }
//!     }
//! }
//!
//! # use plugin_sdk::testing::{self, TestRequest};
//! let mw = testing::instance::<AskFirst>("{}").unwrap();
//! let mut req = TestRequest::get("/x");
//! assert!(testing::on_request(&mw, &mut req).is_continue());
//! assert_eq!(req.subrequest.as_ref().map(|s| s.method.as_str()), Some("GET"));
//! let answer = Ok(Subresponse { status: 401, headers: vec![], body: vec![], body_truncated: false });
//! assert_eq!(testing::on_request_subresponse(&mw, &mut req, answer).reply().map(|r| r.status), Some(403));
//! ```

use crate::Request;

/// Where a subrequest goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An absolute `http://` or `https://` URL whose origin is on the allow-list.
    Url(String),
    /// A service of the gateway's config on the allow-list, and the path (with query) to ask it.
    Service {
        name: String,
        path_and_query: String,
    },
}

/// A request for the gateway to send. Build with [`Subrequest::get`] or [`Subrequest::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subrequest {
    pub method: String,
    pub destination: Destination,
    pub headers: Vec<(String, Vec<u8>)>,
    /// At most 64 KiB.
    pub body: Vec<u8>,
    /// How long to wait for the whole answer, in milliseconds; 0: the grant's limit (30 s by
    /// default), which no value exceeds.
    pub timeout_ms: u32,
    /// The most answer-body bytes wanted (longer bodies are cut, `body_truncated`); the gateway
    /// caps it at 1 MiB. Default 64 KiB.
    pub max_response_body: u32,
}

impl Subrequest {
    /// A request with `method` to `destination`, no headers, no body.
    pub fn new(method: impl Into<String>, destination: Destination) -> Self {
        Subrequest {
            method: method.into(),
            destination,
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms: 0,
            max_response_body: 64 * 1024,
        }
    }

    /// `GET url`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", Destination::Url(url.into()))
    }

    /// Adds a header (after any of the same name).
    pub fn header(mut self, name: impl Into<String>, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name.into(), value.as_ref().to_vec()));
        self
    }

    /// Replaces the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the timeout in milliseconds.
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.timeout_ms = ms;
        self
    }

    /// Sets the most answer-body bytes wanted.
    pub fn max_response_body(mut self, bytes: u32) -> Self {
        self.max_response_body = bytes;
        self
    }
}

/// Why [`send`] recorded nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The destination is not on the middleware's allow-list.
    NotAllowed(String),
    /// The method, URL, a header or the body is not valid (the text says which).
    Invalid(String),
    /// One is already recorded for this hook call, or this request sent 4 through this
    /// middleware already.
    TooMany,
    /// Called outside a hook.
    NoRequest,
}

/// The answer to a subrequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subresponse {
    pub status: u16,
    /// Headers as received (names lower-case), hop-by-hop headers removed.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body, cut at the subrequest's `max_response_body`.
    pub body: Vec<u8>,
    /// The body was longer than that.
    pub body_truncated: bool,
}

impl Subresponse {
    /// First value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Every value of a header, in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// Why a subrequest brought no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubrequestFailure {
    /// No connection, or the destination broke the exchange.
    Unreachable(String),
    /// No complete answer within the timeout.
    Timeout,
    /// The named service has no available server.
    NoServer,
}

/// What the subresponse hooks receive.
pub type Answer = Result<Subresponse, SubrequestFailure>;

/// Records `subrequest` for the gateway to send when the current hook returns
/// [`Action::Continue`](crate::Action::Continue). Cost: one host call with the checks (allow-list,
/// method, headers); the exchange itself happens after the hook. Natively the subrequest is
/// kept in `TestRequest::subrequest` (with the host's allow-list check left out).
pub fn send(req: &mut Request<'_>, subrequest: Subrequest) -> Result<(), SendError> {
    imp::send(req.backend(), subrequest)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{Destination, SendError, Subrequest};
    use crate::guest::wit::outbound_http as wit;
    use crate::request::RequestRef;

    /// The host records it for the request of the current hook call, which is `req`.
    pub(super) fn send(_req: &mut RequestRef<'_>, s: Subrequest) -> Result<(), SendError> {
        let destination = match s.destination {
            Destination::Url(url) => wit::Destination::Url(url),
            Destination::Service {
                name,
                path_and_query,
            } => wit::Destination::Service(wit::ServiceTarget {
                name,
                path_and_query,
            }),
        };
        let request = wit::Subrequest {
            method: s.method,
            destination,
            headers: s.headers,
            body: s.body,
            timeout_ms: s.timeout_ms,
            max_response_body: s.max_response_body,
        };
        wit::send(&request).map_err(|e| match e {
            wit::SendError::NotAllowed(why) => SendError::NotAllowed(why),
            wit::SendError::Invalid(why) => SendError::Invalid(why),
            wit::SendError::TooMany => SendError::TooMany,
            wit::SendError::NoRequest => SendError::NoRequest,
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{SendError, Subrequest};

    pub(super) fn send(
        req: &mut &mut crate::testing::TestRequest,
        s: Subrequest,
    ) -> Result<(), SendError> {
        if req.subrequest.is_some() {
            return Err(SendError::TooMany);
        }
        if s.body.len() > plugin_contract::MAX_SUBREQUEST_BODY {
            return Err(SendError::Invalid("body over 64 KiB".into()));
        }
        req.subrequest = Some(s);
        Ok(())
    }
}
