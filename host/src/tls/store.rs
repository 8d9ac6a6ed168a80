//! The certificate store: certificates by the names their leaves cover, and the default
//! certificate. Built when a snapshot is built; looked up once per TLS handshake (a hash lookup
//! for the exact name, one more for its wildcard; no allocation for a lowercase name).

use std::collections::HashMap;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Certificates by name. When two certificates cover one name the first one configured wins
/// (Traefik keeps the first too).
#[derive(Debug)]
pub struct CertStore {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// By the part after `*.`: `*.example.test` is under `example.test`.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
    /// `defaultGeneratedCert`: the main name of the ACME certificate served as the default
    /// once it exists (`default` until then).
    default_from_acme: Option<String>,
}

impl CertStore {
    /// A store that answers with `default` when no name matches.
    pub fn new(default: Arc<CertifiedKey>) -> CertStore {
        CertStore {
            exact: HashMap::new(),
            wildcard: HashMap::new(),
            default,
            default_from_acme: None,
        }
    }

    /// Serves the ACME certificate of `main_name` as the default once it has been obtained.
    pub fn default_from_acme(&mut self, main_name: String) {
        self.default_from_acme = Some(main_name);
    }

    /// The default certificate at this moment: the ACME one of `defaultGeneratedCert` when it
    /// exists, else the configured (or generated) one.
    fn current_default(&self) -> Arc<CertifiedKey> {
        self.default_from_acme
            .as_deref()
            .and_then(super::acme::find)
            .unwrap_or_else(|| self.default.clone())
    }

    /// Adds `key` under each of `names` (lowercase; `*.` prefix for a wildcard) not taken yet.
    pub fn add(&mut self, names: &[String], key: &Arc<CertifiedKey>) {
        for name in names {
            let (map, name) = match name.strip_prefix("*.") {
                Some(parent) => (&mut self.wildcard, parent),
                None => (&mut self.exact, name.as_str()),
            };
            map.entry(name.to_string()).or_insert_with(|| key.clone());
        }
    }

    /// The certificate for a server name: exact, then a wildcard covering its first label.
    /// `None` when nothing covers it (the default is not considered).
    pub fn find(&self, server_name: &str) -> Option<&Arc<CertifiedKey>> {
        let name = server_name.strip_suffix('.').unwrap_or(server_name);
        let lower;
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = name.to_ascii_lowercase();
            lower.as_str()
        } else {
            name
        };
        self.exact.get(name).or_else(|| {
            let (_, parent) = name.split_once('.')?;
            self.wildcard.get(parent)
        })
    }

    /// The default certificate (`tls.stores.default.defaultCertificate` or the generated one).
    pub fn default_certificate(&self) -> &Arc<CertifiedKey> {
        &self.default
    }
}

/// rustls's view of a store under one set of options: with `strict` (`sniStrict`) a handshake
/// whose server name no certificate covers, or that names none, gets no certificate and fails.
#[derive(Debug)]
pub(crate) struct StoreResolver {
    pub(crate) store: Arc<CertStore>,
    pub(crate) strict: bool,
}

impl ResolvesServerCert for StoreResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = client_hello.server_name();
        let found = name.and_then(|name| self.store.find(name)).cloned();
        // Certificates from ACME resolvers, after the configured ones.
        let found = found.or_else(|| name.and_then(super::acme::find));
        match found {
            Some(key) => Some(key),
            None if self.strict => None,
            None => Some(self.store.current_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Arc<CertifiedKey> {
        let made = rcgen::generate_simple_self_signed(vec!["x.test".into()]).expect("generate");
        let der = rustls::pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
        let provider = rustls::crypto::ring::default_provider();
        Arc::new(
            CertifiedKey::from_der(vec![made.cert.der().clone()], der, &provider).expect("key"),
        )
    }

    #[test]
    fn exact_names_win_over_wildcards_and_wildcards_cover_one_label() {
        let (default, a, wild) = (key(), key(), key());
        let mut store = CertStore::new(default.clone());
        store.add(&["a.example.test".into()], &a);
        store.add(&["*.example.test".into()], &wild);
        let found = |name: &str| store.find(name).map(Arc::as_ptr);
        assert_eq!(found("a.example.test"), Some(Arc::as_ptr(&a)));
        assert_eq!(found("A.Example.Test."), Some(Arc::as_ptr(&a)));
        assert_eq!(found("b.example.test"), Some(Arc::as_ptr(&wild)));
        assert_eq!(found("c.b.example.test"), None);
        assert_eq!(found("example.test"), None);
        assert!(Arc::ptr_eq(store.default_certificate(), &default));
    }

    #[test]
    fn the_first_certificate_for_a_name_is_kept() {
        let (first, second) = (key(), key());
        let mut store = CertStore::new(key());
        store.add(&["a.test".into()], &first);
        store.add(&["a.test".into()], &second);
        assert!(store.find("a.test").is_some_and(|k| Arc::ptr_eq(k, &first)));
    }
}
