//! One `tls.options` entry -> one rustls `ServerConfig`: versions, cipher suites, key exchange
//! groups, ALPN, suite preference and client certificates. Built when a snapshot is built; the
//! handshake of every connection whose server name uses these options shares it.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::{CryptoProvider, SupportedKxGroup, ring};
use rustls::server::ResolvesServerCert;
use rustls::server::danger::ClientCertVerifier;
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

use crate::config::{CipherSuite, Curve, TlsOptionsConfig, TlsVersion};

/// The ring provider narrowed to the suites and groups `options` allow.
pub(crate) fn provider_for(options: &TlsOptionsConfig) -> CryptoProvider {
    let mut provider = ring::default_provider();
    if !options.cipher_suites.is_empty() {
        let chosen: Vec<SupportedCipherSuite> =
            options.cipher_suites.iter().map(|s| suite(*s)).collect();
        let names_tls13 = chosen
            .iter()
            .any(|s| s.version() == &rustls::version::TLS13);
        // Go does not let TLS 1.3 suites be configured: a list of TLS 1.2 suites leaves TLS 1.3
        // with all of its suites, as in Traefik.
        let tls13_kept = provider
            .cipher_suites
            .iter()
            .filter(|s| !names_tls13 && s.version() == &rustls::version::TLS13)
            .copied();
        provider.cipher_suites = chosen.iter().copied().chain(tls13_kept).collect();
    }
    if !options.curve_preferences.is_empty() {
        provider.kx_groups = options
            .curve_preferences
            .iter()
            .map(|c| group(*c))
            .collect();
    }
    provider
}

fn suite(name: CipherSuite) -> SupportedCipherSuite {
    use ring::cipher_suite as cs;
    match name {
        CipherSuite::EcdheEcdsaAes128GcmSha256 => cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::EcdheEcdsaAes256GcmSha384 => cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::EcdheEcdsaChacha20Poly1305 => {
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        CipherSuite::EcdheRsaAes128GcmSha256 => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::EcdheRsaAes256GcmSha384 => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::EcdheRsaChacha20Poly1305 => cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite::Tls13Aes128GcmSha256 => cs::TLS13_AES_128_GCM_SHA256,
        CipherSuite::Tls13Aes256GcmSha384 => cs::TLS13_AES_256_GCM_SHA384,
        CipherSuite::Tls13Chacha20Poly1305Sha256 => cs::TLS13_CHACHA20_POLY1305_SHA256,
    }
}

fn group(curve: Curve) -> &'static dyn SupportedKxGroup {
    match curve {
        Curve::X25519 => ring::kx_group::X25519,
        Curve::P256 => ring::kx_group::SECP256R1,
        Curve::P384 => ring::kx_group::SECP384R1,
    }
}

/// The protocol versions from `minVersion` to `maxVersion`.
fn versions(options: &TlsOptionsConfig) -> Vec<&'static SupportedProtocolVersion> {
    let mut out = Vec::new();
    if options.min_version <= TlsVersion::Tls13 && options.max_version >= TlsVersion::Tls13 {
        out.push(&rustls::version::TLS13);
    }
    if options.min_version <= TlsVersion::Tls12 && options.max_version >= TlsVersion::Tls12 {
        out.push(&rustls::version::TLS12);
    }
    out
}

/// The `ServerConfig` of one options entry.
///
/// # Errors
/// The reason when rustls refuses the combination (e.g. only TLS 1.2 suites with
/// `minVersion: VersionTLS13`).
pub(crate) fn server_config(
    options: &TlsOptionsConfig,
    provider: Arc<CryptoProvider>,
    client_auth: Arc<dyn ClientCertVerifier>,
    certificates: Arc<dyn ResolvesServerCert>,
) -> Result<Arc<ServerConfig>, String> {
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions(options))
        .map_err(|e| format!("unusable versions and cipher suites: {e}"))?
        .with_client_cert_verifier(client_auth)
        .with_cert_resolver(certificates);
    config.alpn_protocols = options
        .alpn_protocols
        .iter()
        .map(|p| p.as_bytes().to_vec())
        .collect();
    config.ignore_client_order = options.prefer_server_cipher_suites;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls12_suites_leave_tls13_its_suites() {
        let options = TlsOptionsConfig {
            cipher_suites: vec![CipherSuite::EcdheEcdsaAes128GcmSha256],
            ..TlsOptionsConfig::default()
        };
        let provider = provider_for(&options);
        let tls12 = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS12)
            .count();
        let tls13 = provider.cipher_suites.len() - tls12;
        assert_eq!((tls12, tls13), (1, 3));
        let options = TlsOptionsConfig {
            cipher_suites: vec![CipherSuite::Tls13Aes128GcmSha256],
            ..TlsOptionsConfig::default()
        };
        assert_eq!(provider_for(&options).cipher_suites.len(), 1);
    }

    #[test]
    fn versions_span_min_to_max() {
        let only = |min, max| {
            let options = TlsOptionsConfig {
                min_version: min,
                max_version: max,
                ..TlsOptionsConfig::default()
            };
            versions(&options)
                .iter()
                .map(|v| v.version)
                .collect::<Vec<_>>()
        };
        use rustls::ProtocolVersion::{TLSv1_2, TLSv1_3};
        assert_eq!(
            only(TlsVersion::Tls12, TlsVersion::Tls13),
            [TLSv1_3, TLSv1_2]
        );
        assert_eq!(only(TlsVersion::Tls13, TlsVersion::Tls13), [TLSv1_3]);
        assert_eq!(only(TlsVersion::Tls12, TlsVersion::Tls12), [TLSv1_2]);
    }
}
