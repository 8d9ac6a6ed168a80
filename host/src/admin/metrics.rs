//! Prometheus metrics with Traefik's names and labels.
//!
//! Recording takes no lock: every entrypoint, router and service has a [`SeriesSet`] resolved
//! when the config (or a reload's snapshot) is built, and a request adds to the calling
//! thread's cells of one [`Series`] in it (`super::thread_cells`: plain stores, summed at
//! scrape time), found by (code, method, protocol) in a copy-on-write list read through one
//! `ArcSwap` load. Only the first request of a new (code, method, protocol) takes the set's
//! insert lock. Sets are never removed, so counters survive reloads, as Prometheus expects.
//!
//! The scrape side (reading these atomics into the exposition format) is `super::exposition`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;

use super::histogram::bucket_of;
use super::names::qualified;
use super::plugin_metrics::PluginTable;
use super::published::Published;
use super::thread_cells::ThreadCells;
use crate::config::PrometheusConfig;

/// Traefik's `protocol` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    Http,
    Websocket,
    Sse,
    Grpc,
}

impl Protocol {
    /// From the request head, as Traefik classifies it.
    pub fn of(headers: &http::HeaderMap) -> Protocol {
        HeadFacts::of(headers).protocol()
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Websocket => "websocket",
            Protocol::Sse => "sse",
            Protocol::Grpc => "grpc",
        }
    }
}

/// The request headers a recording reads (the first value of each, as `HeaderMap::get`
/// gives it), found in one pass over the head: on the few headers most requests carry that is
/// cheaper than a hashed lookup per header. A head with many headers is looked up instead.
#[derive(Debug, Default, Clone, Copy)]
pub struct HeadFacts<'h> {
    pub content_length: Option<&'h http::HeaderValue>,
    pub host: Option<&'h http::HeaderValue>,
    upgrade: Option<&'h http::HeaderValue>,
    content_type: Option<&'h http::HeaderValue>,
    accept: Option<&'h http::HeaderValue>,
}

/// Above this many headers a head is read by lookups, not by a pass over all of them.
const SCANNED_HEADERS: usize = 12;

impl<'h> HeadFacts<'h> {
    pub fn of(headers: &'h http::HeaderMap) -> HeadFacts<'h> {
        use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HOST, UPGRADE};
        if headers.len() > SCANNED_HEADERS {
            return HeadFacts {
                content_length: headers.get(CONTENT_LENGTH),
                host: headers.get(HOST),
                upgrade: headers.get(UPGRADE),
                content_type: headers.get(CONTENT_TYPE),
                accept: headers.get(ACCEPT),
            };
        }
        let mut f = HeadFacts::default();
        for (name, value) in headers {
            let slot = if *name == HOST {
                &mut f.host
            } else if *name == CONTENT_LENGTH {
                &mut f.content_length
            } else if *name == ACCEPT {
                &mut f.accept
            } else if *name == CONTENT_TYPE {
                &mut f.content_type
            } else if *name == UPGRADE {
                &mut f.upgrade
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        f
    }

    /// Traefik's `protocol` label of the request.
    pub fn protocol(&self) -> Protocol {
        // No allocation: browsers send `Accept` on every request.
        let has = |value: Option<&http::HeaderValue>, needle: &[u8]| {
            value.is_some_and(|v| {
                v.as_bytes()
                    .windows(needle.len())
                    .any(|w| w.eq_ignore_ascii_case(needle))
            })
        };
        if has(self.upgrade, b"websocket") {
            Protocol::Websocket
        } else if has(self.content_type, b"application/grpc") {
            Protocol::Grpc
        } else if has(self.accept, b"text/event-stream") {
            Protocol::Sse
        } else {
            Protocol::Http
        }
    }
}

/// The `method` label: the standard methods by name; any other method is
/// `EXTENSION_METHOD`, so clients cannot grow the label set without bound.
pub fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::CONNECT => "CONNECT",
        http::Method::TRACE => "TRACE",
        _ => "EXTENSION_METHOD",
    }
}

/// One exchange as the metrics see it, measured when the response body has ended.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    pub code: u16,
    pub method: &'static str,
    pub protocol: Protocol,
    pub duration: Duration,
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// The request's values of the `headerLabels` headers, in the config's label order (empty
    /// when none is configured).
    pub header_values: &'a [http::HeaderValue],
    /// The duration's histogram bucket, when already found ([`Metrics::bucket_of`]: every
    /// set of a process has the same bounds, so a request finds it once for all its sets);
    /// `None`: each set finds it.
    pub bucket: Option<usize>,
    /// The TLS session's version and cipher (`*_requests_tls_total`); `None` over plain TCP.
    pub tls: Option<TlsLabels>,
}

/// The `tls_version` and `tls_cipher` labels of a request over TLS, as Traefik spells them
/// (`admin::TlsFacts`: worked out once per connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TlsLabels {
    pub version: &'static str,
    pub cipher: &'static str,
}

/// Counters found by a key in a copy-on-write list: lock-free once the key has been seen.
pub(super) type CounterList<K> = ArcSwap<Vec<(K, Arc<AtomicU64>)>>;

/// A `*_requests_total` counter with `headerLabels` values: its key, the header values as
/// label values, and the count.
pub(super) type HeaderSeries = (SeriesKey, Box<[String]>);

#[derive(Debug, Clone, Copy, Eq, PartialOrd, Ord)]
pub(super) struct SeriesKey {
    pub(super) code: u16,
    pub(super) method: &'static str,
    pub(super) protocol: Protocol,
}

/// Compared on every request (the hot series' scan): a method label from `method_label`'s
/// table is the same `&'static str` each time, so its address decides without comparing the
/// bytes (a `memcmp` call); other spellings of the same text still compare equal.
impl PartialEq for SeriesKey {
    #[inline]
    fn eq(&self, other: &SeriesKey) -> bool {
        self.code == other.code
            && self.protocol == other.protocol
            && (std::ptr::eq(self.method, other.method) || self.method == other.method)
    }
}

/// The counters of one label combination, split by recording thread
/// (`super::thread_cells`): cells [`REQUESTS`], [`REQUEST_BYTES`], [`RESPONSE_BYTES`],
/// [`DURATION_NANOS`], then one per bucket from [`FIRST_BUCKET`] (not cumulative; the last
/// one is `+Inf`).
#[derive(Debug)]
pub(super) struct Series {
    cells: ThreadCells,
    buckets: usize,
}

const REQUESTS: usize = 0;
const REQUEST_BYTES: usize = 1;
const RESPONSE_BYTES: usize = 2;
const DURATION_NANOS: usize = 3;
const FIRST_BUCKET: usize = 4;

impl Series {
    fn new(buckets: usize) -> Series {
        Series {
            cells: ThreadCells::new(FIRST_BUCKET + buckets),
            buckets,
        }
    }

    /// Scrape-time reads, summed over the recording threads.
    pub(super) fn requests(&self) -> u64 {
        self.cells.sum(REQUESTS)
    }

    pub(super) fn request_bytes(&self) -> u64 {
        self.cells.sum(REQUEST_BYTES)
    }

    pub(super) fn response_bytes(&self) -> u64 {
        self.cells.sum(RESPONSE_BYTES)
    }

    pub(super) fn duration_nanos(&self) -> u64 {
        self.cells.sum(DURATION_NANOS)
    }

    /// Per-bucket counts, not cumulative, `+Inf` last.
    pub(super) fn bucket_counts(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.buckets).map(|b| self.cells.sum(FIRST_BUCKET + b))
    }
}

/// Series a request finds without the `ArcSwap` list (most sets see few label combinations:
/// 200, 404, 304 by GET and POST).
const HOT_SERIES: usize = 8;

/// Every series of one entrypoint, router or service. Resolved at config time and shared by
/// the snapshots that route to it.
#[derive(Debug)]
pub struct SeriesSet {
    /// Label pairs that name this set (`entrypoint`, or `router` and `service`, or `service`).
    pub(super) labels: Vec<(&'static str, String)>,
    pub(super) bounds: Arc<[f64]>,
    pub(super) series: ArcSwap<Vec<(SeriesKey, Arc<Series>)>>,
    /// The first [`HOT_SERIES`] series created, in creation order (also in `series`): a
    /// request finds its series here with plain loads, no `ArcSwap` guard (an atomic
    /// read-modify-write to take and one to give back per set per request).
    hot: [OnceLock<(SeriesKey, Arc<Series>)>; HOT_SERIES],
    /// The requests counters by header values, when `headerLabels` is configured.
    pub(super) header_series: CounterList<HeaderSeries>,
    /// The requests over TLS by version and cipher (`*_requests_tls_total`).
    pub(super) tls_series: CounterList<TlsLabels>,
    insert: Mutex<()>,
}

impl SeriesSet {
    fn new(labels: Vec<(&'static str, String)>, bounds: Arc<[f64]>) -> Self {
        SeriesSet {
            labels,
            bounds,
            series: ArcSwap::from_pointee(Vec::new()),
            hot: Default::default(),
            header_series: ArcSwap::from_pointee(Vec::new()),
            tls_series: ArcSwap::from_pointee(Vec::new()),
            insert: Mutex::new(()),
        }
    }

    /// Adds one exchange. Lock-free once its (code, method, protocol) has been seen: a scan
    /// of the hot series (an `ArcSwap` load beyond them) and five adds to this thread's cells.
    pub fn record(&self, obs: &Observation) {
        let key = SeriesKey {
            code: obs.code,
            method: obs.method,
            protocol: obs.protocol,
        };
        let hot = self
            .hot
            .iter()
            .map_while(OnceLock::get)
            .find(|(k, _)| *k == key);
        match hot {
            Some((_, series)) => self.add(series, obs),
            None => {
                let known = self.series.load();
                match known.iter().find(|(k, _)| *k == key) {
                    Some((_, series)) => self.add(series, obs),
                    None => {
                        drop(known);
                        let series = self.insert(key);
                        self.add(&series, obs);
                    }
                }
            }
        }
        if !obs.header_values.is_empty() {
            self.count_by_headers(key, obs.header_values);
        }
        if let Some(tls) = obs.tls {
            self.count_in(&self.tls_series, |k| *k == tls, || tls);
        }
    }

    /// Five plain adds on the calling thread's cells (`super::thread_cells`).
    fn add(&self, series: &Series, obs: &Observation) {
        let cells = series.cells.writer();
        cells.add(REQUESTS, 1);
        cells.add(REQUEST_BYTES, obs.request_bytes);
        cells.add(RESPONSE_BYTES, obs.response_bytes);
        let bucket = match obs.bucket {
            Some(b) => b,
            None => bucket_of(&self.bounds, obs.duration),
        };
        cells.add(FIRST_BUCKET + bucket.min(series.buckets - 1), 1);
        let nanos = u64::try_from(obs.duration.as_nanos()).unwrap_or(u64::MAX);
        cells.add(DURATION_NANOS, nanos);
    }

    /// The `headerLabels` requests counter: lock-free once these values have been seen.
    fn count_by_headers(&self, key: SeriesKey, values: &[http::HeaderValue]) {
        let same = |(k, v): &HeaderSeries| {
            *k == key
                && v.len() == values.len()
                && v.iter()
                    .zip(values)
                    .all(|(a, b)| a.as_bytes() == b.as_bytes())
        };
        let make = || {
            let labels = values
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            (key, labels)
        };
        self.count_in(&self.header_series, same, make);
    }

    /// Adds one to the counter of `list` whose key is `same`; the first time, under the set's
    /// insert lock, adds one made by `make` (the list kept sorted for the scrape).
    fn count_in<K: Clone + Ord>(
        &self,
        list: &CounterList<K>,
        same: impl Fn(&K) -> bool,
        make: impl FnOnce() -> K,
    ) {
        if let Some((_, n)) = list.load().iter().find(|(k, _)| same(k)) {
            n.fetch_add(1, Relaxed);
            return;
        }
        let _guard = self.insert.lock().unwrap_or_else(|p| p.into_inner());
        let current = list.load();
        if let Some((_, n)) = current.iter().find(|(k, _)| same(k)) {
            n.fetch_add(1, Relaxed);
            return;
        }
        let mut next: Vec<(K, Arc<AtomicU64>)> = current.iter().cloned().collect();
        next.push((make(), Arc::new(AtomicU64::new(1))));
        next.sort_by(|a, b| a.0.cmp(&b.0));
        list.store(Arc::new(next));
    }

    fn insert(&self, key: SeriesKey) -> Arc<Series> {
        let _guard = self.insert.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.series.load();
        if let Some((_, s)) = current.iter().find(|(k, _)| *k == key) {
            return s.clone();
        }
        let series = Arc::new(Series::new(self.bounds.len() + 1));
        // Under the insert lock: slots fill in order, so readers stop at the first empty one.
        if let Some(slot) = self.hot.iter().find(|slot| slot.get().is_none()) {
            let _ = slot.set((key, series.clone()));
        }
        let mut next: Vec<_> = current.iter().cloned().collect();
        next.push((key, series.clone()));
        next.sort_by_key(|(k, _)| *k);
        self.series.store(Arc::new(next));
        series
    }
}

/// The gateway's metrics: the sets by entrypoint, router and service, reload and connection
/// figures. One per process (`admin::install`).
#[derive(Debug)]
pub struct Metrics {
    config: PrometheusConfig,
    bounds: Arc<[f64]>,
    pub(super) entrypoints: Mutex<BTreeMap<String, Arc<SeriesSet>>>,
    pub(super) routers: Mutex<BTreeMap<(String, String), Arc<SeriesSet>>>,
    pub(super) services: Mutex<BTreeMap<String, Arc<SeriesSet>>>,
    /// Open connections by entrypoint: the entrypoint's connection semaphore and its size (every
    /// open connection holds one permit), read at scrape time.
    pub(super) open_connections: Mutex<BTreeMap<String, (Arc<tokio::sync::Semaphore>, usize)>>,
    /// Retries by service.
    pub(super) retries: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    /// Plugin figures by (middleware, plugin, content hash); shared with the API.
    pub(super) plugins: Arc<PluginTable>,
    pub(super) reloads: AtomicU64,
    pub(super) reload_failures: AtomicU64,
    /// Unix time (seconds) of the last configuration applied; 0 before the first.
    pub(super) last_reload_success: AtomicI64,
    /// Access-log lines dropped because the writer fell behind (shared with the access log).
    pub(super) access_log_dropped: Mutex<Arc<AtomicU64>>,
    /// Server health, certificates, refused plugin files and reload durations.
    pub(super) published: Published,
}

impl Metrics {
    pub fn new(config: PrometheusConfig, plugins: Arc<PluginTable>) -> Arc<Metrics> {
        let bounds: Arc<[f64]> = config.buckets.clone().into();
        Arc::new(Metrics {
            config,
            bounds,
            entrypoints: Mutex::default(),
            routers: Mutex::default(),
            services: Mutex::default(),
            open_connections: Mutex::default(),
            plugins,
            retries: Mutex::default(),
            reloads: AtomicU64::new(0),
            reload_failures: AtomicU64::new(0),
            last_reload_success: AtomicI64::new(0),
            access_log_dropped: Mutex::default(),
            published: Published::new(),
        })
    }

    /// The entry point that answers `/metrics`; `None` with `manualRouting` (a user's router
    /// to `prometheus@internal` serves it).
    pub fn entry_point(&self) -> Option<&str> {
        (!self.config.manual_routing).then_some(self.config.entry_point.as_str())
    }

    /// The histogram bucket of a request that took `took` (the same in every set: they share
    /// the configured `buckets`). Once per request.
    pub fn bucket_of(&self, took: Duration) -> usize {
        bucket_of(&self.bounds, took)
    }

    /// `headerLabels`: (label, header) pairs, sorted by label.
    pub fn header_labels(&self) -> &[(String, http::HeaderName)] {
        &self.config.header_labels
    }

    /// The set of an entrypoint; `None` when `addEntryPointsLabels` is off. Config time only.
    pub fn entrypoint(&self, name: &str) -> Option<Arc<SeriesSet>> {
        self.config.add_entry_points_labels.then(|| {
            let mut sets = lock(&self.entrypoints);
            sets.entry(name.to_string())
                .or_insert_with(|| {
                    let labels = vec![("entrypoint", name.to_string())];
                    Arc::new(SeriesSet::new(labels, self.bounds.clone()))
                })
                .clone()
        })
    }

    /// The set of a router (labelled with its service); `None` when `addRoutersLabels` is off.
    pub fn router(&self, router: &str, service: &str) -> Option<Arc<SeriesSet>> {
        self.config.add_routers_labels.then(|| {
            let (router, service) = (qualified(router), qualified(service));
            let mut sets = lock(&self.routers);
            sets.entry((router.clone(), service.clone()))
                .or_insert_with(|| {
                    let labels = vec![("router", router), ("service", service)];
                    Arc::new(SeriesSet::new(labels, self.bounds.clone()))
                })
                .clone()
        })
    }

    /// The set of a service; `None` when `addServicesLabels` is off.
    pub fn service(&self, service: &str) -> Option<Arc<SeriesSet>> {
        self.config.add_services_labels.then(|| {
            let service = qualified(service);
            let mut sets = lock(&self.services);
            sets.entry(service.clone())
                .or_insert_with(|| {
                    let labels = vec![("service", service)];
                    Arc::new(SeriesSet::new(labels, self.bounds.clone()))
                })
                .clone()
        })
    }

    /// The retry counter of a service (`None` when `addServicesLabels` is off). Config time.
    pub fn service_retries(&self, service: &str) -> Option<Arc<AtomicU64>> {
        self.config.add_services_labels.then(|| {
            lock(&self.retries)
                .entry(qualified(service))
                .or_default()
                .clone()
        })
    }

    /// Reports an entrypoint's open connections from its connection-slot semaphore.
    pub fn watch_connections(
        &self,
        entrypoint: &str,
        slots: Arc<tokio::sync::Semaphore>,
        size: usize,
    ) {
        lock(&self.open_connections).insert(entrypoint.to_string(), (slots, size));
    }

    /// The access log's dropped-line counter, shown as `wasmgate_accesslog_dropped_lines_total`.
    pub(super) fn share_dropped_lines(&self, dropped: Arc<AtomicU64>) {
        *lock(&self.access_log_dropped) = dropped;
    }

    /// A configuration was applied (start-up or reload) or refused.
    pub fn config_loaded(&self, applied: bool) {
        if applied {
            self.reloads.fetch_add(1, Relaxed);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            self.last_reload_success.store(now, Relaxed);
        } else {
            self.reload_failures.fetch_add(1, Relaxed);
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(code: u16, secs: f64) -> Observation<'static> {
        Observation {
            code,
            method: "GET",
            protocol: Protocol::Http,
            duration: Duration::from_secs_f64(secs),
            request_bytes: 3,
            response_bytes: 10,
            header_values: &[],
            bucket: None,
            tls: None,
        }
    }

    #[test]
    fn counts_by_code_and_fills_histogram_buckets() {
        let metrics = Metrics::new(PrometheusConfig::default(), Arc::default());
        let Some(ep) = metrics.entrypoint("web") else {
            panic!("entrypoint labels are on by default");
        };
        ep.record(&obs(200, 0.05));
        ep.record(&obs(200, 2.0));
        ep.record(&obs(404, 0.2));
        let text = metrics.render_text();
        assert!(text.contains(
            "traefik_entrypoint_requests_total{code=\"200\",method=\"GET\",protocol=\"http\",entrypoint=\"web\"} 2"
        ), "{text}");
        assert!(text.contains(
            "traefik_entrypoint_request_duration_seconds_bucket{le=\"0.1\",code=\"200\",method=\"GET\",protocol=\"http\",entrypoint=\"web\"} 1"
        ), "{text}");
        assert!(text.contains(
            "traefik_entrypoint_request_duration_seconds_bucket{le=\"+Inf\",code=\"200\",method=\"GET\",protocol=\"http\",entrypoint=\"web\"} 2"
        ), "{text}");
        assert!(text.contains(
            "traefik_entrypoint_responses_bytes_total{code=\"404\",method=\"GET\",protocol=\"http\",entrypoint=\"web\"} 10"
        ), "{text}");
        // Routers are off by default, as in Traefik.
        assert!(metrics.router("r", "s").is_none());
    }

    #[test]
    fn codes_beyond_the_hot_slots_are_counted_as_the_first_ones() {
        let metrics = Metrics::new(PrometheusConfig::default(), Arc::default());
        let Some(ep) = metrics.entrypoint("web") else {
            panic!("entrypoint labels are on by default");
        };
        let codes: Vec<u16> = (0..HOT_SERIES as u16 * 2).map(|i| 200 + i).collect();
        for _ in 0..3 {
            for &code in &codes {
                ep.record(&obs(code, 0.05));
            }
        }
        let text = metrics.render_text();
        for code in codes {
            assert!(text.contains(&format!(
                "traefik_entrypoint_requests_total{{code=\"{code}\",method=\"GET\",protocol=\"http\",entrypoint=\"web\"}} 3"
            )), "{code}: {text}");
        }
    }

    #[test]
    fn head_facts_read_the_first_value_whether_scanned_or_looked_up() {
        let mut headers = http::HeaderMap::new();
        headers.append(
            "accept",
            http::HeaderValue::from_static("text/event-stream"),
        );
        headers.append("accept", http::HeaderValue::from_static("text/html"));
        headers.insert("host", http::HeaderValue::from_static("a.test"));
        headers.insert("content-length", http::HeaderValue::from_static("12"));
        for extra in [0, SCANNED_HEADERS] {
            for i in 0..extra {
                headers.insert(
                    http::HeaderName::try_from(format!("x-extra-{i}")).unwrap(),
                    http::HeaderValue::from_static("v"),
                );
            }
            let f = HeadFacts::of(&headers);
            assert_eq!(f.host.map(|v| v.as_bytes()), Some(&b"a.test"[..]));
            assert_eq!(f.content_length.map(|v| v.as_bytes()), Some(&b"12"[..]));
            assert_eq!(f.protocol(), Protocol::Sse, "{extra} more headers");
        }
    }

    #[test]
    fn protocol_is_found_in_any_letter_case() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(Protocol::of(&headers), Protocol::Http);
        headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("Text/Event-Stream"),
        );
        assert_eq!(Protocol::of(&headers), Protocol::Sse);
        headers.insert(
            http::header::UPGRADE,
            http::HeaderValue::from_static("WebSocket"),
        );
        assert_eq!(Protocol::of(&headers), Protocol::Websocket);
    }

    #[test]
    fn header_labels_split_the_requests_counters_only() {
        let metrics = Metrics::new(
            PrometheusConfig {
                header_labels: vec![(
                    "tenant".to_string(),
                    http::HeaderName::from_static("x-tenant"),
                )],
                ..PrometheusConfig::default()
            },
            Arc::default(),
        );
        let Some(ep) = metrics.entrypoint("web") else {
            panic!("entrypoint labels are on by default");
        };
        let a = [http::HeaderValue::from_static("a")];
        let none = [http::HeaderValue::from_static("")];
        for values in [&a, &a, &none] {
            ep.record(&Observation {
                header_values: values,
                ..obs(200, 0.05)
            });
        }
        let text = metrics.render_text();
        assert!(text.contains(
            "traefik_entrypoint_requests_total{code=\"200\",method=\"GET\",protocol=\"http\",entrypoint=\"web\",tenant=\"a\"} 2"
        ), "{text}");
        assert!(text.contains(
            "traefik_entrypoint_requests_total{code=\"200\",method=\"GET\",protocol=\"http\",entrypoint=\"web\",tenant=\"\"} 1"
        ), "{text}");
        assert!(text.contains(
            "traefik_entrypoint_responses_bytes_total{code=\"200\",method=\"GET\",protocol=\"http\",entrypoint=\"web\"} 30"
        ), "{text}");
    }

    #[test]
    fn requests_over_tls_count_by_version_and_cipher_in_every_scope() {
        let metrics = Metrics::new(
            PrometheusConfig {
                add_routers_labels: true,
                ..PrometheusConfig::default()
            },
            Arc::default(),
        );
        let (Some(ep), Some(router), Some(service)) = (
            metrics.entrypoint("websecure"),
            metrics.router("r", "app"),
            metrics.service("app"),
        ) else {
            panic!("every scope is on");
        };
        let tls13 = TlsLabels {
            version: "1.3",
            cipher: "TLS_AES_128_GCM_SHA256",
        };
        let tls12 = TlsLabels {
            version: "1.2",
            cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        };
        for tls in [Some(tls13), Some(tls13), Some(tls12), None] {
            let o = Observation {
                tls,
                ..obs(200, 0.01)
            };
            for set in [&ep, &router, &service] {
                set.record(&o);
            }
        }
        let text = metrics.render_text();
        for line in [
            "traefik_entrypoint_requests_tls_total{tls_version=\"1.3\",tls_cipher=\"TLS_AES_128_GCM_SHA256\",entrypoint=\"websecure\"} 2",
            "traefik_entrypoint_requests_tls_total{tls_version=\"1.2\",tls_cipher=\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\",entrypoint=\"websecure\"} 1",
            "traefik_router_requests_tls_total{tls_version=\"1.3\",tls_cipher=\"TLS_AES_128_GCM_SHA256\",router=\"r@file\",service=\"app@file\"} 2",
            "traefik_service_requests_tls_total{tls_version=\"1.3\",tls_cipher=\"TLS_AES_128_GCM_SHA256\",service=\"app@file\"} 2",
        ] {
            assert!(text.contains(line), "missing {line} in:\n{text}");
        }
        assert!(text.contains(
            "traefik_entrypoint_requests_total{code=\"200\",method=\"GET\",protocol=\"http\",entrypoint=\"websecure\"} 4"
        ), "{text}");
    }

    #[test]
    fn reloads_count_applied_and_refused_configurations() {
        let metrics = Metrics::new(PrometheusConfig::default(), Arc::default());
        metrics.config_loaded(true);
        metrics.config_loaded(false);
        let text = metrics.render_text();
        assert!(text.contains("traefik_config_reloads_total 1\n"), "{text}");
        assert!(
            text.contains("traefik_config_reloads_failure_total 1\n"),
            "{text}"
        );
    }
}
