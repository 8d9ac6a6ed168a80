//! Static `certificatesResolvers.<name>.acme` (Traefik's keys), resolved once per load by
//! `resolve_acme`; read at start-up by `tls::acme`, which issues and renews the certificates
//! of the routers that name the resolver in `tls.certResolver`.

use std::path::PathBuf;
use std::time::Duration;

/// Traefik's `certificatesDuration` default: 2160 hours (90 days, Let's Encrypt's).
pub const DEFAULT_CERTIFICATES_DURATION: Duration = Duration::from_secs(2160 * 3600);

/// One ACME certificate resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeResolverConfig {
    /// `email`: the account's contact; `None`: no contact.
    pub email: Option<String>,
    /// `storage`: the JSON file holding accounts and certificates (Traefik's `acme.json`
    /// layout), relative to the main config file; its directory must exist.
    pub storage: PathBuf,
    /// `caServer`: the ACME directory URL; `None`: Let's Encrypt's production directory.
    pub ca_server: Option<String>,
    /// `caCertificates` and the `LEGO_CA_CERTIFICATES` environment variable: PEM files whose
    /// certificates are trusted for the ACME server's HTTPS (beside the system's roots
    /// unless `caSystemCertPool: false` with CA certificates given).
    pub ca_certificates: Vec<PathBuf>,
    /// `caSystemCertPool`: keep the system's roots when `caCertificates` are given (Traefik's
    /// default: false, only the given ones).
    pub ca_system_cert_pool: bool,
    /// `httpChallenge.entryPoint`: the entrypoint answering HTTP-01 challenges.
    pub http_challenge_entry_point: Option<String>,
    /// `tlsChallenge`: answer TLS-ALPN-01 challenges on the TLS entrypoints.
    pub tls_challenge: bool,
    /// `certificatesDuration`: how long the CA's certificates live (hours in Traefik's
    /// config); sets how early they are renewed.
    pub certificates_duration: Duration,
    /// `keyType`: the certificates' key.
    pub key_type: AcmeKeyType,
}

/// `keyType`: the private key of issued certificates. RSA keys cannot be generated with the
/// ring provider, so only Traefik's EC values are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AcmeKeyType {
    #[default]
    Ec256,
    Ec384,
}
