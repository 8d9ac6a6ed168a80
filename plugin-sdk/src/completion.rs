//! The `on-complete` hook's argument: how a request ended (see `interface completion` in the
//! WIT). A middleware gets [`Middleware::on_complete`](crate::Middleware::on_complete) calls
//! only if its [`Middleware::wants_on_complete`](crate::Middleware::wants_on_complete) says so.

/// How the exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The whole response, head and body, was handed to the client connection.
    Complete,
    /// The client went away before the response was complete.
    ClientGone,
    /// The upstream failed: the client got the gateway's 502 / 504, or a body that broke off.
    UpstreamFailed,
}

/// What happened to a request, as [`Middleware::on_complete`](crate::Middleware::on_complete)
/// gets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The status sent to the client; `None` when no response head was sent.
    pub status: Option<u16>,
    /// Response-body bytes handed to the client connection.
    pub body_bytes: u64,
    /// Nanoseconds from the chain's first request hook to the end.
    pub duration_ns: u64,
    pub ending: Ending,
}
