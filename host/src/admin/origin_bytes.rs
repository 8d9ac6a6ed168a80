//! The origin's body size for the access log's `OriginContentSize` and `GzipRatio`, where the
//! body sent to the client is not the one the upstream sent: a middleware compressed it
//! (`compress`), translated it (gRPC-Web) or was given it whole and wrote another (`body`).
//!
//! Everywhere else the two are the same bytes and nothing here runs: the access log takes
//! `DownstreamContentSize` for both. The proxy builds an [`OriginBytes`] only when the access
//! log is on and such a middleware acted, and hands it to the recorder in the response's
//! extensions.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};

/// How many bytes of body the upstream sent, as far as the gateway read them.
#[derive(Clone, Debug)]
pub enum OriginBytes {
    /// Read whole before the response went out (a body given to a middleware, or one the
    /// chain dropped for its own reply).
    Known(u64),
    /// Counted as the streamed body is read ([`CountedBody`]); final when the response's
    /// body has ended, which is when the exchange reads it.
    Counted(Arc<AtomicU64>),
}

impl OriginBytes {
    /// The bytes counted so far (all of them once the response has gone out).
    pub fn get(&self) -> u64 {
        match self {
            OriginBytes::Known(n) => *n,
            OriginBytes::Counted(count) => count.load(Relaxed),
        }
    }

    /// `body`, counting its data bytes into the returned [`OriginBytes::Counted`]. One
    /// allocation (the shared count) and one relaxed add per frame.
    pub fn count<B>(body: B) -> (CountedBody<B>, OriginBytes) {
        let count = Arc::new(AtomicU64::new(0));
        (
            CountedBody {
                inner: body,
                count: count.clone(),
            },
            OriginBytes::Counted(count),
        )
    }
}

/// The data bytes in one polled body frame (0 for trailers, errors, the end, pending): what a
/// body wrapper that counts bytes sent adds per poll.
pub fn data_len<D: Buf, E>(polled: &Poll<Option<Result<Frame<D>, E>>>) -> u64 {
    match polled {
        Poll::Ready(Some(Ok(frame))) => frame.data_ref().map_or(0, |d| d.remaining() as u64),
        _ => 0,
    }
}

/// A body that adds its data bytes to a shared count as they are read.
pub struct CountedBody<B> {
    inner: B,
    count: Arc<AtomicU64>,
}

impl<B> Body for CountedBody<B>
where
    B: Body + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        let n = data_len(&polled);
        if n > 0 {
            this.count.fetch_add(n, Relaxed);
        }
        polled
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
    use http_body_util::{BodyExt, StreamBody};

    #[tokio::test]
    async fn a_counted_body_passes_its_frames_on_and_counts_their_data_bytes() {
        let frames: Vec<Result<Frame<bytes::Bytes>, std::convert::Infallible>> = vec![
            Ok(Frame::data(bytes::Bytes::from_static(b"hello "))),
            Ok(Frame::data(bytes::Bytes::from_static(b"world"))),
            Ok(Frame::trailers(http::HeaderMap::new())),
        ];
        let (body, origin) =
            OriginBytes::count(StreamBody::new(futures_util::stream::iter(frames)));
        assert_eq!(origin.get(), 0, "nothing read yet");
        let collected = body.collect().await.expect("infallible");
        assert!(collected.trailers().is_some());
        assert_eq!(collected.to_bytes(), "hello world");
        assert_eq!(origin.get(), 11);
        assert_eq!(OriginBytes::Known(7).get(), 7);
    }
}
