//! The connection pool of one upstream server (`scheme://host:port` of a servers transport),
//! built when the service is built, and the exchange of one request over it.
//!
//! Per request on a warm HTTP/1.1 pool: one short lock to pop an idle connection, the send,
//! one lock to return it (`idle`). No task, channel or timer of the pool's own per request.
//! A body-less request without an upgrade to an `http://` server goes through the gateway's
//! own client (`h1_conn`: the request's task writes the head and reads the response on the
//! connection, which returns when the body has been read); the others through hyper's
//! (`connect`: a connection task per connection, the sender returned when the head is in).
//! Each kind has its own idle list; both share `maxConnsPerHost`, and a request waiting at
//! the cap closes an idle connection of the other kind to make room.
//! `WASMGATE_UPSTREAM_H1=hyper` (read once) sends every request through hyper's client.
//! HTTP/2 (`h2c://`, or ALPN `h2` from an `https://` server): one
//! shared connection, cloned per request under a short lock.
//!
//! A pooled connection the server closed while it was idle fails before the request is
//! written; hyper hands the request back and it is sent again on another connection (a new
//! one if the pool has none left), whatever its method, since the server never saw it. A
//! server may also close an idle connection just as the request goes out on it (an upstream
//! that closes after its response without `Connection: close`, or its keep-alive timeout
//! racing the request): hyper then fails after the write, before any response, and keeps the
//! request. So a body-less idempotent request on a reused connection keeps a copy of its head
//! (one header-map clone) and is sent once more on a new connection, as Go's transport and
//! nginx's `proxy_next_upstream error` do.
//! `maxConnsPerHost`: a request that needs a new connection while the server is at its cap
//! waits, up to the dial timeout, for a connection to come back idle or to close.
//!
//! With per-core workers (`app::per_core`) each worker has its own idle list and HTTP/2
//! connection (`upstream::worker`): a connection is dialled, driven and reused by one worker's
//! thread, so no request wakes another core. `maxIdleConnsPerHost` is split over the workers
//! (rounded up); only a request waiting at `maxConnsPerHost` takes an idle connection of
//! another worker, since the cap is the server's.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::future::Either;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Request, Response, Uri};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::body::ProxyBody;
use super::connect::{Dialer, Fresh, H2Sender, error_chain};
use super::error::UpstreamError;
use super::h1_body::H1Body;
use super::h1_conn::H1Conn;
use super::h1_head;
use super::idle::{Checkout, IdleList};
use super::replay::{copy_head, is_idempotent};
use super::response_body::UpstreamBody;
use super::worker;

/// Why a request is sent again after its pooled connection failed.
#[derive(Clone, Copy)]
enum Resend {
    /// The connection was closed before the request went out whole (any method).
    Unsent,
    /// It failed before any response: an idempotent request, sent again on a new connection.
    OnNewConnection,
}

/// Sending again after a pooled connection turned out closed: at most this many pooled tries
/// before a new connection is dialled regardless (a pool full of dead connections).
const MAX_STALE_TRIES: usize = 8;

pub struct ServerPool {
    /// `http` or `https` (`h2c://` servers: `http`), and `host:port` as configured.
    scheme: Scheme,
    authority: Authority,
    dialer: Dialer,
    /// Per worker (one without per-core workers): its idle HTTP/1.1 connections and its
    /// HTTP/2 connection, once one is up.
    workers: Box<[WorkerConns]>,
    /// `maxConnsPerHost` (`None`: unlimited).
    limit: Option<Arc<Semaphore>>,
}

/// One worker's connections to the server.
struct WorkerConns {
    /// hyper's idle HTTP/1.1 connections.
    idle: Arc<IdleList<Checkout>>,
    /// The own client's idle connections (`h1_conn`).
    own: Arc<IdleList<H1Conn>>,
    h2: Mutex<Option<H2Sender>>,
}

impl WorkerConns {
    fn h2_slot(&self) -> MutexGuard<'_, Option<H2Sender>> {
        self.h2.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A pooled connection of this worker, if one is up.
    fn pooled(&self) -> Option<Conn> {
        {
            let mut h2 = self.h2_slot();
            match h2.as_ref() {
                Some(s) if !s.is_closed() => return Some(Conn::H2(s.clone())),
                Some(_) => *h2 = None,
                None => {}
            }
        }
        self.idle.pop().map(Conn::H1)
    }
}

/// A connection to send one request on.
enum Conn {
    H1(Checkout),
    H2(H2Sender),
}

impl ServerPool {
    pub(super) fn new(
        scheme: Scheme,
        authority: Authority,
        dialer: Dialer,
        max_idle: usize,
        idle_timeout: std::time::Duration,
        max_conns: Option<usize>,
    ) -> Self {
        let count = worker::count();
        let returned = max_conns.map(|_| Arc::new(tokio::sync::Notify::new()));
        let per_worker = max_idle.div_ceil(count);
        let workers = (0..count)
            .map(|_| WorkerConns {
                idle: IdleList::new(per_worker, idle_timeout, returned.clone()),
                own: IdleList::new(per_worker, idle_timeout, returned.clone()),
                h2: Mutex::new(None),
            })
            .collect();
        ServerPool {
            scheme,
            authority,
            dialer,
            workers,
            limit: max_conns.map(|n| Arc::new(Semaphore::new(n))),
        }
    }

    /// Idle HTTP/1.1 connections held now (every worker's).
    pub fn idle_connections(&self) -> usize {
        self.workers
            .iter()
            .map(|w| w.idle.len() + w.own.len())
            .sum()
    }

    /// The calling worker's connections.
    fn mine(&self) -> &WorkerConns {
        &self.workers[worker::current() % self.workers.len()]
    }

    /// A pooled connection of the calling worker, if one is up.
    fn pooled(&self) -> Option<Conn> {
        self.mine().pooled()
    }

    /// What `take` finds in any worker's connections, the caller's first (waiting at the cap).
    fn anywhere<T>(&self, take: impl Fn(&WorkerConns) -> Option<T>) -> Option<T> {
        let first = worker::current() % self.workers.len();
        (0..self.workers.len())
            .map(|i| &self.workers[(first + i) % self.workers.len()])
            .find_map(take)
    }

    /// A new connection (waiting at `maxConnsPerHost` for a permit or a returned connection).
    /// `true` with it: a pooled connection that came back while waiting at the cap.
    async fn fresh(&self) -> Result<(Conn, bool), UpstreamError> {
        let permit = match &self.limit {
            None => None,
            // Waiting at the cap: an own connection idle is closed to make room.
            Some(limit) => match self
                .permit_or_pooled(limit, WorkerConns::pooled, |w| w.own.pop().is_some())
                .await?
            {
                Ok(permit) => Some(permit),
                Err(pooled) => return Ok((pooled, true)),
            },
        };
        let mine = self.mine();
        let conn = match self.dialer.connect(permit, &mine.idle).await? {
            Fresh::H1(sender, conn) => Conn::H1(Checkout { sender, conn }),
            Fresh::H2(sender) => {
                {
                    let mut slot = mine.h2_slot();
                    if slot.as_ref().is_none_or(|s| s.is_closed()) {
                        *slot = Some(sender.clone());
                    }
                }
                // Requests waiting at `maxConnsPerHost` can all share it.
                if let Some(returned) = mine.idle.returned() {
                    returned.notify_waiters();
                }
                Conn::H2(sender)
            }
        };
        Ok((conn, false))
    }

    /// A new connection of the own client (waiting at `maxConnsPerHost` as [`Self::fresh`]).
    /// `true` with it: a pooled connection that came back while waiting at the cap.
    async fn fresh_own(&self) -> Result<(H1Conn, bool), UpstreamError> {
        let permit = match &self.limit {
            None => None,
            // Waiting at the cap: a hyper connection idle is closed to make room (its permit
            // returns when its task ends).
            Some(limit) => match self
                .permit_or_pooled(limit, |w| w.own.pop(), |w| w.idle.pop().is_some())
                .await?
            {
                Ok(permit) => Some(permit),
                Err(pooled) => return Ok((pooled, true)),
            },
        };
        let tcp = self.dialer.tcp_timed().await?;
        Ok((H1Conn::new(tcp, &self.mine().own, permit), false))
    }

    /// At the cap: a permit for a new connection, or a connection (`take`) that came back
    /// meanwhile. `evict` closes an idle connection of the other kind, if one is there, so
    /// its permit comes back.
    async fn permit_or_pooled<T>(
        &self,
        limit: &Arc<Semaphore>,
        take: impl Fn(&WorkerConns) -> Option<T>,
        evict: impl Fn(&WorkerConns) -> bool,
    ) -> Result<Result<OwnedSemaphorePermit, T>, UpstreamError> {
        let wait = self.dialer.dial_timeout;
        let waited = tokio::time::timeout(wait, async {
            loop {
                // Registered before looking, so a return in between is not missed.
                let returned = self.mine().idle.returned().map(|n| n.notified());
                let mut returned = std::pin::pin!(returned);
                if let Some(n) = returned.as_mut().as_pin_mut() {
                    n.enable();
                }
                if let Ok(permit) = limit.clone().try_acquire_owned() {
                    return Ok(permit);
                }
                if let Some(conn) = self.anywhere(&take) {
                    return Err(conn);
                }
                if self.anywhere(|w| evict(w).then_some(())).is_some() {
                    continue;
                }
                tokio::select! {
                    permit = limit.clone().acquire_owned() => {
                        if let Ok(permit) = permit {
                            return Ok(permit);
                        }
                    }
                    () = async {
                        match returned.as_mut().as_pin_mut() {
                            Some(n) => n.await,
                            None => std::future::pending().await,
                        }
                    } => {}
                }
            }
        })
        .await;
        waited.map_err(|_| {
            UpstreamError::Unreachable(format!(
                "maxConnsPerHost reached for {}:{}: no connection freed within {wait:?}",
                self.dialer.host, self.dialer.port
            ))
        })
    }

    /// Sends `req` (its URI: the path and query to ask for; the rest comes from the pool) and
    /// waits for the response head.
    ///
    /// Not an `async fn`: the choice of client is made here and the own client's future
    /// returned as it is (no layer of this function's own to copy it into); hyper's path is
    /// boxed, so the plain path's future (every proxied GET's) holds only its own state.
    pub fn send(
        &self,
        req: Request<ProxyBody>,
    ) -> impl Future<Output = Result<Response<UpstreamBody>, UpstreamError>> + Send + '_ {
        if self.dialer.plain_h1() && own_client_takes(&req) {
            let (head, method) = own_head(req);
            return Either::Left(self.send_own(head, method));
        }
        Either::Right(Box::pin(async move {
            let resp = self.send_hyper(req).await?;
            Ok(resp.map(UpstreamBody::Hyper))
        }))
    }

    /// A body-less request through the own client: the head written on a pooled (or new)
    /// connection by this task, the response head read back. A pooled connection that turns
    /// out closed before the head went out whole: sent again on another (any method); closed
    /// after it, before any response: an idempotent request is sent again on a new one.
    async fn send_own(
        &self,
        head: Vec<u8>,
        method: Method,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        let mut stale_tries = 0;
        loop {
            let pooled = if stale_tries < MAX_STALE_TRIES {
                self.mine().own.pop()
            } else {
                None
            };
            let (conn, reused) = match pooled {
                Some(conn) => (conn, true),
                None => Box::pin(self.fresh_own()).await?,
            };
            match conn.exchange(&head, &method).await {
                Ok((resp_head, conn)) => {
                    super::spares::give_buf(head);
                    let body = H1Body::new(conn, resp_head.framing, resp_head.keep_alive);
                    let mut resp = Response::new(UpstreamBody::Own(body));
                    *resp.status_mut() = resp_head.status;
                    *resp.version_mut() = resp_head.version;
                    *resp.headers_mut() = resp_head.headers;
                    return Ok(resp);
                }
                Err(failed) if reused && failed.unsent => {
                    self.log_resend(Resend::Unsent, &failed.reason);
                    stale_tries += 1;
                }
                Err(failed) if reused && failed.unanswered && is_idempotent(&method) => {
                    self.log_resend(Resend::OnNewConnection, &failed.reason);
                    stale_tries = MAX_STALE_TRIES;
                }
                Err(failed) => return Err(UpstreamError::Unreachable(failed.reason)),
            }
        }
    }

    /// The debug line of a request sent again after its pooled connection failed (both
    /// clients' retry loops).
    fn log_resend(&self, resend: Resend, reason: &str) {
        let (host, port) = (&self.dialer.host, self.dialer.port);
        match resend {
            Resend::Unsent => tracing::debug!(
                "pooled connection to {host}:{port} closed before the request went out, \
                 sending again: {reason}"
            ),
            Resend::OnNewConnection => tracing::debug!(
                "pooled connection to {host}:{port} failed before any response, sending the \
                 idempotent request again on a new connection: {reason}"
            ),
        }
    }

    /// A request through hyper's client (bodies, upgrades, HTTP/2, TLS).
    async fn send_hyper(
        &self,
        mut req: Request<ProxyBody>,
    ) -> Result<Response<hyper::body::Incoming>, UpstreamError> {
        let path = req
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let mut stale_tries = 0;
        loop {
            let pooled = if stale_tries < MAX_STALE_TRIES {
                self.pooled()
            } else {
                None
            };
            let (conn, reused) = match pooled {
                Some(conn) => (conn, true),
                // Boxed: dialling (DNS, TCP, TLS, handshake) is a large future that runs once
                // per new connection; inline, every request's future would carry (and move) it.
                None => Box::pin(self.fresh()).await?,
            };
            let spare = (reused && replayable(&req))
                .then(|| copy_head(req.method(), req.uri(), req.version(), req.headers()));
            let result = match conn {
                Conn::H1(Checkout { mut sender, conn }) => {
                    *req.uri_mut() = self.h1_target(req.method(), &path)?;
                    *req.version_mut() = http::Version::HTTP_11;
                    let result = sender.try_send_request(req).await;
                    if result.is_ok() {
                        conn.release(sender);
                    }
                    result
                }
                Conn::H2(mut sender) => {
                    *req.uri_mut() = self.absolute(&path)?;
                    *req.version_mut() = http::Version::HTTP_2;
                    sender.try_send_request(req).await
                }
            };
            match result {
                Ok(resp) => return Ok(resp),
                Err(mut e) => match (e.take_message(), spare) {
                    (Some(unsent), _) if reused => {
                        self.log_resend(Resend::Unsent, &error_chain(e.error()));
                        req = unsent;
                    }
                    (_, Some(copy)) => {
                        self.log_resend(Resend::OnNewConnection, &error_chain(e.error()));
                        req = copy;
                        stale_tries = MAX_STALE_TRIES;
                        continue;
                    }
                    _ => return Err(UpstreamError::Unreachable(error_chain(&e.into_error()))),
                },
            }
            stale_tries += 1;
        }
    }

    /// The HTTP/1.1 request target: origin form (`/path?query`), authority form for CONNECT.
    fn h1_target(&self, method: &Method, path: &PathAndQuery) -> Result<Uri, UpstreamError> {
        let mut parts = http::uri::Parts::default();
        if method == Method::CONNECT {
            parts.authority = Some(self.authority.clone());
        } else {
            parts.path_and_query = Some(path.clone());
        }
        Uri::from_parts(parts)
            .map_err(|e| UpstreamError::Unreachable(format!("bad upstream URI: {e}")))
    }

    /// The HTTP/2 request URI: `scheme://authority/path?query` (`:scheme`, `:authority`, `:path`).
    fn absolute(&self, path: &PathAndQuery) -> Result<Uri, UpstreamError> {
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path.clone());
        Uri::from_parts(parts)
            .map_err(|e| UpstreamError::Unreachable(format!("bad upstream URI: {e}")))
    }
}

/// The request head the own client writes, and the method (the rest of the request is
/// dropped here, so the exchange's future does not carry it; its header map goes back to the
/// thread's spares, `spares`).
fn own_head(req: Request<ProxyBody>) -> (Vec<u8>, Method) {
    let (parts, _) = req.into_parts();
    let target = parts.uri.path_and_query().map_or("/", PathAndQuery::as_str);
    let head = h1_head::encode_request(&parts.method, target, &parts.headers);
    super::spares::give_map(parts.headers);
    (head, parts.method)
}

/// Whether the own client carries `req`: no body, no upgrade (nor CONNECT), and the own
/// client not switched off (`WASMGATE_UPSTREAM_H1=hyper`).
fn own_client_takes(req: &Request<ProxyBody>) -> bool {
    use http_body::Body as _;
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let off = *OFF.get_or_init(|| {
        std::env::var("WASMGATE_UPSTREAM_H1").is_ok_and(|v| v.eq_ignore_ascii_case("hyper"))
    });
    !off && req.body().is_end_stream()
        && req.method() != Method::CONNECT
        && !req.headers().contains_key(http::header::UPGRADE)
}

/// Whether `req` may be sent again from a copy of its head: idempotent, and no body.
fn replayable(req: &Request<ProxyBody>) -> bool {
    use http_body::Body as _;
    is_idempotent(req.method()) && req.body().is_end_stream()
}
