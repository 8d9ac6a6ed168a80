//! The challenges being answered right now: HTTP-01 key authorizations by token (served on the
//! `httpChallenge` entrypoint at `/.well-known/acme-challenge/<token>`) and TLS-ALPN-01
//! `ServerConfig`s by name (chosen by the TLS acceptor for a ClientHello offering only
//! `acme-tls/1`). Added before a challenge is declared ready, removed when its order ends.
//! Read only for those paths and handshakes; the mutexes are never held across an await.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::ServerConfig;
use rustls::pki_types::PrivateKeyDer;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The ALPN protocol of TLS-ALPN-01 (RFC 8737).
pub(crate) const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// Pending challenges of every resolver.
#[derive(Debug, Default)]
pub(crate) struct Challenges {
    http01: Mutex<HashMap<String, String>>,
    tls_alpn01: Mutex<HashMap<String, Arc<ServerConfig>>>,
}

impl Challenges {
    /// The key authorization to answer for HTTP-01 `token`.
    pub(crate) fn http01(&self, token: &str) -> Option<String> {
        let tokens = self.http01.lock().unwrap_or_else(|e| e.into_inner());
        tokens.get(token).cloned()
    }

    pub(crate) fn add_http01(&self, token: &str, key_authorization: &str) {
        let mut tokens = self.http01.lock().unwrap_or_else(|e| e.into_inner());
        tokens.insert(token.to_string(), key_authorization.to_string());
    }

    pub(crate) fn remove_http01(&self, token: &str) {
        let mut tokens = self.http01.lock().unwrap_or_else(|e| e.into_inner());
        tokens.remove(token);
    }

    /// The TLS-ALPN-01 config for `name`, if a challenge for it is pending.
    pub(crate) fn tls_alpn01(&self, name: &str) -> Option<Arc<ServerConfig>> {
        let configs = self.tls_alpn01.lock().unwrap_or_else(|e| e.into_inner());
        configs.get(&name.to_ascii_lowercase()).cloned()
    }

    /// Prepares the TLS-ALPN-01 answer for `name`: a self-signed certificate for it carrying
    /// the `acmeIdentifier` extension with `digest` (SHA-256 of the key authorization).
    /// Costs a key generation and a signature (about a millisecond).
    ///
    /// # Errors
    /// Key generation or signing fails.
    pub(crate) fn add_tls_alpn01(&self, name: &str, digest: &[u8]) -> Result<(), String> {
        let config = challenge_config(name, digest)?;
        let mut configs = self.tls_alpn01.lock().unwrap_or_else(|e| e.into_inner());
        configs.insert(name.to_ascii_lowercase(), config);
        Ok(())
    }

    pub(crate) fn remove_tls_alpn01(&self, name: &str) {
        let mut configs = self.tls_alpn01.lock().unwrap_or_else(|e| e.into_inner());
        configs.remove(&name.to_ascii_lowercase());
    }
}

fn challenge_config(name: &str, digest: &[u8]) -> Result<Arc<ServerConfig>, String> {
    let fail = |e: rcgen::Error| format!("cannot make the TLS-ALPN-01 certificate: {e}");
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).map_err(fail)?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let key = rcgen::KeyPair::generate().map_err(fail)?;
    let cert = params.self_signed(&key).map_err(fail)?;
    let key = PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // Not `with_single_cert`: its key check parses the certificate with webpki, which refuses
    // the critical acmeIdentifier extension this certificate exists to carry.
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| e.to_string())?;
    let certified = Arc::new(CertifiedKey::new(vec![cert.der().clone()], signing));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(ChallengeCertificate(certified)));
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// Serves the one challenge certificate whatever the ClientHello says.
#[derive(Debug)]
struct ChallengeCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for ChallengeCertificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}
