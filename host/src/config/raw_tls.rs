//! The serde-facing shapes of TLS keys used in more than one place: a router's (and an
//! entrypoint's) `tls`, and a `{certFile, keyFile}` pair (`tls.certificates`, the default store,
//! a servers transport's client `certificates`). Resolved by `router_tls` and `resolve_tls`.

use serde::Deserialize;

/// A router's `tls` (and an entrypoint's `http.tls`): Traefik's keys.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawRouterTls {
    pub(crate) options: Option<String>,
    pub(crate) cert_resolver: Option<String>,
    #[serde(default)]
    pub(crate) domains: Vec<RawDomain>,
}

/// `tls.domains[]`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawDomain {
    pub(crate) main: Option<String>,
    #[serde(default)]
    pub(crate) sans: Vec<String>,
}

/// `tls.certificates[]` and `tls.stores.default.defaultCertificate`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawCertificate {
    pub(crate) cert_file: String,
    pub(crate) key_file: String,
    #[serde(default)]
    pub(crate) stores: Vec<String>,
}
