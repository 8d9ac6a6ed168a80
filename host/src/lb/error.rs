//! Why a service could not produce a response head.

use crate::upstream::UpstreamError;

/// Failures of a service at request time. The proxy's error map turns them into statuses
/// (`NoServer` 503, upstream failures 502 / 504, `BadRequest` 400).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The service has no available server to send to.
    #[error("no server available")]
    NoServer,
    /// The exchange with the chosen server failed.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The client's request could not be read (a mirroring service buffering its body).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
}
