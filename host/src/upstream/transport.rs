//! Forwarding to upstream servers over pooled connections.
//!
//! One `UpstreamTransport` per `serversTransport` (services that name none share the default
//! one), holding one connection pool per server (`pool::ServerPool`: HTTP/1.1 with upgrades,
//! HTTP/2 for `h2c://` servers and `https://` servers that pick `h2` by ALPN). A load balancer
//! asks for its servers' pools once, when it is built (`target`); health probes and plugins'
//! outbound requests name the server per call and share the same pools. Bodies stream in both
//! directions; trailers pass through.
//!
//! `WASMGATE_UPSTREAM_CLIENT=legacy` (read once, at the first transport) uses hyper-util's
//! legacy client instead (`legacy`): the previous implementation, kept for before/after
//! measurements and as a fallback.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use futures_util::future::Either;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Request, Response, Uri, header};

use super::body::ProxyBody;
use super::connect::{Dialer, error_chain};
use super::error::UpstreamError;
use super::legacy::LegacyClient;
use super::pool::ServerPool;
use super::response_body::UpstreamBody;
pub use super::settings::{Http2Settings, TransportSettings, UpstreamProtocol};

/// An exchange on the paths [`UpstreamTransport::send_to`] boxes.
type BoxedExchange<'a> =
    Pin<Box<dyn Future<Output = Result<Response<UpstreamBody>, UpstreamError>> + Send + 'a>>;

/// Pooled connections to upstream servers. Cloning shares the pools.
#[derive(Clone)]
pub struct UpstreamTransport {
    inner: Arc<Inner>,
}

struct Inner {
    settings: TransportSettings,
    /// `WASMGATE_UPSTREAM_CLIENT=legacy`.
    legacy: Option<LegacyClient>,
    pools: Mutex<HashMap<(Scheme, Authority, UpstreamProtocol), Arc<ServerPool>>>,
}

/// One server of a transport, resolved to its pool once (when a load balancer is built).
#[derive(Clone)]
pub struct UpstreamTarget {
    scheme: Scheme,
    authority: Authority,
    protocol: UpstreamProtocol,
    /// `None` with the legacy client.
    pool: Option<Arc<ServerPool>>,
}

impl UpstreamTarget {
    /// Idle HTTP/1.1 connections held by this server's pool (0 with the legacy client).
    pub fn idle_connections(&self) -> usize {
        self.pool.as_ref().map_or(0, |p| p.idle_connections())
    }
}

/// What makes two plain-text pools interchangeable (`UpstreamTransport::pool_for`).
#[derive(PartialEq, Eq, Hash)]
struct PoolIdentity {
    scheme: Scheme,
    authority: Authority,
    protocol: UpstreamProtocol,
    dial_timeout: Duration,
    idle_conn_timeout: Duration,
    max_idle: usize,
    max_conns: Option<usize>,
    read_idle_timeout: Option<Duration>,
    ping_timeout: Duration,
}

/// The plain-text pools alive in any snapshot, found again by a reload.
fn reused() -> &'static Mutex<HashMap<PoolIdentity, Weak<ServerPool>>> {
    static POOLS: OnceLock<Mutex<HashMap<PoolIdentity, Weak<ServerPool>>>> = OnceLock::new();
    POOLS.get_or_init(Mutex::default)
}

fn use_legacy() -> bool {
    static LEGACY: OnceLock<bool> = OnceLock::new();
    *LEGACY.get_or_init(|| {
        std::env::var("WASMGATE_UPSTREAM_CLIENT").is_ok_and(|v| v.eq_ignore_ascii_case("legacy"))
    })
}

impl UpstreamTransport {
    /// Builds no connection; pools are made per server by `target` (or the first `send`).
    /// With the legacy client, must be called inside the tokio runtime.
    pub fn new(settings: &TransportSettings) -> Self {
        UpstreamTransport {
            inner: Arc::new(Inner {
                settings: settings.clone(),
                legacy: use_legacy().then(|| LegacyClient::new(settings)),
                pools: Mutex::default(),
            }),
        }
    }

    /// The pool of `scheme://authority` spoken with `protocol`, made on first use. Costs a
    /// map lookup under a lock: done when a load balancer is built, and per call for the
    /// callers that name servers per request (health probes, plugins' outbound requests).
    ///
    /// A plain-text server (`http://`, `h2c://`) whose transport settings a reload left
    /// unchanged keeps its pool, idle connections and `maxConnsPerHost` count across the
    /// reload (`reused`); an `https://` server gets a new pool with each transport, since its
    /// TLS material may have changed under the same settings.
    pub fn target(
        &self,
        scheme: &Scheme,
        authority: &Authority,
        protocol: UpstreamProtocol,
    ) -> UpstreamTarget {
        let pool = match &self.inner.legacy {
            Some(_) => None,
            None => {
                let key = (scheme.clone(), authority.clone(), protocol);
                let mut pools = self.inner.pools.lock().unwrap_or_else(|p| p.into_inner());
                let pool = pools
                    .entry(key)
                    .or_insert_with(|| self.pool_for(scheme, authority, protocol))
                    .clone();
                Some(pool)
            }
        };
        UpstreamTarget {
            scheme: scheme.clone(),
            authority: authority.clone(),
            protocol,
            pool,
        }
    }

    /// A pool from an earlier snapshot with the same identity, else a new one.
    fn pool_for(
        &self,
        scheme: &Scheme,
        authority: &Authority,
        protocol: UpstreamProtocol,
    ) -> Arc<ServerPool> {
        if *scheme == Scheme::HTTPS {
            return Arc::new(self.new_pool(scheme, authority, protocol));
        }
        let s = &self.inner.settings;
        let identity = PoolIdentity {
            scheme: scheme.clone(),
            authority: authority.clone(),
            protocol,
            dial_timeout: s.dial_timeout,
            idle_conn_timeout: s.idle_conn_timeout,
            max_idle: s.max_idle_conns_per_host,
            max_conns: s.max_conns_per_host,
            read_idle_timeout: s.http2.read_idle_timeout,
            ping_timeout: s.http2.ping_timeout,
        };
        let mut reused = reused().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pool) = reused.get(&identity).and_then(Weak::upgrade) {
            return pool;
        }
        reused.retain(|_, pool| pool.strong_count() > 0);
        let pool = Arc::new(self.new_pool(scheme, authority, protocol));
        reused.insert(identity, Arc::downgrade(&pool));
        pool
    }

    fn new_pool(
        &self,
        scheme: &Scheme,
        authority: &Authority,
        protocol: UpstreamProtocol,
    ) -> ServerPool {
        let s = &self.inner.settings;
        let https = *scheme == Scheme::HTTPS;
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let without_roots;
        let tls = if https {
            let (config, name) = match &s.tls {
                Some(tls) => (&*tls.config, tls.server_name.as_ref()),
                None => {
                    without_roots = super::tls::without_roots();
                    (&without_roots, None)
                }
            };
            Some((config, name))
        } else {
            None
        };
        let dialer = Dialer::new(
            authority.host(),
            port,
            s.dial_timeout,
            tls,
            protocol == UpstreamProtocol::H2c,
            s.http2.clone(),
        );
        ServerPool::new(
            scheme.clone(),
            authority.clone(),
            dialer,
            s.max_idle_conns_per_host,
            s.idle_conn_timeout,
            s.max_conns_per_host,
        )
    }

    /// Sends the request to `scheme://authority` + the request's path and query, and waits for
    /// the response head (bounded by the response-header timeout).
    pub async fn send(
        &self,
        scheme: &Scheme,
        authority: &Authority,
        protocol: UpstreamProtocol,
        pass_host_header: bool,
        req: Request<ProxyBody>,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        let target = self.target(scheme, authority, protocol);
        self.send_to(&target, pass_host_header, req).await
    }

    /// Sends the request to `target` (the request's path and query on that server) and waits
    /// for the response head (bounded by the response-header timeout).
    ///
    /// Not an `async fn`: the host header is set here and the pool's own future returned (no
    /// layer of this function's own, whose creation would copy the pool's future once more per
    /// request); the timeout and the legacy client's paths are boxed.
    pub fn send_to<'a>(
        &'a self,
        target: &'a UpstreamTarget,
        pass_host_header: bool,
        mut req: Request<ProxyBody>,
    ) -> impl Future<Output = Result<Response<UpstreamBody>, UpstreamError>> + Send + 'a {
        set_host(
            &mut req,
            &target.scheme,
            &target.authority,
            pass_host_header,
        );
        match (self.inner.settings.response_header_timeout, &target.pool) {
            (None, Some(pool)) => Either::Left(pool.send(req)),
            (Some(limit), _) => Either::Right(Box::pin(async move {
                tokio::time::timeout(limit, self.exchange(target, req))
                    .await
                    .unwrap_or(Err(UpstreamError::Timeout))
            }) as BoxedExchange<'a>),
            (None, None) => {
                Either::Right(Box::pin(self.exchange(target, req)) as BoxedExchange<'a>)
            }
        }
    }

    async fn exchange(
        &self,
        target: &UpstreamTarget,
        mut req: Request<ProxyBody>,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        if let Some(pool) = &target.pool {
            return pool.send(req).await;
        }
        let Some(legacy) = &self.inner.legacy else {
            return Err(UpstreamError::Unreachable("no upstream client".into()));
        };
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(target.scheme.clone());
        parts.authority = Some(target.authority.clone());
        parts.path_and_query = Some(
            req.uri()
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
        );
        *req.uri_mut() = Uri::from_parts(parts)
            .map_err(|e| UpstreamError::Unreachable(format!("bad upstream URI: {e}")))?;
        legacy
            .request(target.protocol, req)
            .await
            .map(|resp| resp.map(UpstreamBody::Hyper))
            .map_err(|e| UpstreamError::Unreachable(error_chain(&e)))
    }
}

/// The `Host` the server gets: the client's (`passHostHeader`, the default; an HTTP/2 client's
/// `:authority` becomes `Host`), else the server's own `host[:port]`.
fn set_host(req: &mut Request<ProxyBody>, scheme: &Scheme, authority: &Authority, pass: bool) {
    let original = req.uri().authority().cloned();
    let headers = req.headers_mut();
    // Looked up once (each look-up hashes the name).
    let mut has_host = headers.contains_key(header::HOST);
    if pass {
        if !has_host
            && let Some(a) = original
            && let Ok(v) = HeaderValue::from_str(a.as_str())
        {
            headers.insert(header::HOST, v);
            has_host = true;
        }
    } else if let Ok(v) = HeaderValue::from_str(authority.as_str()) {
        headers.insert(header::HOST, v);
        has_host = true;
    }
    if !has_host {
        // An HTTP/1.0 client without Host: the server's host, its port if not the default.
        let default_port = if *scheme == Scheme::HTTPS { 443 } else { 80 };
        let host = match authority.port_u16() {
            Some(p) if p != default_port => authority.as_str().to_owned(),
            _ => authority.host().to_owned(),
        };
        if let Ok(v) = HeaderValue::from_str(&host) {
            headers.insert(header::HOST, v);
        }
    }
}
