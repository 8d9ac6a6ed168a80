//! Tracing (static `tracing`): OpenTelemetry spans per request, middleware and upstream
//! attempt (`spans`), W3C trace-context extracted from requests and injected into upstream
//! requests (`carrier`), exported over OTLP/HTTP (or plaintext OTLP/gRPC) in batches off the
//! request path (`export`).
//!
//! Off unless the static config has `tracing`: then [`install`] is never called, [`tracer`]
//! answers `None` (one `OnceLock` read), and the pipeline builds no span, parses no header and
//! allocates nothing for tracing. On: the SDK tracer with a parent-based ratio sampler
//! (`sampleRate` for new traces; a request with a `traceparent` follows its parent's decision).

mod carrier;
pub mod export;
mod spans;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::HttpClient;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};

use crate::config::TracingConfig;
use carrier::Captured;
pub use spans::{AttemptSpan, MiddlewareLabels, MiddlewareSpan, RequestSpan, TraceParent};

/// The process's tracer: the SDK tracer, the propagator and what to record.
#[derive(Debug)]
pub struct Tracer {
    sdk: SdkTracer,
    provider: SdkTracerProvider,
    propagator: TraceContextPropagator,
    captured_request: Box<[Captured]>,
    captured_response: Box<[Captured]>,
    safe_query: Box<[String]>,
    /// `sampleRate`: a new trace at 0 is never recorded (the request's attributes are then not
    /// gathered).
    sample_rate: f64,
    export: Arc<export::ExportTask>,
}

static TRACER: OnceLock<Tracer> = OnceLock::new();

/// Why tracing could not start.
#[derive(Debug, thiserror::Error)]
pub enum TraceSetupError {
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(String),
    #[error("tracing is already installed")]
    Installed,
}

/// Builds the tracer of `config` and starts its export task (inside the tokio runtime), the
/// spans posted through `client` (the gateway's hyper client, built by `app`). Once per
/// process, before the first snapshot is built.
pub fn install(config: &TracingConfig, client: Arc<dyn HttpClient>) -> Result<(), TraceSetupError> {
    if TRACER.get().is_some() {
        return Err(TraceSetupError::Installed);
    }
    let mut exporter = match &config.otlp_grpc {
        Some(grpc) => grpc_exporter(grpc)?,
        None => {
            let headers: HashMap<String, String> = config
                .otlp_http
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(config.otlp_http.endpoint.to_string())
                .with_headers(headers)
                .with_shared_http_client(client)
                .build()
                .map_err(|e| TraceSetupError::Exporter(e.to_string()))?
        }
    };
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .with_attributes([KeyValue::new("service.version", env!("CARGO_PKG_VERSION"))])
        .with_attributes(
            config
                .resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .build();
    opentelemetry_sdk::trace::SpanExporter::set_resource(&mut exporter, &resource);
    let (processor, export) = export::start(exporter, export::BatchLimits::from_env());
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sample_rate)));
    let provider = SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_resource(resource)
        .with_span_processor(processor)
        .build();
    let tracer = Tracer {
        sdk: provider.tracer("wasmgate"),
        provider,
        propagator: TraceContextPropagator::new(),
        captured_request: Captured::list("http.request.header.", &config.captured_request_headers),
        captured_response: Captured::list(
            "http.response.header.",
            &config.captured_response_headers,
        ),
        safe_query: config.safe_query_params.clone().into_boxed_slice(),
        sample_rate: config.sample_rate,
        export,
    };
    TRACER.set(tracer).map_err(|_| TraceSetupError::Installed)
}

/// The OTLP/gRPC exporter of `tracing.otlp.grpc` (plaintext; tonic's own HTTP/2 channel,
/// connected on first export). Start-up, inside the tokio runtime.
fn grpc_exporter(
    grpc: &crate::config::OtlpGrpcConfig,
) -> Result<opentelemetry_otlp::SpanExporter, TraceSetupError> {
    use opentelemetry_otlp::WithTonicConfig;
    let mut headers = http::HeaderMap::new();
    for (name, value) in &grpc.headers {
        // Checked at load.
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    let metadata = opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers);
    let endpoint = grpc.endpoint.to_string();
    opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.trim_end_matches('/'))
        .with_metadata(metadata)
        .build()
        .map_err(|e| TraceSetupError::Exporter(e.to_string()))
}

/// The tracer, when tracing is on. Per request: one atomic load.
pub fn tracer() -> Option<&'static Tracer> {
    TRACER.get()
}

impl Tracer {
    /// Spans dropped because the export queue was full.
    pub fn dropped_spans(&self) -> u64 {
        self.export.dropped()
    }
}

/// Exports the spans still queued, waiting at most `limit`. At shutdown, after the last
/// request has finished.
pub async fn shutdown(limit: Duration) {
    if let Some(t) = TRACER.get() {
        let _ = t.provider.force_flush();
        t.export.close(limit).await;
        let dropped = t.export.dropped();
        let failed = t.export.failed();
        if dropped + failed > 0 {
            tracing::warn!(
                dropped,
                failed,
                "tracing: spans lost (queue full or export failed)"
            );
        }
    }
}
