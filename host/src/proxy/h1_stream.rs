//! The reads and writes of one client connection on the own HTTP/1.1 server (`h1_server`):
//! one read buffer for the connection's life that request heads are parsed from
//! (`h1_request_head`), the header read timeout (hyper's semantics: from the start of each head
//! wait until the head is whole; one timer entry per connection, moved only when it fires
//! early, as `HeadTimer`), the watch on the client while a request is handled and its body
//! streams (EOF or a failed read abandons the request, as hyper without half-close does), and
//! the response: head and the body's ready bytes in one write, a large frame written from where
//! it is, the body's pieces framed as the head said (`h1_response::Framing`).
//!
//! Runs on the connection's task. Cost per request: one read of the head, one read that finds
//! nothing while the request is handled, one coarse clock read for the deadline, one write.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http_body::{Body, Frame};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::h1_request_head::{HeadFacts, Parsed, Unserved, parse};
use super::h1_response::{Encoded, Framing};
use super::request_body::RequestBody;
use super::side_wake::SideWake;
use crate::tcp::Prefixed;
use crate::upstream::body::{BodyError, ProxyBody};
use crate::upstream::coarse_clock;

/// The connection's read buffer: a request head must fit in it (larger heads go to hyper).
const READ_BUF: usize = 8 << 10;

/// Buffered response bytes beyond which they are written before more are added.
const WRITE_BUF: usize = 64 << 10;

/// Data frames at least this large are written from where they are, not copied.
const COPY_LIMIT: usize = 8 << 10;

/// What bounds a request head.
#[derive(Clone, Copy)]
pub(super) struct HeadLimits<'a> {
    /// `headerReadTimeout`.
    pub(super) header_timeout: Duration,
    /// `maxHeaderBytes`: longer heads go to hyper (which answers 431).
    pub(super) max_head_bytes: usize,
    /// Set by the connection task's graceful shutdown: a head wait ends at once.
    pub(super) closing: &'a AtomicBool,
}

/// Why there is no next request for the own server.
pub(super) enum NoHead {
    /// hyper serves the rest of the connection.
    Hyper,
    /// The client or the gateway closed it.
    Closed,
    /// The header read timeout passed.
    TimedOut,
    Failed(io::Error),
}

/// One read's outcome while waiting for a head.
enum Step {
    Data,
    Eof,
    Closing,
    TimedOut,
}

/// Why the response could not be written.
#[derive(Debug, thiserror::Error)]
pub(super) enum WriteError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("response body failed: {0}")]
    Body(BodyError),
    /// The body ended before its `Content-Length`.
    #[error("response body shorter than its content-length")]
    Short,
}

/// One client connection's side of the own server: its read buffer, header deadline, the
/// watch on the client while a request is handled, and the response bytes.
pub(super) struct H1Stream<IO> {
    io: IO,
    buf: Box<[u8]>,
    /// Where each request head's bytes are copied for its URI and header values to share
    /// (`h1_request_head::head_bytes`): one head's size, reused from request to request.
    heads: bytes::BytesMut,
    /// Bytes of `buf` read and not yet consumed (they start at 0).
    filled: usize,
    /// The client sent EOF.
    pub(super) read_closed: bool,
    /// The response bytes not yet written: a thread's spare buffer while a response is
    /// written (`take_out`, `give_out`), empty and unallocated in between.
    pub(super) out: Vec<u8>,
    /// The header deadlines' one timer entry, moved only when it fires early (as `HeadTimer`).
    head_timer: Option<Pin<Box<Sleep>>>,
    /// The client watch is polled only after the socket woke it (`side_wake`): the request's
    /// task is polled two to three times per request while it waits, and each watch poll was a
    /// read attempt (the socket's readiness lock) that found nothing (bench/README, branch
    /// plainpath).
    watch_wake: SideWake,
}

/// Reads what the client sent into the free end of `buf` (`filled` bytes used).
fn fill<IO: AsyncRead + Unpin>(
    io: &mut IO,
    buf: &mut [u8],
    filled: &mut usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    let mut read = ReadBuf::new(&mut buf[*filled..]);
    match Pin::new(io).poll_read(cx, &mut read) {
        Poll::Ready(Ok(())) => {
            let n = read.filled().len();
            *filled += n;
            Poll::Ready(Ok(n))
        }
        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        Poll::Pending => Poll::Pending,
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> H1Stream<IO> {
    pub(super) fn new(io: IO) -> Self {
        H1Stream {
            io,
            buf: vec![0; READ_BUF].into_boxed_slice(),
            heads: bytes::BytesMut::new(),
            filled: 0,
            read_closed: false,
            out: Vec::new(),
            head_timer: None,
            watch_wake: SideWake::new(),
        }
    }

    /// An empty response buffer in `out`, from the thread's spares (`upstream::spares`) unless
    /// one is still held.
    pub(super) fn take_out(&mut self) {
        match self.out.capacity() {
            0 => self.out = crate::upstream::spares::out_buf(),
            _ => self.out.clear(),
        }
    }

    /// The response is written: `out` goes back to the thread's spares.
    pub(super) fn give_out(&mut self) {
        crate::upstream::spares::give_out_buf(std::mem::take(&mut self.out));
    }

    /// The stream for hyper, the bytes read and not served in front of it.
    pub(super) fn into_prefixed(self) -> Prefixed<IO> {
        Prefixed::new(self.buf[..self.filled].to_vec(), self.io)
    }

    /// Reads until a head is whole (or the connection ends, the head is hyper's, the gateway
    /// closes, or the header timeout passes).
    pub(super) async fn next_head(
        &mut self,
        limits: HeadLimits<'_>,
    ) -> Result<(http::Request<RequestBody>, HeadFacts), NoHead> {
        let mut deadline = None;
        loop {
            if self.filled > 0 {
                match parse(&self.buf[..self.filled], &mut self.heads) {
                    Ok(Parsed {
                        request,
                        facts,
                        len,
                    }) => {
                        if len > limits.max_head_bytes {
                            return Err(NoHead::Hyper);
                        }
                        self.buf.copy_within(len..self.filled, 0);
                        self.filled -= len;
                        return Ok((request, facts));
                    }
                    Err(Unserved::Hyper) => return Err(NoHead::Hyper),
                    Err(Unserved::Partial)
                        if self.filled >= self.buf.len().min(limits.max_head_bytes) =>
                    {
                        return Err(NoHead::Hyper);
                    }
                    Err(Unserved::Partial) => {}
                }
            }
            if self.read_closed {
                return Err(NoHead::Closed);
            }
            let step = std::future::poll_fn(|task| {
                if limits.closing.load(Ordering::Relaxed) {
                    return Poll::Ready(Ok(Step::Closing));
                }
                match self.poll_fill(task) {
                    Poll::Ready(Ok(0)) => Poll::Ready(Ok(Step::Eof)),
                    Poll::Ready(Ok(_)) => Poll::Ready(Ok(Step::Data)),
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => {
                        // The coarse clock (within a tick of now): the precise one was one of
                        // the five clock readings per request (bench/README, branch plainpath).
                        let at = *deadline
                            .get_or_insert_with(|| coarse_clock::instant() + limits.header_timeout);
                        match self.poll_head_deadline(at, task) {
                            Poll::Ready(()) => Poll::Ready(Ok(Step::TimedOut)),
                            Poll::Pending => Poll::Pending,
                        }
                    }
                }
            })
            .await
            .map_err(NoHead::Failed)?;
            match step {
                Step::Data => {}
                Step::Eof => {
                    self.read_closed = true;
                    // A half head at EOF is never answered (as hyper).
                    return Err(NoHead::Closed);
                }
                Step::Closing => return Err(NoHead::Closed),
                Step::TimedOut => return Err(NoHead::TimedOut),
            }
        }
    }

    /// Reads what the client sent into the free end of the buffer.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        fill(&mut self.io, &mut self.buf, &mut self.filled, cx)
    }

    /// Polls the connection's header timer for `deadline`: the entry is created once, and
    /// moved only when it fires before this deadline (deadlines only grow) or is later.
    fn poll_head_deadline(&mut self, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        super::head_timer::poll_shared_sleep(&mut self.head_timer, deadline, cx)
    }

    /// While the gateway waits (for the handler, for the response body), watches the client's
    /// side as hyper does (without half-close): EOF or a failed read mid-exchange fails the
    /// connection (the request is abandoned); a pipelined request's bytes are kept, and the
    /// watch stops while any are buffered. `Err` when the connection failed.
    ///
    /// Polled only after the socket woke the watch (`watch_wake`), and once at the start of
    /// each wait ([`await_watching`](Self::await_watching)).
    fn poll_watch(&mut self, cx: &mut Context<'_>) -> Result<(), io::Error> {
        let H1Stream {
            io,
            buf,
            filled,
            read_closed,
            watch_wake,
            ..
        } = self;
        let failed = watch_wake.poll_fn(cx, |cx| {
            while *filled == 0 && !*read_closed {
                match fill(io, buf, filled, cx) {
                    Poll::Ready(Ok(0)) => {
                        *read_closed = true;
                        return Poll::Ready(io::ErrorKind::UnexpectedEof.into());
                    }
                    Poll::Ready(Ok(_)) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(e),
                    Poll::Pending => break,
                }
            }
            Poll::Pending
        });
        match failed {
            Poll::Ready(e) => {
                // The next wait looks at the socket again (the watch's wake-up was used).
                watch_wake.rearm();
                Err(e)
            }
            Poll::Pending => Ok(()),
        }
    }

    /// Awaits `fut` while watching the client (`poll_watch`); `None` when the client's side
    /// failed first (the future is dropped: the request is abandoned, as with hyper).
    pub(super) async fn await_watching<F: Future>(
        &mut self,
        mut fut: Pin<&mut F>,
    ) -> Option<F::Output> {
        // The socket was last polled by the head read (or nobody registered for it since):
        // the watch looks at it on the first poll.
        self.watch_wake.rearm();
        std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                return Poll::Ready(Some(out));
            }
            match self.poll_watch(cx) {
                Ok(()) => Poll::Pending,
                Err(_) => Poll::Ready(None),
            }
        })
        .await
    }

    /// The body's next frame: at once if it is ready; else the buffered bytes are written
    /// first, then it is awaited while watching the client.
    async fn next_frame(
        &mut self,
        body: &mut ProxyBody,
    ) -> Result<Option<Frame<Bytes>>, WriteError> {
        let ready = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *body).poll_frame(cx)));
        let frame = match ready.await {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                self.write_out().await?;
                let waited = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx));
                match self.await_watching(std::pin::pin!(waited)).await {
                    Some(frame) => frame,
                    None => {
                        return Err(WriteError::Io(io::Error::new(
                            io::ErrorKind::ConnectionReset,
                            "the client's side failed",
                        )));
                    }
                }
            }
        };
        frame.transpose().map_err(WriteError::Body)
    }

    /// Writes the encoded head (in `out`) and the body with the head's framing.
    pub(super) async fn write_body(
        &mut self,
        mut body: ProxyBody,
        encoded: Encoded,
    ) -> Result<(), WriteError> {
        match encoded.framing {
            Framing::Length(0) => {}
            Framing::Length(mut left) => {
                while left > 0 {
                    let Some(frame) = self.next_frame(&mut body).await? else {
                        self.write_out().await?;
                        return Err(WriteError::Short);
                    };
                    let Ok(mut data) = frame.into_data() else {
                        continue;
                    };
                    if data.len() as u64 > left {
                        // More than announced: the rest is not sent (the client would read
                        // it as the next response).
                        data.truncate(left as usize);
                    }
                    left -= data.len() as u64;
                    match left {
                        // The last bytes wait for the body's end (below) in the buffer.
                        0 => self.out.extend_from_slice(&data),
                        _ => self.put(data).await?,
                    }
                }
            }
            Framing::Chunked => {
                while let Some(frame) = self.next_frame(&mut body).await? {
                    // Trailers are not sent: the own server never serves `TE: trailers`.
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    if data.is_empty() {
                        continue;
                    }
                    use std::io::Write;
                    let _ = write!(self.out, "{:x}\r\n", data.len());
                    self.put(data).await?;
                    self.out.extend_from_slice(b"\r\n");
                }
                self.out.extend_from_slice(b"0\r\n\r\n");
            }
            Framing::CloseDelimited => {
                while let Some(frame) = self.next_frame(&mut body).await? {
                    if let Ok(data) = frame.into_data() {
                        self.put(data).await?;
                    }
                }
            }
        }
        // Ended (or not to be sent) before its last bytes go out, as with hyper: whatever
        // records the exchange at the body's end (access log, metrics, `on-complete`) has
        // done so when the client sees the response.
        drop(body);
        self.write_out().await?;
        self.io.flush().await?;
        Ok(())
    }

    /// Adds `data` to the response bytes: copied when small, else written with what is
    /// buffered in one vectored write.
    async fn put(&mut self, mut data: Bytes) -> io::Result<()> {
        if data.len() < COPY_LIMIT {
            self.out.extend_from_slice(&data);
            if self.out.len() >= WRITE_BUF {
                self.write_out().await?;
            }
            return Ok(());
        }
        let mut head = 0;
        while head < self.out.len() || !data.is_empty() {
            let slices = [io::IoSlice::new(&self.out[head..]), io::IoSlice::new(&data)];
            let n = self.io.write_vectored(&slices).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            let from_out = n.min(self.out.len() - head);
            head += from_out;
            data.advance(n - from_out);
        }
        self.out.clear();
        Ok(())
    }

    /// Writes the buffered response bytes.
    pub(super) async fn write_out(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.io.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// Ends the connection: the write side is shut down (TLS: close_notify).
    pub(super) async fn close(mut self) {
        let _ = self.io.shutdown().await;
    }
}
