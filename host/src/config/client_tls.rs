//! Traefik's client-TLS block (`types.ClientTLS`: `ca`, `cert`, `key`, `insecureSkipVerify`,
//! the deprecated `caOptional`), as `forwardAuth.tls` writes it, read into the same
//! [`UpstreamTlsConfig`] a servers transport uses. Files are relative to the config file that
//! names them; inline PEM is accepted. Runs at config load.

use std::path::Path;

use serde_json::Value;

use super::model_tls::{CertificateConfig, UpstreamTlsConfig};
use super::resolve_tls::{pem_source, site};
use crate::yaml::report::Reporter;

/// The client TLS of `tls` (a JSON map, written at `at` in `file`); `None` after reporting a
/// problem (a `cert` without `key` or the reverse, a value of the wrong kind).
pub(crate) fn resolve_client_tls(
    reporter: &mut Reporter<'_>,
    file: usize,
    at: &[&str],
    tls: &Value,
) -> Option<UpstreamTlsConfig> {
    let Value::Object(map) = tls else {
        reporter.at(
            file,
            at,
            "must be a map (ca, cert, key, insecureSkipVerify)",
        );
        return None;
    };
    let dir = reporter
        .sources
        .path(file)
        .parent()
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let text = |name: &str| {
        map.get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let insecure = match map.get("insecureSkipVerify") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"),
        _ => false,
    };
    let mut config = UpstreamTlsConfig {
        insecure_skip_verify: insecure,
        ..UpstreamTlsConfig::default()
    };
    if let Some(ca) = text("ca") {
        config.root_cas = vec![pem_source(&dir, ca)];
        config.root_cas_site = Some(site(reporter, file, &[at, &["ca"]].concat()));
    }
    match (text("cert"), text("key")) {
        (Some(cert), Some(key)) => config.certificates.push(CertificateConfig {
            cert: pem_source(&dir, cert),
            key: pem_source(&dir, key),
            cert_site: site(reporter, file, &[at, &["cert"]].concat()),
            key_site: site(reporter, file, &[at, &["key"]].concat()),
        }),
        (None, None) => {}
        (Some(_), None) | (None, Some(_)) => {
            reporter.at(file, at, "cert and key go together: set both or neither");
            return None;
        }
    }
    Some(config)
}
