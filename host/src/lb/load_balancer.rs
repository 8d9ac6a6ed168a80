//! A `loadBalancer` service at request time: pick a server (sticky cookie first, then smooth
//! weighted round robin over the available servers), forward, observe the outcome (passive
//! health), and retry an idempotent body-less request on another server when the connection
//! fails.
//!
//! Per request on the happy path: a cookie scan when sticky, one atomic increment for the
//! pick, one or two atomic loads per server considered; no lock, no allocation of our own.

use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::Either;
use http::header::SET_COOKIE;
use http::uri::{Authority, Scheme};
use http::{Request, Response};
use hyper::body::Body;

use crate::upstream::UpstreamBody;

use super::error::ServiceError;
use super::health::active::{HealthTasks, ProbeTarget, start};
use super::health::passive::PassivePolicy;
use super::health::{Clock, ServerHealth};
use super::retry::RetryPolicy;
use super::sticky::StickyCookie;
use super::swrr::SmoothWeighted;
use crate::admin::trace::TraceParent;
use crate::config::{HealthCheckConfig, LoadBalancerConfig};
use crate::upstream::body::ProxyBody;
use crate::upstream::error::UpstreamError;
use crate::upstream::transport::{UpstreamProtocol, UpstreamTarget, UpstreamTransport};

/// One upstream server, parsed once at config time.
#[derive(Debug, Clone)]
pub struct Server {
    /// The URL as configured (logs, sticky cookie id).
    pub url: Arc<str>,
    pub scheme: Scheme,
    pub authority: Authority,
    pub protocol: UpstreamProtocol,
    pub weight: u32,
    /// `preservePath`: the URL's path, put before each request's path.
    pub path_prefix: Option<Arc<str>>,
}

/// Why a load balancer could not be built (the config module checks these first).
#[derive(Debug, thiserror::Error)]
pub enum LoadBalancerError {
    #[error("server URL {0} needs a scheme and a host")]
    ServerUrl(String),
    #[error("sticky cookie: {0}")]
    Cookie(#[from] http::header::InvalidHeaderValue),
}

pub struct LoadBalancer {
    service: Arc<str>,
    servers: Box<[Server]>,
    health: Arc<[ServerHealth]>,
    clock: Clock,
    schedule: SmoothWeighted,
    sticky: Option<StickyCookie>,
    passive: Option<PassivePolicy>,
    retry: Option<RetryPolicy>,
    /// `traefik_service_retries_total` of this service (metrics on).
    retries: Option<Arc<std::sync::atomic::AtomicU64>>,
    pass_host_header: bool,
    transport: UpstreamTransport,
    /// Each server's connection pool, in `servers` order (resolved once, here).
    targets: Box<[UpstreamTarget]>,
    /// Active health probes; they stop when the balancer is dropped.
    _probes: Option<HealthTasks>,
}

impl Server {
    pub fn from_url(
        url: &http::Uri,
        weight: u32,
        preserve_path: bool,
    ) -> Result<Server, LoadBalancerError> {
        let bad = || LoadBalancerError::ServerUrl(url.to_string());
        let authority = url.authority().cloned().ok_or_else(bad)?;
        let (scheme, protocol) = match url.scheme_str() {
            Some("h2c") => (Scheme::HTTP, UpstreamProtocol::H2c),
            Some(_) => (
                url.scheme().cloned().ok_or_else(bad)?,
                UpstreamProtocol::Http1,
            ),
            None => return Err(bad()),
        };
        Ok(Server {
            url: Arc::from(url.to_string().trim_end_matches('/')),
            scheme,
            authority,
            protocol,
            weight,
            path_prefix: if preserve_path {
                super::server_path::prefix_of(url)
            } else {
                None
            },
        })
    }
}

impl LoadBalancer {
    /// Builds the balancer and starts its health probes (inside the tokio runtime).
    pub fn new(
        service: Arc<str>,
        config: &LoadBalancerConfig,
        transport: UpstreamTransport,
    ) -> Result<Self, LoadBalancerError> {
        let servers = config
            .servers
            .iter()
            .map(|s| Server::from_url(&s.url, s.weight, s.preserve_path))
            .collect::<Result<Vec<_>, _>>()?;
        let weights: Vec<u32> = servers.iter().map(|s| s.weight).collect();
        let sticky = match &config.sticky {
            Some(c) => {
                let keys: Vec<&str> = servers.iter().map(|s| &*s.url).collect();
                Some(StickyCookie::new(c, &keys)?)
            }
            None => None,
        };
        let health: Arc<[ServerHealth]> = servers.iter().map(|_| ServerHealth::default()).collect();
        let probes = config.health_check.as_ref().map(|hc| {
            let targets = servers.iter().map(|s| probe_target(s, hc)).collect();
            start(
                service.clone(),
                hc,
                targets,
                health.clone(),
                transport.clone(),
            )
        });
        let targets = servers
            .iter()
            .map(|s| transport.target(&s.scheme, &s.authority, s.protocol))
            .collect();
        Ok(LoadBalancer {
            retries: crate::admin::service_retries(&service),
            targets,
            service,
            schedule: SmoothWeighted::new(&weights),
            servers: servers.into_boxed_slice(),
            health,
            clock: Clock::new(),
            sticky,
            passive: config.passive_health_check.as_ref().map(PassivePolicy::new),
            retry: config.retry.as_ref().map(RetryPolicy::new),
            pass_host_header: config.pass_host_header,
            transport,
            _probes: probes,
        })
    }

    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// Each server's URL and whether its health checks have it up (the API's `serverStatus`).
    pub fn server_status(&self) -> Vec<(String, bool)> {
        self.servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let up = self.health.get(i).is_some_and(|h| h.is_up());
                (s.url.to_string(), up)
            })
            .collect()
    }

    fn available(&self, server: usize) -> bool {
        self.health
            .get(server)
            .is_some_and(|h| h.is_available(&self.clock))
    }

    /// Whether any server in the rotation is available (failover and weighted parents ask).
    pub fn is_available(&self) -> bool {
        self.servers
            .iter()
            .enumerate()
            .any(|(i, s)| s.weight > 0 && self.available(i))
    }

    fn pick(&self, exclude: &[usize]) -> Option<usize> {
        self.schedule
            .pick(|i| !exclude.contains(&i) && self.available(i))
    }

    /// Forwards to one server (retrying on another if allowed: the service's `retry`, else
    /// the router's `route_retry`) and returns its response head; a new or changed sticky pin
    /// adds `Set-Cookie`.
    ///
    /// `served` is set to the server that answered and the retries it took, when a recorder
    /// is on (the access log's `ServiceURL` and `RetryAttempts`): a slot of the caller's, not
    /// a response extension (whose map costs three allocations per request).
    ///
    /// Not an `async fn`: the server is picked here and the exchange's own future returned
    /// with what follows it (`map`), so the future holds no copy of the request beside the
    /// exchange's (an async layer kept its request argument for its whole life) and is not a
    /// layer whose creation copied the exchange's future once more. The proxy boxes it: 1136
    /// bytes as an `async fn`, over glibc's 1032-byte per-thread cache, so each request's
    /// box took `malloc`'s slower bin path (bench/README, branch plainpath). With tracing on,
    /// the request's span goes with it: [`forward_traced`](Self::forward_traced), boxed.
    pub fn forward<'a>(
        &'a self,
        mut req: Request<ProxyBody>,
        route_retry: Option<&'a RetryPolicy>,
        served: &'a mut Option<crate::admin::ServedBy>,
    ) -> impl Future<Output = Result<Response<UpstreamBody>, ServiceError>> + Send + 'a {
        // Tracing on: the span the attempts go under (put there by the proxy).
        let trace = match crate::admin::trace::tracer() {
            Some(_) => req.extensions_mut().remove::<TraceParent>(),
            None => None,
        };
        if let Some(trace) = trace {
            return Either::Right(
                Box::pin(self.forward_traced(req, route_retry, served, trace)) as BoxedForward<'a>,
            );
        }
        let (pinned, first) = match self.first_server(&req) {
            Ok(picked) => picked,
            Err(e) => {
                return Either::Right(Box::pin(std::future::ready(Err(e))) as BoxedForward<'a>);
            }
        };
        let sent = match self.retry_for(&req, route_retry) {
            None => Either::Left(self.send_to(first, req, None).map(move |result| {
                result
                    .map(|resp| (first, 0, resp))
                    .map_err(ServiceError::from)
            })),
            // Boxed: the retry loop (a head copy, a pause, the attempt) must not grow the
            // future of every request to a service without `retry`.
            Some(policy) => Either::Right(Box::pin(self.send_with_retry(first, req, policy, None))),
        };
        Either::Left(sent.map(move |result| {
            let (server, retries, resp) = result?;
            Ok(self.answered(server, retries, pinned, resp, served))
        }))
    }

    /// [`forward`](Self::forward) with the request's span: each attempt gets its own under it.
    async fn forward_traced(
        &self,
        req: Request<ProxyBody>,
        route_retry: Option<&RetryPolicy>,
        served: &mut Option<crate::admin::ServedBy>,
        trace: TraceParent,
    ) -> Result<Response<UpstreamBody>, ServiceError> {
        let (pinned, first) = self.first_server(&req)?;
        let (server, retries, resp) = match self.retry_for(&req, route_retry) {
            None => (first, 0, self.send_to(first, req, Some(&trace)).await?),
            Some(policy) => {
                Box::pin(self.send_with_retry(first, req, policy, Some(&trace))).await?
            }
        };
        Ok(self.answered(server, retries, pinned, resp, served))
    }

    /// The sticky cookie's server if it is available, and the server to try first.
    fn first_server(
        &self,
        req: &Request<ProxyBody>,
    ) -> Result<(Option<usize>, usize), ServiceError> {
        let pinned = self
            .sticky
            .as_ref()
            .and_then(|s| s.pinned(req.headers()))
            .filter(|&i| self.available(i));
        let first = match pinned {
            Some(i) => i,
            None => self.pick(&[]).ok_or(ServiceError::NoServer)?,
        };
        Ok((pinned, first))
    }

    /// The retry policy for `req`: the service's, else the router's, if it applies.
    fn retry_for<'a>(
        &'a self,
        req: &Request<ProxyBody>,
        route_retry: Option<&'a RetryPolicy>,
    ) -> Option<&'a RetryPolicy> {
        self.retry
            .as_ref()
            .or(route_retry)
            .filter(|r| r.applies_to(req.method(), req.body().is_end_stream()))
    }

    /// The answer of `server` after `retries`: recorded in `served` (a recorder on), the
    /// sticky cookie added where the pin is new or changed.
    fn answered(
        &self,
        server: usize,
        retries: u32,
        pinned: Option<usize>,
        mut resp: Response<UpstreamBody>,
        served: &mut Option<crate::admin::ServedBy>,
    ) -> Response<UpstreamBody> {
        if crate::admin::recorder().is_some() {
            // For the access log (`ServiceURL`, `RetryAttempts`); only when something records.
            *served = Some(crate::admin::ServedBy {
                url: self.servers[server].url.clone(),
                retries,
            });
        }
        if pinned != Some(server)
            && let Some(cookie) = self.sticky.as_ref().and_then(|s| s.set_cookie(server))
        {
            resp.headers_mut().append(SET_COOKIE, cookie);
        }
        resp
    }

    async fn send_with_retry(
        &self,
        first: usize,
        req: Request<ProxyBody>,
        policy: &RetryPolicy,
        trace: Option<&TraceParent>,
    ) -> Result<(usize, u32, Response<UpstreamBody>), ServiceError> {
        let (parts, _empty_body) = req.into_parts();
        let mut tried = Vec::new();
        let mut server = first;
        let mut attempt = 1;
        loop {
            let result = self.send_to(server, copy_head(&parts), trace).await;
            let pause = match &result {
                Err(UpstreamError::Unreachable(_)) => policy.next(attempt, &parts.method),
                _ => None,
            };
            match (result, pause) {
                (Err(UpstreamError::Unreachable(reason)), Some(pause)) => {
                    tracing::debug!(
                        service = &*self.service,
                        server = &*self.servers[server].url,
                        attempt,
                        "retrying on another server: {reason}"
                    );
                    tried.push(server);
                    if let Some(retries) = &self.retries {
                        retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                    server = match self.pick(&tried).or_else(|| self.pick(&[])) {
                        Some(s) => s,
                        None => return Err(UpstreamError::Unreachable(reason).into()),
                    };
                }
                (other, _) => {
                    return other
                        .map(|resp| (server, attempt - 1, resp))
                        .map_err(ServiceError::from);
                }
            }
        }
    }

    /// One exchange with one server, observed by passive health and, when tracing, by its own
    /// span (whose context the server receives as `traceparent`).
    ///
    /// Not an `async fn`: with nothing to observe after the exchange (no span, no passive
    /// health: the common case) the transport's own future is returned as it is, so the load
    /// balancer's future holds it without a layer of this function's own, whose creation
    /// copied it whole once more per request (`memmove`, bench/README, branch plainpath);
    /// otherwise [`send_observed`](Self::send_observed)'s future, boxed.
    fn send_to<'a>(
        &'a self,
        index: usize,
        mut req: Request<ProxyBody>,
        trace: Option<&'a TraceParent>,
    ) -> impl Future<Output = Result<Response<UpstreamBody>, UpstreamError>> + Send + 'a {
        let server = &self.servers[index];
        if let Some(prefix) = &server.path_prefix {
            super::server_path::apply(prefix, &mut req);
        }
        if trace.is_none() && self.passive.is_none() {
            let target = &self.targets[index];
            return Either::Left(self.transport.send_to(target, self.pass_host_header, req));
        }
        Either::Right(Box::pin(self.send_observed(index, req, trace)))
    }

    /// [`send_to`](Self::send_to) with a span or passive health to record.
    async fn send_observed(
        &self,
        index: usize,
        mut req: Request<ProxyBody>,
        trace: Option<&TraceParent>,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        let server = &self.servers[index];
        let attempt = match trace {
            Some(parent) => {
                let (mut parts, body) = req.into_parts();
                let span = parent.attempt(&server.url, &mut parts);
                req = Request::from_parts(parts, body);
                span
            }
            None => None,
        };
        let result = self
            .transport
            .send_to(&self.targets[index], self.pass_host_header, req)
            .await;
        if let Some(span) = attempt {
            span.finish(match &result {
                Ok(resp) => Ok(resp.status().as_u16()),
                Err(UpstreamError::Unreachable(_)) => Err("unreachable"),
                Err(UpstreamError::Timeout) => Err("timeout"),
            });
        }
        if let Some(passive) = &self.passive {
            let failed = match &result {
                Ok(resp) => passive.counts_status(resp.status().as_u16()),
                Err(UpstreamError::Unreachable(_) | UpstreamError::Timeout) => true,
            };
            if failed && passive.record_failure(&self.health[index], &self.clock) {
                tracing::warn!(
                    service = &*self.service,
                    server = &*server.url,
                    "passive health check: server ejected"
                );
            }
        }
        result
    }
}

/// [`LoadBalancer::forward`]'s rare paths (tracing on, no server), boxed.
type BoxedForward<'a> = std::pin::Pin<
    Box<dyn Future<Output = Result<Response<UpstreamBody>, ServiceError>> + Send + 'a>,
>;

/// A body-less copy of a request head, for one more attempt.
fn copy_head(parts: &http::request::Parts) -> Request<ProxyBody> {
    crate::upstream::replay::copy_head(&parts.method, &parts.uri, parts.version, &parts.headers)
}

/// Where the probes of `server` go: its address with the health check's overrides.
fn probe_target(server: &Server, hc: &HealthCheckConfig) -> ProbeTarget {
    let (scheme, protocol) = match hc.scheme.as_deref() {
        Some("h2c") => (Scheme::HTTP, UpstreamProtocol::H2c),
        Some("https") => (Scheme::HTTPS, UpstreamProtocol::Http1),
        Some(_) => (Scheme::HTTP, UpstreamProtocol::Http1),
        None => (server.scheme.clone(), server.protocol),
    };
    let authority = hc
        .port
        .and_then(|port| format!("{}:{port}", server.authority.host()).parse().ok())
        .unwrap_or_else(|| server.authority.clone());
    ProbeTarget {
        scheme,
        authority,
        protocol,
        label: server.url.clone(),
    }
}
