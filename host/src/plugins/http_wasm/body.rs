//! Buffered bodies: how a body an http-wasm guest asked for (`buffer_request`,
//! `buffer_response`) travels between the proxy and the guest.
//!
//! The proxy collects such a body whole (up to [`MAX_BUFFERED_BODY`]) only when a middleware of
//! the route's chain enabled the feature at init (`Chain::buffer_request` /
//! `Chain::buffer_response`), and puts it in the head's `extensions` as a [`BufferedBody`]. The
//! guest reads it with `read_body` and replaces it with `write_body`; after the request hooks
//! the proxy sends whatever `BufferedBody` the request head holds instead of the client's
//! stream. Chains without such a middleware never build one: their bodies stream as before.

use bytes::Bytes;

/// The largest body the host buffers for a guest, request or response. A larger request body
/// is answered 413; a larger response body 502 (the gateway cannot apply the middleware).
pub const MAX_BUFFERED_BODY: usize = 1 << 20;

/// A whole body held in memory, in a head's `extensions`.
#[derive(Debug, Clone, Default)]
pub struct BufferedBody(pub Bytes);

/// Sets `Content-Length` to `len` and drops `Transfer-Encoding`: the head of a body that was
/// replaced by a guest (or collected whole) describes the bytes actually sent.
pub fn set_length(headers: &mut http::HeaderMap, len: usize) {
    headers.remove(http::header::TRANSFER_ENCODING);
    headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
}
