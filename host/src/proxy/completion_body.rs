//! The response body of a request whose chain has `on-complete` hooks: counts the bytes that
//! go out and finishes the request's [`PendingCompletion`] when the body ends, fails or is
//! dropped.
//!
//! Built only for such requests (`handler`); cost per frame: one length read. Finishing only
//! spawns the hook calls (`plugins::completion`), so the last frame is never held back.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};

use crate::plugins::PendingCompletion;
use crate::plugins::bindings::completion::Ending;
use crate::upstream::body::ProxyBody;

/// A response body that finishes its request's `on-complete` calls when it ends.
pub struct CompletionBody {
    inner: ProxyBody,
    status: u16,
    sent: u64,
    /// How the exchange ended if the body goes out whole: `complete`, or `upstream-failed` for
    /// the gateway's own 502 / 504.
    whole: Ending,
    completion: Option<PendingCompletion>,
}

impl CompletionBody {
    pub fn new(
        inner: ProxyBody,
        status: u16,
        whole: Ending,
        completion: PendingCompletion,
    ) -> Self {
        CompletionBody {
            inner,
            status,
            sent: 0,
            whole,
            completion: Some(completion),
        }
    }

    fn finish(&mut self, ending: Ending) {
        if let Some(c) = self.completion.take() {
            c.finish(Some(self.status), self.sent, ending);
        }
    }
}

impl Drop for CompletionBody {
    /// Dropped by the connection: after its last frame (hyper need not poll past a body that
    /// says it ended), or before, when the client went away.
    fn drop(&mut self) {
        let ending = match self.inner.is_end_stream() {
            true => self.whole,
            false => Ending::ClientGone,
        };
        self.finish(ending);
    }
}

impl Body for CompletionBody {
    type Data = <ProxyBody as Body>::Data;
    type Error = <ProxyBody as Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        this.sent += crate::admin::exchange::data_len(&polled);
        match &polled {
            Poll::Ready(Some(Err(_))) => this.finish(Ending::UpstreamFailed),
            Poll::Ready(None) => this.finish(this.whole),
            _ => {}
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
