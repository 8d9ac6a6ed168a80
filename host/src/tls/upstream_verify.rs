//! How an upstream server's certificate is checked, by the servers transport's keys: against
//! the trust anchors and the server name (rustls's webpki verifier, the default), against the
//! trust anchors and a URI in its subjectAltName (`peerCertURI`, as Traefik), or not at all
//! (`insecureSkipVerify`). Consulted once per upstream handshake.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The handshake-signature checks every verifier here shares: the server must hold the key of
/// the certificate it sent, whatever is decided about the certificate.
#[derive(Debug)]
struct Signatures(WebPkiSupportedAlgorithms);

impl Signatures {
    fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }
}

/// `insecureSkipVerify: true`: any certificate is accepted.
#[derive(Debug)]
pub(crate) struct AnyServerCert(Signatures);

impl AnyServerCert {
    pub(crate) fn new(provider: &CryptoProvider) -> Arc<AnyServerCert> {
        Arc::new(AnyServerCert(Signatures(
            provider.signature_verification_algorithms,
        )))
    }
}

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.0.supported_schemes()
    }
}

/// `peerCertURI`: the chain must lead to a trust anchor and the leaf must name `uri` in its
/// subjectAltName; the server name is not checked (Traefik's semantics).
#[derive(Debug)]
pub(crate) struct PeerUri {
    roots: Arc<RootCertStore>,
    uri: String,
    signatures: Signatures,
}

impl PeerUri {
    pub(crate) fn new(
        roots: Arc<RootCertStore>,
        uri: String,
        provider: &CryptoProvider,
    ) -> Arc<Self> {
        Arc::new(PeerUri {
            roots,
            uri,
            signatures: Signatures(provider.signature_verification_algorithms),
        })
    }
}

impl ServerCertVerifier for PeerUri {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let parsed = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &parsed,
            &self.roots,
            intermediates,
            now,
            self.signatures.0.all,
        )?;
        let leaf = webpki::EndEntityCert::try_from(end_entity).map_err(|_| {
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
        })?;
        if leaf.valid_uri_names().any(|u| u == self.uri) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(UriMismatch(
                    self.uri.clone(),
                )))),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.0.supported_schemes()
    }
}

/// The leaf does not name the `peerCertURI`.
#[derive(Debug, thiserror::Error)]
#[error("the server certificate does not name {0} (peerCertURI)")]
struct UriMismatch(String);
