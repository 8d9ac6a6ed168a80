//! A body whose first bytes were already read (to decide whether it fits a middleware's cap),
//! sent as those bytes and then the unread rest, streamed without a copy.
//!
//! Built only when a body over a `body` grant's cap passes on (`OverLimit::Pass`); costs one
//! frame for the prefix.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;

use crate::upstream::body::{BodyError, ProxyBody};

struct Prefixed<B> {
    prefix: Option<Bytes>,
    rest: B,
}

/// `prefix`, then every frame of `rest`, as one boxed body.
pub fn prefixed<B>(prefix: Bytes, rest: B) -> ProxyBody
where
    B: Body<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BodyError>,
{
    Prefixed {
        prefix: Some(prefix),
        rest,
    }
    .boxed()
}

impl<B> Body for Prefixed<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BodyError>,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if let Some(prefix) = self.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        Pin::new(&mut self.rest)
            .poll_frame(cx)
            .map(|frame| frame.map(|f| f.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.rest.size_hint();
        if let Some(prefix) = &self.prefix {
            let n = prefix.len() as u64;
            hint.set_lower(hint.lower() + n);
            if let Some(upper) = hint.upper() {
                hint.set_upper(upper + n);
            }
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};

    #[tokio::test]
    async fn the_prefix_comes_first_then_the_rest() {
        let body = prefixed(
            Bytes::from_static(b"head-"),
            Full::new(Bytes::from_static(b"tail")),
        );
        let all = body.collect().await.map(|c| c.to_bytes());
        assert_eq!(all.ok().as_deref(), Some(&b"head-tail"[..]));
    }
}
