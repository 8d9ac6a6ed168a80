//! Which signals a router's requests produce: Traefik v3's `http.routers.<name>.observability`
//! and its default `entryPoints.<name>.observability`. Resolved at load; `app` turns them into
//! each route's handles, so a request pays a branch per signal and nothing more.

use serde::Deserialize;

/// `observability: {accessLogs, metrics, tracing, traceVerbosity}` of a router or an
/// entrypoint. Every signal defaults to on; a signal the static config does not enable
/// (`accessLog`, `metrics`, `tracing`) stays off whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObservabilityFlags {
    /// `accessLogs`: the router's requests are written to the access log.
    pub access_logs: bool,
    /// `metrics`: the router's requests count in the entrypoint, router and service series.
    pub metrics: bool,
    /// `tracing`: the router's requests make spans (and propagate the gateway's context).
    pub tracing: bool,
    /// `traceVerbosity`: accepted for Traefik configs; wasmgate's spans are the same at both
    /// levels (the request, one per middleware, one per upstream attempt).
    pub trace_verbosity: TraceVerbosity,
}

impl Default for ObservabilityFlags {
    fn default() -> Self {
        ObservabilityFlags {
            access_logs: true,
            metrics: true,
            tracing: true,
            trace_verbosity: TraceVerbosity::Minimal,
        }
    }
}

/// Traefik's `traceVerbosity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TraceVerbosity {
    #[default]
    Minimal,
    Detailed,
}

/// The YAML shape of an `observability` block (absent keys: on).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawObservability {
    pub(crate) access_logs: Option<bool>,
    pub(crate) metrics: Option<bool>,
    pub(crate) tracing: Option<bool>,
    pub(crate) trace_verbosity: Option<TraceVerbosity>,
}

impl RawObservability {
    /// The flags this block says; a key it leaves out is on (a router's own block replaces its
    /// entrypoints' defaults whole, as in Traefik).
    pub(crate) fn resolve(&self) -> ObservabilityFlags {
        let on = ObservabilityFlags::default();
        ObservabilityFlags {
            access_logs: self.access_logs.unwrap_or(on.access_logs),
            metrics: self.metrics.unwrap_or(on.metrics),
            tracing: self.tracing.unwrap_or(on.tracing),
            trace_verbosity: self.trace_verbosity.unwrap_or(on.trace_verbosity),
        }
    }
}
