//! Traefik's `grpcWeb` middleware: resolved to options the proxy runs natively around the
//! forwarding step (ARCHITECTURE, "Native middlewares" says why it is not a plugin). Every bad
//! value is reported at its key.

use serde::Deserialize;

use super::model_dynamic::{GrpcWebConfig, NativeMiddleware};
use crate::yaml::report::Reporter;
use crate::yaml::tree::Entry;

pub(crate) const GRPC_WEB_KEY: &str = "grpcWeb";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawGrpcWeb {
    #[serde(default)]
    allow_origins: Vec<String>,
}

/// Whether `type_key` is one of the native middlewares.
pub(crate) fn is_native(type_key: &str) -> bool {
    type_key == GRPC_WEB_KEY
}

/// Resolves the options of a native middleware (`type_key` as [`is_native`] accepted) written
/// at `entry_path`; `None` after reporting.
pub(crate) fn resolve_native(
    reporter: &mut Reporter<'_>,
    file: usize,
    entry_path: &[&str],
    _type_key: &str,
    entry: &Entry,
) -> Option<NativeMiddleware> {
    let raw: RawGrpcWeb = reporter.parse(file, &entry.value, entry_path, entry.line)?;
    Some(NativeMiddleware::GrpcWeb(GrpcWebConfig {
        allow_origins: raw.allow_origins,
    }))
}
