//! ACME (`certificatesResolvers.<name>.acme`): certificates obtained from a CA for the routers
//! that name a resolver in `tls.certResolver`, stored in Traefik's `acme.json` layout, renewed
//! before they expire, and served to new handshakes as soon as they exist (until then the
//! default certificate is served).
//!
//! When things run:
//! - [`install`] once at start-up (`app::run`, before the first snapshot): reads the storage
//!   files and serves their certificates; no CA is contacted.
//! - [`maintain`] after each snapshot build, for every router's set of names: starts that set's
//!   background task (`service`) unless it runs. Orders never block start-up or requests;
//!   failures are logged with the resolver and the main name and retried with back-off.
//! - [`find`] on a handshake whose server name no configured certificate covers.
//! - [`http01_answer`] for a plain request to `/.well-known/acme-challenge/<token>` on an
//!   `httpChallenge` entrypoint, before routing; [`tls_alpn01_config`] for a ClientHello that
//!   offers `acme-tls/1`.
//!
//! Not done here: DNS-01 (refused at load), External Account Binding, RSA keys.

mod account;
mod certificates;
mod challenges;
mod http_client;
mod issue;
mod renewal;
mod service;
mod storage;
mod validity;

use std::sync::{Arc, OnceLock};

use rustls::ServerConfig;
use rustls::server::ClientHello;
use rustls::sign::CertifiedKey;

pub use issue::AcmeError;
pub use service::AcmeService;
pub use storage::StorageError;
pub(crate) use validity::validity;

/// The path prefix of HTTP-01 challenges (RFC 8555 §8.3).
pub const HTTP01_PREFIX: &str = "/.well-known/acme-challenge/";

static SERVICE: OnceLock<Arc<AcmeService>> = OnceLock::new();

/// Starts the ACME side of the process with the static config's resolvers (nothing when there
/// are none). A second call is ignored (static config needs a restart).
///
/// # Errors
/// A storage file that cannot be read or parsed, with the resolver that names it.
pub fn install(
    resolvers: &std::collections::BTreeMap<String, crate::config::AcmeResolverConfig>,
) -> Result<(), (String, StorageError)> {
    if resolvers.is_empty() {
        return Ok(());
    }
    let service = AcmeService::start(resolvers)?;
    let _ = SERVICE.set(Arc::new(service));
    Ok(())
}

/// Keeps a certificate from `resolver` for `names` (main name first). No-op without
/// [`install`] (`wasmgate check`, tests that build snapshots).
pub fn maintain(resolver: &str, names: Vec<String>) {
    if let Some(service) = SERVICE.get()
        && !names.is_empty()
    {
        service.maintain(resolver, names);
    }
}

/// The ACME certificate for a server name, if one was obtained.
pub(crate) fn find(server_name: &str) -> Option<Arc<CertifiedKey>> {
    SERVICE.get()?.certificates.find(server_name)
}

/// The body answering a plain HTTP request for `path` on `entrypoint` when it is a pending
/// HTTP-01 challenge's URL.
pub fn http01_answer(entrypoint: &str, path: &str) -> Option<String> {
    let token = path.strip_prefix(HTTP01_PREFIX)?;
    let service = SERVICE.get()?;
    if !service.http_entrypoints.contains(entrypoint) {
        return None;
    }
    service.challenges.http01(token)
}

/// The TLS-ALPN-01 config for a ClientHello offering `acme-tls/1` for a name whose challenge is
/// pending.
pub(crate) fn tls_alpn01_config(hello: &ClientHello<'_>) -> Option<Arc<ServerConfig>> {
    let service = SERVICE.get()?;
    let mut alpn = hello.alpn()?;
    if !alpn.any(|p| p == challenges::ACME_TLS_ALPN) {
        return None;
    }
    service.challenges.tls_alpn01(hello.server_name()?)
}
