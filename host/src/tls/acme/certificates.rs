//! The certificates ACME resolvers obtained, by name, shared by every snapshot's certificate
//! store: a certificate issued or renewed is served to the next handshake, with no reload.
//! Read once per handshake whose name no configured certificate covers (one atomic load and a
//! hash lookup); written after each issuance (the map is copied: issuances are rare).

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// Certificates by lowercase name.
#[derive(Debug, Default)]
pub(crate) struct AcmeCertificates {
    by_name: ArcSwap<HashMap<String, Arc<CertifiedKey>>>,
}

impl AcmeCertificates {
    /// The certificate for `name` (any case, optional trailing dot).
    pub(crate) fn find(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        let name = name.strip_suffix('.').unwrap_or(name);
        let map = self.by_name.load();
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            map.get(&name.to_ascii_lowercase()).cloned()
        } else {
            map.get(name).cloned()
        }
    }

    /// Serves `key` for each of `names` from now on, replacing what they had.
    pub(crate) fn insert(&self, names: &[String], key: &Arc<CertifiedKey>) {
        self.by_name.rcu(|map| {
            let mut map = HashMap::clone(map);
            for name in names {
                map.insert(name.to_ascii_lowercase(), key.clone());
            }
            map
        });
        self.publish();
    }

    /// Shows every certificate held now in `traefik_tls_certs_not_after` (each once, however
    /// many names it serves). After each change: issuances are rare.
    fn publish(&self) {
        let map = self.by_name.load();
        let mut keys: Vec<&Arc<CertifiedKey>> = Vec::new();
        for key in map.values() {
            if !keys.iter().any(|k| Arc::ptr_eq(k, key)) {
                keys.push(key);
            }
        }
        let mut certs: Vec<_> = keys
            .iter()
            .filter_map(|k| k.end_entity_cert().ok())
            .filter_map(|der| crate::tls::served_certificates::describe(der))
            .collect();
        certs.sort_by(|a, b| (&a.cn, &a.serial).cmp(&(&b.cn, &b.serial)));
        crate::admin::published::publish_acme_certificates(certs);
    }
}

/// A chain and key in PEM as rustls serves them, and the leaf's DER (for its expiry).
///
/// # Errors
/// No certificate, no key, or a key rustls cannot sign with.
pub(crate) fn certified_key(
    chain_pem: &[u8],
    key_pem: &[u8],
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("invalid certificate PEM: {e}"))?;
    if chain.is_empty() {
        return Err("no certificate in the chain".to_string());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("invalid key: {e}"))?;
    CertifiedKey::from_der(chain, key, provider)
        .map(Arc::new)
        .map_err(|e| format!("unusable certificate and key: {e}"))
}
