//! Idle detection for client connections (`respondingTimeouts.idleTimeout`).
//!
//! [`ActivityIo`] wraps a client socket and records when bytes last moved in either direction;
//! [`Activity::idle_for`] resolves once that was longer ago than the timeout. The connection task
//! then shuts the connection down gracefully: an idle keep-alive connection closes at once, a
//! request still in flight finishes first (HTTP/2: GOAWAY, open streams finish).
//!
//! Cost: one monotonic clock read and one relaxed atomic store per socket read or write that
//! moved bytes; one timer per connection, re-armed only when it fires.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// When a connection last moved bytes, as milliseconds since the connection started.
#[derive(Debug)]
pub struct Activity {
    started: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
        })
    }

    pub(crate) fn touch(&self) {
        let ms = self.started.elapsed().as_millis();
        self.last_ms
            .store(u64::try_from(ms).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.started + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// Resolves once no bytes have moved for `idle`. Sleeps until the earliest moment that could
    /// be true, then checks again (activity in between pushes the deadline out).
    pub async fn idle_for(&self, idle: Duration) {
        loop {
            let deadline = self.last() + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A socket that reports its reads and writes to an [`Activity`].
pub struct ActivityIo<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> ActivityIo<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        ActivityIo { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ActivityIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ActivityIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn bytes_moved_in_either_direction_count_as_activity() {
        let activity = Activity::new();
        let (a, mut b) = tokio::io::duplex(64);
        let mut io = ActivityIo::new(a, activity.clone());
        tokio::time::sleep(Duration::from_millis(20)).await;
        io.write_all(b"x").await.unwrap();
        let after_write = activity.last();
        assert!(after_write > activity.started, "a write is activity");
        let mut byte = [0u8; 1];
        b.read_exact(&mut byte).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        b.write_all(b"y").await.unwrap();
        io.read_exact(&mut byte).await.unwrap();
        assert!(activity.last() > after_write, "a read is activity");
        // And an idle wait ends once nothing moves (bounded by a generous guard, not timed).
        tokio::time::timeout(
            Duration::from_secs(10),
            activity.idle_for(Duration::from_millis(10)),
        )
        .await
        .expect("idle_for resolves when the connection is idle");
    }
}
