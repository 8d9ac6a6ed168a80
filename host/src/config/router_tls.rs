//! The `tls` key of a router (`http.routers.<name>.tls`) and of an entrypoint
//! (`entryPoints.<name>.http.tls`): Traefik's shape, resolved into
//! [`RouterTlsConfig`]. Runs at every load, once per router or entrypoint with `tls`.

use super::definitions::local_name;
use super::model_tls::{DEFAULT_TLS_OPTIONS, RouterTlsConfig, TlsConfig};
use super::raw_tls::RawRouterTls;
use crate::yaml::report::Reporter;

/// A router's or an entrypoint's `tls`. The options name is checked later
/// against `tls.options` ([`check_options_reference`]), the `certResolver` against the static
/// resolvers (`resolve_acme::check_resolver_reference`).
pub(crate) fn resolve_router_tls(raw: RawRouterTls) -> RouterTlsConfig {
    let certificate_domains: Vec<Vec<String>> = raw
        .domains
        .into_iter()
        .map(|d| {
            d.main
                .into_iter()
                .chain(d.sans)
                .map(|n| n.to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter(|names| !names.is_empty())
        .collect();
    RouterTlsConfig {
        options: raw.options.map(|o| local_name(&o)),
        domains: certificate_domains.iter().flatten().cloned().collect(),
        cert_resolver: raw.cert_resolver.map(|r| local_name(&r)),
        certificate_domains,
    }
}

/// Reports a router or entrypoint (`tls` at `at` in `file`) naming TLS options that `tls`
/// does not define.
pub(crate) fn check_options_reference(
    reporter: &mut Reporter<'_>,
    file: usize,
    at: &[&str],
    router_tls: &RouterTlsConfig,
    tls: &TlsConfig,
) {
    let name = router_tls.options_name();
    if name != DEFAULT_TLS_OPTIONS && !tls.options.contains_key(name) {
        let known: Vec<&str> = tls.options.keys().map(String::as_str).collect();
        let path = [at, &["options"]].concat();
        let reason = format!(
            "unknown TLS options \"{name}\" (defined: {})",
            known.join(", ")
        );
        reporter.at(file, &path, reason);
    }
}
