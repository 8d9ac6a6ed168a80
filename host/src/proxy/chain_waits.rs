//! The plugin chain's rarely taken waits, each made and boxed by a function of its own.
//!
//! `proxy_chain` (`handler`) may wait for a request or response body collected for a `body`
//! grant, a subrequest's answer, Redis' answers to takes or to a `kv` operation, or a body
//! peek: futures of hundreds of bytes to kilobytes, which most chains never make. Awaited
//! inline, each sat in `proxy_chain`'s future (copied whole when `proxy` boxes it, per
//! request); boxed inline, each still took a stack slot of its size in `proxy_chain`'s poll
//! frame (29 KB, pushing every call below it that much deeper into the stack) and had its
//! poll inlined there. Here the future is built in this function's frame, only when called,
//! and polled through a vtable: `proxy_chain` holds one pointer per wait.
//!
//! Cost: one allocation and one dynamic call per poll, paid only by the requests that wait.

use std::future::Future;
use std::pin::Pin;

use super::request_body::RequestBody;

use super::body_buffer::Collected;
use super::body_peek::HeldBody;
use super::client_body::{BodyPolicy, BodyWatch};
use super::error::GatewayError;
use crate::plugins::Subrequest;
use crate::plugins::body::BodyLimit;
use crate::plugins::outbound_send::SubrequestResult;
use crate::plugins::redis_kv::{KvAnswered, KvCall};
use crate::plugins::remote_take::{TakeAnswers, TakeBatch};
use crate::upstream::UpstreamBody;
use crate::upstream::body::ProxyBody;

/// A boxed wait, polled through its vtable.
pub(super) type Wait<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// `body_buffer::collect_request`, boxed.
#[inline(never)]
pub(super) fn collect_request<'a>(
    body: RequestBody,
    headers: &'a http::HeaderMap,
    policy: BodyPolicy,
    limit: BodyLimit,
) -> Wait<'a, Result<Collected<(ProxyBody, BodyWatch)>, GatewayError>> {
    Box::pin(super::body_buffer::collect_request(
        body, headers, policy, limit,
    ))
}

/// `body_buffer::collect_response`, boxed.
#[inline(never)]
pub(super) fn collect_response<'a>(
    body: UpstreamBody,
    headers: &'a http::HeaderMap,
    limit: BodyLimit,
) -> Wait<'a, Result<Collected<ProxyBody>, GatewayError>> {
    Box::pin(super::body_buffer::collect_response(body, headers, limit))
}

/// `HeldBody::peek`, boxed.
#[inline(never)]
pub(super) fn peek<'a>(
    body: UpstreamBody,
    want: usize,
    method: &'a http::Method,
    status: http::StatusCode,
) -> Wait<'a, Result<HeldBody, GatewayError>> {
    Box::pin(HeldBody::peek(body, want, method, status))
}

/// A recorded subrequest's send, boxed.
#[inline(never)]
pub(super) fn subrequest(sub: Box<Subrequest>) -> Wait<'static, SubrequestResult> {
    Box::pin(sub.send())
}

/// Redis-backed takes, boxed.
#[inline(never)]
pub(super) fn takes(takes: TakeBatch) -> Wait<'static, TakeAnswers> {
    Box::pin(takes.run())
}

/// A Redis `kv` operation a response hook left pending, boxed.
#[inline(never)]
pub(super) fn kv(call: KvCall) -> Wait<'static, KvAnswered> {
    Box::pin(call.run())
}
