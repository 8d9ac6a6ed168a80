//! A client request's body, whichever server read its head: hyper's (`Incoming`: bodies with
//! framing, upgrades, HTTP/2) or none at all (a head the gateway's own HTTP/1.1 server read,
//! `h1_server`, which serves only requests without a body). The pipeline streams either the
//! same way.
//!
//! Cost: one branch per poll.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use crate::upstream::body::BodyError;

/// The body of a client request.
pub enum RequestBody {
    /// Read by hyper's server.
    Hyper(Incoming),
    /// The request has no body (no `Content-Length` or `0`, no `Transfer-Encoding`).
    Empty,
}

impl From<Incoming> for RequestBody {
    fn from(body: Incoming) -> Self {
        RequestBody::Hyper(body)
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            RequestBody::Hyper(body) => crate::upstream::body::poll_incoming(body, cx),
            RequestBody::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Hyper(body) => body.is_end_stream(),
            RequestBody::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Hyper(body) => body.size_hint(),
            RequestBody::Empty => SizeHint::with_exact(0),
        }
    }
}
