//! An upstream response's body, whichever client read its head: hyper's (`Incoming`: bodies of
//! requests with a body, upgrades, HTTP/2, TLS) or the gateway's own HTTP/1.1 client's
//! (`h1_body`). The proxy streams either the same way.
//!
//! Cost: one branch per poll.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use super::body::{BodyError, ProxyBody};
use super::h1_body::H1Body;

/// The body of an upstream response.
pub enum UpstreamBody {
    Hyper(Incoming),
    Own(H1Body),
}

impl UpstreamBody {
    /// As the proxy's one body type.
    pub fn boxed(self) -> ProxyBody {
        http_body_util::BodyExt::boxed(self)
    }
}

impl From<Incoming> for UpstreamBody {
    fn from(body: Incoming) -> Self {
        UpstreamBody::Hyper(body)
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            UpstreamBody::Hyper(body) => super::body::poll_incoming(body, cx),
            UpstreamBody::Own(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::Hyper(body) => body.is_end_stream(),
            UpstreamBody::Own(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamBody::Hyper(body) => body.size_hint(),
            UpstreamBody::Own(body) => body.size_hint(),
        }
    }
}
