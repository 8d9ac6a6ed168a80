//! The resolved observability settings of the static config: `metrics.prometheus` and
//! `accessLog` (Traefik's keys and defaults). Read once at start-up by `app`, which hands them to
//! the recorders in `admin`; a change needs a restart, as for every static key.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

/// Traefik's default request-duration buckets, in seconds.
pub const DEFAULT_BUCKETS: &[f64] = &[0.1, 0.3, 1.2, 5.0];
/// Lines held for the access-log writer when `bufferingSize` is not set (a request never waits
/// for the writer: past this many lines in flight, lines are counted as dropped).
pub const DEFAULT_ACCESS_LOG_BUFFER: usize = 4096;

/// `metrics.prometheus`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusConfig {
    /// `entryPoint` (default `traefik`): the entry point that answers `GET /metrics`. It must be
    /// declared under `entryPoints` (checked at load).
    pub entry_point: String,
    /// `buckets`: upper bounds of the duration histograms in seconds, ascending.
    pub buckets: Vec<f64>,
    /// `addEntryPointsLabels` (default true): the `traefik_entrypoint_*` families.
    pub add_entry_points_labels: bool,
    /// `addRoutersLabels` (default false, as Traefik): the `traefik_router_*` families.
    pub add_routers_labels: bool,
    /// `addServicesLabels` (default true): the `traefik_service_*` families.
    pub add_services_labels: bool,
    /// `headerLabels`: extra labels of the `*_requests_total` families, each the value of one
    /// request header (empty when absent), as `(label, header)`, sorted by label.
    pub header_labels: Vec<(String, http::HeaderName)>,
    /// `manualRouting`: `/metrics` is not answered on `entryPoint`; a router of the user's
    /// names `prometheus@internal` instead.
    pub manual_routing: bool,
    /// `metrics.addInternals`: requests routed to an internal service (`api@internal`,
    /// `ping@internal`...) count in the series too; by default they do not, as in Traefik.
    pub add_internals: bool,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            entry_point: "traefik".to_string(),
            buckets: DEFAULT_BUCKETS.to_vec(),
            add_entry_points_labels: true,
            add_routers_labels: false,
            add_services_labels: true,
            header_labels: Vec::new(),
            manual_routing: false,
            add_internals: false,
        }
    }
}

/// `accessLog.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessLogFormat {
    /// Traefik's Common Log Format line (the default).
    #[default]
    Common,
    /// The generic Common Log Format (Traefik's `genericCLF`): the CLF line without Traefik's
    /// request count, router, server and duration, as log analysers read it.
    GenericClf,
    /// One JSON object per line with Traefik's field names.
    Json,
}

/// `accessLog.fields.*.defaultMode` and the per-name modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldMode {
    Keep,
    Drop,
    /// The field stays, its value is `REDACTED`.
    Redact,
}

/// `accessLog.filters`: a line is written when any one filter given keeps it (Traefik's rule).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccessLogFilters {
    /// `statusCodes`: `"200"` or `"300-302"` entries.
    pub status_codes: Vec<RangeInclusive<u16>>,
    /// `retryAttempts`: keep requests that were retried.
    pub retry_attempts: bool,
    /// `minDuration`: keep requests slower than this.
    pub min_duration: Option<Duration>,
}

impl AccessLogFilters {
    /// Whether a request with this outcome is logged. Cheap: runs on the request path.
    pub fn keeps(&self, status: u16, retries: u32, duration: Duration) -> bool {
        self.status_codes.iter().any(|r| r.contains(&status))
            || (self.retry_attempts && retries > 0)
            || self.min_duration.is_some_and(|min| duration > min)
    }
}

/// `accessLog.fields`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLogFields {
    /// `defaultMode` (default keep).
    pub default_mode: FieldMode,
    /// `names`: per field name (`ClientUsername: drop`).
    pub names: BTreeMap<String, FieldMode>,
    /// `headers.defaultMode` (default drop, as Traefik: no header is logged unless asked for).
    pub headers_default_mode: FieldMode,
    /// `headers.names`, keyed by lower-case header name.
    pub headers: BTreeMap<String, FieldMode>,
}

impl Default for AccessLogFields {
    fn default() -> Self {
        AccessLogFields {
            default_mode: FieldMode::Keep,
            names: BTreeMap::new(),
            headers_default_mode: FieldMode::Drop,
            headers: BTreeMap::new(),
        }
    }
}

impl AccessLogFields {
    pub fn field_mode(&self, name: &str) -> FieldMode {
        self.names.get(name).copied().unwrap_or(self.default_mode)
    }

    /// Whether some header is kept or redacted (Traefik's default drops them all).
    #[inline]
    pub fn logs_headers(&self) -> bool {
        self.headers_default_mode != FieldMode::Drop || !self.headers.is_empty()
    }

    /// `lower` must be lower case (header names in `http` are).
    pub fn header_mode(&self, lower: &str) -> FieldMode {
        self.headers
            .get(lower)
            .copied()
            .unwrap_or(self.headers_default_mode)
    }
}

/// `accessLog`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccessLogConfig {
    /// `filePath` (relative to the main file's directory); `None`: standard output.
    pub file_path: Option<PathBuf>,
    pub format: AccessLogFormat,
    /// `bufferingSize`: lines held for the writer task (default [`DEFAULT_ACCESS_LOG_BUFFER`]).
    pub buffering_size: usize,
    /// `filters`; `None`: every request is logged.
    pub filters: Option<AccessLogFilters>,
    pub fields: AccessLogFields,
    /// `addInternals`: requests routed to an internal service (`api@internal`,
    /// `ping@internal`...) are logged too; by default they are not, as in Traefik.
    pub add_internals: bool,
}

/// Traefik's default `tracing.serviceName`.
pub const DEFAULT_TRACING_SERVICE_NAME: &str = "traefik";
/// Traefik's default `tracing.otlp.http.endpoint`.
pub const DEFAULT_OTLP_HTTP_ENDPOINT: &str = "https://localhost:4318";
/// The path spans are posted to when the endpoint names none (the OTLP/HTTP default).
pub const OTLP_TRACES_PATH: &str = "/v1/traces";
/// Traefik's default `tracing.otlp.grpc.endpoint`.
pub const DEFAULT_OTLP_GRPC_ENDPOINT: &str = "localhost:4317";

/// `tracing` (present: tracing is on). Read once at start-up; `admin::trace` builds the tracer
/// and the exporter from it.
#[derive(Debug, Clone, PartialEq)]
pub struct TracingConfig {
    /// `serviceName` (default `traefik`, as Traefik): the resource's `service.name`.
    pub service_name: String,
    /// `sampleRate` (default 1.0): the fraction of new traces recorded; a request carrying a
    /// `traceparent` follows its parent's decision (parent-based sampling).
    pub sample_rate: f64,
    /// `resourceAttributes` and the older `globalAttributes` (merged; the former wins): added
    /// to the resource of every exported span.
    pub resource_attributes: BTreeMap<String, String>,
    /// `capturedRequestHeaders`, lower case: recorded as `http.request.header.<name>` on the
    /// request span.
    pub captured_request_headers: Vec<String>,
    /// `capturedResponseHeaders`, lower case: `http.response.header.<name>`.
    pub captured_response_headers: Vec<String>,
    /// `safeQueryParams`: query parameters whose values are recorded as sent; every other
    /// value is `REDACTED` in `url.query`.
    pub safe_query_params: Vec<String>,
    /// `otlp.http`: where spans are exported (unless `otlp.grpc` is given).
    pub otlp_http: OtlpHttpConfig,
    /// `otlp.grpc`: export over OTLP/gRPC instead (plaintext HTTP/2 only).
    pub otlp_grpc: Option<OtlpGrpcConfig>,
    /// `tracing.addInternals`: requests routed to an internal service are traced too; by
    /// default they are not, as in Traefik.
    pub add_internals: bool,
}

/// `tracing.otlp.grpc` (Traefik's keys). Plaintext only: `insecure: true` is required, since
/// TLS to the collector is not supported over gRPC yet (`otlp.http` has it).
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpGrpcConfig {
    /// `endpoint` (default `localhost:4317`, Traefik's), as `http://host:port`.
    pub endpoint: http::Uri,
    /// `headers`: sent as gRPC metadata with every export.
    pub headers: BTreeMap<String, String>,
}

/// `tracing.otlp.http`.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpHttpConfig {
    /// `endpoint` with the path spans are posted to (`/v1/traces` when it names none).
    pub endpoint: http::Uri,
    /// `headers`: sent with every export request (e.g. an API key).
    pub headers: BTreeMap<String, String>,
    /// `tls`: for an `https` endpoint (`None`: the system's trust store).
    pub tls: Option<super::model_tls::UpstreamTlsConfig>,
}
