//! The generated self-signed certificate served when no configured one covers a server name and
//! no `tls.stores.default.defaultCertificate` is set, as Traefik does.
//!
//! Generated once per process, on first use (an ECDSA P-256 key: about a millisecond), and kept
//! across reloads so clients see one default certificate for the life of the process.

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;

/// The subject common name of the generated certificate (Traefik's is `TRAEFIK DEFAULT CERT`).
pub const DEFAULT_CERT_NAME: &str = "WASMGATE DEFAULT CERT";

static GENERATED: OnceLock<Result<Arc<CertifiedKey>, String>> = OnceLock::new();

/// The process's generated default certificate.
///
/// # Errors
/// When key generation or signing fails (no usable randomness): the reason, every time.
pub(crate) fn generated(provider: &CryptoProvider) -> Result<Arc<CertifiedKey>, String> {
    GENERATED.get_or_init(|| generate(provider)).clone()
}

fn generate(provider: &CryptoProvider) -> Result<Arc<CertifiedKey>, String> {
    let fail = |e: rcgen::Error| format!("cannot generate the default certificate: {e}");
    let mut params = rcgen::CertificateParams::new(vec!["wasmgate.default.invalid".to_string()])
        .map_err(fail)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, DEFAULT_CERT_NAME);
    let key = rcgen::KeyPair::generate().map_err(fail)?;
    let cert = params.self_signed(&key).map_err(fail)?;
    let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    CertifiedKey::from_der(vec![cert.der().clone()], der, provider)
        .map(Arc::new)
        .map_err(|e| format!("cannot use the generated default certificate: {e}"))
}
