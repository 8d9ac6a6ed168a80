//! One request through the gateway — the phases, in order:
//!
//! 1. normalise the path, strip hop-by-hop headers, set forwarding headers;
//! 2. route (highest-priority matching router of this entrypoint; 404 if none);
//! 3. request hooks of the router's chain, in order (a plugin may answer directly);
//! 4. pick a server, forward over a pooled connection, bodies streamed;
//! 5. response hooks in reverse order, then the response streams to the client.
//!
//! Errors from any phase become a response in `GatewayError::into_response`, the one place
//! that maps errors to statuses.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::Either;
use http::request::Parts;
use http::{Request, Response};
use tokio::time::Instant;

use super::body_buffer::Collected;
use super::body_peek::HeldBody;
use super::client_body::BodyPolicy;
use super::completion_body::CompletionBody;
use super::error::GatewayError;
use super::grpc_web::GrpcWebCall;
use super::headers::{set_forwarded, strip_hop_by_hop};
use super::request_body::RequestBody;
use super::snapshot::{Backend, NativeMiddlewares, RouteTarget, Snapshot};
use super::upgrade::take_client_upgrade;
use crate::admin::OriginBytes;
use crate::admin::trace::{RequestSpan, TraceParent};
use crate::plugins::bindings::completion::Ending;
use crate::plugins::body::OverCap;
use crate::plugins::chain_fixed::NativeRun;
use crate::plugins::http_wasm::BufferedBody;
use crate::plugins::{
    ChainState, ConnectionFacts, PendingCompletion, RawPath, RequestHead, RequestOutcome,
    ResponseHead, ResponseOutcome, ValidReply,
};
use crate::plugins::{CompressWith, TranslateGrpcWeb};
use crate::router::RequestFacts;
use crate::router::path::{PathPolicy, normalize};
use crate::upstream::UpstreamBody;
use crate::upstream::body::{ProxyBody, full};

/// Where a request came in.
#[derive(Debug, Clone)]
pub struct Connection {
    pub entrypoint: Arc<str>,
    pub client: SocketAddr,
    pub local: SocketAddr,
    pub tls: bool,
    /// The client is in the entrypoint's `forwardedHeaders.trustedIPs`: its `X-Forwarded-*`
    /// headers are kept.
    pub trusted_forwarder: bool,
    /// The entrypoint's `maxBodyBytes` (`None`: unlimited).
    pub max_body_bytes: Option<u64>,
    /// The entrypoint's per-request timeouts.
    pub timeouts: RequestTimeouts,
    /// Forwarding header values of this connection (client IP, port, scheme), built once.
    pub forwarded_values: super::headers::ForwardedValues,
    /// The entrypoint's `http2.h2cUpgrade`.
    pub h2c_upgrade: crate::config::H2cUpgrade,
    /// The entrypoint's path reading (`http.encodedCharacters`, slash merging).
    pub path_policy: PathPolicy,
    /// Where the client was going before iptables redirected it (`transparent` entrypoints).
    pub original_dst: Option<SocketAddr>,
    /// What plugins may read about this connection (`connection` interface): shared by the
    /// entrypoint's plain connections, made anew for one with client certificates or an
    /// original destination.
    pub facts: Arc<ConnectionFacts>,
    /// The entrypoint's `observability`: what a request matching no router records.
    pub observability: crate::config::ObservabilityFlags,
}

/// Per-request timeouts of an entrypoint (`None`: no such timeout).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestTimeouts {
    /// `respondingTimeouts.readTimeout`: the request body must be complete this long after the
    /// head arrived.
    pub read: Option<std::time::Duration>,
    /// `bodyReadTimeout`: longest pause between two pieces of the request body.
    pub body_inactivity: Option<std::time::Duration>,
    /// `respondingTimeouts.writeTimeout`: the overall request deadline.
    pub write: Option<std::time::Duration>,
}

impl From<&super::connection_limits::ConnectionLimits> for RequestTimeouts {
    fn from(l: &super::connection_limits::ConnectionLimits) -> Self {
        RequestTimeouts {
            read: l.read_timeout,
            body_inactivity: l.body_read_timeout,
            write: l.write_timeout,
        }
    }
}

/// Handles one request against a runtime snapshot. Never fails: errors become responses.
///
/// With a `writeTimeout` on the entrypoint the whole exchange runs under that deadline: a
/// response head not ready in time is answered with 504, a body still streaming is aborted.
///
/// Not an `async fn` (nor is [`handle_observed`]): the branches are chosen here, when the
/// request arrives, and the chosen function's own future returned, so the request's future
/// has no layers of these two whose creation and first poll copied the layer below whole
/// (twice 2 KB per request, `memmove`, bench/README).
pub fn handle(
    runtime: Arc<Snapshot>,
    conn: &Connection,
    req: Request<RequestBody>,
) -> impl Future<Output = Response<ProxyBody>> + Send + '_ {
    // A CA validating an HTTP-01 challenge is answered before any router (as Traefik does).
    if !conn.tls
        && let Some(answer) = crate::tls::acme::http01_answer(&conn.entrypoint, req.uri().path())
    {
        return Either::Left(std::future::ready(Response::new(full(answer))));
    }
    Either::Right(match crate::admin::trace::tracer() {
        None => Either::Left(handle_observed(runtime, conn, req, None)),
        // Boxed (as the recorded path below): what only tracing needs must not grow the future
        // of every request, which hyper moves into place per request.
        Some(tracer) => Either::Right(Box::pin(handle_traced(tracer, runtime, conn, req))),
    })
}

/// [`handle`] with tracing on: the request's server span (under the client's `traceparent`,
/// if any) from here until the response head is ready; the chain and the load balancer hang
/// their spans under it.
async fn handle_traced(
    tracer: &'static crate::admin::trace::Tracer,
    runtime: Arc<Snapshot>,
    conn: &Connection,
    req: Request<RequestBody>,
) -> Response<ProxyBody> {
    // The span reads its own wall-clock start; `started` is the recorder's (not used here).
    let span = tracer.start_request(arrival(conn, &req, Instant::now()));
    let resp = handle_observed(runtime, conn, req, Some(&span)).await;
    span.finish(
        resp.status().as_u16(),
        resp.headers(),
        conn.observability.tracing,
    );
    resp
}

/// What the recorder and the tracer read of a request when it arrives.
fn arrival<'a>(
    conn: &'a Connection,
    req: &'a Request<RequestBody>,
    started: Instant,
) -> crate::admin::exchange::Arrival<'a> {
    crate::admin::exchange::Arrival {
        started: started.into_std(),
        entrypoint: &conn.entrypoint,
        client: conn.client,
        tls: conn.tls,
        method: req.method(),
        uri: req.uri(),
        version: req.version(),
        headers: req.headers(),
        signals: conn.observability,
        tls_facts: conn.facts.tls.as_ref(),
        trusted_forwarder: conn.trusted_forwarder,
    }
}

/// [`handle`] past tracing: recorded (metrics, access log) or not. Not an `async fn` (see
/// [`handle`]).
fn handle_observed<'a>(
    runtime: Arc<Snapshot>,
    conn: &'a Connection,
    req: Request<RequestBody>,
    request_span: Option<&'a RequestSpan>,
) -> impl Future<Output = Response<ProxyBody>> + Send + 'a {
    match crate::admin::recorder() {
        None => {
            let seen = Seen {
                request_span,
                ..Seen::default()
            };
            // No clock reading here: `handle_unrecorded` reads it only if a deadline needs it.
            let handled = handle_unrecorded(runtime, conn, req, seen, None);
            Either::Left(handled.map(|(resp, _seen)| resp))
        }
        // Not boxed: the recording's state is one pointer (`Exchange::start` puts the exchange
        // on the heap), so this branch's future is the unrecorded one's and a few words.
        Some(recorder) => {
            Either::Right(handle_recorded(recorder, runtime, conn, req, request_span))
        }
    }
}

/// What the pipeline learnt about a request for the recorder: the route it matched, whether
/// it reached the service, the upstream's status.
#[derive(Default)]
struct Seen<'a> {
    route: Option<(Arc<str>, Arc<crate::admin::RouteHandles>)>,
    forwarded: bool,
    /// When the request went to its service, for the access log's `OriginDuration` and
    /// `Overhead` ([`Seen::forwarding`]).
    forwarded_at: Option<std::time::Instant>,
    origin: Option<u16>,
    /// The server that answered, as the load balancer reported it.
    served: Option<crate::admin::ServedBy>,
    /// The request's server span (tracing on), opened once the router is known.
    request_span: Option<&'a RequestSpan>,
    /// Where the chain's and the upstream's spans go: the request's span, when tracing is on
    /// and the router's `observability.tracing` too.
    trace: Option<TraceParent>,
    /// The chain's `on-complete` calls (some middleware asked): kept here, outside the
    /// request's future, so that they run however the exchange ends.
    completion: Option<PendingCompletion>,
    /// The authenticated user a plugin named (`identity`), for the access log.
    user: Option<std::sync::Arc<str>>,
    /// The request's headers as its middlewares left them, for an access log that logs
    /// headers (`None` otherwise: the record keeps those it arrived with).
    /// Boxed: one word on the plain path's future, where the log logs no header.
    request_headers: Option<Box<crate::admin::HeaderList>>,
}

impl Seen<'_> {
    /// Reads the request's headers for the access log, where it logs headers: when the
    /// request leaves the middlewares (last reading wins).
    #[inline]
    fn left_middlewares(&mut self, headers: &http::HeaderMap) {
        if let Some(logged) = crate::admin::logged_request_headers(headers) {
            self.request_headers = Some(Box::new(logged));
        }
    }

    /// The request hooks are done (however the request ends): the user a hook named and the
    /// headers as the hooks left them go to the access-log line.
    fn left_chain(&mut self, head: &mut RequestHead) {
        if head.user.is_some() {
            self.user = head.user.take();
        }
        self.left_middlewares(&head.parts.headers);
    }

    /// The request goes to its service now: counted for the service's metrics, and timed for
    /// the access log's `OriginDuration` and `Overhead` (one clock reading, only when the
    /// access log records the request's route).
    fn forwarding(&mut self) {
        self.forwarded = true;
        if self.route.is_some() && crate::admin::access_log_on() {
            self.forwarded_at = Some(std::time::Instant::now());
        }
    }
}

/// [`handle`] with metrics or the access log on: the request is recorded when its response body
/// has gone out (`admin::RecordedBody`); `GET /metrics` on the metrics entrypoint is answered
/// here, as Traefik's `prometheus@internal` router would.
///
/// Not an `async fn` either: the recording starts when the request arrives and
/// `handle_unrecorded`'s future is returned with what follows it (`map`), so the recorded
/// request's future is the unrecorded one's and the exchange's pointer, not a layer that held
/// the request a second time and copied the layer below on creation.
fn handle_recorded<'a>(
    recorder: &'static crate::admin::Recorder,
    runtime: Arc<Snapshot>,
    conn: &'a Connection,
    req: Request<RequestBody>,
    request_span: Option<&'a RequestSpan>,
) -> impl Future<Output = Response<ProxyBody>> + Send + 'a {
    let (parts, body) = req.into_parts();
    if let Some((text, content_type)) = recorder.metrics_page(&conn.entrypoint, &parts) {
        let mut resp = Response::new(full(text));
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(content_type),
        );
        return Either::Left(std::future::ready(resp));
    }
    let req = Request::from_parts(parts, body);
    // One clock reading for the recording and the pipeline's deadlines.
    let started = Instant::now();
    let mut exchange = crate::admin::Exchange::start(recorder, arrival(conn, &req, started));
    let seen = Seen {
        request_span,
        ..Seen::default()
    };
    let handled = handle_unrecorded(runtime, conn, req, seen, Some(started));
    Either::Right(handled.map(move |(resp, mut seen)| {
        if let Some((router, handles)) = seen.route.take() {
            exchange.routed(
                router,
                handles,
                seen.forwarded,
                seen.forwarded_at,
                seen.origin,
            );
            exchange.served(seen.served.take());
        }
        if let Some(user) = seen.user.take() {
            exchange.user(user);
        }
        if let Some(headers) = seen.request_headers.take() {
            exchange.request_headers(*headers);
        }
        let mut resp = resp;
        if let Some(origin) = resp.extensions_mut().remove::<crate::admin::OriginBytes>() {
            exchange.origin_bytes(origin);
        }
        let origin_headers = resp
            .extensions_mut()
            .remove::<crate::admin::OriginHeaders>();
        exchange.response_headers(origin_headers, resp.headers());
        let status = resp.status().as_u16();
        resp.map(|body| {
            use http_body_util::BodyExt;
            crate::admin::RecordedBody::new(body, status, exchange).boxed()
        })
    }))
}

/// The request past the recorder's start; returns what was learnt about it (`seen`) with the
/// response, for the recorder.
///
/// `started`: when the request arrived, if the caller read the clock (the recorder does);
/// otherwise it is read here only when a deadline counts from it ([`needs_start`]), so a
/// body-less request without a `writeTimeout` (the plain path's GET) reads no clock here.
async fn handle_unrecorded<'s>(
    runtime: Arc<Snapshot>,
    conn: &Connection,
    req: Request<RequestBody>,
    mut seen: Seen<'s>,
    started: Option<Instant>,
) -> (Response<ProxyBody>, Seen<'s>) {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let started = started.or_else(|| needs_start(conn, req.body()).then(Instant::now));
    let policy = BodyPolicy {
        max_bytes: conn.max_body_bytes,
        read_deadline: conn.timeouts.read.zip(started).map(|(d, at)| at + d),
        inactivity: conn.timeouts.body_inactivity,
    };
    // Boxed: `proxy`'s state (routing, the plugin chain, the service's future) is kilobytes,
    // and every async layer above would otherwise copy it when it creates and first polls its
    // child (`memmove` was ~15% of the plain path's CPU, bench/README); one allocation is
    // cheaper than those copies.
    let proxied = Box::pin(proxy(&runtime, conn, req, policy, &mut seen));
    let outcome = match conn.timeouts.write.zip(started) {
        None => proxied.await,
        Some((limit, started)) => {
            let deadline = started + limit;
            match tokio::time::timeout_at(deadline, proxied).await {
                Ok(result) => {
                    result.map(|resp| resp.map(|body| super::deadline::until(body, deadline)))
                }
                Err(_) => Err(GatewayError::DeadlineExceeded),
            }
        }
    };
    let (resp, whole) = match outcome {
        Ok(resp) => (resp, Ending::Complete),
        Err(err) => {
            let path = uri.path();
            match &err {
                GatewayError::NoRoute => tracing::debug!(%method, path, "no route"),
                _ => tracing::warn!(%method, path, client = %conn.client, "{err}"),
            }
            let whole = match err.is_upstream_failure() {
                true => Ending::UpstreamFailed,
                false => Ending::Complete,
            };
            (err.into_response(), whole)
        }
    };
    let resp = match seen.completion.take() {
        None => resp,
        Some(completion) => {
            let status = resp.status().as_u16();
            resp.map(|body| {
                use http_body_util::BodyExt;
                CompletionBody::new(body, status, whole, completion).boxed()
            })
        }
    };
    (resp, seen)
}

/// Whether a deadline counts from the request's arrival: a `writeTimeout`, or a `readTimeout`
/// for a request with a body (a request without one has nothing to read by then: the own
/// HTTP/1.1 server's body-less requests, `client_body::watch`).
fn needs_start(conn: &Connection, body: &RequestBody) -> bool {
    conn.timeouts.write.is_some()
        || (conn.timeouts.read.is_some() && !matches!(body, RequestBody::Empty))
}

/// Where [`proxy`] sends a request once it is checked, its forwarding headers set and its
/// router found.
enum Routed<'a> {
    /// Answered without a forward (an internal service).
    Answer(Response<ProxyBody>),
    /// A router without middlewares, or whose chain's native steps all ran (`chain_fixed`):
    /// straight to its service.
    Plain {
        service: &'a crate::lb::Service,
        native: Native<'a>,
        parts: Parts,
        body: RequestBody,
        in_flight: Option<tokio::sync::OwnedSemaphorePermit>,
        /// A chain run natively (`plugins::chain_fixed::FixedChain`): its response edits,
        /// applied to the response head.
        fixed: Option<&'a crate::plugins::chain_fixed::FixedChain>,
    },
    /// A router with middlewares: the plugin chain.
    Chain {
        target: &'a RouteTarget,
        req: Request<RequestBody>,
        original_uri: http::Uri,
        in_flight: Option<tokio::sync::OwnedSemaphorePermit>,
        /// Where the plain path's native steps stopped (`chain_fixed`): the chain resumes
        /// there. `None`: the chain runs from its start.
        resume: Option<Box<NativeRun>>,
    },
}

/// The request through the router: checks, path, forwarding headers, routing, then the
/// service (or the chain).
///
/// Not an `async fn`: everything before the forward is synchronous ([`route`]), so it runs
/// here when the request arrives and the forward's own future is returned with what follows
/// it (`map`); the chain's path is boxed. The request's boxed future (`handle_unrecorded`) is
/// then the forward's and a few words, not an async layer that also kept the request and the
/// routing's locals for its whole life (1584 bytes: over glibc's 1032-byte per-thread cache,
/// so its box took `malloc`'s slower bin path) and copied the forward's future once more
/// when creating it (bench/README, branch plainpath).
fn proxy<'a>(
    runtime: &'a Snapshot,
    conn: &'a Connection,
    req: Request<RequestBody>,
    policy: BodyPolicy,
    seen: &'a mut Seen<'_>,
) -> impl Future<Output = Result<Response<ProxyBody>, GatewayError>> + Send + 'a {
    let routed = match route(runtime, conn, req, seen) {
        Ok(routed) => routed,
        Err(e) => return Either::Left(Either::Left(std::future::ready(Err(e)))),
    };
    match routed {
        Routed::Answer(resp) => Either::Left(Either::Left(std::future::ready(Ok(resp)))),
        Routed::Plain {
            service,
            native,
            parts,
            body,
            in_flight,
            fixed,
        } => {
            seen.forwarding();
            seen.left_middlewares(&parts.headers);
            let origin = &mut seen.origin;
            let body = ClientBody::Stream(body);
            let sent = forward(service, native, parts, body, policy, &mut seen.served);
            Either::Left(Either::Right(sent.map(move |resp| {
                // Held until the response head is ready (the body then streams outside it).
                drop(in_flight);
                let resp = resp?;
                let (mut resp_parts, resp_body) = resp.into_parts();
                answered(origin, &mut resp_parts);
                if let Some(fixed) = fixed {
                    fixed.apply_response(&mut resp_parts.headers);
                }
                Ok(Response::from_parts(resp_parts, resp_body.boxed()))
            })))
        }
        // The general chain path is boxed by `proxy_chain`: running the plugin chain (its
        // waits, the forward, the response hooks) is a future larger than the plain path's;
        // inline, every plain request's future (boxed in `handle_unrecorded`) would carry it
        // and copy it when boxed (`memmove`, bench/README). A chain that settles inline is the
        // forward's future and a few words, inline here (no box of its own).
        Routed::Chain {
            target,
            req,
            original_uri,
            in_flight,
            resume,
        } => {
            let chained = proxy_chain(
                runtime,
                conn,
                target,
                req,
                original_uri,
                resume,
                policy,
                seen,
            );
            Either::Right(chained.map(move |resp| {
                drop(in_flight);
                resp
            }))
        }
    }
}

/// [`proxy`]'s synchronous part: the request checked, its path normalised, hop-by-hop headers
/// stripped, forwarding headers set, the router found (recorded in `seen`) and its
/// `inFlightReq` permit taken.
fn route<'a>(
    runtime: &'a Snapshot,
    conn: &Connection,
    req: Request<RequestBody>,
    seen: &mut Seen<'_>,
) -> Result<Routed<'a>, GatewayError> {
    let (mut parts, body) = req.into_parts();
    super::framing::check_request(&parts, conn.h2c_upgrade)?;
    super::framing::check_declared_length(&parts, conn.max_body_bytes)?;
    // One reading of the path for the router, the plugins and the upstream (`router::path`).
    let normalized = normalize(parts.uri.path(), conn.path_policy.merge_slashes)?;
    let encoded = normalized.encoded;
    // The target as the client sent it, for plugins (their raw path): kept here only when
    // normalising changes it; otherwise `parts.uri` still is it when the chain path takes it
    // (below), and the plain path, which never reads it, clones nothing.
    let rewritten_from = match normalized.path {
        std::borrow::Cow::Owned(normal) => {
            let original = parts.uri.clone();
            set_uri_path(&mut parts, &normal)?;
            Some(original)
        }
        std::borrow::Cow::Borrowed(_) => None,
    };
    strip_hop_by_hop(&mut parts.headers);
    let authority = authority_of(&parts);
    set_forwarded(
        &mut parts.headers,
        &conn.forwarded_values,
        authority.as_ref(),
        conn.trusted_forwarder,
    );
    // The host from the value just fetched for `X-Forwarded-Host` (`host_of` without a look-up).
    let host = RequestFacts::host_in(authority.as_ref(), parts.uri.authority().is_some());

    let table = runtime
        .routes_for(&conn.entrypoint, conn.tls)
        .ok_or(GatewayError::NoRoute)?;
    let facts = RequestFacts {
        host,
        path: parts.uri.path(),
        query: parts.uri.query(),
        method: &parts.method,
        headers: &parts.headers,
        client_ip: conn.client.ip(),
        original_dst: conn.original_dst,
    };
    let Some(route) = table.find(&facts) else {
        // A refused encoding answers 400 whether or not some router would have matched.
        encoded.check(conn.path_policy.allowed)?;
        return Err(GatewayError::NoRoute);
    };
    let target: &RouteTarget = &route.target;
    if crate::admin::recorder().is_some() {
        seen.route = Some((target.router.clone(), target.observe.clone()));
    }
    if let Some(span) = seen.request_span {
        seen.trace = span.open(
            target.observe.signals.tracing,
            target
                .observe
                .router_name
                .as_ref()
                .unwrap_or(&target.router),
            target.observe.service_name.as_ref(),
        );
    }
    // The matched router's `encodedCharacters` middleware, if any, overrides the entrypoint's.
    encoded.check(
        target
            .encoded_characters
            .unwrap_or(conn.path_policy.allowed),
    )?;
    // Held until the response head is ready (the body then streams outside the count).
    let in_flight = match &target.in_flight {
        Some(permits) => Some(
            permits
                .clone()
                .try_acquire_owned()
                .map_err(|_| GatewayError::Overloaded)?,
        ),
        None => None,
    };

    // A chain of fixed edits, declared takes and verdict memos runs here, where its hooks
    // would (`chain_fixed`), until a middleware needs its guest (the chain path then resumes
    // there) or a reserved token needs a wait (the chain path's). One made only of fixed edits
    // never stops (its router's chain is empty).
    let fixed = target.native.fixed_edits.as_ref();
    let mut resume = None;
    let plain = match fixed {
        Some(fixed) => {
            let run = fixed.run_request(&mut parts, conn.client);
            let through = run.stop.is_none() && run.take_delay_ns == 0;
            match through {
                // The user a replayed memo named goes to the access-log line (as the chain
                // path's `head.user`).
                true => seen.user = run.user,
                false => resume = Some(Box::new(run)),
            }
            through
        }
        None => target.chain.is_empty(),
    };
    if plain {
        let service = match &target.backend {
            Backend::Service(service) => service,
            Backend::Internal(internal) => {
                let (mut head, body) = internal_answer(runtime, *internal, &parts);
                if let Some(fixed) = fixed {
                    fixed.apply_response(&mut head.headers);
                }
                return Ok(Routed::Answer(Response::from_parts(head, full(body))));
            }
            Backend::PluginsPending => return Err(GatewayError::PluginsPending),
        };
        if let Some(trace) = &seen.trace {
            parts.extensions.insert(trace.clone());
        }
        let native = Native {
            middlewares: &target.native,
            grpc_web: None,
        };
        return Ok(Routed::Plain {
            service,
            native,
            parts,
            body,
            in_flight,
            fixed,
        });
    }
    Ok(Routed::Chain {
        target,
        original_uri: rewritten_from.unwrap_or_else(|| parts.uri.clone()),
        req: Request::from_parts(parts, body),
        in_flight,
        resume,
    })
}

/// What the chain path answers with.
type ChainResult = Result<Response<ProxyBody>, GatewayError>;

/// The chain path's future when it waits for more than the forward: boxed, its size does not
/// matter to the common case.
type WaitingChain<'a> = Pin<Box<dyn Future<Output = ChainResult> + Send + 'a>>;

/// [`proxy`] for a router with middlewares: the request hooks, the forward (or a reply), the
/// response hooks.
///
/// Not an `async fn`. For a chain that settles inline (`Chain::settles_inline`: no body held or
/// peeked, no response hook calling a guest; scenario b's `rateLimit` + `basicAuth` + fixed
/// `headers`) the request hooks run here, when the request arrives, and the future returned is
/// the forward's with the response side in its continuation ([`chain_inline`]), not boxed: a
/// few words over the forward's, so [`proxy`]'s future (boxed in `handle_unrecorded`) stays
/// under glibc's 1032-byte per-thread cache, where the general future (kilobytes) took a
/// second box, `malloc`'s bin path and a copy of itself (bench/README, branch bpath). Request
/// hooks that left a wait (a subrequest, Redis takes, a take delay) go on in
/// [`chain_waiting`]; any other chain runs [`proxy_chain_general`].
#[allow(
    clippy::too_many_arguments,
    reason = "the routed request, handed over whole from `route`"
)]
fn proxy_chain<'a>(
    runtime: &'a Snapshot,
    conn: &'a Connection,
    target: &'a RouteTarget,
    req: Request<RequestBody>,
    original_uri: http::Uri,
    resume: Option<Box<NativeRun>>,
    policy: BodyPolicy,
    seen: &'a mut Seen<'_>,
) -> impl Future<Output = ChainResult> + Send + 'a {
    let chain = &target.chain;
    if !chain.settles_inline() {
        let general = proxy_chain_general(runtime, conn, target, req, original_uri, policy, seen);
        let general: WaitingChain<'a> = Box::pin(general);
        return Either::Left(general);
    }
    let (parts, body) = req.into_parts();
    let mut state = start_chain(target, seen);
    let mut head = chain_head(conn, target, parts, original_uri);
    let (head, outcome) = match resume {
        None => chain.on_request(head, &mut state),
        // A chain of native steps only settles inline (`Chain::native_only`).
        Some(run) => {
            let NativeRun {
                user,
                take_delay_ns,
                stop,
            } = *run;
            head.user = user;
            head.take_delay_ns = take_delay_ns;
            chain.resume_native(stop, head, &mut state)
        }
    };
    let waits = matches!(
        outcome,
        RequestOutcome::Subrequest(_) | RequestOutcome::Takes(_)
    );
    if waits || head.take_delay_ns > 0 {
        let body = ClientBody::Stream(body);
        let waiting = chain_waiting(runtime, target, head, outcome, state, body, policy, seen);
        let waiting: WaitingChain<'a> = Box::pin(waiting);
        return Either::Left(waiting);
    }
    Either::Right(chain_inline(
        runtime, target, head, outcome, state, body, policy, seen,
    ))
}

/// A request's chain state, before its request hooks: its `on-complete` calls (some middleware
/// asked) and its middleware spans (tracing on).
fn start_chain(target: &RouteTarget, seen: &mut Seen<'_>) -> ChainState {
    let chain = &target.chain;
    let mut state = chain.start();
    // Middlewares that asked for `on-complete` are called once the exchange has ended.
    seen.completion = chain.completion();
    if let Some(trace) = &seen.trace {
        chain.trace(&mut state, trace.clone());
    }
    state
}

/// The request head lent to the chain's hooks.
fn chain_head(
    conn: &Connection,
    target: &RouteTarget,
    parts: Parts,
    original_uri: http::Uri,
) -> RequestHead {
    RequestHead::new(
        parts,
        RawPath::Uri(original_uri),
        conn.client,
        conn.tls,
        conn.facts.clone(),
        target.router.clone(),
        target.chain.len(),
    )
}

/// [`proxy_chain`] for any chain: the request body collected for a middleware granted `body`,
/// the request hooks, then [`chain_waiting`].
async fn proxy_chain_general(
    runtime: &Snapshot,
    conn: &Connection,
    target: &RouteTarget,
    req: Request<RequestBody>,
    original_uri: http::Uri,
    policy: BodyPolicy,
    seen: &mut Seen<'_>,
) -> ChainResult {
    let (mut parts, body) = req.into_parts();
    let chain = &target.chain;
    let mut state = start_chain(target, seen);
    // A middleware granted `body` (or an http-wasm one that enabled `buffer_request`) reads
    // the body whole, up to the chain's cap (`body_buffer`); everyone else's request body
    // streams.
    let mut body = ClientBody::Stream(body);
    if let Some(limit) = chain.request_body_limit()
        && let ClientBody::Stream(stream) = body
    {
        // Boxed out of line (`chain_waits`), as every wait below but the forward's: awaited
        // inline, a future is part of this state whether or not this request takes that
        // branch, and the state is copied whole when `proxy_chain` boxes it.
        match super::chain_waits::collect_request(stream, &parts.headers, policy, limit).await? {
            Collected::Whole(bytes) => {
                parts.extensions.insert(BufferedBody(bytes));
                body = ClientBody::Buffered;
            }
            Collected::Passed((passed, watch)) => {
                parts.extensions.insert(OverCap(limit.max_bytes as u64));
                body = ClientBody::Passed(passed, watch);
            }
        }
    }
    let head = chain_head(conn, target, parts, original_uri);
    let (head, outcome) = chain.on_request(head, &mut state);
    chain_waiting(runtime, target, head, outcome, state, body, policy, seen).await
}

/// The chain past its first request hooks' run: the waits they left, the forward (or a
/// reply), the response hooks with their waits.
#[allow(
    clippy::too_many_arguments,
    reason = "the chain path's state, handed over whole from its start"
)]
async fn chain_waiting(
    runtime: &Snapshot,
    target: &RouteTarget,
    mut head: RequestHead,
    mut outcome: RequestOutcome,
    mut state: ChainState,
    mut body: ClientBody,
    policy: BodyPolicy,
    seen: &mut Seen<'_>,
) -> ChainResult {
    let chain = &target.chain;
    // A gRPC-Web call a plugin asked the host to translate (`grpc-web`), once forwarded.
    let mut grpc_web = None;
    // A middleware that recorded a subrequest (`outbound-http`) or took from a Redis-backed
    // bucket (`remote_take`) waits for the answer here, on this request's task: no thread and
    // no plugin instance is held while it comes.
    let (mut head, outcome) = loop {
        // Before each wait: a client gone during it still gets the hooks called.
        if let Some(completion) = &mut seen.completion {
            chain.note_entered(&state, completion);
        }
        match outcome {
            RequestOutcome::Subrequest(mut sub) => {
                if let Some(root) = &seen.trace {
                    sub.trace = Some(chain.trace_parent(&state, root));
                }
                let answer = super::chain_waits::subrequest(sub).await;
                (head, outcome) = chain.resume_request(head, &mut state, answer);
            }
            RequestOutcome::Takes(takes) => {
                let answers = super::chain_waits::takes(*takes).await;
                (head, outcome) = chain.resume_takes(head, &mut state, answers);
            }
            done => break (head, done),
        }
    };
    seen.left_chain(&mut head);
    // A rate limit that reserved a token still to come (`counters` with a wait, Traefik's
    // `rateLimit` maxDelay): the request waits for it here, on its own task, holding no thread
    // and no plugin instance.
    if head.take_delay_ns > 0 {
        let wait = std::mem::take(&mut head.take_delay_ns);
        Box::pin(tokio::time::sleep(std::time::Duration::from_nanos(wait))).await;
    }
    if let Some(completion) = &mut seen.completion {
        completion.keep_request(&mut head);
    }
    let (resp_head, upstream_body) = match outcome {
        RequestOutcome::Failed(e) => return Err(e.into()),
        // The loop above leaves none; were one left, the request fails like a plugin failure.
        RequestOutcome::Subrequest(_) | RequestOutcome::Takes(_) => return Err(unsent()),
        RequestOutcome::Respond(reply) => (reply_head(&reply), ReplyOrStream::Reply(reply.body)),
        RequestOutcome::Forward => match target.backend {
            Backend::Internal(service) => {
                let (parts, body) = internal_answer(runtime, service, &head.parts);
                (ResponseHead::new(parts), ReplyOrStream::Reply(body))
            }
            // Built with an empty chain (`app::build`), so never reached with a chain to run.
            Backend::PluginsPending => return Err(GatewayError::PluginsPending),
            Backend::Service(ref service) => {
                // A plugin asked for this call to be translated as gRPC-Web (`grpc-web`).
                if chain.translates_grpc_web()
                    && let Some(TranslateGrpcWeb(mode)) =
                        head.parts.extensions.remove::<TranslateGrpcWeb>()
                {
                    grpc_web = Some(GrpcWebCall::by_plugin(mode));
                }
                let upstream_parts = upstream_request(chain, &mut head, &mut body, &state, seen);
                let native = Native {
                    middlewares: &target.native,
                    grpc_web: grpc_web.as_ref(),
                };
                let served = &mut seen.served;
                let resp = forward(service, native, upstream_parts, body, policy, served).await?;
                let (mut p, b) = resp.into_parts();
                answered(&mut seen.origin, &mut p);
                (ResponseHead::new(p), ReplyOrStream::Stream(b))
            }
        },
    };
    // Where a middleware declared a body peek, hold the body's first bytes for the response
    // hooks (`body_peek`); otherwise the upstream body stays a plain stream.
    let method = head.parts.method.clone();
    let status = resp_head.parts.status;
    let mut resp_head = resp_head;
    // A middleware granted the response body (or an http-wasm one that enabled
    // `buffer_response`) gets it whole, up to the chain's cap.
    let whole = chain
        .response_body_limit()
        .filter(|_| super::body_peek::may_have_body(&method, status));
    let held = match (upstream_body, whole) {
        (ReplyOrStream::Reply(bytes), _) => HeldBody::Reply(bytes),
        (ReplyOrStream::Stream(b), Some(limit)) => {
            match super::chain_waits::collect_response(b, &resp_head.parts.headers, limit).await? {
                Collected::Whole(bytes) => HeldBody::Reply(bytes),
                Collected::Passed(passed) => {
                    resp_head
                        .parts
                        .extensions
                        .insert(OverCap(limit.max_bytes as u64));
                    HeldBody::Passed(passed)
                }
            }
        }
        // No middleware declared a peek (the common case): the body streams, no future made.
        (ReplyOrStream::Stream(b), None) if chain.body_peek() == 0 => HeldBody::Stream(b),
        (ReplyOrStream::Stream(b), None) => {
            super::chain_waits::peek(b, chain.body_peek(), &method, status).await?
        }
    };
    if chain.buffer_response()
        && let HeldBody::Reply(bytes) = &held
    {
        resp_head
            .parts
            .extensions
            .insert(BufferedBody(bytes.clone()));
    }
    let body_start = held.body_start(&method, status);
    let (mut head, mut resp_head, mut outcome) =
        chain.on_response_with_body(head, resp_head, &mut state, body_start);
    // A response hook's subrequest (e.g. `errors` fetching its page) or Redis `kv` operation
    // (`kv_journal`), awaited as above.
    loop {
        match outcome {
            ResponseOutcome::Subrequest(mut sub) => {
                if let Some(root) = &seen.trace {
                    sub.trace = Some(chain.trace_parent(&state, root));
                }
                let answer = super::chain_waits::subrequest(sub).await;
                (head, resp_head, outcome) =
                    chain.resume_response(head, resp_head, &mut state, body_start, answer);
            }
            ResponseOutcome::Kv(call) => {
                let answered = super::chain_waits::kv(*call).await;
                (head, resp_head, outcome) =
                    chain.resume_response_kv(head, resp_head, &mut state, body_start, answered);
            }
            done => {
                outcome = done;
                break;
            }
        }
    }
    if let Some(completion) = &mut seen.completion {
        completion.keep_response(&mut head);
    }
    drop(head);
    chain_response(chain, outcome, resp_head, held, grpc_web.as_ref())
}

/// [`proxy_chain`] for a chain that settles inline, past request hooks that left no wait: the
/// forward (or a reply) and, in its continuation, the response hooks, which call no guest.
/// Not an `async fn`: its future is the forward's and what the continuation keeps (the heads'
/// pointers, the chain state), not a state machine that also held every local of the path.
#[allow(
    clippy::too_many_arguments,
    reason = "the chain path's state, handed over whole from its start"
)]
fn chain_inline<'a>(
    runtime: &'a Snapshot,
    target: &'a RouteTarget,
    mut head: RequestHead,
    outcome: RequestOutcome,
    mut state: ChainState,
    body: RequestBody,
    policy: BodyPolicy,
    seen: &'a mut Seen<'_>,
) -> impl Future<Output = ChainResult> + Send + 'a {
    let chain = &target.chain;
    if let Some(completion) = &mut seen.completion {
        chain.note_entered(&state, completion);
    }
    seen.left_chain(&mut head);
    if let Some(completion) = &mut seen.completion {
        completion.keep_request(&mut head);
    }
    let (resp_head, held) = match outcome {
        RequestOutcome::Failed(e) => return Either::Left(std::future::ready(Err(e.into()))),
        // `proxy_chain` sends these to `chain_waiting`.
        RequestOutcome::Subrequest(_) | RequestOutcome::Takes(_) => {
            return Either::Left(std::future::ready(Err(unsent())));
        }
        RequestOutcome::Respond(reply) => (reply_head(&reply), HeldBody::Reply(reply.body)),
        RequestOutcome::Forward => match target.backend {
            Backend::Internal(service) => {
                let (parts, body) = internal_answer(runtime, service, &head.parts);
                (ResponseHead::new(parts), HeldBody::Reply(body))
            }
            Backend::PluginsPending => {
                return Either::Left(std::future::ready(Err(GatewayError::PluginsPending)));
            }
            Backend::Service(ref service) => {
                let mut body = ClientBody::Stream(body);
                let upstream_parts = upstream_request(chain, &mut head, &mut body, &state, seen);
                let native = Native {
                    middlewares: &target.native,
                    grpc_web: None,
                };
                let Seen {
                    served,
                    origin,
                    completion,
                    ..
                } = seen;
                let sent = forward(service, native, upstream_parts, body, policy, served);
                return Either::Right(sent.map(move |resp| {
                    let resp = resp?;
                    let (mut p, b) = resp.into_parts();
                    answered(origin, &mut p);
                    let (resp_head, held) = (ResponseHead::new(p), HeldBody::Stream(b));
                    settle_inline(chain, head, resp_head, held, &mut state, completion)
                }));
            }
        },
    };
    Either::Left(std::future::ready(settle_inline(
        chain,
        head,
        resp_head,
        held,
        &mut state,
        &mut seen.completion,
    )))
}

/// The response side of a chain that settles inline: its response hooks (fixed edits only,
/// no guest called, so no wait), then the response.
fn settle_inline(
    chain: &crate::plugins::Chain,
    head: RequestHead,
    resp_head: ResponseHead,
    held: HeldBody,
    state: &mut ChainState,
    completion: &mut Option<PendingCompletion>,
) -> ChainResult {
    let body_start = held.body_start(&head.parts.method, resp_head.parts.status);
    let (mut head, resp_head, outcome) =
        chain.on_response_with_body(head, resp_head, state, body_start);
    if let Some(completion) = completion {
        completion.keep_response(&mut head);
    }
    drop(head);
    chain_response(chain, outcome, resp_head, held, None)
}

/// The request head as it goes upstream after the request hooks: its upgrade handle
/// (WebSocket), the body a middleware buffered or wrote in place of the client's stream
/// (`body`), the trace parent. Marks the request forwarded.
fn upstream_request(
    chain: &crate::plugins::Chain,
    head: &mut RequestHead,
    body: &mut ClientBody,
    state: &ChainState,
    seen: &mut Seen<'_>,
) -> Parts {
    let mut upstream_parts = parts_for_upstream(&mut head.parts, chain.keeps_request_headers());
    // The client connection's upgrade handle (WebSocket) goes with the forwarded request.
    if let Some(upgrade) = head.parts.extensions.remove::<hyper::upgrade::OnUpgrade>() {
        upstream_parts.extensions.insert(upgrade);
    }
    // A body a middleware buffered or wrote replaces the client's stream.
    if let Some(BufferedBody(bytes)) = head.parts.extensions.remove::<BufferedBody>() {
        *body = ClientBody::Full(bytes);
    }
    seen.forwarding();
    if let Some(trace) = &seen.trace {
        upstream_parts
            .extensions
            .insert(chain.trace_parent(state, trace));
    }
    upstream_parts
}

/// The failure of a chain left with a subrequest it never sent (none is, by construction).
fn unsent() -> GatewayError {
    GatewayError::Plugin(crate::plugins::PluginError::InvalidOutput(
        "an unsent subrequest".into(),
    ))
}

/// The response after the response hooks: their replacement, or the response head they left
/// with the held body (or the one a middleware granted `body` put in its place), compressed or
/// turned into gRPC-Web where a middleware asked.
fn chain_response(
    chain: &crate::plugins::Chain,
    outcome: ResponseOutcome,
    resp_head: ResponseHead,
    held: HeldBody,
    grpc_web: Option<&GrpcWebCall>,
) -> ChainResult {
    // The access log's `OriginContentSize` where the body sent is not the upstream's: a body
    // read whole is known; a streamed one is counted as it is read (`OriginBytes::count`).
    let logs_origin = crate::admin::access_log_on();
    let held_len = held.known_len();
    match outcome {
        ResponseOutcome::Failed(e) => Err(e.into()),
        ResponseOutcome::Subrequest(_) | ResponseOutcome::Kv(_) => Err(unsent()),
        // The held body is dropped; unless it was read whole, its size is the one the upstream
        // declared (`Content-Length`), or 0.
        ResponseOutcome::Replace(reply) => {
            let origin = logs_origin.then(|| OriginBytes::Known(held_len.unwrap_or(0)));
            let mut resp = with_origin_bytes(reply_response(reply), origin);
            let mut upstream = resp_head.parts;
            if let Some(headers) = upstream.extensions.remove::<crate::admin::OriginHeaders>() {
                resp.extensions_mut().insert(headers);
            }
            Ok(resp)
        }
        ResponseOutcome::Forward => {
            let mut parts = resp_head.parts;
            let mut origin = None;
            // The held body, or the one a middleware granted `body` put in its place.
            let mut body = match chain.buffer_response() {
                true => match parts.extensions.remove::<BufferedBody>() {
                    Some(BufferedBody(bytes)) => {
                        origin = held_len.filter(|_| logs_origin).map(OriginBytes::Known);
                        full(bytes)
                    }
                    None => held.into_body(),
                },
                false => held.into_body(),
            };
            // A middleware granted `compression` chose an encoding: compress while streaming.
            let coding = match chain.compresses() {
                true => parts.extensions.remove::<CompressWith>(),
                false => None,
            };
            if logs_origin && origin.is_none() && (coding.is_some() || grpc_web.is_some()) {
                let (counted, count) = OriginBytes::count(body);
                body = http_body_util::BodyExt::boxed(counted);
                origin = Some(count);
            }
            if let Some(CompressWith(coding)) = coding {
                body = match super::compress_body::compress(body, coding) {
                    Ok(compressed) => {
                        super::compress_body::set_head(&mut parts.headers, coding);
                        compressed
                    }
                    Err(unchanged) => unchanged,
                };
            }
            let resp = Response::from_parts(parts, body);
            let resp = match grpc_web {
                Some(call) => call.response_to_grpc_web(resp),
                None => resp,
            };
            Ok(with_origin_bytes(resp, origin))
        }
    }
}

/// The upstream answered with `parts`: its status is the recorder's `origin`, and its headers
/// the access log logs (`origin_<Name>`) go with the response, in its extensions, to the
/// recorder, read before the response hooks change them. Reads no header unless the log logs
/// some (Traefik's default logs none).
fn answered(origin: &mut Option<u16>, parts: &mut http::response::Parts) {
    *origin = Some(parts.status.as_u16());
    if let Some(headers) = crate::admin::logged_origin_headers(&parts.headers) {
        parts.extensions.insert(headers);
    }
}

/// `resp` carrying the upstream's body size to the recorder (`handle_recorded`), when a
/// middleware made the body sent another.
fn with_origin_bytes(
    mut resp: Response<ProxyBody>,
    origin: Option<OriginBytes>,
) -> Response<ProxyBody> {
    if let Some(origin) = origin {
        resp.extensions_mut().insert(origin);
    }
    resp
}

/// The router's native middlewares for one request (`snapshot::NativeMiddlewares`), with the
/// gRPC-Web call a plugin asked the host to translate, if any.
#[derive(Clone, Copy)]
struct Native<'a> {
    middlewares: &'a NativeMiddlewares,
    grpc_web: Option<&'a GrpcWebCall>,
}

/// The client's request body on its way upstream.
enum ClientBody {
    /// Streamed as it arrives (the default).
    Stream(RequestBody),
    /// Read whole into the head's `BufferedBody` for the chain (taken back after it).
    Buffered,
    /// A whole body: buffered for a middleware, or written by one.
    Full(bytes::Bytes),
    /// A body over the chain's cap passed on unread (the bytes read first, then the rest),
    /// already under the entrypoint's body policy.
    Passed(ProxyBody, super::client_body::BodyWatch),
}

enum ReplyOrStream {
    Reply(bytes::Bytes),
    Stream(UpstreamBody),
}

/// Forwards the request through the router's service (balancing, health, retry, mirroring,
/// failover: `lb::service`); the response head has hop-by-hop headers removed. An
/// upgrade request (WebSocket) keeps its upgrade headers, and a 101 answer splices the two
/// connections (`upgrade`).
///
/// The router's native middlewares act here (`retry` goes down to the load balancer), and a
/// gRPC-Web call a plugin chose is turned into gRPC (`grpc_web`).
///
/// `served` is set to the server that answered (recorder on), for the access log.
///
/// Not an `async fn`: the choice is made here and [`exchange`]'s own future returned (no layer
/// of this function's own, whose creation copied the exchange's future once more per request);
/// `buffering.retryExpression`'s loop, rare, is boxed so that it does not grow every request's
/// future.
fn forward<'a>(
    service: &'a crate::lb::Service,
    native: Native<'a>,
    mut parts: Parts,
    body: ClientBody,
    policy: BodyPolicy,
    served: &'a mut Option<crate::admin::ServedBy>,
) -> impl Future<Output = Result<Response<UpstreamBody>, GatewayError>> + Send + 'a {
    if let Some(call) = native.grpc_web {
        call.request_to_grpc(&mut parts);
    }
    match (native.middlewares.buffer_retry.as_deref(), body) {
        (Some(expression), ClientBody::Full(bytes))
            if !parts.headers.contains_key(http::header::UPGRADE) =>
        {
            let retry = (bytes, expression);
            Either::Right(Box::pin(exchange_retrying(
                service, native, parts, retry, policy, served,
            )))
        }
        (_, body) => Either::Left(exchange(service, native, parts, body, policy, served)),
    }
}

/// Retries oxy's `buffer` makes at most (its `DefaultMaxRetryAttempts`).
const MAX_BUFFER_RETRIES: u32 = 10;

/// `buffering.retryExpression`: the request, its body held whole (`bytes`), goes through the
/// service; after each attempt the expression is evaluated with the attempts so far and the
/// attempt's status (the gateway's 502 / 504 where the upstream failed), and while it holds
/// (at most [`MAX_BUFFER_RETRIES`] times) the request is sent again, a copy of the same head
/// and body; the answer of a dropped attempt is discarded unread. Only the forwarding step is
/// repeated: the request hooks ran once (Traefik repeats the middlewares after `buffering`).
/// Runs on the request's task; costs a head copy per attempt.
async fn exchange_retrying(
    service: &crate::lb::Service,
    native: Native<'_>,
    parts: Parts,
    (bytes, expression): (
        bytes::Bytes,
        &crate::config::retry_expression::RetryExpression,
    ),
    policy: BodyPolicy,
    served: &mut Option<crate::admin::ServedBy>,
) -> Result<Response<UpstreamBody>, GatewayError> {
    let mut attempts = 1;
    loop {
        let body = ClientBody::Full(bytes.clone());
        let result = exchange(service, native, parts.clone(), body, policy, served).await;
        let response_code = match &result {
            Ok(resp) => resp.status().as_u16(),
            Err(e) => e.status().as_u16(),
        };
        let facts = crate::config::retry_expression::AttemptFacts {
            attempts,
            response_code,
            method: parts.method.as_str(),
        };
        if attempts > MAX_BUFFER_RETRIES || !expression.holds(&facts) {
            return result;
        }
        tracing::debug!(
            attempts,
            response_code,
            "buffering: retryExpression holds, sending again"
        );
        attempts += 1;
    }
}

/// One trip through the service: body watch, upgrade, hop-by-hop headers of the answer.
///
/// `served`: the answering server of this trip (left `None` when it failed).
async fn exchange(
    service: &crate::lb::Service,
    native: Native<'_>,
    mut parts: Parts,
    body: ClientBody,
    policy: BodyPolicy,
    served: &mut Option<crate::admin::ServedBy>,
) -> Result<Response<UpstreamBody>, GatewayError> {
    // An earlier trip's server (`buffering.retryExpression`) is not this one's.
    *served = None;
    let upgrade = take_client_upgrade(&mut parts);
    let (body, watch) = match body {
        ClientBody::Stream(body) => super::client_body::watch(body, policy),
        ClientBody::Full(bytes) => (full(bytes), super::client_body::BodyWatch::default()),
        ClientBody::Passed(body, watch) => (body, watch),
        ClientBody::Buffered => (
            crate::upstream::body::empty(),
            super::client_body::BodyWatch::default(),
        ),
    };
    let body = match native.grpc_web {
        Some(call) => call.request_body(body),
        None => body,
    };
    let req = Request::from_parts(parts, body);
    // Boxed for the same reason as `proxy`: the load balancer's and the client's futures
    // below are large, and `proxy`'s state would otherwise carry (and copy) them inline.
    // `forward_boxed` boxes a plain load balancer's future itself (one layer less).
    let retry = native.middlewares.retry.as_ref();
    let mut resp = service
        .forward_boxed(req, retry, served)
        .await
        .map_err(|e| watch.blame(e))?;
    if let Err(e) = super::framing::check_response(&resp) {
        // Refused as it came: no server answered this request.
        *served = None;
        return Err(e);
    }
    let switched = upgrade.and_then(|u| u.on_response(&mut resp));
    strip_hop_by_hop(resp.headers_mut());
    if let Some(switched) = switched {
        switched.restore_headers(resp.headers_mut());
    }
    Ok(resp)
}

/// The answer of one of Traefik's internal services (`api@internal`, `ping@internal`...) to
/// the request head `parts` (after the router's request hooks).
fn internal_answer(
    runtime: &Snapshot,
    service: crate::config::InternalService,
    parts: &Parts,
) -> (http::response::Parts, bytes::Bytes) {
    let reply = match &runtime.internals {
        Some(internals) => internals.answer(service, &parts.method, &parts.uri),
        None => {
            let mut resp = Response::new(());
            *resp.status_mut() = http::StatusCode::NOT_FOUND;
            return (resp.into_parts().0, bytes::Bytes::new());
        }
    };
    let mut resp = Response::new(());
    *resp.status_mut() = reply.status;
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(reply.content_type),
    );
    for (name, value) in reply.headers {
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    (resp.into_parts().0, reply.body)
}

/// The request as it goes upstream, keeping the plugins' view of it for the response hooks:
/// method, URI and version always (cheap: the URI shares its bytes), the headers only when a
/// response hook may read them (`keep_headers`, `Chain::keeps_request_headers`; a copy of the
/// header map, ~0.4 µs); otherwise they move upstream and the head keeps none.
fn parts_for_upstream(parts: &mut Parts, keep_headers: bool) -> Parts {
    let mut req = Request::new(());
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.version_mut() = parts.version;
    *req.headers_mut() = match keep_headers {
        true => parts.headers.clone(),
        false => std::mem::take(&mut parts.headers),
    };
    req.into_parts().0
}

fn reply_head(reply: &ValidReply) -> ResponseHead {
    let mut resp = Response::new(());
    *resp.status_mut() = reply.status;
    *resp.headers_mut() = reply.headers.clone();
    ResponseHead::new(resp.into_parts().0)
}

fn reply_response(reply: ValidReply) -> Response<ProxyBody> {
    let mut resp = Response::new(full(reply.body));
    *resp.status_mut() = reply.status;
    *resp.headers_mut() = reply.headers;
    resp
}

/// Host and port as the client addressed the gateway (for `X-Forwarded-Host`).
fn authority_of(parts: &Parts) -> Option<http::HeaderValue> {
    match parts.uri.authority() {
        Some(a) => http::HeaderValue::from_str(a.as_str()).ok(),
        None => parts.headers.get(http::header::HOST).cloned(),
    }
}

fn set_uri_path(parts: &mut Parts, path: &str) -> Result<(), GatewayError> {
    let pq = match parts.uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut uri_parts = std::mem::take(&mut parts.uri).into_parts();
    uri_parts.path_and_query = Some(
        pq.parse()
            .map_err(|_| GatewayError::BadRequest("invalid request target"))?,
    );
    parts.uri = http::Uri::from_parts(uri_parts)
        .map_err(|_| GatewayError::BadRequest("invalid request target"))?;
    Ok(())
}

#[cfg(test)]
mod future_sizes {
    //! How many bytes each layer of the request's future is: an async layer's state holds its
    //! awaited child futures, and `Box::pin` copies the whole state to the heap, so these sizes
    //! are per-request `memmove`s (bench/README, "Changes, measured").

    use super::*;

    /// The size of what a function returns (here: an async fn's future), without calling it.
    macro_rules! returned {
        ($f:expr, $($arg:tt),*) => {{
            fn size<$($arg,)* R>(_: fn($($arg),*) -> R) -> usize {
                size_of::<R>()
            }
            size($f as fn($(returned!(@hole $arg)),*) -> _)
        }};
        (@hole $arg:tt) => { _ };
    }

    /// The general chain path's future (`proxy_chain_general`, with `chain_waiting` in it) is
    /// the forward's plus the chain's own state: the rarely taken waits (a body collected, a
    /// subrequest, Redis takes and `kv`, a peek, the take delay; kilobytes each) are boxed out
    /// of line (`chain_waits`), and `ChainState` boxes its parked parts.
    /// 7968 bytes before that in a bench-fast build, 4304 after (bench/README, branch
    /// chainpath); debug builds lay out about the same.
    #[test]
    fn the_chain_path_future_stays_small() {
        let general = returned!(proxy_chain_general, A, B, C, D, E, F, G);
        let waiting = returned!(chain_waiting, A, B, C, D, E, F, G, H);
        let forward = returned!(forward, A, B, C, D, E, F);
        let send = returned!(crate::plugins::Subrequest::send, A);
        let takes = returned!(crate::plugins::remote_take::TakeBatch::run, A);
        let kv = returned!(crate::plugins::redis_kv::KvCall::run, A);
        println!(
            "proxy_chain_general {general} B, chain_waiting {waiting}, forward {forward}, \
             subrequest {send}, takes {takes}, kv {kv}, ChainState {}",
            size_of::<crate::plugins::ChainState>()
        );
        let own = general.saturating_sub(forward);
        assert!(
            own < 3072 && own < send.min(takes).min(kv),
            "proxy_chain_general's future holds {own} bytes besides the forward's {forward}"
        );
        assert!(size_of::<crate::plugins::ChainState>() <= 128);
    }

    /// A chain that settles inline (`Chain::settles_inline`, scenario b's) is the forward's
    /// future and its continuation's state (heads' pointers, the chain state), inline in
    /// `proxy`'s (no box of its own): 824 bytes in a debug build against the forward's 712,
    /// where the general chain future (kilobytes) took a second box, `malloc`'s bin path and a
    /// copy of itself (bench/README, branch bpath). `proxy_chain` is that, or a box.
    #[test]
    fn a_chain_settling_inline_needs_no_box_of_its_own() {
        let inline = returned!(chain_inline, A, B, C, D, E, F, G, H);
        let forward = returned!(forward, A, B, C, D, E, F);
        let chain = returned!(proxy_chain, A, B, C, D, E, F, G, H);
        println!("chain_inline {inline} B, forward {forward}, proxy_chain {chain}");
        assert!(
            inline <= forward + 160,
            "chain_inline {inline}, forward {forward}"
        );
        assert!(
            chain <= inline + 16,
            "proxy_chain {chain}, chain_inline {inline}"
        );
    }

    /// The plain path's layers: `handle` and `handle_observed` choose a branch and return
    /// the chosen future (no layer of their own), `forward` returns `exchange`'s, and the
    /// service's load balancer future is boxed below `exchange`. So the request's future is
    /// `handle_unrecorded`'s and a tag, and `proxy`'s (boxed) carries `exchange`'s, not a
    /// layer around it (bench/README, branch memmove).
    #[test]
    fn the_plain_path_has_no_layers_of_its_own() {
        let handle = returned!(handle, A, B, C);
        // The owned-`Seen` instance (no recorder), as `handle_observed` makes it.
        let unrecorded = {
            type Started = Option<Instant>;
            fn size<R>(
                _: fn(
                    Arc<Snapshot>,
                    &'static Connection,
                    Request<RequestBody>,
                    Seen<'static>,
                    Started,
                ) -> R,
            ) -> usize {
                size_of::<R>()
            }
            size(handle_unrecorded)
        };
        let recorded = returned!(handle_recorded, A, B, C, D, E);
        let proxy = returned!(proxy, A, B, C, D, E);
        let forward = returned!(forward, A, B, C, D, E, F);
        let exchange = returned!(exchange, A, B, C, D, E, F);
        println!(
            "handle {handle} B, handle_unrecorded {unrecorded}, handle_recorded {recorded}, \
             proxy {proxy}, forward {forward}, exchange {exchange}"
        );
        // Each a few words of tag (and the recorder's pointers) over `handle_unrecorded`'s.
        assert!(recorded <= unrecorded + 64, "handle_recorded {recorded}");
        assert!(handle <= unrecorded + 128, "handle {handle}");
        assert!(
            forward <= exchange + 64,
            "forward {forward}, exchange {exchange}"
        );
    }

    /// The two futures boxed per plain request, `proxy`'s (in `handle_unrecorded`) and the load
    /// balancer's (`Service::forward_boxed`), fit glibc's per-thread cache (chunks up to 1032
    /// bytes): as `async fn`s they were 1584 and 1136 bytes, and each box took `malloc`'s bin
    /// path (bench/README, branch plainpath). `proxy`'s is the forward's and a few words (the
    /// continuation of a chain that settles inline, the largest branch: branch bpath).
    #[test]
    fn the_plain_path_boxes_fit_the_allocator_cache() {
        let proxy = returned!(proxy, A, B, C, D, E);
        let forward = returned!(forward, A, B, C, D, E, F);
        let balancer = returned!(crate::lb::LoadBalancer::forward, A, B, C, D);
        println!("proxy {proxy} B, forward {forward}, load balancer {balancer}");
        assert!(proxy <= forward + 192, "proxy {proxy}, forward {forward}");
        const TCACHE_MAX: usize = 1032;
        assert!(proxy <= TCACHE_MAX, "proxy {proxy}");
        assert!(balancer <= TCACHE_MAX, "load balancer {balancer}");
    }
}
