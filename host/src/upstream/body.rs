//! The one body type the proxy sends to clients and upstreams: a boxed, streaming body.
//!
//! Upstream and client bodies pass through as streams (never buffered); plugin replies and
//! gateway errors are small in-memory bodies boxed into the same type.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};

pub type BodyError = Box<dyn std::error::Error + Send + Sync>;
pub type ProxyBody = BoxBody<Bytes, BodyError>;

/// A complete in-memory body.
pub fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> ProxyBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

/// A streaming body (client request or upstream response) as a `ProxyBody`.
pub fn stream(body: hyper::body::Incoming) -> ProxyBody {
    body.map_err(|e| Box::new(e) as BodyError).boxed()
}

/// Polls hyper's `Incoming` for its next frame, its error as a `BodyError`: for the body types
/// that wrap it beside another source (`UpstreamBody`, the proxy's `RequestBody`).
pub fn poll_incoming(
    body: &mut hyper::body::Incoming,
    cx: &mut std::task::Context<'_>,
) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BodyError>>> {
    http_body::Body::poll_frame(std::pin::Pin::new(body), cx)
        .map(|frame| frame.map(|r| r.map_err(|e| Box::new(e) as BodyError)))
}
