//! Mirroring support: which requests a mirror gets (`percent`), and buffering a request body
//! so that the main service and the mirrors can each be sent a copy.
//!
//! The percentage is exact and deterministic (request n is mirrored when floor(n·p/100)
//! grows), one atomic increment per request. A body is buffered only when some mirror takes
//! the request, and only up to `maxBodySize`: a larger body goes to the main service unchanged
//! (what was read so far, then the rest as it streams) and is not mirrored.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};

use crate::upstream::body::{BodyError, ProxyBody};

/// Picks `percent` of the requests it sees.
#[derive(Debug)]
pub struct MirrorSampler {
    percent: u64,
    seen: AtomicU64,
}

impl MirrorSampler {
    pub fn new(percent: u32) -> Self {
        MirrorSampler {
            percent: u64::from(percent.min(100)),
            seen: AtomicU64::new(0),
        }
    }

    /// Whether this request is mirrored.
    pub fn sample(&self) -> bool {
        match self.percent {
            0 => false,
            100 => true,
            p => {
                let n = self.seen.fetch_add(1, Ordering::Relaxed);
                (n + 1) * p / 100 > n * p / 100
            }
        }
    }
}

/// A request body read completely into memory; each copy replays it (cheap `Bytes` clones).
#[derive(Debug, Clone, Default)]
pub struct Replay {
    data: Bytes,
    trailers: Option<HeaderMap>,
}

impl Replay {
    pub fn body(&self) -> ProxyBody {
        ReplayBody {
            data: Some(self.data.clone()).filter(|d| !d.is_empty()),
            trailers: self.trailers.clone(),
        }
        .boxed()
    }
}

/// The outcome of [`buffer_up_to`].
pub enum Buffered {
    /// The whole body, within the limit.
    Whole(Replay),
    /// Over the limit: the body to send on (nothing lost), not to mirror.
    TooLarge(ProxyBody),
}

/// Reads `body` into memory unless it is larger than `limit` bytes (`None` = no limit).
pub async fn buffer_up_to(mut body: ProxyBody, limit: Option<u64>) -> Result<Buffered, BodyError> {
    let limit = limit.unwrap_or(u64::MAX);
    if body.size_hint().lower() > limit {
        return Ok(Buffered::TooLarge(body));
    }
    let mut data = BytesMut::new();
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        match frame.into_data() {
            Ok(chunk) => {
                data.extend_from_slice(&chunk);
                if data.len() as u64 > limit {
                    return Ok(Buffered::TooLarge(prefixed(data.freeze(), body)));
                }
            }
            Err(frame) => {
                if let Ok(t) = frame.into_trailers() {
                    trailers = Some(t);
                }
            }
        }
    }
    Ok(Buffered::Whole(Replay {
        data: data.freeze(),
        trailers,
    }))
}

struct ReplayBody {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl Body for ReplayBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

/// `prefix` (bytes already read from a body), then the unread rest of it, as one body: what a
/// body read up to a cap and found longer sends on (mirroring's `maxBodySize`, the `body`
/// capability's `overLimit: pass`). One frame for the prefix, no copy.
pub fn prefixed(prefix: Bytes, rest: ProxyBody) -> ProxyBody {
    PrefixedBody {
        prefix: Some(prefix),
        rest,
    }
    .boxed()
}

/// Bytes already read, then the rest of the stream.
struct PrefixedBody {
    prefix: Option<Bytes>,
    rest: ProxyBody,
}

impl Body for PrefixedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if let Some(prefix) = self.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.rest.size_hint();
        let extra = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        hint.set_lower(hint.lower().saturating_add(extra));
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper.saturating_add(extra));
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::body::full;

    #[test]
    fn fifty_percent_is_every_other_request() {
        let s = MirrorSampler::new(50);
        let picked = (0..100).filter(|_| s.sample()).count();
        assert_eq!(picked, 50);
        assert_eq!(
            (0..10).filter(|_| MirrorSampler::new(0).sample()).count(),
            0
        );
        let all = MirrorSampler::new(100);
        assert_eq!((0..10).filter(|_| all.sample()).count(), 10);
    }

    #[tokio::test]
    async fn a_body_within_the_limit_replays_and_a_larger_one_passes_on_whole() {
        let Buffered::Whole(replay) = buffer_up_to(full("hello"), Some(5)).await.unwrap() else {
            panic!("5 bytes fit a 5-byte limit");
        };
        for _ in 0..2 {
            let copy = replay.body().collect().await.unwrap().to_bytes();
            assert_eq!(copy, "hello");
        }
        let Buffered::TooLarge(body) = buffer_up_to(full("hello!"), Some(5)).await.unwrap() else {
            panic!("6 bytes exceed a 5-byte limit");
        };
        assert_eq!(body.collect().await.unwrap().to_bytes(), "hello!");
    }

    /// Chunks with no size hint, as a chunked upload arrives.
    struct Chunked(Vec<&'static str>);

    impl Body for Chunked {
        type Data = Bytes;
        type Error = BodyError;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
            if self.0.is_empty() {
                return Poll::Ready(None);
            }
            let chunk = self.0.remove(0);
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(chunk.as_bytes())))))
        }
    }

    #[tokio::test]
    async fn a_chunked_body_that_outgrows_the_limit_passes_on_with_what_was_read() {
        let body = Chunked(vec!["hel", "lo", " world"]).boxed();
        let Buffered::TooLarge(body) = buffer_up_to(body, Some(4)).await.unwrap() else {
            panic!("11 bytes exceed a 4-byte limit");
        };
        assert_eq!(body.collect().await.unwrap().to_bytes(), "hello world");
        let body = Chunked(vec!["hel", "lo"]).boxed();
        let Buffered::Whole(replay) = buffer_up_to(body, None).await.unwrap() else {
            panic!("no limit");
        };
        assert_eq!(replay.body().collect().await.unwrap().to_bytes(), "hello");
    }
}
