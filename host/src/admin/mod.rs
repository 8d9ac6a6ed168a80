//! What the gateway records about itself: Prometheus metrics (`metrics`) and the access log
//! (`access_log`). A low layer: the request pipeline (`proxy`) records into it, `app` builds it
//! from the static config and serves `/metrics`; it imports only `config`.
//!
//! One [`Recorder`] per process, installed by `app::run` before the first snapshot is built
//! ([`install`]); `wasmgate check` and unit tests never install one, and then every hook is a
//! no-op. Per-router and per-service handles are resolved when a snapshot is built
//! ([`RouteHandles::resolve`]); a request pays one `OnceLock` read when nothing is on.

pub mod access_log;
mod access_log_file;
mod access_log_json;
mod access_record;
pub mod api;
pub mod exchange;
mod exposition;
mod exposition_plugins;
mod exposition_published;
mod exposition_values;
pub mod histogram;
pub mod metrics;
pub mod names;
mod origin_bytes;
pub mod plugin_metrics;
pub mod published;
pub mod runtime_figures;
mod thread_cells;
mod timefmt;
pub mod trace;
pub use timefmt::rfc3339_utc;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use crate::config::{AccessLogConfig, ObservabilityFlags, PrometheusConfig};
pub use access_log::{AccessLog, AccessRecord};
pub use access_record::{HeaderList, OriginHeaders, ResponseHeaders, TlsFacts};
pub use exchange::{Exchange, RecordedBody};
pub use metrics::{Metrics, SeriesSet};
pub use origin_bytes::{CountedBody, OriginBytes};

/// The process's metrics and access log.
#[derive(Debug)]
pub struct Recorder {
    pub metrics: Option<Arc<Metrics>>,
    /// Every middleware's plugin counters, when metrics or the API show them.
    pub plugins: Option<Arc<plugin_metrics::PluginTable>>,
    pub access_log: Option<AccessLog>,
    /// Entrypoint series by entrypoint name, resolved at start-up; a request finds its
    /// entrypoint's by a scan of these few short names (no hashing).
    entrypoints: Box<[(Box<str>, Arc<SeriesSet>)]>,
}

static RECORDER: OnceLock<Recorder> = OnceLock::new();

impl Recorder {
    /// Builds the recorder of a static config; starts the access-log writer (inside the tokio
    /// runtime). `api`: the API is on, so plugin figures are kept for `/api/plugins` even
    /// without metrics. Fails when the access-log file cannot be opened.
    pub fn new<'a>(
        metrics: Option<&PrometheusConfig>,
        access_log: Option<&AccessLogConfig>,
        api: bool,
        entrypoints: impl IntoIterator<Item = &'a str>,
    ) -> std::io::Result<Recorder> {
        let plugins = (metrics.is_some() || api).then(Arc::default);
        let metrics = metrics.map(|c| Metrics::new(c.clone(), plugins.clone().unwrap_or_default()));
        let dropped = Arc::new(AtomicU64::new(0));
        let access_log = access_log
            .map(|c| AccessLog::start(c.clone(), dropped.clone()))
            .transpose()?;
        let mut sets: Vec<(Box<str>, Arc<SeriesSet>)> = Vec::new();
        if let Some(m) = &metrics {
            for ep in entrypoints {
                if let Some(set) = m.entrypoint(ep)
                    && !sets.iter().any(|(name, _)| **name == *ep)
                {
                    sets.push((ep.into(), set));
                }
            }
            m.share_dropped_lines(dropped);
        }
        Ok(Recorder {
            metrics,
            plugins,
            access_log,
            entrypoints: sets.into_boxed_slice(),
        })
    }

    /// The series set of entrypoint `name` (`None` without metrics or entrypoint labels).
    /// Per request: a scan of the entrypoints' names.
    pub(crate) fn entrypoint_set(&self, name: &str) -> Option<&SeriesSet> {
        self.entrypoints
            .iter()
            .find(|(n, _)| **n == *name)
            .map(|(_, set)| &**set)
    }

    /// Whether anything is recorded per request.
    pub fn is_active(&self) -> bool {
        self.metrics.is_some() || self.access_log.is_some()
    }

    /// The metrics page and its content type when this request is `GET /metrics` on the
    /// metrics entrypoint: OpenMetrics when the client asks for it (Prometheus does), else the
    /// Prometheus text format.
    pub fn metrics_page(
        &self,
        entrypoint: &str,
        req: &http::request::Parts,
    ) -> Option<(String, &'static str)> {
        let m = self.metrics.as_ref()?;
        // The path first: a length compare turns nearly every request away.
        let is_page = req.uri.path() == "/metrics"
            && m.entry_point() == Some(entrypoint)
            && (req.method == http::Method::GET || req.method == http::Method::HEAD);
        if !is_page {
            return None;
        }
        let open_metrics = req
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/openmetrics-text"));
        Some(if open_metrics {
            (
                m.render(),
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )
        } else {
            (m.render_text(), "text/plain; version=0.0.4; charset=utf-8")
        })
    }
}

/// Installs the process's recorder; a second call is ignored (returns false).
pub fn install(recorder: Recorder) -> bool {
    RECORDER.set(recorder).is_ok()
}

/// The installed recorder, when one records anything.
pub fn recorder() -> Option<&'static Recorder> {
    RECORDER.get().filter(|r| r.is_active())
}

/// Whether the access log is on (its writer started): what the request path asks before
/// taking a reading only the log uses (the forward's clock reading, the origin's body size).
pub fn access_log_on() -> bool {
    recorder().is_some_and(|r| r.access_log.is_some())
}

/// The upstream response's headers the access log keeps or redacts (`origin_<Name>`), read
/// when an upstream answers, before the response hooks change them; `None` (nothing read)
/// unless the log logs some header.
///
/// Inlined: on the plain path (no recorder, or a log of no header) it is a few loads and
/// tests (`logged_headers` asks `AccessLogFields::logs_headers` first).
#[inline]
pub fn logged_origin_headers(headers: &http::HeaderMap) -> Option<OriginHeaders> {
    logged(headers).map(OriginHeaders)
}

/// The request's headers the access log keeps or redacts (`request_<Name>`), read when the
/// request leaves the middlewares (for its service, or answered by one of them): Traefik logs
/// the request's header map as the entry point's forwarding headers and the middlewares left
/// it. `None` (nothing read) unless the log logs some header; the same few loads and tests as
/// [`logged_origin_headers`] otherwise.
#[inline]
pub fn logged_request_headers(headers: &http::HeaderMap) -> Option<HeaderList> {
    logged(headers)
}

/// The headers of `headers` the installed access log keeps or redacts; `None` without a log
/// or when it logs no header (`access_record::logged_headers`).
#[inline]
fn logged(headers: &http::HeaderMap) -> Option<HeaderList> {
    let log = RECORDER.get()?.access_log.as_ref()?;
    access_record::logged_headers(&log.config.fields, headers)
}

fn metrics() -> Option<&'static Arc<Metrics>> {
    RECORDER.get()?.metrics.as_ref()
}

/// Records a configuration applied (start-up, reload) or a reload refused, and how long
/// reading, checking and building it took.
pub fn config_loaded(applied: bool, took: std::time::Duration) {
    if let Some(m) = metrics() {
        m.config_loaded(applied);
        m.published.reload_durations.observe(took);
    }
}

/// The servers' health of the snapshot just built (`traefik_service_server_up`).
pub fn publish_servers(health: Arc<dyn published::ServerHealth>) {
    if let Some(m) = metrics() {
        *metrics::lock(&m.published.servers) = Some(health);
    }
}

/// The certificates served from now on (`traefik_tls_certs_not_after`).
pub fn publish_certificates(certs: Vec<published::ServedCertificate>) {
    if let Some(m) = metrics() {
        *metrics::lock(&m.published.certificates) = certs;
    }
}

/// The plugin files the registry refuses now (`wasmgate_plugin_files_rejected`).
pub fn publish_rejected_files(files: Vec<published::RejectedFile>) {
    if let Some(m) = metrics() {
        *metrics::lock(&m.published.rejected_files) = files;
    }
}

/// Reports an entrypoint's open connections from its connection-slot semaphore (each open
/// connection holds one of `size` permits); read at scrape time only.
pub fn watch_connections(entrypoint: &str, slots: &Arc<tokio::sync::Semaphore>, size: usize) {
    runtime_figures::watch(entrypoint, slots, size);
    if let Some(m) = RECORDER.get().and_then(|r| r.metrics.as_ref()) {
        m.watch_connections(entrypoint, slots.clone(), size);
    }
}

/// The counters of middleware `middleware` running `plugin` at content hash `hash` (the same
/// counters for the same triple across reloads); `None` without metrics and API. Config time
/// (when the middleware is configured).
pub fn plugin_counters(
    middleware: &str,
    plugin: &str,
    hash: &str,
) -> Option<Arc<plugin_metrics::PluginCounters>> {
    let table = RECORDER.get()?.plugins.as_ref()?;
    let key = (middleware.to_string(), plugin.to_string(), hash.to_string());
    Some(
        metrics::lock(table)
            .entry(key)
            .or_insert_with(|| {
                Arc::new(plugin_metrics::PluginCounters::new(
                    middleware, plugin, hash,
                ))
            })
            .clone(),
    )
}

/// The counters of every middleware running `plugin` at the version whose full content hash
/// is `hash`; empty without metrics and API. Per API call.
pub fn plugin_figures(plugin: &str, hash: &str) -> Vec<Arc<plugin_metrics::PluginCounters>> {
    let Some(table) = RECORDER.get().and_then(|r| r.plugins.as_ref()) else {
        return Vec::new();
    };
    plugin_metrics::lock_in_use(table)
        .values()
        .filter(|c| c.plugin == plugin && !c.hash.is_empty() && hash.starts_with(&c.hash))
        .cloned()
        .collect()
}

/// The server that answered a forwarded request and how many retries it took; the load
/// balancer hands it back through its caller's slot (only when a recorder is on).
#[derive(Debug)]
pub struct ServedBy {
    pub url: Arc<str>,
    pub retries: u32,
}

/// The `traefik_service_retries_total` counter of a service; `None` without metrics or with
/// `addServicesLabels: false`. Config time.
pub fn service_retries(service: &str) -> Option<Arc<AtomicU64>> {
    RECORDER.get()?.metrics.as_ref()?.service_retries(service)
}

/// What a route records into, resolved when a snapshot is built.
#[derive(Debug, Clone, Default)]
pub struct RouteHandles {
    pub router: Option<Arc<SeriesSet>>,
    pub service: Option<Arc<SeriesSet>>,
    /// The router's name qualified with its provider (`web@file`), for the access log
    /// (`RouterName`).
    pub router_name: Option<Arc<str>>,
    /// The service's name qualified with its provider (`app@file`), for the access log
    /// (`ServiceName`) and the request's span.
    pub service_name: Option<Arc<str>>,
    /// The router's `observability` (its own, else its entrypoint's): which signals its
    /// requests produce. Read once per request, a branch per signal.
    pub signals: ObservabilityFlags,
}

impl RouteHandles {
    /// The handles of router `router` leading to service `service`, producing the signals
    /// `signals` allows; without metrics (or with `metrics: false`) no series is resolved.
    pub fn resolve(router: &str, service: &str, signals: ObservabilityFlags) -> RouteHandles {
        let Some(rec) = recorder() else {
            // Tracing names the service on the request's span.
            let traced = trace::tracer().is_some();
            return RouteHandles {
                router_name: traced.then(|| Arc::from(names::qualified(router))),
                service_name: traced.then(|| Arc::from(names::qualified(service))),
                signals,
                ..RouteHandles::default()
            };
        };
        let metrics = rec.metrics.as_ref().filter(|_| signals.metrics);
        RouteHandles {
            router: metrics.and_then(|m| m.router(router, service)),
            service: metrics.and_then(|m| m.service(service)),
            router_name: Some(Arc::from(names::qualified(router))),
            service_name: Some(Arc::from(names::qualified(service))),
            signals,
        }
    }
}

/// Waits (blocking; call off the async threads) until the access-log lines sent so far are
/// written, for at most `limit`. At shutdown, so no line of a served request is lost.
pub fn flush_access_log(limit: std::time::Duration) {
    if let Some(log) = RECORDER.get().and_then(|r| r.access_log.as_ref()) {
        log.flush(limit);
    }
}
