//! Mirroring: the main service answers the client; each mirror whose percentage picks the
//! request gets a copy on a task of its own. A mirror's response is read and dropped; its
//! slowness, failure or hang never reaches the client.
//!
//! Copies need the request body twice, so a body is buffered when (and only when) a mirror
//! takes the request, up to `maxBodySize`; a larger body goes to the main service unchanged
//! and is not mirrored. Upgrade requests (WebSocket) are never mirrored. At most
//! [`MAX_IN_FLIGHT`] copies per mirroring service are outstanding; beyond that, copies are
//! skipped, so a hung mirror cannot pile up tasks and connections without bound.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Request, header};
use hyper::body::Body;

pub mod replay;

use super::error::ServiceError;
use crate::upstream::body::ProxyBody;
use replay::{Buffered, MirrorSampler, Replay, buffer_up_to};

/// Outstanding mirror copies allowed per mirroring service.
pub const MAX_IN_FLIGHT: usize = 256;

/// Where mirror copies go: a service, seen only through what mirroring needs of it, so that
/// this module does not depend on the service tree that contains it (`S` is
/// [`Service`](super::service::Service) in the gateway).
pub trait CopyTarget: Send + Sync + 'static {
    /// Sends one copy to completion; the response is read and dropped, a failure logged.
    /// Returns a boxed future: the service's own `forward` awaits the mirroring step, so an
    /// `async fn` here would make the future types of the two depend on each other.
    fn send_copy(
        self: Arc<Self>,
        req: Request<ProxyBody>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

pub struct Mirror<S> {
    pub service: Arc<S>,
    pub sampler: MirrorSampler,
}

pub struct Mirroring<S> {
    pub name: Arc<str>,
    pub main: Arc<S>,
    pub mirrors: Box<[Mirror<S>]>,
    pub mirror_body: bool,
    pub max_body_size: Option<u64>,
    pub in_flight: Arc<AtomicUsize>,
}

impl<S: CopyTarget> Mirroring<S> {
    /// Sends copies of `req` to the mirrors that take it and returns the request for the main
    /// service (its body possibly buffered, never shortened).
    pub async fn copy_to_mirrors(
        &self,
        req: Request<ProxyBody>,
    ) -> Result<Request<ProxyBody>, ServiceError> {
        // Every sampler sees every request, so each mirror's percentage holds on its own. A
        // bit mask (the config allows at most 64 mirrors) keeps this step allocation-free.
        let mut takers: u64 = 0;
        for (i, mirror) in self.mirrors.iter().take(64).enumerate() {
            if mirror.sampler.sample() {
                takers |= 1 << i;
            }
        }
        if takers == 0 || req.headers().contains_key(header::UPGRADE) {
            return Ok(req);
        }
        let (parts, body) = req.into_parts();
        let (main_body, copy) = if !self.mirror_body || body.is_end_stream() {
            (body, Replay::default())
        } else {
            match buffer_up_to(body, self.max_body_size).await {
                Ok(Buffered::Whole(replay)) => (replay.body(), replay),
                Ok(Buffered::TooLarge(body)) => {
                    tracing::debug!(
                        service = &*self.name,
                        "request body over maxBodySize: not mirrored"
                    );
                    return Ok(Request::from_parts(parts, body));
                }
                Err(e) => {
                    tracing::debug!(
                        service = &*self.name,
                        "request body failed while buffering: {e}"
                    );
                    return Err(ServiceError::BadRequest("request body could not be read"));
                }
            }
        };
        let chosen = self
            .mirrors
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < 64 && takers & (1 << i) != 0);
        for (_, mirror) in chosen {
            if self.in_flight.fetch_add(1, Ordering::Relaxed) >= MAX_IN_FLIGHT {
                self.in_flight.fetch_sub(1, Ordering::Relaxed);
                tracing::debug!(
                    service = &*self.name,
                    "too many mirror copies outstanding: skipped"
                );
                continue;
            }
            let mut copy_req = Request::new(copy.body());
            *copy_req.method_mut() = parts.method.clone();
            *copy_req.uri_mut() = parts.uri.clone();
            *copy_req.version_mut() = parts.version;
            *copy_req.headers_mut() = parts.headers.clone();
            tokio::spawn(send_copy(
                mirror.service.clone(),
                copy_req,
                self.in_flight.clone(),
            ));
        }
        Ok(Request::from_parts(parts, main_body))
    }
}

/// One mirror copy, to completion; the outstanding count drops when it is done.
async fn send_copy<S: CopyTarget>(
    service: Arc<S>,
    req: Request<ProxyBody>,
    in_flight: Arc<AtomicUsize>,
) {
    service.send_copy(req).await;
    in_flight.fetch_sub(1, Ordering::Relaxed);
}
