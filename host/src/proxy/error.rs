//! Every error the proxy answers for itself, and the one place that maps it to a status.

use http::{Response, StatusCode, header};

use crate::lb::ServiceError;
use crate::plugins::PluginError;
use crate::upstream::UpstreamError;
use crate::upstream::body::{ProxyBody, full};

/// Errors classified by where they come from; the status follows from the variant.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// No router matched the request.
    #[error("no router matches this request")]
    NoRoute,
    /// The client sent a request the gateway will not process.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The request body is larger than the entrypoint accepts (`maxBodyBytes`).
    #[error("request body too large")]
    PayloadTooLarge,
    /// The request target is longer than the gateway accepts.
    #[error("request target too long")]
    UriTooLong,
    /// The request path breaks the normalisation policy (encoded slash, NUL...).
    #[error("bad request path: {0}")]
    BadPath(#[from] crate::router::path::PathError),
    /// A fail-closed middleware failed (trap, timeout, memory, invalid output).
    #[error("middleware failed")]
    Plugin(#[from] PluginError),
    /// The router is at its `maxInFlight`: shed instead of queueing.
    #[error("router overloaded")]
    Overloaded,
    /// The service has no server to send to.
    #[error("no server available")]
    NoServer,
    /// The upstream could not be reached or broke the exchange before a response head.
    #[error("upstream unreachable: {0}")]
    UpstreamUnreachable(String),
    /// The upstream did not send a response head within the configured timeout.
    #[error("upstream timed out")]
    UpstreamTimeout,
    /// The upstream's response body failed while the gateway held its first bytes for a
    /// middleware's `on-response-body` (before any of the response was sent).
    #[error("upstream response body failed: {0}")]
    UpstreamBodyFailed(String),
    /// The upstream's response head is ambiguous or malformed (both `Content-Length` and
    /// `Transfer-Encoding`, an obfuscated `Transfer-Encoding`...): never relayed.
    #[error("upstream sent an invalid response: {0}")]
    UpstreamBadResponse(&'static str),
    /// The client did not send its request body in time (`readTimeout` / `bodyReadTimeout`).
    #[error("request body read timed out")]
    RequestTimeout,
    /// The entrypoint's overall request deadline (`writeTimeout`) passed before the response
    /// head was ready.
    #[error("request deadline exceeded")]
    DeadlineExceeded,
    /// The router's pinned plugin file is not here yet (the gateway is not ready).
    #[error("waiting for a pinned plugin file")]
    PluginsPending,
}

impl GatewayError {
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::NoRoute => StatusCode::NOT_FOUND,
            GatewayError::BadRequest(_) | GatewayError::BadPath(_) => StatusCode::BAD_REQUEST,
            GatewayError::UriTooLong => StatusCode::URI_TOO_LONG,
            GatewayError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::Plugin(_) => StatusCode::INTERNAL_SERVER_ERROR,
            GatewayError::NoServer | GatewayError::Overloaded | GatewayError::PluginsPending => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            GatewayError::UpstreamUnreachable(_)
            | GatewayError::UpstreamBadResponse(_)
            | GatewayError::UpstreamBodyFailed(_) => StatusCode::BAD_GATEWAY,
            GatewayError::UpstreamTimeout | GatewayError::DeadlineExceeded => {
                StatusCode::GATEWAY_TIMEOUT
            }
            GatewayError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        }
    }

    /// Whether the upstream failed (unreachable, timed out, broke or garbled its answer) or the
    /// exchange ran out of time: what `on-complete` reports as `upstream-failed`.
    pub fn is_upstream_failure(&self) -> bool {
        matches!(
            self,
            GatewayError::UpstreamUnreachable(_)
                | GatewayError::UpstreamTimeout
                | GatewayError::UpstreamBodyFailed(_)
                | GatewayError::UpstreamBadResponse(_)
                | GatewayError::DeadlineExceeded
        )
    }

    /// The response sent to the client. The body names the status only (a service without a
    /// server says `no available server`, as Traefik does): internal detail (plugin traps,
    /// upstream addresses) goes to the log, not to clients.
    pub fn into_response(self) -> Response<ProxyBody> {
        let close = matches!(
            self,
            GatewayError::BadRequest(_)
                | GatewayError::BadPath(_)
                | GatewayError::UriTooLong
                | GatewayError::PayloadTooLarge
                | GatewayError::RequestTimeout
        );
        let status = self.status();
        let text = match self {
            // Traefik's own words for a service without a healthy server (scripts and
            // monitors written for Traefik look for them).
            GatewayError::NoServer => "no available server\n".to_owned(),
            _ => format!(
                "{} {}\n",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            ),
        };
        let mut resp = Response::new(full(text));
        *resp.status_mut() = status;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if matches!(
            self,
            GatewayError::Overloaded | GatewayError::PluginsPending
        ) {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        if close {
            // After a malformed request the connection's framing cannot be trusted: close it.
            resp.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        resp
    }
}

/// Service and upstream failures keep their place in the one status map.
impl From<ServiceError> for GatewayError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NoServer => GatewayError::NoServer,
            ServiceError::BadRequest(reason) => GatewayError::BadRequest(reason),
            ServiceError::Upstream(UpstreamError::Unreachable(reason)) => {
                GatewayError::UpstreamUnreachable(reason)
            }
            ServiceError::Upstream(UpstreamError::Timeout) => GatewayError::UpstreamTimeout,
        }
    }
}
