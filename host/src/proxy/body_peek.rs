//! Holding the first bytes of a response body for the chain's `on-response-body` hooks.
//!
//! Runs once per request whose chain declared a body peek (`Chain::body_peek` > 0), after the
//! upstream's response head and before the response hooks: frames are read from the upstream
//! body until at least that many data bytes are held or the body ends. The held frames are then
//! sent first, unchanged (trailers included), and the rest of the body streams behind them
//! without a copy. Cost: one copy of at most the peek length to join the prefix when it spans
//! several frames (none when one frame holds it; runs of frames under 1 KiB are joined as they
//! arrive, so a byte-per-chunk upstream cannot make the gateway hold a frame per byte), plus the frames' memory until they are sent —
//! at most the peek plus the overshoot of the last frame read. Chains without a peek never get
//! here and stream as before.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::upstream::UpstreamBody;
use bytes::{Bytes, BytesMut};
use http::{Method, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;

use super::error::GatewayError;
use crate::plugins::BodyStart;
use crate::upstream::body::{BodyError, ProxyBody, full};

/// How long the peek waits for more of a body once it holds some data. Go's `net/http` (and so
/// Traefik) sniffs whatever the first write carried; waiting a little for a full prefix gives
/// better answers without holding back a stream that only trickles.
pub const PEEK_LINGER: std::time::Duration = std::time::Duration::from_millis(250);

/// Data frames shorter than this are joined while held (a copy of at most the peek length).
const SMALL_FRAME: usize = 1024;

/// A response body as the response hooks see it and the client then receives it.
pub enum HeldBody {
    /// A plugin's reply: in memory whole.
    Reply(Bytes),
    /// An upstream body nobody peeks at (no peek declared, or no body allowed): streamed as is.
    Stream(UpstreamBody),
    /// An upstream body whose first frames are held.
    Peeked(Peeked),
    /// A body over a `body` grant's cap, passed on unread (`body_buffer::Collected::Passed`).
    Passed(ProxyBody),
}

/// An upstream body (`UpstreamBody`; any body in unit tests) with its first frames read.
pub struct Peeked<B = UpstreamBody> {
    /// The frames read so far, in order (data, and trailers if the body ended with them).
    frames: VecDeque<Frame<Bytes>>,
    /// The first `want` data bytes (or all of a shorter body), joined.
    prefix: Bytes,
    /// The body ended within the frames read.
    ended: bool,
    /// The unread rest (`None` once ended).
    rest: Option<B>,
}

/// Whether a response to `method` with `status` can carry a body (RFC 9110: not for HEAD,
/// 1xx — including a 101 upgrade —, 204 or 304).
pub fn may_have_body(method: &Method, status: StatusCode) -> bool {
    !(method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

impl HeldBody {
    /// Reads up to `want` bytes of an upstream body when the response may have one; otherwise
    /// (or with `want` 0) keeps it as a stream. An upstream failure while reading is a 502.
    pub async fn peek(
        body: UpstreamBody,
        want: usize,
        method: &Method,
        status: StatusCode,
    ) -> Result<HeldBody, GatewayError> {
        if want == 0 || !may_have_body(method, status) {
            return Ok(HeldBody::Stream(body));
        }
        Peeked::read(body, want)
            .await
            .map(HeldBody::Peeked)
            .map_err(|e| GatewayError::UpstreamBodyFailed(e.to_string()))
    }

    /// What the response hooks get: the held prefix, a reply's body, or — for a response that
    /// cannot have a body — an empty, complete start.
    pub fn body_start(&self, method: &Method, status: StatusCode) -> BodyStart<'_> {
        if !may_have_body(method, status) {
            return BodyStart::NONE;
        }
        match self {
            HeldBody::Reply(bytes) => BodyStart {
                bytes,
                complete: true,
            },
            HeldBody::Peeked(peeked) => peeked.body_start(),
            HeldBody::Stream(_) | HeldBody::Passed(_) => BodyStart::UNKNOWN,
        }
    }

    /// The body to send: held frames first, then the rest of the stream.
    /// The body's size when it is known before it is read: a whole one's, or the length an
    /// unread upstream body declared (`Content-Length`). For the access log.
    pub fn known_len(&self) -> Option<u64> {
        match self {
            HeldBody::Reply(bytes) => Some(bytes.len() as u64),
            HeldBody::Stream(body) => body.size_hint().exact(),
            HeldBody::Peeked(_) | HeldBody::Passed(_) => None,
        }
    }

    pub fn into_body(self) -> ProxyBody {
        match self {
            HeldBody::Reply(bytes) => full(bytes),
            HeldBody::Stream(body) => body.boxed(),
            HeldBody::Peeked(peeked) => peeked.boxed(),
            HeldBody::Passed(body) => body,
        }
    }
}

impl<B> Peeked<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    /// Reads frames until at least `want` data bytes are held, the body ends, or — once some
    /// data is held — the upstream pauses for [`PEEK_LINGER`] (a stream that trickles, such as
    /// server-sent events, is not held back: the hooks see what came so far, not complete).
    async fn read(mut body: B, want: usize) -> Result<Peeked<B>, B::Error> {
        let mut frames = VecDeque::new();
        // Runs of small data frames are joined as they arrive, so an upstream sending its body
        // a byte per chunk cannot make the gateway hold one frame per byte.
        let mut small = BytesMut::new();
        let mut held = 0usize;
        let mut ended = body.is_end_stream();
        while !ended && held < want {
            let next = if held == 0 {
                body.frame().await
            } else {
                match tokio::time::timeout(PEEK_LINGER, body.frame()).await {
                    Ok(next) => next,
                    Err(_) => break,
                }
            };
            match next {
                None => ended = true,
                Some(frame) => {
                    let frame = frame?;
                    match frame.data_ref() {
                        Some(data) if data.len() < SMALL_FRAME => {
                            held += data.len();
                            small.extend_from_slice(data);
                            ended = body.is_end_stream();
                            continue;
                        }
                        Some(data) => held += data.len(),
                        // Trailers end the body.
                        None => ended = frame.is_trailers(),
                    }
                    if !small.is_empty() {
                        frames.push_back(Frame::data(small.split().freeze()));
                    }
                    frames.push_back(frame);
                    ended = ended || body.is_end_stream();
                }
            }
        }
        if !small.is_empty() {
            frames.push_back(Frame::data(small.freeze()));
        }
        let prefix = join_prefix(&frames, want);
        Ok(Peeked {
            frames,
            prefix,
            ended,
            rest: (!ended).then_some(body),
        })
    }

    /// The held prefix; complete when the body ended and nothing was cut off.
    fn body_start(&self) -> BodyStart<'_> {
        let held: usize = self.data_len();
        BodyStart {
            bytes: &self.prefix,
            complete: self.ended && held == self.prefix.len(),
        }
    }

    fn data_len(&self) -> usize {
        self.frames
            .iter()
            .filter_map(|f| f.data_ref().map(Bytes::len))
            .sum()
    }
}

/// The first `want` data bytes of `frames`: a slice of the first frame when it holds them all,
/// else one copy.
fn join_prefix(frames: &VecDeque<Frame<Bytes>>, want: usize) -> Bytes {
    let mut data = frames.iter().filter_map(Frame::data_ref);
    let Some(first) = data.next() else {
        return Bytes::new();
    };
    if first.len() >= want || frames.iter().filter_map(Frame::data_ref).count() == 1 {
        return first.slice(..first.len().min(want));
    }
    let mut joined = BytesMut::with_capacity(want);
    joined.extend_from_slice(first);
    for chunk in data {
        let room = want - joined.len();
        if room == 0 {
            break;
        }
        joined.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    joined.truncate(want);
    joined.freeze()
}

impl<B> Body for Peeked<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BodyError>,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        if let Some(frame) = this.frames.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        match &mut this.rest {
            Some(rest) => Pin::new(rest).poll_frame(cx).map_err(Into::into),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty() && self.rest.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let held = self.data_len() as u64;
        let rest = match &self.rest {
            Some(rest) => rest.size_hint(),
            None => SizeHint::with_exact(0),
        };
        // Upper first: `set_lower` refuses a lower bound above the current upper one.
        let mut hint = SizeHint::new();
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper.saturating_add(held));
        }
        hint.set_lower(rest.lower().saturating_add(held));
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(parts: &[&'static [u8]]) -> VecDeque<Frame<Bytes>> {
        parts
            .iter()
            .map(|p| Frame::data(Bytes::from_static(p)))
            .collect()
    }

    #[test]
    fn the_prefix_joins_frames_and_stops_at_the_peek() {
        assert_eq!(
            join_prefix(&frames(&[b"<ht", b"ml>", b"rest"]), 6),
            "<html>"
        );
        assert_eq!(join_prefix(&frames(&[b"<ht", b"ml>"]), 512), "<html>");
        assert_eq!(join_prefix(&frames(&[b"<html>rest"]), 6), "<html>");
        assert_eq!(join_prefix(&frames(&[b"ab"]), 512), "ab");
        assert_eq!(join_prefix(&VecDeque::new(), 512), "");
        let mut with_trailers = frames(&[b"a", b"b"]);
        with_trailers.push_back(Frame::trailers(http::HeaderMap::new()));
        assert_eq!(join_prefix(&with_trailers, 512), "ab");
    }

    type FrameItem = Result<Frame<Bytes>, BodyError>;
    type TestBody =
        http_body_util::StreamBody<futures_util::stream::Iter<std::vec::IntoIter<FrameItem>>>;

    /// A body of the given frames, each polled separately.
    fn body_of(frames: Vec<Frame<Bytes>>) -> TestBody {
        let items: Vec<FrameItem> = frames.into_iter().map(Ok).collect();
        http_body_util::StreamBody::new(futures_util::stream::iter(items))
    }

    fn data(parts: &[&'static str]) -> Vec<Frame<Bytes>> {
        parts
            .iter()
            .map(|p| Frame::data(Bytes::from_static(p.as_bytes())))
            .collect()
    }

    #[tokio::test]
    async fn holds_just_enough_frames_then_streams_the_rest_with_trailers() {
        let mut frames = data(&["<ht", "ml>", "<body>", "rest"]);
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        frames.push(Frame::trailers(trailers.clone()));
        let peeked = Peeked::read(body_of(frames), 6)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(peeked.data_len(), 6, "stops once 6 bytes are held");
        assert_eq!(peeked.frames.len(), 1, "the two small frames are joined");
        assert_eq!(
            peeked.size_hint().lower(),
            6,
            "held bytes count in the size hint"
        );
        let start = peeked.body_start();
        assert_eq!((start.bytes, start.complete), (&b"<html>"[..], false));
        let collected = peeked.collect().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(collected.trailers(), Some(&trailers));
        assert_eq!(collected.to_bytes(), "<html><body>rest");
    }

    #[tokio::test]
    async fn a_short_body_is_held_whole_and_complete() {
        let peeked = Peeked::read(body_of(data(&["a", "b", "c"])), 512)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let start = peeked.body_start();
        assert_eq!((start.bytes, start.complete), (&b"abc"[..], true));
        assert!(peeked.rest.is_none());
        assert_eq!(peeked.size_hint().exact(), Some(3));
        let collected = peeked.collect().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(collected.to_bytes(), "abc");
    }

    #[tokio::test]
    async fn a_body_error_while_peeking_is_returned() {
        let items: Vec<Result<Frame<Bytes>, BodyError>> = vec![
            Ok(Frame::data(Bytes::from_static(b"ab"))),
            Err("upstream reset".into()),
        ];
        let body = http_body_util::StreamBody::new(futures_util::stream::iter(items));
        assert!(Peeked::read(body, 512).await.is_err());
    }

    /// Regression: an upstream that sends a little and then pauses (server-sent events, a
    /// stalled stream) must not hold the response back until the peek is full.
    #[tokio::test]
    async fn a_body_that_pauses_after_some_data_is_not_held_back() {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<FrameItem>(4);
        tx.send(Ok(Frame::data(Bytes::from_static(b"data: 1\n\n"))))
            .await
            .unwrap_or_else(|_| panic!("send"));
        let body = http_body_util::StreamBody::new(futures_util::stream::poll_fn(move |cx| {
            rx.poll_recv(cx)
        }));
        let peeked =
            tokio::time::timeout(std::time::Duration::from_secs(20), Peeked::read(body, 512))
                .await
                .expect("the peek stops waiting once the upstream pauses")
                .unwrap_or_else(|e| panic!("{e}"));
        let start = peeked.body_start();
        assert_eq!((start.bytes, start.complete), (&b"data: 1\n\n"[..], false));
        drop(tx);
    }

    /// Regression: a prefix sent one byte per chunk is held in a bounded number of frames.
    #[tokio::test]
    async fn a_prefix_in_one_byte_frames_is_held_in_few_frames() {
        let bytes: Vec<&'static str> = std::iter::repeat_n("x", 3000).collect();
        let mut parts = data(&bytes);
        parts.push(Frame::data(Bytes::from(vec![b'y'; 4096])));
        parts.extend(data(&["z"; 10]));
        let peeked = Peeked::read(body_of(parts), 2048)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            peeked.frames.len(),
            1,
            "2048 one-byte frames joined into one"
        );
        assert_eq!(peeked.body_start().bytes.len(), 2048);
        let collected = peeked.collect().await.unwrap_or_else(|e| panic!("{e}"));
        let all = collected.to_bytes();
        assert_eq!(all.len(), 3000 + 4096 + 10, "nothing lost or duplicated");
        assert!(all[..3000].iter().all(|&b| b == b'x'));
        assert!(all[3000..7096].iter().all(|&b| b == b'y'));
    }

    #[test]
    fn bodiless_responses_are_never_peeked() {
        assert!(may_have_body(&Method::GET, StatusCode::OK));
        assert!(may_have_body(&Method::POST, StatusCode::NOT_FOUND));
        assert!(!may_have_body(&Method::HEAD, StatusCode::OK));
        assert!(!may_have_body(
            &Method::GET,
            StatusCode::SWITCHING_PROTOCOLS
        ));
        assert!(!may_have_body(&Method::GET, StatusCode::NO_CONTENT));
        assert!(!may_have_body(&Method::GET, StatusCode::NOT_MODIFIED));
    }
}
