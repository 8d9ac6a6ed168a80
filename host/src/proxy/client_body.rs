//! The client's request body on its way upstream: counted against the entrypoint's body limit,
//! and watched for framing errors, so a failed forward can be blamed on the right party.
//!
//! When the body goes wrong mid-stream (too large, or malformed chunked framing), hyper's
//! upstream request fails and would look like an upstream failure (502). The watch records
//! why, and `BodyWatch::blame` turns the error into 413 or 400 instead. Cost: one addition and
//! compare per body frame.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::body::{BodyError, ProxyBody};
use super::errors::GatewayError;

const TOO_LARGE: u8 = 1;
const MALFORMED: u8 = 2;

/// What happened to a watched body (0: nothing wrong); shared with the body itself.
#[derive(Clone, Default)]
pub struct BodyWatch {
    state: Arc<AtomicU8>,
}

impl BodyWatch {
    /// The error to answer with when forwarding failed: the body's fault if it went wrong.
    pub fn blame(&self, err: GatewayError) -> GatewayError {
        match self.state.load(Ordering::Relaxed) {
            TOO_LARGE => GatewayError::PayloadTooLarge,
            MALFORMED => GatewayError::BadRequest("malformed request body"),
            _ => err,
        }
    }
}

/// Wraps the client's body; `limit` is the entrypoint's `maxBodyBytes`.
pub fn watch(body: Incoming, limit: Option<u64>) -> (ProxyBody, BodyWatch) {
    let watch = BodyWatch::default();
    let body = Watched {
        inner: body,
        seen: 0,
        limit,
        state: watch.state.clone(),
    };
    (body.boxed(), watch)
}

struct Watched {
    inner: Incoming,
    seen: u64,
    limit: Option<u64>,
    state: Arc<AtomicU8>,
}

impl Body for Watched {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.seen = self.seen.saturating_add(data.len() as u64);
                    if self.limit.is_some_and(|limit| self.seen > limit) {
                        self.state.store(TOO_LARGE, Ordering::Relaxed);
                        return Poll::Ready(Some(Err("request body exceeds maxBodyBytes".into())));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.state.store(MALFORMED, Ordering::Relaxed);
                Poll::Ready(Some(Err(Box::new(e))))
            }
            other => other.map(|o| o.map(|r| r.map_err(|e| Box::new(e) as BodyError))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
