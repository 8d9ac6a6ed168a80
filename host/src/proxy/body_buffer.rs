//! Collecting a whole body for the middlewares that asked for it (http-wasm guests that enabled
//! `buffer_request` or `buffer_response`; see `plugins::http_wasm::body`).
//!
//! Runs only on routes whose chain asked (`Chain::buffer_request` / `buffer_response`, fixed at
//! config time); every other body streams untouched. Cost: the body in memory, at most
//! `MAX_BUFFERED_BODY` bytes, and its arrival before the hooks run. Trailers are dropped (the
//! http-wasm host does not support them).

use bytes::{Bytes, BytesMut};
use http_body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::client_body::{BodyPolicy, watch};
use super::error::GatewayError;
use crate::plugins::http_wasm::MAX_BUFFERED_BODY;

/// The body was longer than `MAX_BUFFERED_BODY`.
struct TooLarge;

/// Reads `body` to its end, or stops at the first byte over the cap.
async fn collect_capped<B>(mut body: B) -> Result<Result<Bytes, TooLarge>, B::Error>
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if buf.len() + data.len() > MAX_BUFFERED_BODY {
                return Ok(Err(TooLarge));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Ok(buf.freeze()))
}

/// A declared `Content-Length` over `MAX_BUFFERED_BODY` is refused (413) before any of the body
/// is read.
pub fn check_declared_length(headers: &http::HeaderMap) -> Result<(), GatewayError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > MAX_BUFFERED_BODY as u64 => Err(GatewayError::PayloadTooLarge),
        _ => Ok(()),
    }
}

/// The client's whole request body, read under the entrypoint's body policy. Over
/// `MAX_BUFFERED_BODY` (or `maxBodyBytes`): 413; too slow: 408; malformed: 400.
pub async fn collect_request(body: Incoming, policy: BodyPolicy) -> Result<Bytes, GatewayError> {
    let (watched, watch) = watch(body, policy);
    match collect_capped(watched).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(TooLarge)) => Err(GatewayError::PayloadTooLarge),
        Err(_) => Err(watch.blame(GatewayError::BadRequest("request body could not be read"))),
    }
}

/// The upstream's whole response body. Over `MAX_BUFFERED_BODY`, or failing: 502.
pub async fn collect_response(body: Incoming) -> Result<Bytes, GatewayError> {
    match collect_capped(body).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(TooLarge)) => Err(GatewayError::UpstreamBodyFailed(format!(
            "larger than the {MAX_BUFFERED_BODY} bytes a middleware may buffer"
        ))),
        Err(e) => Err(GatewayError::UpstreamBodyFailed(e.to_string())),
    }
}
