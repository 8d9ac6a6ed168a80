//! Client certificates, by Traefik's `clientAuth.clientAuthType`: the rustls verifier of each
//! type. Built with the options' `ServerConfig`; consulted once per handshake that asks for a
//! client certificate.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use crate::config::ClientAuthType;

/// The verifier for `auth_type`; `roots` are the `caFiles` (empty when none were given).
///
/// # Errors
/// The reason when rustls refuses to build a verifier (no trust anchor for a verifying type).
pub(crate) fn verifier(
    auth_type: ClientAuthType,
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let webpki = |roots: RootCertStore| {
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
    };
    let built = match auth_type {
        ClientAuthType::NoClientCert => return Ok(WebPkiClientVerifier::no_client_auth()),
        ClientAuthType::RequestClientCert | ClientAuthType::RequireAnyClientCert => {
            return Ok(Arc::new(AnyClientCert {
                mandatory: auth_type == ClientAuthType::RequireAnyClientCert,
                algorithms: provider.signature_verification_algorithms,
            }));
        }
        ClientAuthType::VerifyClientCertIfGiven => webpki(roots).allow_unauthenticated().build(),
        ClientAuthType::RequireAndVerifyClientCert => webpki(roots).build(),
    };
    built.map_err(|e| format!("cannot verify client certificates: {e}"))
}

/// `RequestClientCert` / `RequireAnyClientCert`: a certificate is asked for (and with
/// `mandatory` required) but not checked against any CA, as Go does; the client must still
/// prove it holds the certificate's key (the handshake signature is verified).
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
