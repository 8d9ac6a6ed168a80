//! The spans of one request, with Traefik's names and attributes where they fit:
//!
//! - `EntryPoint` (server): from the request's arrival to its response head; its parent is the
//!   client's `traceparent` when one came (the trace id is kept), else it starts a trace.
//!   Attributes: `entry_point`, `http.request.method`, `url.path`, `url.query` (unsafe values
//!   redacted), `url.scheme`, `server.address`, `client.address`, `user_agent.original`,
//!   `traefik.router.name`, `traefik.service.name`, `http.response.status_code`, captured
//!   headers.
//! - one span per middleware (internal), named after its plugin, with
//!   `traefik.middleware.name`, `wasmgate.plugin.name` and `wasmgate.plugin.hash` (the content
//!   hash: the plugin version that ran); nested in chain order as Traefik nests middleware
//!   spans, each lasting from its request hook to its response hook; a failure sets the span's
//!   status to error and `error.type` to the failure's kind (trap, timeout, memory...).
//! - `ReverseProxy` (client) per upstream attempt (a retry is a second one), its context sent
//!   upstream as `traceparent`.
//!
//! Built only when tracing is on; an unsampled request gets its server span's context (for
//! propagation) and nothing else.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use http::HeaderMap;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue, Value};

use super::Tracer;
use super::carrier::{HeaderExtractor, HeaderInjector, captured, redacted_query};
use crate::admin::exchange::Arrival;
use crate::admin::metrics::method_label;

/// A place in a trace that child spans hang under (a context holding a span). Cheap to clone.
#[derive(Clone, Debug)]
pub struct TraceParent {
    cx: Context,
}

/// The server span of one request. Opened once the request is routed, when its router's
/// `observability.tracing` allows ([`RequestSpan::open`]), or when it ends for a request no
/// router took (the entrypoint's `observability.tracing` decides); it starts at the request's
/// arrival either way.
pub struct RequestSpan {
    tracer: &'static Tracer,
    incoming: Context,
    started: SystemTime,
    /// The arrival's attributes, taken by the span when it opens (empty when the sampler is
    /// known to drop it: an unsampled parent, or `sampleRate: 0` for a new trace).
    attrs: Mutex<Vec<KeyValue>>,
    /// Set once: the span's context, or `None` when the router's `tracing` is off.
    opened: OnceLock<Option<Context>>,
}

impl Tracer {
    /// Reads the client's trace context and the request's attributes; the span itself is
    /// opened once the router is known.
    pub fn start_request(&'static self, a: Arrival<'_>) -> RequestSpan {
        let incoming = opentelemetry::propagation::TextMapPropagator::extract_with_context(
            &self.propagator,
            &Context::new(),
            &HeaderExtractor(a.headers),
        );
        let parent = incoming.span().span_context().clone();
        let dropped = if parent.is_valid() {
            !parent.is_sampled()
        } else {
            self.sample_rate <= 0.0
        };
        let attrs = if dropped {
            Vec::new()
        } else {
            self.server_attributes(&a)
        };
        RequestSpan {
            tracer: self,
            incoming,
            started: SystemTime::now(),
            attrs: Mutex::new(attrs),
            opened: OnceLock::new(),
        }
    }

    fn server_attributes(&self, a: &Arrival<'_>) -> Vec<KeyValue> {
        let mut attrs = Vec::with_capacity(12 + self.captured_request.len());
        attrs.push(KeyValue::new("entry_point", a.entrypoint.clone()));
        attrs.push(KeyValue::new("http.request.method", method_value(a.method)));
        attrs.push(KeyValue::new(
            "network.protocol.version",
            protocol_version(a.version),
        ));
        attrs.push(KeyValue::new("url.path", a.uri.path().to_string()));
        if let Some(q) = a.uri.query() {
            attrs.push(KeyValue::new(
                "url.query",
                redacted_query(q, &self.safe_query),
            ));
        }
        attrs.push(KeyValue::new(
            "url.scheme",
            if a.tls { "https" } else { "http" },
        ));
        let text = |name: http::header::HeaderName| {
            a.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if let Some(len) = text(http::header::CONTENT_LENGTH).and_then(|v| v.parse::<i64>().ok()) {
            attrs.push(KeyValue::new("http.request.body.size", len));
        }
        if let Some(agent) = text(http::header::USER_AGENT) {
            attrs.push(KeyValue::new("user_agent.original", agent));
        }
        let host = a
            .uri
            .authority()
            .map(|h| h.as_str().to_string())
            .or_else(|| text(http::header::HOST));
        if let Some(host) = host {
            attrs.push(KeyValue::new("server.address", host));
        }
        let ip = a.client.ip().to_string();
        attrs.push(KeyValue::new("client.address", ip.clone()));
        attrs.push(KeyValue::new("client.port", i64::from(a.client.port())));
        attrs.push(KeyValue::new("network.peer.address", ip));
        attrs.push(KeyValue::new(
            "network.peer.port",
            i64::from(a.client.port()),
        ));
        captured(&self.captured_request, a.headers, &mut attrs);
        attrs
    }
}

impl RequestSpan {
    /// The request matched `router` (leading to `service`): opens the span when `tracing` (the
    /// router's `observability.tracing`) is on and returns where the route's middleware and
    /// upstream spans go; `None` when it is off. Once per request, after routing.
    pub fn open(
        &self,
        tracing: bool,
        router: &Arc<str>,
        service: Option<&Arc<str>>,
    ) -> Option<TraceParent> {
        let cx = self
            .opened
            .get_or_init(|| tracing.then(|| self.build(Some((router, service)))));
        cx.as_ref().map(|cx| TraceParent { cx: cx.clone() })
    }

    fn build(&self, route: Option<(&Arc<str>, Option<&Arc<str>>)>) -> Context {
        let tracer = self.tracer;
        let mut attrs = std::mem::take(
            &mut *self
                .attrs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if let Some((router, service)) = route
            && !attrs.is_empty()
        {
            attrs.push(KeyValue::new("traefik.router.name", router.clone()));
            if let Some(service) = service {
                attrs.push(KeyValue::new("traefik.service.name", service.clone()));
            }
        }
        let builder = tracer
            .sdk
            .span_builder("EntryPoint")
            .with_kind(SpanKind::Server)
            .with_start_time(self.started)
            .with_attributes(attrs);
        let span = tracer.sdk.build_with_context(builder, &self.incoming);
        self.incoming.with_span(span)
    }

    /// Ends the span with the response's status (5xx: error, as Traefik's server spans). A
    /// request no router took opens its span here when `unrouted_tracing` (the entrypoint's
    /// `observability.tracing`) is on.
    pub fn finish(&self, status: u16, headers: &HeaderMap, unrouted_tracing: bool) {
        let opened = self
            .opened
            .get_or_init(|| unrouted_tracing.then(|| self.build(None)));
        let Some(cx) = opened else {
            return;
        };
        let span = cx.span();
        if span.is_recording() {
            let mut attrs = vec![KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            )];
            captured(&self.tracer.captured_response, headers, &mut attrs);
            span.set_attributes(attrs);
            if status >= 500 {
                span.set_status(Status::error(""));
            }
        }
        span.end();
    }
}

/// A middleware's span attributes and name, built when its chain is built (config time).
#[derive(Debug, Clone)]
pub struct MiddlewareLabels {
    name: &'static str,
    attrs: Vec<KeyValue>,
}

impl MiddlewareLabels {
    /// `None` when tracing is off.
    pub fn new(middleware: &str, plugin: &str, hash: &str) -> Option<MiddlewareLabels> {
        super::tracer()?;
        Some(MiddlewareLabels {
            name: interned(plugin),
            attrs: vec![
                KeyValue::new("traefik.middleware.name", middleware.to_string()),
                KeyValue::new("wasmgate.plugin.name", plugin.to_string()),
                KeyValue::new("wasmgate.plugin.hash", hash.to_string()),
            ],
        })
    }
}

/// Span names are `Cow<'static, str>`: each plugin name is leaked once per process (bounded
/// by the plugin names ever configured) so that naming a span allocates nothing.
fn interned(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// One middleware's span, open from its request hook until its response hook (or until the
/// chain no longer runs it). Ends when dropped.
#[derive(Debug)]
pub struct MiddlewareSpan {
    cx: Context,
}

impl TraceParent {
    /// Whether spans under this parent are recorded (the trace is sampled).
    pub fn is_recording(&self) -> bool {
        self.cx.span().is_recording()
    }

    /// Starts a middleware's span under this one.
    pub fn middleware(&self, labels: &MiddlewareLabels) -> Option<MiddlewareSpan> {
        let tracer = super::tracer()?;
        let builder = tracer
            .sdk
            .span_builder(Cow::Borrowed(labels.name))
            .with_kind(SpanKind::Internal)
            .with_attributes(labels.attrs.clone());
        let span = tracer.sdk.build_with_context(builder, &self.cx);
        Some(MiddlewareSpan {
            cx: self.cx.with_span(span),
        })
    }

    /// Starts the span of one upstream attempt to `server` (a configured server URL) and puts
    /// its context on the request's headers as `traceparent` / `tracestate`, replacing the
    /// client's.
    /// Unsampled: no span; the headers carry this parent's context.
    pub fn attempt(&self, server: &str, parts: &mut http::request::Parts) -> Option<AttemptSpan> {
        let (method, uri) = (&parts.method, &parts.uri);
        self.client_span("ReverseProxy", server, method, uri, &mut parts.headers)
    }

    /// Starts the span of a plugin's subrequest (`outbound-http`, e.g. forwardAuth's call to
    /// the auth server) to `server` + `uri` and puts its context on `headers`, as
    /// [`TraceParent::attempt`] does. A subrequest to a service gets its load balancer's
    /// attempt span under this one.
    pub fn subrequest(
        &self,
        server: &str,
        method: &http::Method,
        uri: &http::Uri,
        headers: &mut HeaderMap,
    ) -> Option<AttemptSpan> {
        self.client_span("Subrequest", server, method, uri, headers)
    }

    /// A client span named `name` under this parent, its context injected into `headers`
    /// (this parent's when the trace is not recorded: then no span).
    fn client_span(
        &self,
        name: &'static str,
        server: &str,
        method: &http::Method,
        uri: &http::Uri,
        headers: &mut HeaderMap,
    ) -> Option<AttemptSpan> {
        let tracer = super::tracer()?;
        let inject = |cx: &Context, headers: &mut HeaderMap| {
            opentelemetry::propagation::TextMapPropagator::inject_context(
                &tracer.propagator,
                cx,
                &mut HeaderInjector(headers),
            );
        };
        if !self.is_recording() {
            inject(&self.cx, headers);
            return None;
        }
        let mut attrs = Vec::with_capacity(8);
        attrs.push(KeyValue::new("http.request.method", method_value(method)));
        let query = uri
            .query()
            .map(|q| format!("?{}", redacted_query(q, &tracer.safe_query)))
            .unwrap_or_default();
        attrs.push(KeyValue::new(
            "url.full",
            format!("{server}{}{query}", uri.path()),
        ));
        if let Ok(url) = server.parse::<http::Uri>() {
            let scheme = url.scheme_str().unwrap_or("http");
            attrs.push(KeyValue::new("url.scheme", scheme.to_string()));
            if let Some(host) = url.host() {
                attrs.push(KeyValue::new("server.address", host.to_string()));
                attrs.push(KeyValue::new("network.peer.address", host.to_string()));
            }
            let port = url
                .port_u16()
                .unwrap_or(if scheme == "https" { 443 } else { 80 });
            attrs.push(KeyValue::new("server.port", i64::from(port)));
            attrs.push(KeyValue::new("network.peer.port", i64::from(port)));
        }
        let builder = tracer
            .sdk
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attrs);
        let span = tracer.sdk.build_with_context(builder, &self.cx);
        let cx = self.cx.with_span(span);
        inject(&cx, headers);
        Some(AttemptSpan { cx })
    }

    /// This place's context, to put on a request for a layer below (`lb` reads it).
    pub fn child_parent(span: &AttemptSpan) -> TraceParent {
        TraceParent {
            cx: span.cx.clone(),
        }
    }
}

impl MiddlewareSpan {
    /// Where the spans inside this middleware (the next middleware, the upstream) go.
    pub fn parent(&self) -> TraceParent {
        TraceParent {
            cx: self.cx.clone(),
        }
    }

    /// The middleware's hook failed with `kind` (`trap`, `timeout`, `memory`, `invalid
    /// output`...).
    pub fn failed(&self, kind: &'static str, message: String) {
        let span = self.cx.span();
        span.set_attribute(KeyValue::new("error.type", kind));
        span.set_status(Status::error(message));
    }
}

impl Drop for MiddlewareSpan {
    fn drop(&mut self) {
        self.cx.span().end_with_timestamp(SystemTime::now());
    }
}

/// One upstream attempt's span; ended by [`AttemptSpan::finish`] (or when dropped).
#[derive(Debug)]
pub struct AttemptSpan {
    cx: Context,
}

impl AttemptSpan {
    /// The attempt's outcome: the upstream's status (4xx and 5xx are errors, as Traefik's
    /// client spans), or the kind of failure (`unreachable`, `timeout`).
    pub fn finish(self, outcome: Result<u16, &'static str>) {
        let span = self.cx.span();
        match outcome {
            Ok(status) => {
                span.set_attribute(KeyValue::new(
                    "http.response.status_code",
                    i64::from(status),
                ));
                if status >= 400 {
                    span.set_status(Status::error(""));
                }
            }
            Err(kind) => {
                span.set_attribute(KeyValue::new("error.type", kind));
                span.set_status(Status::error(kind));
            }
        }
    }
}

impl Drop for AttemptSpan {
    fn drop(&mut self) {
        self.cx.span().end();
    }
}

fn method_value(m: &http::Method) -> Value {
    match method_label(m) {
        "EXTENSION_METHOD" => Value::from("_OTHER"),
        known => Value::from(known),
    }
}

fn protocol_version(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}
