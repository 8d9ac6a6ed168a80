//! The gateway's own HTTP/1.1 server connection loop, for the common case: requests without a
//! body, served in order (pipelined ones too), keep-alive. hyper stays the server of everything
//! else: the first request this loop does not serve (a body, an upgrade, `Expect`, HTTP/2's
//! preface, a malformed or oversized head) hands the connection, with the bytes already read,
//! to hyper for the rest of its life (`tcp::Prefixed`, which replays bytes read ahead).
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
//! The connection's reads and writes (buffer, header deadline, client watch, body framing) are
//! `h1_stream`'s.
//!
//! Runs on the connection's task. Cost per request: one read (two with the client-gone watch),
//! one head parse and copy, one write for head and a ready body, one coarse clock read for the
//! header deadline and one for `Date` (`upstream::coarse_clock`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body::Body;
use tokio::io::{AsyncRead, AsyncWrite};

use super::h1_response::{BodyLength, encode_head};
use super::h1_stream::{H1Stream, HeadLimits, NoHead};
use super::handler::{Connection, handle};
use super::reset_guard::ConnectionResets;
use super::snapshot::SharedSnapshot;
use crate::tcp::Prefixed;

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
    Hyper(Prefixed<IO>),
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
    let mut server = H1Stream::new(io);
    let limits = HeadLimits {
        header_timeout: cx.header_timeout,
        max_head_bytes: cx.max_head_bytes,
        closing: cx.closing,
    };
    let client = cx.conn.client;
    loop {
        if cx.closing.load(Ordering::Relaxed) {
            return close(server).await;
        }
        let (request, facts) = match server.next_head(limits).await {
            Ok(head) => head,
            Err(NoHead::Hyper) => return H1End::Hyper(server.into_prefixed()),
            Err(NoHead::Closed) => return close(server).await,
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
        let (mut parts, body) = resp.into_parts();
        let length = match body.is_end_stream() {
            true => BodyLength::Empty,
            false => match body.size_hint().exact() {
                Some(len) => BodyLength::Known(len),
                None => BodyLength::Unknown,
            },
        };
        server.take_out();
        let encoded = encode_head(
            parts.status,
            parts.version,
            &mut parts.headers,
            length,
            facts,
            keep_alive,
            &mut server.out,
        );
        // Written out: the map's memory goes to the next head parsed on this thread.
        crate::upstream::spares::give_map(std::mem::take(&mut parts.headers));
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
        server.give_out();
        if encoded.close || !keep_alive {
            return close(server).await;
        }
    }
}

/// Ends the connection: the write side is shut down (TLS: close_notify).
async fn close<IO: AsyncRead + AsyncWrite + Unpin>(stream: H1Stream<IO>) -> H1End<IO> {
    stream.close().await;
    H1End::Closed
}
