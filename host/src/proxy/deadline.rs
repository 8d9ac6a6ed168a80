//! The overall request deadline (`respondingTimeouts.writeTimeout`) applied to a response body
//! that is still streaming: at the deadline the body fails, so hyper aborts the response (HTTP/1:
//! the connection closes mid-body; HTTP/2: the stream is reset) instead of sending on forever.
//!
//! Runs only when the entrypoint has a write timeout. Cost: one boxed timer per response,
//! polled only while the body waits for data.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::time::{Instant, Sleep};

use crate::upstream::body::{BodyError, ProxyBody};

/// `body`, failing at `deadline` if it has not ended by then.
pub fn until(body: ProxyBody, deadline: Instant) -> ProxyBody {
    if body.is_end_stream() {
        return body;
    }
    Deadline {
        inner: body,
        timer: Box::pin(tokio::time::sleep_until(deadline)),
    }
    .boxed()
}

struct Deadline {
    inner: ProxyBody,
    timer: Pin<Box<Sleep>>,
}

impl Body for Deadline {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if self.timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(
                "request deadline (writeTimeout) passed while the response was streaming".into(),
            )));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::body::full;

    #[tokio::test]
    async fn a_body_still_streaming_at_the_deadline_fails() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BodyError>>(1);
        let never_ending = http_body_util::StreamBody::new(tokio_stream_from(rx)).boxed();
        let mut body = until(never_ending, Instant::now());
        let frame = body.frame().await.expect("a frame or an error");
        assert!(frame.is_err(), "the deadline ends the body with an error");
        drop(tx);
    }

    #[tokio::test]
    async fn a_body_ending_before_the_deadline_passes_through() {
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        let mut body = until(full("done"), deadline);
        let frame = body.frame().await.expect("one frame").expect("no error");
        assert_eq!(frame.into_data().ok().as_deref(), Some(&b"done"[..]));
    }

    /// A `Stream` over an mpsc receiver (tokio-stream is not a dependency).
    fn tokio_stream_from<T>(
        mut rx: tokio::sync::mpsc::Receiver<T>,
    ) -> impl futures_util::Stream<Item = T> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
