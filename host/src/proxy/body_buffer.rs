//! Collecting a whole body for the middlewares that asked for it: components granted `body`
//! (`plugins::body`), and http-wasm guests that enabled `buffer_request` or `buffer_response`
//! (`plugins::http_wasm::body`).
//!
//! Runs only on routes whose chain asked (`Chain::request_body_limit` /
//! `response_body_limit`, fixed at config time); every other body streams untouched. Cost: the
//! body in memory, at most the chain's cap (plus the last frame read), and its arrival before
//! the hooks run. Over the cap the body is refused (`OverLimit::Reject`: 413 / 502) or passed
//! on (`OverLimit::Pass`): the bytes read so far, then the rest streamed, never held. Trailers
//! of a collected body are dropped.

use bytes::{Bytes, BytesMut};
use http_body::Body;
use http_body_util::BodyExt;

use crate::upstream::UpstreamBody;

use super::client_body::{BodyPolicy, BodyWatch, watch};
use super::error::GatewayError;
use super::request_body::RequestBody;
use crate::lb::mirroring::replay::prefixed;
use crate::plugins::body::{BodyLimit, OverLimit};
use crate::upstream::body::ProxyBody;

/// A body read up to a cap.
pub enum Collected<B> {
    /// The whole body, at most the cap.
    Whole(Bytes),
    /// Over the cap (`OverLimit::Pass`): to be sent as is, the bytes read first.
    Passed(B),
}

/// Reads `body` to its end, or stops at the first frame that takes it over `cap`: then the bytes
/// read so far (that frame included) and the unread rest.
async fn collect_capped<B>(mut body: B, cap: usize) -> Result<Result<Bytes, (Bytes, B)>, B::Error>
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            buf.extend_from_slice(&data);
            if buf.len() > cap {
                return Ok(Err((buf.freeze(), body)));
            }
        }
    }
    Ok(Ok(buf.freeze()))
}

/// The declared `Content-Length`, if any.
fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// The client's request body, read under the entrypoint's body policy up to `limit`. A
/// declared `Content-Length` over the cap is decided before any byte is read (413, or passed
/// unread). Too slow: 408; malformed: 400; over `maxBodyBytes`: 413.
pub async fn collect_request(
    body: RequestBody,
    headers: &http::HeaderMap,
    policy: BodyPolicy,
    limit: BodyLimit,
) -> Result<Collected<(ProxyBody, BodyWatch)>, GatewayError> {
    let (watched, watch) = watch(body, policy);
    if declared_length(headers).is_some_and(|len| len > limit.max_bytes as u64) {
        return match limit.over_limit {
            OverLimit::Reject => Err(GatewayError::PayloadTooLarge),
            OverLimit::Pass => Ok(Collected::Passed((watched, watch))),
        };
    }
    match collect_capped(watched, limit.max_bytes).await {
        Ok(Ok(bytes)) => Ok(Collected::Whole(bytes)),
        Ok(Err((read, rest))) => match limit.over_limit {
            OverLimit::Reject => Err(GatewayError::PayloadTooLarge),
            OverLimit::Pass => Ok(Collected::Passed((prefixed(read, rest), watch))),
        },
        Err(_) => Err(watch.blame(GatewayError::BadRequest("request body could not be read"))),
    }
}

/// The upstream's response body up to `limit`. Over the cap: 502, or passed on; failing: 502.
pub async fn collect_response(
    body: UpstreamBody,
    headers: &http::HeaderMap,
    limit: BodyLimit,
) -> Result<Collected<ProxyBody>, GatewayError> {
    let over = || {
        GatewayError::UpstreamBodyFailed(format!(
            "larger than the {} bytes a middleware may buffer",
            limit.max_bytes
        ))
    };
    if declared_length(headers).is_some_and(|len| len > limit.max_bytes as u64) {
        return match limit.over_limit {
            OverLimit::Reject => Err(over()),
            OverLimit::Pass => Ok(Collected::Passed(body.boxed())),
        };
    }
    match collect_capped(body, limit.max_bytes).await {
        Ok(Ok(bytes)) => Ok(Collected::Whole(bytes)),
        Ok(Err((read, rest))) => match limit.over_limit {
            OverLimit::Reject => Err(over()),
            OverLimit::Pass => Ok(Collected::Passed(prefixed(read, rest.boxed()))),
        },
        Err(e) => Err(GatewayError::UpstreamBodyFailed(e.to_string())),
    }
}
