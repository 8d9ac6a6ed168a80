//! The client's request body on its way upstream: counted against the entrypoint's body limit,
//! timed against its read timeouts, and watched for framing errors, so a failed forward can be
//! blamed on the right party.
//!
//! When the body goes wrong mid-stream (too large, too slow, or malformed chunked framing),
//! hyper's upstream request fails and would look like an upstream failure (502). The watch
//! records why, and `BodyWatch::blame` turns the error into 413, 408 or 400 instead.
//!
//! Cost: one addition and compare per body frame, plus one clock read per frame when an
//! inactivity timeout is set. The timer is created only if the client makes the gateway wait,
//! and re-armed only when it fires or progress moved its deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::time::{Instant, Sleep};

use super::error::GatewayError;
use super::request_body::RequestBody;
use crate::upstream::body::{BodyError, ProxyBody};

const TOO_LARGE: u8 = 1;
const MALFORMED: u8 = 2;
const TIMED_OUT: u8 = 3;

/// What a request body must respect (from the entrypoint's limits).
#[derive(Debug, Clone, Copy, Default)]
pub struct BodyPolicy {
    /// `maxBodyBytes`.
    pub max_bytes: Option<u64>,
    /// The whole body must have arrived by then (`readTimeout`, counted from the head).
    pub read_deadline: Option<Instant>,
    /// Longest pause between two body frames (`bodyReadTimeout`).
    pub inactivity: Option<Duration>,
}

/// What happened to a watched body (0: nothing wrong); shared with the body itself. The
/// default watches nothing (no body, or one not under the policy) and allocates nothing.
#[derive(Clone, Default)]
pub struct BodyWatch {
    state: Option<Arc<AtomicU8>>,
}

impl BodyWatch {
    /// The error to answer with when forwarding failed: the body's fault if it went wrong.
    pub fn blame(&self, err: impl Into<GatewayError>) -> GatewayError {
        let state = self.state.as_ref().map_or(0, |s| s.load(Ordering::Relaxed));
        match state {
            TOO_LARGE => GatewayError::PayloadTooLarge,
            MALFORMED => GatewayError::BadRequest("malformed request body"),
            TIMED_OUT => GatewayError::RequestTimeout,
            _ => err.into(),
        }
    }
}

/// Wraps the client's body with the entrypoint's body policy. A request without a body (most
/// of those the own HTTP/1.1 server reads) has nothing to watch: an empty body, no allocation.
pub fn watch(body: RequestBody, policy: BodyPolicy) -> (ProxyBody, BodyWatch) {
    if let RequestBody::Empty = body {
        return (crate::upstream::body::empty(), BodyWatch::default());
    }
    let state = Arc::new(AtomicU8::new(0));
    let watch = BodyWatch {
        state: Some(state.clone()),
    };
    let body = Watched {
        inner: body,
        seen: 0,
        policy,
        last_progress: Instant::now(),
        timer: None,
        state,
    };
    (body.boxed(), watch)
}

struct Watched {
    inner: RequestBody,
    seen: u64,
    policy: BodyPolicy,
    /// When the last frame arrived (only kept up to date with an inactivity timeout).
    last_progress: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    state: Arc<AtomicU8>,
}

impl Watched {
    /// The earlier of the read deadline and the inactivity deadline, if any.
    fn deadline(&self) -> Option<Instant> {
        let inactivity = self.policy.inactivity.map(|d| self.last_progress + d);
        match (self.policy.read_deadline, inactivity) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Called while the client keeps the gateway waiting: true once the deadline has passed
    /// (the timer's waker is registered otherwise).
    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.deadline() else {
            return false;
        };
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        timer.as_mut().poll(cx).is_ready()
    }
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
                if self.policy.inactivity.is_some() {
                    self.last_progress = Instant::now();
                }
                if let Some(data) = frame.data_ref() {
                    self.seen = self.seen.saturating_add(data.len() as u64);
                    if self.policy.max_bytes.is_some_and(|limit| self.seen > limit) {
                        self.state.store(TOO_LARGE, Ordering::Relaxed);
                        return Poll::Ready(Some(Err("request body exceeds maxBodyBytes".into())));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.state.store(MALFORMED, Ordering::Relaxed);
                Poll::Ready(Some(Err(e)))
            }
            Poll::Pending => {
                if self.timed_out(cx) {
                    self.state.store(TIMED_OUT, Ordering::Relaxed);
                    return Poll::Ready(Some(Err("request body read timed out".into())));
                }
                Poll::Pending
            }
            Poll::Ready(None) => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
