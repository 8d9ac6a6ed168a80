//! A service as the proxy uses it, built from `http.services.<name>`:
//!
//! - `loadBalancer` → [`LoadBalancer`] (servers, health, sticky, retry);
//! - `weighted` → [`Weighted`]: smooth weighted round robin over child services, optional
//!   sticky cookie, unavailable children skipped;
//! - `mirroring` → [`Mirroring`]: the main service answers; mirrors get copies
//!   (fire-and-forget, [`super::mirroring`]);
//! - `failover` → [`Failover`]: the main service while it has an available server, else the
//!   fallback.
//!
//! A request descends through the composite services in a loop (no boxing, no recursion) to
//! one load balancer. Health propagates upwards on demand: a parent asks its children, which
//! read their servers' atomic flags.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::upstream::UpstreamBody;
use futures_util::future::Either;
use http::header::SET_COOKIE;
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt;

use super::error::ServiceError;
use super::load_balancer::LoadBalancer;
use super::mirroring::{CopyTarget, Mirroring};
use super::retry::RetryPolicy;
use super::sticky::StickyCookie;
use super::swrr::SmoothWeighted;
use crate::upstream::body::ProxyBody;

pub struct Service {
    pub name: Arc<str>,
    pub kind: ServiceKind,
}

#[allow(
    clippy::large_enum_variant,
    reason = "one per service, built at load time; boxing would add a pointer hop per request"
)]
pub enum ServiceKind {
    LoadBalancer(LoadBalancer),
    Weighted(Weighted),
    Mirroring(Mirroring<Service>),
    Failover(Failover),
}

/// Child services with weights.
pub struct Weighted {
    pub children: Box<[Arc<Service>]>,
    pub schedule: SmoothWeighted,
    pub sticky: Option<StickyCookie>,
}

pub struct Failover {
    pub main: Arc<Service>,
    pub fallback: Arc<Service>,
}

impl Service {
    /// Whether a request sent here now could reach a server (read from atomics, no I/O).
    pub fn is_available(&self) -> bool {
        match &self.kind {
            ServiceKind::LoadBalancer(lb) => lb.is_available(),
            ServiceKind::Weighted(w) => w.children.iter().any(|c| c.is_available()),
            ServiceKind::Mirroring(m) => m.main.is_available(),
            ServiceKind::Failover(f) => f.main.is_available() || f.fallback.is_available(),
        }
    }

    /// Forwards the request and returns the response head (body streaming). Sticky cookies
    /// set by weighted services on the way down are added to the response.
    pub async fn forward(
        &self,
        req: Request<ProxyBody>,
    ) -> Result<Response<UpstreamBody>, ServiceError> {
        self.forward_retrying(req, None, &mut None).await
    }

    /// [`forward_retrying`](Self::forward_retrying)'s future on the heap, for the proxy's
    /// request path. A service that is one load balancer (the common case) boxes the load
    /// balancer's own future: one async layer less, whose creation and first poll copied the
    /// whole future (kilobytes) once more per request (`memmove`, bench/README). Same answer
    /// either way. Costs one allocation per request, as boxing `forward_retrying` did.
    pub fn forward_boxed<'a>(
        &'a self,
        req: Request<ProxyBody>,
        retry: Option<&'a RetryPolicy>,
        served: &'a mut Option<crate::admin::ServedBy>,
    ) -> impl Future<Output = Result<Response<UpstreamBody>, ServiceError>> + Send + 'a {
        match &self.kind {
            ServiceKind::LoadBalancer(lb) => Either::Left(Box::pin(lb.forward(req, retry, served))),
            _ => Either::Right(Box::pin(self.forward_retrying(req, retry, served))),
        }
    }

    /// [`forward`](Self::forward) with a router's `retry` middleware: the load balancer the
    /// request reaches retries with `retry` where it has no `retry` of its own. `served`: the
    /// server that answered, when a recorder is on (`LoadBalancer::forward`).
    pub async fn forward_retrying(
        &self,
        mut req: Request<ProxyBody>,
        retry: Option<&RetryPolicy>,
        served: &mut Option<crate::admin::ServedBy>,
    ) -> Result<Response<UpstreamBody>, ServiceError> {
        // Most paths set no cookie; the vector allocates only when one does.
        let mut cookies: Vec<HeaderValue> = Vec::new();
        let mut service = self;
        let result = loop {
            match &service.kind {
                ServiceKind::LoadBalancer(lb) => break lb.forward(req, retry, served).await,
                ServiceKind::Weighted(w) => {
                    let (child, cookie) = w.pick(req.headers()).ok_or(ServiceError::NoServer)?;
                    cookies.extend(cookie);
                    service = child;
                }
                ServiceKind::Failover(f) => {
                    service = if f.main.is_available() {
                        &f.main
                    } else {
                        &f.fallback
                    };
                }
                ServiceKind::Mirroring(m) => {
                    // Boxed: the mirrors' copies must not grow every request's future.
                    req = Box::pin(m.copy_to_mirrors(req)).await?;
                    service = &m.main;
                }
            }
        };
        let mut resp = result?;
        for cookie in cookies {
            resp.headers_mut().append(SET_COOKIE, cookie);
        }
        Ok(resp)
    }
}

impl Weighted {
    /// The child for this request and, when the sticky pin is new or changed, its cookie.
    fn pick(&self, headers: &http::HeaderMap) -> Option<(&Arc<Service>, Option<HeaderValue>)> {
        let available = |i: usize| self.children.get(i).is_some_and(|c| c.is_available());
        if let Some(sticky) = &self.sticky
            && let Some(i) = sticky.pinned(headers).filter(|&i| available(i))
        {
            return self.children.get(i).map(|c| (c, None));
        }
        let i = self.schedule.pick(available)?;
        let cookie = self.sticky.as_ref().and_then(|s| s.set_cookie(i));
        self.children.get(i).map(|c| (c, cookie))
    }
}

impl CopyTarget for Service {
    fn send_copy(
        self: Arc<Self>,
        req: Request<ProxyBody>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            match self.forward(req).await {
                Ok(resp) => {
                    let _ = resp.into_body().collect().await;
                }
                Err(e) => tracing::debug!(mirror = &*self.name, "mirror copy failed: {e}"),
            }
        })
    }
}
