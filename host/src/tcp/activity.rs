//! Idle detection for client connections (`respondingTimeouts.idleTimeout`), HTTP and TCP.
//!
//! [`ActivityIo`] wraps a client socket and marks each read or write that moved bytes (a TCP
//! forward marks each chunk it copies with [`Activity::touch`]); [`Activity::idle_for`] looks
//! at the mark every eighth of the timeout and resolves once it stayed unmarked for the whole
//! timeout, so a connection is found idle between one and 9/8 timeouts after its last byte.
//! An HTTP connection's task then shuts the connection down gracefully (an idle keep-alive
//! connection closes at once, a request still in flight finishes first; HTTP/2: GOAWAY, open
//! streams finish); a TCP forward closes both sides.
//!
//! Cost: one relaxed atomic store per socket read or write that moved bytes (no clock read);
//! one timer wake-up per connection every eighth of the timeout.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Checks per idle timeout: the most a connection is found idle late, as a fraction of it.
const CHECKS_PER_TIMEOUT: u32 = 8;

/// Whether a connection moved bytes since [`Activity::idle_for`] last looked.
#[derive(Debug, Default)]
pub struct Activity {
    moved: AtomicBool,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Activity::default())
    }

    /// Marks bytes moved.
    pub(crate) fn touch(&self) {
        self.moved.store(true, Ordering::Relaxed);
    }

    /// Resolves once no bytes have moved for `idle` (counted from the call), at most an eighth
    /// of `idle` later. Wakes every eighth of `idle` to look.
    pub async fn idle_for(&self, idle: Duration) {
        let step = (idle / CHECKS_PER_TIMEOUT).max(Duration::from_millis(1));
        let mut quiet = Duration::ZERO;
        while quiet < idle {
            tokio::time::sleep(step).await;
            if self.moved.swap(false, Ordering::Relaxed) {
                quiet = Duration::ZERO;
            } else {
                quiet += step;
            }
        }
    }

    /// [`Activity::idle_for`] with the timeout optional: never resolves without one.
    pub async fn idle_for_at_most(&self, idle: Option<Duration>) {
        match idle {
            Some(idle) => self.idle_for(idle).await,
            None => std::future::pending().await,
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
        io.write_all(b"x").await.unwrap();
        assert!(
            activity.moved.swap(false, Ordering::Relaxed),
            "a write is activity"
        );
        let mut byte = [0u8; 1];
        b.read_exact(&mut byte).await.unwrap();
        b.write_all(b"y").await.unwrap();
        io.read_exact(&mut byte).await.unwrap();
        assert!(
            activity.moved.swap(false, Ordering::Relaxed),
            "a read is activity"
        );
        // And an idle wait ends once nothing moves (bounded by a generous guard, not timed).
        tokio::time::timeout(
            Duration::from_secs(10),
            activity.idle_for(Duration::from_millis(10)),
        )
        .await
        .expect("idle_for resolves when the connection is idle");
    }

    #[tokio::test]
    async fn bytes_moving_keep_an_idle_wait_from_resolving() {
        let activity = Activity::new();
        let mut wait = std::pin::pin!(activity.idle_for(Duration::from_millis(40)));
        // Activity at each of the wait's looks, for several timeouts.
        for _ in 0..40 {
            activity.touch();
            let resolved = tokio::time::timeout(Duration::from_millis(5), wait.as_mut()).await;
            assert!(resolved.is_err(), "resolved while bytes were moving");
        }
        // Then quiet: it resolves.
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .expect("idle_for resolves once bytes stop moving");
    }
}
