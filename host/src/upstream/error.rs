//! Why an exchange with an upstream server failed before its response head.

/// Failures of the upstream transport. The proxy's error map turns them into 502 / 504.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The server could not be reached or broke the exchange before a response head.
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
    /// The server did not send a response head within the response-header timeout.
    #[error("upstream timed out")]
    Timeout,
}
