//! The static key `tracing` as written (Traefik v3's shape), read by `resolve_static` and
//! resolved by the loader (`super::resolve_tracing`) after it.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `tracing:`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawTracing {
    pub(crate) service_name: Option<String>,
    pub(crate) sample_rate: Option<f64>,
    pub(crate) global_attributes: Option<BTreeMap<String, String>>,
    pub(crate) resource_attributes: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub(crate) captured_request_headers: Vec<String>,
    #[serde(default)]
    pub(crate) captured_response_headers: Vec<String>,
    #[serde(default)]
    pub(crate) safe_query_params: Vec<String>,
    pub(crate) add_internals: Option<bool>,
    pub(crate) otlp: Option<RawOtlp>,
}

/// `tracing.otlp`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOtlp {
    pub(crate) http: Option<RawOtlpHttp>,
    pub(crate) grpc: Option<RawOtlpGrpc>,
}

/// `tracing.otlp.grpc`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOtlpGrpc {
    pub(crate) endpoint: Option<String>,
    pub(crate) insecure: Option<bool>,
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) tls: Option<serde_json::Value>,
}

/// `tracing.otlp.http`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOtlpHttp {
    pub(crate) endpoint: Option<String>,
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) tls: Option<serde_json::Value>,
}
