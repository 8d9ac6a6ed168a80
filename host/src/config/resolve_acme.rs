//! Resolves the static `certificatesResolvers` section (ACME resolvers only) into
//! [`AcmeResolverConfig`]s, and checks the references routers make to them
//! (`tls.certResolver`). Runs once per load.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::model_acme::{AcmeKeyType, AcmeResolverConfig, DEFAULT_CERTIFICATES_DURATION};
use super::model_tls::RouterTlsConfig;
use crate::yaml::report::Reporter;

/// The environment variable lego (Traefik's ACME client) reads for extra CA certificates: PEM
/// file paths separated by commas or the OS's path-list separator.
pub const LEGO_CA_CERTIFICATES: &str = "LEGO_CA_CERTIFICATES";

/// `certificatesResolvers.<name>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawResolver {
    acme: Option<RawAcme>,
}

/// `certificatesResolvers.<name>.acme`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawAcme {
    email: Option<String>,
    storage: Option<String>,
    ca_server: Option<String>,
    #[serde(default)]
    ca_certificates: Vec<String>,
    ca_system_cert_pool: Option<bool>,
    http_challenge: Option<RawHttpChallenge>,
    tls_challenge: Option<IgnoredAny>,
    dns_challenge: Option<IgnoredAny>,
    certificates_duration: Option<u64>,
    key_type: Option<String>,
}

/// `certificatesResolvers.<name>.acme.httpChallenge`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawHttpChallenge {
    entry_point: Option<String>,
}

/// Resolves one resolver; `None` (after reporting) when it cannot issue anything.
/// `entry_points` are the static entrypoints' names (for `httpChallenge.entryPoint`).
pub(crate) fn resolve_resolver(
    reporter: &mut Reporter<'_>,
    name: &str,
    raw: RawResolver,
    main_dir: &Path,
    entry_points: &BTreeSet<String>,
) -> Option<AcmeResolverConfig> {
    let at = |key: &'static [&'static str]| -> Vec<&str> {
        ["certificatesResolvers", name, "acme"]
            .into_iter()
            .chain(key.iter().copied())
            .collect()
    };
    let Some(raw) = raw.acme else {
        let path = ["certificatesResolvers", name];
        reporter.at(0, &path, "only \"acme\" resolvers are supported");
        return None;
    };
    let mut ok = true;
    if raw.dns_challenge.is_some() {
        reporter.at(
            0,
            &at(&["dnsChallenge"]),
            "not supported: DNS-01 needs a DNS provider; use httpChallenge or tlsChallenge",
        );
        ok = false;
    }
    let key_type = match raw.key_type.as_deref() {
        None | Some("EC256") => AcmeKeyType::Ec256,
        Some("EC384") => AcmeKeyType::Ec384,
        Some(other) => {
            let reason = format!(
                "unsupported key type \"{other}\" (supported: EC256, EC384; RSA keys cannot be \
                 generated with the ring provider)"
            );
            reporter.at(0, &at(&["keyType"]), reason);
            ok = false;
            AcmeKeyType::Ec256
        }
    };
    let http_challenge_entry_point = raw.http_challenge.and_then(|h| h.entry_point);
    if let Some(ep) = &http_challenge_entry_point
        && !entry_points.contains(ep)
    {
        let reason = format!("unknown entry point \"{ep}\"");
        reporter.at(0, &at(&["httpChallenge", "entryPoint"]), reason);
        ok = false;
    }
    let tls_challenge = raw.tls_challenge.is_some();
    if http_challenge_entry_point.is_none() && !tls_challenge && raw.dns_challenge.is_none() {
        reporter.at(
            0,
            &at(&[]),
            "no challenge: set httpChallenge.entryPoint or tlsChallenge",
        );
        ok = false;
    }
    let storage = main_dir.join(raw.storage.as_deref().unwrap_or("acme.json"));
    let dir = match storage.parent() {
        Some(dir) if dir.as_os_str().is_empty() => Path::new("."),
        Some(dir) => dir,
        None => Path::new("."),
    };
    if !dir.is_dir() {
        let reason = format!("the directory of \"{}\" does not exist", storage.display());
        reporter.at(0, &at(&["storage"]), reason);
        ok = false;
    }
    let mut ca_certificates: Vec<_> = raw
        .ca_certificates
        .iter()
        .map(|p| main_dir.join(p))
        .collect();
    if let Some(list) = std::env::var_os(LEGO_CA_CERTIFICATES) {
        let list = list.to_string_lossy().into_owned();
        let paths = list.split([',', ':']).filter(|p| !p.is_empty());
        ca_certificates.extend(paths.map(std::path::PathBuf::from));
    }
    let certificates_duration = match raw.certificates_duration {
        Some(0) => {
            reporter.at(0, &at(&["certificatesDuration"]), "must be at least 1 hour");
            ok = false;
            DEFAULT_CERTIFICATES_DURATION
        }
        Some(hours) => std::time::Duration::from_secs(hours.saturating_mul(3600)),
        None => DEFAULT_CERTIFICATES_DURATION,
    };
    ok.then(|| AcmeResolverConfig {
        email: raw.email.filter(|e| !e.is_empty()),
        storage,
        ca_server: raw.ca_server,
        ca_certificates,
        ca_system_cert_pool: raw.ca_system_cert_pool.unwrap_or(false),
        http_challenge_entry_point,
        tls_challenge,
        certificates_duration,
        key_type,
    })
}

/// Reports a router or entrypoint (`tls` at `at` in `file`) naming a `certResolver` that the
/// static `certificatesResolvers` does not define.
pub(crate) fn check_resolver_reference(
    reporter: &mut Reporter<'_>,
    file: usize,
    at: &[&str],
    router_tls: &RouterTlsConfig,
    resolver_names: &BTreeSet<String>,
) {
    let Some(name) = &router_tls.cert_resolver else {
        return;
    };
    let path = [at, &["certResolver"]].concat();
    check_resolver_name(reporter, file, &path, name, resolver_names);
}

/// Reports `name` (written at `path` in `file`) when the static `certificatesResolvers` does
/// not define it: a router's `certResolver`, the default store's `defaultGeneratedCert.resolver`.
pub(crate) fn check_resolver_name(
    reporter: &mut Reporter<'_>,
    file: usize,
    path: &[&str],
    name: &str,
    resolver_names: &BTreeSet<String>,
) {
    if resolver_names.contains(name) {
        return;
    }
    let known: Vec<&str> = resolver_names.iter().map(String::as_str).collect();
    let reason = if known.is_empty() {
        format!("unknown certificate resolver \"{name}\" (certificatesResolvers defines none)")
    } else {
        format!(
            "unknown certificate resolver \"{name}\" (defined: {})",
            known.join(", ")
        )
    };
    reporter.at(file, path, reason);
}
