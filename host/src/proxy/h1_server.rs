//! The gateway's own HTTP/1.1 server connection loop, for the common case: requests without a
//! body, served in order (pipelined ones too), keep-alive. hyper stays the server of everything
//! else: the first request this loop does not serve (a body, an upgrade, `Expect`, HTTP/2's
//! preface, a malformed or oversized head) hands the connection, with the bytes already read,
//! to hyper for the rest of its life (`rewind`).
//!
//! Why: hyper's server side was ≈ 41% of the gateway's user time on the plain proxy path
//! (bench/README, issue 17): its dispatcher, its own head types, its read buffer re-reserved
//! per request. Here one buffer per connection is reused for every head, a head is one
//! `httparse` pass and one copy (`h1_request_head`), and a response head plus a body that is
//! ready at once go out in one write (`h1_response`).
//!
//! The connection guards stay the connection task's (`connection`, `guards`): idle timeout,
//! graceful shutdown (the `closing` flag: a connection waiting for a head closes at once, a
//! request in flight finishes and its response says `Connection: close`). The header read
//! timeout is this loop's, with hyper's semantics: it runs from the moment the loop waits for
//! a head (a keep-alive connection's wait for its next request included) until the head is
//! whole; then the connection closes without an answer.
//!
//! `WASMGATE_H1_SERVER=hyper` (read once) keeps hyper for every connection.
//!
//! Runs on the connection's task. Cost per request: one read (two with the client-gone watch
//! below), one head parse and copy, one write for head and a ready body, one clock read for the
//! header deadline and one for `Date`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http_body::{Body, Frame};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::h1_request_head::{HeadFacts, Parsed, Unserved, parse};
use super::h1_response::{BodyLength, Encoded, Framing, encode_head};
use super::handler::{Connection, handle};
use super::request_body::RequestBody;
use super::reset_guard::ConnectionResets;
use super::rewind::Rewind;
use super::snapshot::SharedSnapshot;
use crate::upstream::body::{BodyError, ProxyBody};

/// The connection's read buffer: a request head must fit in it (larger heads go to hyper).
const READ_BUF: usize = 8 << 10;

/// Buffered response bytes beyond which they are written before more are added.
const WRITE_BUF: usize = 64 << 10;

/// Data frames at least this large are written from where they are, not copied.
const COPY_LIMIT: usize = 8 << 10;

/// Whether client HTTP/1 connections start on the own server (`WASMGATE_H1_SERVER` is not
/// `hyper`). Read once.
pub(super) fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        !std::env::var("WASMGATE_H1_SERVER").is_ok_and(|v| v.eq_ignore_ascii_case("hyper"))
    })
}

/// How the own server left the connection.
pub(super) enum H1End<IO> {
    /// Done: closed by either side, timed out, or failed (logged).
    Closed,
    /// hyper serves the rest: the stream, the bytes read and not served in front of it.
    Hyper(Rewind<IO>),
}

/// What serving needs from the connection task.
pub(super) struct H1Context<'a> {
    pub(super) conn: &'a Arc<Connection>,
    pub(super) snapshot: &'a SharedSnapshot,
    pub(super) resets: &'a Arc<ConnectionResets>,
    pub(super) header_timeout: Duration,
    pub(super) max_head_bytes: usize,
    /// Set by the connection task's graceful shutdown.
    pub(super) closing: &'a AtomicBool,
}

/// Serves `io` until it closes or a request is hyper's.
pub(super) async fn serve<IO>(io: IO, cx: H1Context<'_>) -> H1End<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut server = Server {
        io,
        buf: vec![0; READ_BUF].into_boxed_slice(),
        filled: 0,
        read_closed: false,
        out: Vec::with_capacity(1024),
        head_timer: None,
    };
    let client = cx.conn.client;
    loop {
        if cx.closing.load(Ordering::Relaxed) {
            return server.close().await;
        }
        let (request, facts) = match server.next_head(&cx).await {
            Ok(head) => head,
            Err(NoHead::Hyper) => {
                let read = Bytes::copy_from_slice(&server.buf[..server.filled]);
                return H1End::Hyper(Rewind::new(server.io, read));
            }
            Err(NoHead::Closed) => return server.close().await,
            Err(NoHead::TimedOut) => {
                tracing::debug!(%client, "closing a connection whose request head timed out");
                return H1End::Closed;
            }
            Err(NoHead::Failed(e)) => {
                tracing::debug!(%client, "client connection failed: {e}");
                return H1End::Closed;
            }
        };
        let guard = cx.resets.start();
        let current = cx.snapshot.load_full();
        // Pinned where it is: the request's future is not moved again (`memmove` of futures
        // was a large share of the plain path's user time, bench/README).
        let answer = std::pin::pin!(handle(current, cx.conn, request));
        let Some(resp) = server.await_watching(answer).await else {
            tracing::debug!(%client, "client connection failed while its request was handled");
            return H1End::Closed;
        };
        guard.answered();
        let keep_alive =
            facts.keep_alive && !server.read_closed && !cx.closing.load(Ordering::Relaxed);
        let (parts, body) = resp.into_parts();
        let length = match body.is_end_stream() {
            true => BodyLength::Empty,
            false => match body.size_hint().exact() {
                Some(len) => BodyLength::Known(len),
                None => BodyLength::Unknown,
            },
        };
        server.out.clear();
        let encoded = encode_head(
            parts.status,
            parts.version,
            parts.headers,
            length,
            facts,
            keep_alive,
            &mut server.out,
        );
        let encoded = match encoded {
            Ok(encoded) => encoded,
            Err(e) => {
                tracing::warn!(%client, "closing a connection: its response head cannot be sent: {}", e.0);
                return H1End::Closed;
            }
        };
        if let Err(e) = server.write_body(body, encoded).await {
            tracing::debug!(%client, "response to the client failed: {e}");
            return H1End::Closed;
        }
        if encoded.close || !keep_alive {
            return server.close().await;
        }
    }
}

/// Why there is no next request for the own server.
enum NoHead {
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
#[derive(Debug)]
enum WriteError {
    Io(io::Error),
    Body(BodyError),
    /// The body ended before its `Content-Length`.
    Short,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Io(e) => write!(f, "{e}"),
            WriteError::Body(e) => write!(f, "response body failed: {e}"),
            WriteError::Short => write!(f, "response body shorter than its content-length"),
        }
    }
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        WriteError::Io(e)
    }
}

struct Server<IO> {
    io: IO,
    buf: Box<[u8]>,
    /// Bytes of `buf` read and not yet consumed (they start at 0).
    filled: usize,
    /// The client sent EOF.
    read_closed: bool,
    /// The response bytes not yet written.
    out: Vec<u8>,
    /// The header deadlines' one timer entry, moved only when it fires early (as `HeadTimer`).
    head_timer: Option<Pin<Box<Sleep>>>,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Server<IO> {
    /// Reads until a head is whole (or the connection ends, the head is hyper's, the gateway
    /// closes, or the header timeout passes).
    async fn next_head(
        &mut self,
        cx: &H1Context<'_>,
    ) -> Result<(http::Request<RequestBody>, HeadFacts), NoHead> {
        let mut deadline = None;
        loop {
            if self.filled > 0 {
                match parse(&self.buf[..self.filled]) {
                    Ok(Parsed {
                        request,
                        facts,
                        len,
                    }) => {
                        if len > cx.max_head_bytes {
                            return Err(NoHead::Hyper);
                        }
                        self.buf.copy_within(len..self.filled, 0);
                        self.filled -= len;
                        return Ok((request, facts));
                    }
                    Err(Unserved::Hyper) => return Err(NoHead::Hyper),
                    Err(Unserved::Partial)
                        if self.filled >= self.buf.len().min(cx.max_head_bytes) =>
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
                if cx.closing.load(Ordering::Relaxed) {
                    return Poll::Ready(Ok(Step::Closing));
                }
                match self.poll_fill(task) {
                    Poll::Ready(Ok(0)) => Poll::Ready(Ok(Step::Eof)),
                    Poll::Ready(Ok(_)) => Poll::Ready(Ok(Step::Data)),
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => {
                        let at =
                            *deadline.get_or_insert_with(|| Instant::now() + cx.header_timeout);
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
        let mut read = ReadBuf::new(&mut self.buf[self.filled..]);
        match Pin::new(&mut self.io).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) => {
                let n = read.filled().len();
                self.filled += n;
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Polls the connection's header timer for `deadline`: the entry is created once, and
    /// moved only when it fires before this deadline (deadlines only grow) or is later.
    fn poll_head_deadline(&mut self, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        let sleep = self
            .head_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.deadline() > deadline {
            sleep.as_mut().reset(deadline);
        }
        loop {
            match sleep.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if sleep.deadline() >= deadline => return Poll::Ready(()),
                Poll::Ready(()) => sleep.as_mut().reset(deadline),
            }
        }
    }

    /// While the gateway waits (for the handler, for the response body), watches the client's
    /// side as hyper does (without half-close): EOF or a failed read mid-exchange fails the
    /// connection (the request is abandoned); a pipelined request's bytes are kept, and the
    /// watch stops while any are buffered. `Err` when the connection failed.
    fn poll_watch(&mut self, cx: &mut Context<'_>) -> Result<(), io::Error> {
        while self.filled == 0 && !self.read_closed {
            match self.poll_fill(cx) {
                Poll::Ready(Ok(0)) => {
                    self.read_closed = true;
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => break,
            }
        }
        Ok(())
    }

    /// Awaits `fut` while watching the client (`poll_watch`); `None` when the client's side
    /// failed first (the future is dropped: the request is abandoned, as with hyper).
    async fn await_watching<F: Future>(&mut self, mut fut: Pin<&mut F>) -> Option<F::Output> {
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
    async fn write_body(
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
    async fn write_out(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.io.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// Ends the connection: the write side is shut down (TLS: close_notify).
    async fn close(mut self) -> H1End<IO> {
        let _ = self.io.shutdown().await;
        H1End::Closed
    }
}
