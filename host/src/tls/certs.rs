//! Reading certificates, keys and CA bundles from PEM files (or inline PEM), and checking that a
//! key matches its certificate. Runs when a snapshot is built; costs a file read and a key parse
//! per certificate.

use std::io::Read;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use crate::config::{CertificateConfig, ConfigError, KeySite, PemSource};

/// Largest PEM file read (a certificate chain or a CA bundle is far smaller).
const MAX_PEM_BYTES: u64 = 4 << 20;

/// A certificate chain with its key, and the names its leaf covers.
pub(crate) struct LoadedPair {
    pub(crate) key: Arc<CertifiedKey>,
    /// DNS names of the leaf's subjectAltName, lowercased (`*.example.test` for a wildcard).
    pub(crate) names: Vec<String>,
}

/// The bytes of a PEM source; a file is read with a size bound.
pub fn read_pem(source: &PemSource) -> Result<Vec<u8>, String> {
    match source {
        PemSource::Inline(text) => Ok(text.as_bytes().to_vec()),
        PemSource::File(path) => {
            let read = || -> std::io::Result<Vec<u8>> {
                let file = std::fs::File::open(path)?;
                let mut bytes = Vec::new();
                file.take(MAX_PEM_BYTES + 1).read_to_end(&mut bytes)?;
                if bytes.len() as u64 > MAX_PEM_BYTES {
                    return Err(std::io::Error::other(format!(
                        "larger than {MAX_PEM_BYTES} bytes"
                    )));
                }
                Ok(bytes)
            };
            read().map_err(|e| format!("cannot read \"{}\": {e}", path.display()))
        }
    }
}

/// The certificates of a PEM text, in order; an error when there is none.
fn certificates(
    source: &PemSource,
    site: &KeySite,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let bytes = read_pem(source).map_err(|reason| site.error(reason))?;
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&bytes).collect();
    match certs {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(site.error("no PEM certificate found")),
        Err(e) => Err(site.error(format!("invalid PEM: {e}"))),
    }
}

/// Loads one `{certFile, keyFile}` pair: the chain, the key (PKCS#8, PKCS#1 or SEC1), and
/// checks that the key is the leaf certificate's.
///
/// # Errors
/// `file:line: key: reason` at `certFile` (unreadable, no certificate, a leaf that does not
/// parse) or at `keyFile` (unreadable, no key, an unsupported key type, a key that does not
/// match the certificate).
pub(crate) fn load_pair(
    pair: &CertificateConfig,
    provider: &CryptoProvider,
) -> Result<LoadedPair, ConfigError> {
    let chain = certificates(&pair.cert, &pair.cert_site)?;
    let names = leaf_names(&chain[0]).map_err(|reason| pair.cert_site.error(reason))?;
    let key_bytes = read_pem(&pair.key).map_err(|reason| pair.key_site.error(reason))?;
    let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            pair.key_site.error("no PEM private key found")
        }
        other => pair.key_site.error(format!("invalid PEM: {other}")),
    })?;
    let certified = CertifiedKey::from_der(chain, key, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => pair
            .key_site
            .error("the key does not match the certificate"),
        other => pair.key_site.error(format!("unusable key: {other}")),
    })?;
    Ok(LoadedPair {
        key: Arc::new(certified),
        names,
    })
}

/// The DNS names a leaf certificate is valid for.
fn leaf_names(leaf: &CertificateDer<'_>) -> Result<Vec<String>, String> {
    let cert = webpki::EndEntityCert::try_from(leaf)
        .map_err(|e| format!("the certificate does not parse: {e}"))?;
    Ok(cert
        .valid_dns_names()
        .map(|name| name.trim_end_matches('.').to_ascii_lowercase())
        .collect())
}

/// The trust anchors of `caFiles`, for verifying client certificates.
///
/// # Errors
/// At `caFiles` (`site`): a file unreadable, without certificates, or with one that is not a
/// usable trust anchor.
pub(crate) fn load_roots(cas: &[PemSource], site: &KeySite) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    for source in cas {
        for cert in certificates(source, site)? {
            roots
                .add(cert)
                .map_err(|e| site.error(format!("not a usable CA certificate: {e}")))?;
        }
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(key: &str) -> KeySite {
        KeySite {
            file: "gw.yml".into(),
            line: Some(3),
            key: key.to_string(),
        }
    }

    fn pair(cert: String, key: String) -> CertificateConfig {
        CertificateConfig {
            cert: PemSource::Inline(cert),
            key: PemSource::Inline(key),
            cert_site: site("tls.certificates[0].certFile"),
            key_site: site("tls.certificates[0].keyFile"),
        }
    }

    fn provider() -> CryptoProvider {
        rustls::crypto::ring::default_provider()
    }

    #[test]
    fn a_pair_loads_with_the_names_of_its_leaf() {
        let made = rcgen::generate_simple_self_signed(vec!["A.test".into(), "*.b.test".into()])
            .expect("generate");
        let loaded = load_pair(
            &pair(made.cert.pem(), made.signing_key.serialize_pem()),
            &provider(),
        )
        .expect("load");
        assert_eq!(loaded.names, ["a.test", "*.b.test"]);
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_at_key_file() {
        let a = rcgen::generate_simple_self_signed(vec!["a.test".into()]).expect("generate");
        let b = rcgen::generate_simple_self_signed(vec!["b.test".into()]).expect("generate");
        let Err(error) = load_pair(
            &pair(a.cert.pem(), b.signing_key.serialize_pem()),
            &provider(),
        ) else {
            panic!("a mismatched key loaded");
        };
        assert_eq!(
            error.to_string(),
            "gw.yml:3: tls.certificates[0].keyFile: the key does not match the certificate"
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let config = CertificateConfig {
            cert: PemSource::File("/nonexistent/wasmgate/cert.pem".into()),
            ..pair(String::new(), String::new())
        };
        let Err(error) = load_pair(&config, &provider()) else {
            panic!("a missing file loaded");
        };
        assert!(
            error.to_string().starts_with(
                "gw.yml:3: tls.certificates[0].certFile: cannot read \"/nonexistent/wasmgate/cert.pem\""
            ),
            "{error}"
        );
        let Err(error) = load_pair(&pair("junk".into(), String::new()), &provider()) else {
            panic!("junk loaded");
        };
        assert!(
            error.to_string().ends_with("no PEM certificate found"),
            "{error}"
        );
    }
}
