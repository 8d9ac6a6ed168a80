//! The resolved `tls:` section (Traefik's dynamic TLS configuration: certificates, the default
//! store, options) and the `tls` setting of routers and entrypoints.
//!
//! Built by [`super::resolve_tls`] at every load; read by the `tls` layer when it builds the
//! acceptors of a snapshot. Certificate and key files are only named here, never read: the
//! `tls` layer reads them (so a reload re-reads them) and reports a broken pair at the
//! [`KeySite`] kept with each.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::yaml::ConfigError;

/// Name of the TLS options every TLS router uses unless it names others (Traefik's implicit
/// `default`, which a config may redefine).
pub const DEFAULT_TLS_OPTIONS: &str = "default";

/// `tls:`, merged over the main file and every provider file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// `tls.certificates`, from every file in load order.
    pub certificates: Vec<CertificateConfig>,
    /// `tls.options`; always holds [`DEFAULT_TLS_OPTIONS`] (Traefik's defaults when not written).
    pub options: BTreeMap<String, TlsOptionsConfig>,
    /// `tls.stores.default.defaultCertificate`; `None`: a generated self-signed certificate.
    pub default_certificate: Option<CertificateConfig>,
    /// `tls.stores.default.defaultGeneratedCert`: the default certificate obtained from an ACME
    /// resolver (served once obtained; until then `default_certificate` or a generated one).
    pub default_generated: Option<DefaultGeneratedCert>,
}

/// `tls.stores.default.defaultGeneratedCert` (Traefik's keys `resolver`, `domain.main`,
/// `domain.sans`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultGeneratedCert {
    /// `certificatesResolvers.<resolver>`.
    pub resolver: String,
    /// The main name first, then the SANs, lowercase.
    pub names: Vec<String>,
    /// The file that wrote it (for the resolver reference check).
    pub file: usize,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            certificates: Vec::new(),
            options: BTreeMap::from([(
                DEFAULT_TLS_OPTIONS.to_string(),
                TlsOptionsConfig::default(),
            )]),
            default_certificate: None,
            default_generated: None,
        }
    }
}

impl TlsConfig {
    /// Every certificate, key and CA file named (the reload watcher watches them).
    pub fn files(&self) -> Vec<&Path> {
        let pairs = self
            .certificates
            .iter()
            .chain(self.default_certificate.as_ref());
        let pair_files = pairs.flat_map(|c| [c.cert.path(), c.key.path()]);
        let ca_files = self
            .options
            .values()
            .flat_map(|o| o.client_auth.ca_files.iter().map(PemSource::path));
        pair_files.chain(ca_files).flatten().collect()
    }
}

/// Where a value was written, for errors found after the load (a certificate file that does
/// not parse, a key that does not match): `file:line: key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySite {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: String,
}

impl KeySite {
    /// The `file:line: key: reason` error for this site.
    pub fn error(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            line: self.line,
            key: self.key.clone(),
            reason: reason.into(),
        }
    }
}

/// A PEM value: a file (relative paths joined onto the directory of the file that names it) or
/// the PEM text itself, as Traefik accepts in `certFile` / `keyFile` / `caFiles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemSource {
    File(PathBuf),
    Inline(String),
}

impl PemSource {
    /// The file, when it is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            PemSource::File(path) => Some(path),
            PemSource::Inline(_) => None,
        }
    }
}

/// One `{certFile, keyFile}` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateConfig {
    pub cert: PemSource,
    pub key: PemSource,
    /// `certFile`'s site (certificate errors, a key that does not match).
    pub cert_site: KeySite,
    /// `keyFile`'s site.
    pub key_site: KeySite,
}

/// A TLS version rustls implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// A cipher suite rustls implements with the ring provider, by its Go/Traefik name (the TLS 1.2
/// ECDHE AEAD suites and the three TLS 1.3 suites; CBC, RC4, 3DES and static-RSA suites are
/// refused at load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherSuite {
    EcdheEcdsaAes128GcmSha256,
    EcdheEcdsaAes256GcmSha384,
    EcdheEcdsaChacha20Poly1305,
    EcdheRsaAes128GcmSha256,
    EcdheRsaAes256GcmSha384,
    EcdheRsaChacha20Poly1305,
    Tls13Aes128GcmSha256,
    Tls13Aes256GcmSha384,
    Tls13Chacha20Poly1305Sha256,
}

/// A key exchange group rustls implements with the ring provider (`curvePreferences`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    X25519,
    P256,
    P384,
}

/// `clientAuth.clientAuthType` (Go's `tls.ClientAuthType` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuthType {
    /// No client certificate is asked for.
    #[default]
    NoClientCert,
    /// One is asked for; any (or none) is accepted, unverified.
    RequestClientCert,
    /// One is required; any is accepted, unverified.
    RequireAnyClientCert,
    /// One is asked for; when given it must chain to `caFiles`.
    VerifyClientCertIfGiven,
    /// One is required and must chain to `caFiles`.
    RequireAndVerifyClientCert,
}

/// `clientAuth`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientAuthConfig {
    /// `caFiles`: the CAs client certificates must chain to.
    pub ca_files: Vec<PemSource>,
    /// `clientAuthType`; with `caFiles` and no type, `RequireAndVerifyClientCert` (Traefik's).
    pub auth_type: ClientAuthType,
    /// Where `caFiles` was written (a CA file that does not parse is reported there).
    pub ca_site: Option<KeySite>,
}

/// `tls.options.<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptionsConfig {
    /// `minVersion`, default TLS 1.2 (Traefik's).
    pub min_version: TlsVersion,
    /// `maxVersion`, default TLS 1.3.
    pub max_version: TlsVersion,
    /// `cipherSuites`, in preference order; empty: rustls's defaults. TLS 1.3 suites are only
    /// restricted when the list names one (Go does not let TLS 1.3 suites be configured).
    pub cipher_suites: Vec<CipherSuite>,
    /// `curvePreferences`, in preference order; empty: rustls's defaults (X25519, P-256, P-384).
    pub curve_preferences: Vec<Curve>,
    /// `sniStrict`: refuse a handshake whose server name no certificate covers (or that sends
    /// none) instead of answering with the default certificate.
    pub sni_strict: bool,
    /// `alpnProtocols`, default `h2`, `http/1.1`.
    pub alpn_protocols: Vec<String>,
    pub client_auth: ClientAuthConfig,
    /// `preferServerCipherSuites`: the server's suite order wins over the client's.
    pub prefer_server_cipher_suites: bool,
}

impl Default for TlsOptionsConfig {
    fn default() -> Self {
        TlsOptionsConfig {
            min_version: TlsVersion::Tls12,
            max_version: TlsVersion::Tls13,
            cipher_suites: Vec::new(),
            curve_preferences: Vec::new(),
            sni_strict: false,
            alpn_protocols: vec!["h2".to_string(), "http/1.1".to_string()],
            client_auth: ClientAuthConfig::default(),
            prefer_server_cipher_suites: false,
        }
    }
}

/// A router's (or an entrypoint's `http.tls`) TLS setting: the router matches TLS connections
/// only, and the hosts of its rule use these options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouterTlsConfig {
    /// `options`: a name in `tls.options` (`@file` suffix dropped); `None`: `default`.
    pub options: Option<String>,
    /// `domains[].main` and `.sans`, flattened.
    pub domains: Vec<String>,
    /// `certResolver`: the ACME resolver (`certificatesResolvers.<name>`) that obtains the
    /// certificates of this router's domains.
    pub cert_resolver: Option<String>,
    /// `domains[]` as written: one certificate per entry (main name first, then its sans).
    /// Empty: the router's `Host` names make one certificate (Traefik's rule).
    pub certificate_domains: Vec<Vec<String>>,
}

impl RouterTlsConfig {
    /// The options name this router's hosts use.
    pub fn options_name(&self) -> &str {
        self.options.as_deref().unwrap_or(DEFAULT_TLS_OPTIONS)
    }
}

/// The TLS settings of `http.serversTransports.<name>` for `https://` servers (Traefik's keys).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpstreamTlsConfig {
    /// `serverName`: the name sent (SNI) and verified instead of the server URL's host.
    pub server_name: Option<String>,
    /// `insecureSkipVerify`: accept any server certificate.
    pub insecure_skip_verify: bool,
    /// `rootCAs`: the CAs server certificates must chain to; empty: the system's trust store.
    pub root_cas: Vec<PemSource>,
    /// Where `rootCAs` was written.
    pub root_cas_site: Option<KeySite>,
    /// `certificates`: the client certificate presented to servers that ask (the first pair).
    pub certificates: Vec<CertificateConfig>,
    /// `peerCertURI`: a URI the server certificate's subjectAltName must hold.
    pub peer_cert_uri: Option<String>,
}

impl UpstreamTlsConfig {
    /// Every CA, certificate and key file named (the reload watcher watches them).
    pub fn files(&self) -> Vec<&Path> {
        let pairs = self
            .certificates
            .iter()
            .flat_map(|c| [c.cert.path(), c.key.path()]);
        let cas = self.root_cas.iter().map(PemSource::path);
        pairs.chain(cas).flatten().collect()
    }
}
