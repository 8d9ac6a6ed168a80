//! Resolves `tls:` (from the main file and every provider file) and the `tls` key of routers
//! and entrypoints into [`super::model_tls`], reporting every value rustls cannot honour (TLS
//! 1.0/1.1, CBC suites, unknown curves) at its key instead of ignoring it.
//!
//! Runs at every load; costs a walk over the `tls` keys. No file is read here.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::model_tls::{
    CertificateConfig, CipherSuite, ClientAuthConfig, ClientAuthType, Curve, DefaultGeneratedCert,
    KeySite, PemSource, TlsConfig, TlsOptionsConfig, TlsVersion, UpstreamTlsConfig,
};
use super::raw_tls::RawCertificate;
use super::resolve_static::entries_of;
use crate::yaml::report::Reporter;
use crate::yaml::tree::{Entry, Seg, Value};

const TLS_KEYS: &str = "certificates, options, stores";
const TLS_SECTIONS: &[&str] = &["certificates", "options", "stores"];

/// `tls.stores.<name>`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawStore {
    default_certificate: Option<RawCertificate>,
    default_generated_cert: Option<RawGeneratedCert>,
}

/// `tls.stores.default.defaultGeneratedCert`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawGeneratedCert {
    resolver: String,
    domain: super::raw_tls::RawDomain,
}

/// `tls.options.<name>`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawTlsOptions {
    min_version: Option<String>,
    max_version: Option<String>,
    #[serde(default)]
    cipher_suites: Vec<String>,
    #[serde(default)]
    curve_preferences: Vec<String>,
    sni_strict: Option<bool>,
    alpn_protocols: Option<Vec<String>>,
    client_auth: Option<RawClientAuth>,
    prefer_server_cipher_suites: Option<bool>,
}

/// `tls.options.<name>.clientAuth`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawClientAuth {
    #[serde(default)]
    ca_files: Vec<String>,
    client_auth_type: Option<String>,
}

fn key(name: &str) -> Seg {
    Seg::Key(name.to_string())
}

/// Where `path` is in `file`, for errors found later.
pub(super) fn site(reporter: &Reporter<'_>, file: usize, path: &[&str]) -> KeySite {
    let location = reporter.sources.locate_in(file, path);
    let error = reporter.sources.error_at(location, "");
    KeySite {
        file: error.file,
        line: error.line,
        key: error.key,
    }
}

/// Resolves the `tls:` key of every file read, merged: certificates are concatenated, an
/// options or store name defined in two files is an error naming both.
pub(crate) fn resolve_tls(reporter: &mut Reporter<'_>) -> TlsConfig {
    let sources = reporter.sources;
    let mut tls = TlsConfig::default();
    // Options written in a file (the implicit `default` is not), with where.
    let mut defined: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut default_store: Option<(usize, usize)> = None;
    for (file, source) in sources.files().iter().enumerate() {
        let Some(Value::Map(entries)) = source.root.as_ref().map(|r| &r.value) else {
            continue;
        };
        // `tls` and its sections match in any case, as Traefik reads them.
        let Some(entry) = entries
            .iter()
            .find(|e| crate::yaml::case_fold::field_for(&e.key, &["tls"]).is_some())
        else {
            continue;
        };
        let dir = source.path.parent().unwrap_or(Path::new(""));
        let Some(sections) = entries_of(reporter, file, &entry.value, &[key("tls")], entry.line)
        else {
            continue;
        };
        for section in sections {
            let folded = crate::yaml::case_fold::field_for(&section.key, TLS_SECTIONS);
            match folded.unwrap_or(section.key.as_str()) {
                "certificates" => certificates(reporter, file, dir, section, &mut tls),
                "options" => {
                    options(reporter, file, dir, section, &mut tls, &mut defined);
                }
                "stores" => stores(reporter, file, dir, section, &mut tls, &mut default_store),
                other => {
                    let reason = format!("unknown key \"{other}\" (allowed: {TLS_KEYS})");
                    reporter.exact(file, &[key("tls"), key(other)], Some(section.line), reason);
                }
            }
        }
    }
    tls
}

fn certificates(
    reporter: &mut Reporter<'_>,
    file: usize,
    dir: &Path,
    section: &Entry,
    tls: &mut TlsConfig,
) {
    let path = ["tls", "certificates"];
    let Some(list) =
        reporter.parse::<Vec<RawCertificate>>(file, &section.value, &path, section.line)
    else {
        return;
    };
    for (i, raw) in list.into_iter().enumerate() {
        let index = i.to_string();
        let at = ["tls", "certificates", index.as_str()];
        // As in Traefik, a certificate goes to every store it names (none: "default"), and
        // only the store "default" serves connections: other stores load and are not used.
        for (j, store) in raw.stores.iter().enumerate() {
            if store != "default" {
                let j = j.to_string();
                let path = [at[0], at[1], at[2], "stores", j.as_str()];
                let reason = format!(
                    "store \"{store}\" is not used: only the store \"default\" serves \
                     connections (as in Traefik)"
                );
                reporter.warn(file, &path, reason);
            }
        }
        if !raw.stores.is_empty() && !raw.stores.iter().any(|s| s == "default") {
            continue;
        }
        tls.certificates
            .push(certificate(reporter, file, dir, &at, raw));
    }
}

fn certificate(
    reporter: &Reporter<'_>,
    file: usize,
    dir: &Path,
    at: &[&str],
    raw: RawCertificate,
) -> CertificateConfig {
    let cert_path = [at, &["certFile"]].concat();
    let key_path = [at, &["keyFile"]].concat();
    CertificateConfig {
        cert: pem_source(dir, raw.cert_file),
        key: pem_source(dir, raw.key_file),
        cert_site: site(reporter, file, &cert_path),
        key_site: site(reporter, file, &key_path),
    }
}

/// The TLS keys of `http.serversTransports.<name>` (in `file`, whose directory is `dir`).
#[allow(
    clippy::too_many_arguments,
    reason = "the raw keys, handed over one by one"
)]
pub(crate) fn resolve_upstream_tls(
    reporter: &Reporter<'_>,
    file: usize,
    at: &[&str],
    server_name: Option<String>,
    insecure_skip_verify: Option<bool>,
    root_cas: Vec<String>,
    certificates: Vec<RawCertificate>,
    peer_cert_uri: Option<String>,
) -> UpstreamTlsConfig {
    let dir = reporter
        .sources
        .path(file)
        .parent()
        .unwrap_or(Path::new(""));
    let root_cas_site =
        (!root_cas.is_empty()).then(|| site(reporter, file, &[at, &["rootCAs"]].concat()));
    let certificates = certificates
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let index = i.to_string();
            let at = [at, &["certificates", index.as_str()]].concat();
            certificate(reporter, file, dir, &at, raw)
        })
        .collect();
    UpstreamTlsConfig {
        server_name,
        insecure_skip_verify: insecure_skip_verify.unwrap_or(false),
        root_cas: root_cas.into_iter().map(|f| pem_source(dir, f)).collect(),
        root_cas_site,
        certificates,
        peer_cert_uri,
    }
}

/// Inline PEM (as Traefik accepts) or a path relative to `dir`.
pub(super) fn pem_source(dir: &Path, value: String) -> PemSource {
    if value.contains("-----BEGIN") {
        PemSource::Inline(value)
    } else {
        PemSource::File(super::paths::join_clean(dir, &value))
    }
}

fn stores(
    reporter: &mut Reporter<'_>,
    file: usize,
    dir: &Path,
    section: &Entry,
    tls: &mut TlsConfig,
    default_store: &mut Option<(usize, usize)>,
) {
    let path = [key("tls"), key("stores")];
    let Some(stores) = entries_of(reporter, file, &section.value, &path, section.line) else {
        return;
    };
    for store in stores {
        let at = ["tls", "stores", store.key.as_str()];
        if store.key != "default" {
            // Traefik builds such a store and never uses it.
            let reason = "this store is not used: only the store \"default\" serves connections \
                          (as in Traefik)";
            reporter.warn(file, &at, reason);
            continue;
        }
        if let Some((first_file, first_line)) = *default_store {
            let reason = format!(
                "store \"default\" is already defined in {}:{first_line}",
                reporter.sources.path(first_file).display()
            );
            reporter.at(file, &at, reason);
            continue;
        }
        *default_store = Some((file, store.line));
        let Some(raw) = reporter.parse::<RawStore>(file, &store.value, &at, store.line) else {
            continue;
        };
        if let Some(generated) = raw.default_generated_cert {
            let domain = generated.domain;
            match domain.main.filter(|m| !m.is_empty()) {
                Some(main) => {
                    let names = std::iter::once(main)
                        .chain(domain.sans)
                        .map(|n| n.to_ascii_lowercase())
                        .collect();
                    tls.default_generated = Some(DefaultGeneratedCert {
                        resolver: generated.resolver,
                        names,
                        file,
                    });
                }
                None => {
                    let path = [
                        at[0],
                        at[1],
                        at[2],
                        "defaultGeneratedCert",
                        "domain",
                        "main",
                    ];
                    reporter.at(file, &path, "a main domain is required");
                }
            }
        }
        if let Some(cert) = raw.default_certificate {
            let at = [at[0], at[1], at[2], "defaultCertificate"];
            tls.default_certificate = Some(certificate(reporter, file, dir, &at, cert));
        }
    }
}

fn options(
    reporter: &mut Reporter<'_>,
    file: usize,
    dir: &Path,
    section: &Entry,
    tls: &mut TlsConfig,
    defined: &mut BTreeMap<String, (usize, usize)>,
) {
    let path = [key("tls"), key("options")];
    let Some(entries) = entries_of(reporter, file, &section.value, &path, section.line) else {
        return;
    };
    for entry in entries {
        let at = ["tls", "options", entry.key.as_str()];
        if let Some((first_file, first_line)) = defined.get(&entry.key) {
            let reason = format!(
                "TLS options \"{}\" are already defined in {}:{first_line}",
                entry.key,
                reporter.sources.path(*first_file).display()
            );
            reporter.at(file, &at, reason);
            continue;
        }
        defined.insert(entry.key.clone(), (file, entry.line));
        let Some(raw) = reporter.parse::<RawTlsOptions>(file, &entry.value, &at, entry.line) else {
            continue;
        };
        let options = tls_options(reporter, file, dir, &at, raw);
        tls.options.insert(entry.key.clone(), options);
    }
}

fn tls_options(
    reporter: &mut Reporter<'_>,
    file: usize,
    dir: &Path,
    at: &[&str],
    raw: RawTlsOptions,
) -> TlsOptionsConfig {
    let mut options = TlsOptionsConfig::default();
    let path = |k: &'static str| -> Vec<&str> { [at, &[k]].concat() };
    if let Some(v) = raw.min_version {
        match parse_version(&v) {
            Ok(version) => options.min_version = version,
            Err(reason) => reporter.at(file, &path("minVersion"), reason),
        }
    }
    if let Some(v) = raw.max_version {
        match parse_version(&v) {
            Ok(version) => options.max_version = version,
            Err(reason) => reporter.at(file, &path("maxVersion"), reason),
        }
    }
    if options.min_version > options.max_version {
        reporter.at(file, &path("minVersion"), "is above maxVersion");
    }
    for (i, name) in raw.cipher_suites.iter().enumerate() {
        match parse_cipher_suite(name) {
            Ok(suite) => options.cipher_suites.push(suite),
            Err(reason) => {
                let index = i.to_string();
                let path = [at, &["cipherSuites", index.as_str()]].concat();
                reporter.at(file, &path, reason);
            }
        }
    }
    for (i, name) in raw.curve_preferences.iter().enumerate() {
        match parse_curve(name) {
            Ok(curve) => options.curve_preferences.push(curve),
            Err(reason) => {
                let index = i.to_string();
                let path = [at, &["curvePreferences", index.as_str()]].concat();
                reporter.at(file, &path, reason);
            }
        }
    }
    options.sni_strict = raw.sni_strict.unwrap_or(false);
    options.prefer_server_cipher_suites = raw.prefer_server_cipher_suites.unwrap_or(false);
    if let Some(alpn) = raw.alpn_protocols {
        for (i, protocol) in alpn.iter().enumerate() {
            if protocol.is_empty() || protocol.len() > 255 {
                let index = i.to_string();
                let path = [at, &["alpnProtocols", index.as_str()]].concat();
                reporter.at(file, &path, "must be 1 to 255 bytes long");
            }
        }
        options.alpn_protocols = alpn;
    }
    if let Some(client_auth) = raw.client_auth {
        options.client_auth = resolve_client_auth(reporter, file, dir, at, client_auth);
    }
    options
}

fn resolve_client_auth(
    reporter: &mut Reporter<'_>,
    file: usize,
    dir: &Path,
    at: &[&str],
    raw: RawClientAuth,
) -> ClientAuthConfig {
    let type_path = [at, &["clientAuth", "clientAuthType"]].concat();
    let ca_path = [at, &["clientAuth", "caFiles"]].concat();
    let has_cas = !raw.ca_files.is_empty();
    let auth_type = match raw.client_auth_type.as_deref() {
        None | Some("") if has_cas => ClientAuthType::RequireAndVerifyClientCert,
        None | Some("") => ClientAuthType::NoClientCert,
        Some(name) => match parse_client_auth_type(name) {
            Ok(t) => t,
            Err(reason) => {
                reporter.at(file, &type_path, reason);
                ClientAuthType::NoClientCert
            }
        },
    };
    let verifies = matches!(
        auth_type,
        ClientAuthType::VerifyClientCertIfGiven | ClientAuthType::RequireAndVerifyClientCert
    );
    if verifies && !has_cas {
        reporter.at(
            file,
            &type_path,
            "needs clientAuth.caFiles to verify against",
        );
    }
    ClientAuthConfig {
        ca_files: raw
            .ca_files
            .into_iter()
            .map(|f| pem_source(dir, f))
            .collect(),
        auth_type,
        ca_site: has_cas.then(|| site(reporter, file, &ca_path)),
    }
}

fn parse_version(name: &str) -> Result<TlsVersion, String> {
    match name {
        "VersionTLS12" => Ok(TlsVersion::Tls12),
        "VersionTLS13" => Ok(TlsVersion::Tls13),
        "VersionTLS10" | "VersionTLS11" => Err(format!(
            "{name} is not supported: rustls implements TLS 1.2 and 1.3 only \
             (use VersionTLS12 or VersionTLS13)"
        )),
        other => Err(format!(
            "unknown TLS version \"{other}\" (allowed: VersionTLS12, VersionTLS13)"
        )),
    }
}

/// Go's names (and the short TLS 1.2 ChaCha aliases Go accepts) -> the suites rustls has.
fn parse_cipher_suite(name: &str) -> Result<CipherSuite, String> {
    use CipherSuite::*;
    Ok(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => EcdheEcdsaAes128GcmSha256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => EcdheEcdsaAes256GcmSha384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => EcdheEcdsaChacha20Poly1305,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => EcdheRsaAes128GcmSha256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => EcdheRsaAes256GcmSha384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" => {
            EcdheRsaChacha20Poly1305
        }
        "TLS_AES_128_GCM_SHA256" => Tls13Aes128GcmSha256,
        "TLS_AES_256_GCM_SHA384" => Tls13Aes256GcmSha384,
        "TLS_CHACHA20_POLY1305_SHA256" => Tls13Chacha20Poly1305Sha256,
        cbc if cbc.contains("_CBC_") => {
            return Err(format!(
                "{cbc}: CBC cipher suites are not supported (rustls implements only AEAD suites)"
            ));
        }
        weak if weak.contains("RC4") || weak.contains("3DES") => {
            return Err(format!("{weak}: not supported (a broken cipher)"));
        }
        static_rsa if static_rsa.starts_with("TLS_RSA_WITH_") => {
            return Err(format!(
                "{static_rsa}: static RSA key exchange is not supported (no forward secrecy)"
            ));
        }
        other => return Err(format!("unknown cipher suite \"{other}\"")),
    })
}

/// Go's / Traefik's curve names.
fn parse_curve(name: &str) -> Result<Curve, String> {
    match name {
        "X25519" | "x25519" => Ok(Curve::X25519),
        "CurveP256" | "secp256r1" | "P256" | "P-256" => Ok(Curve::P256),
        "CurveP384" | "secp384r1" | "P384" | "P-384" => Ok(Curve::P384),
        "CurveP521" | "secp521r1" | "P521" | "P-521" => Err(format!(
            "{name} is not supported (allowed: X25519, CurveP256, CurveP384)"
        )),
        other => Err(format!(
            "unknown curve \"{other}\" (allowed: X25519, CurveP256, CurveP384)"
        )),
    }
}

fn parse_client_auth_type(name: &str) -> Result<ClientAuthType, String> {
    match name {
        "NoClientCert" => Ok(ClientAuthType::NoClientCert),
        "RequestClientCert" => Ok(ClientAuthType::RequestClientCert),
        "RequireAnyClientCert" => Ok(ClientAuthType::RequireAnyClientCert),
        "VerifyClientCertIfGiven" => Ok(ClientAuthType::VerifyClientCertIfGiven),
        "RequireAndVerifyClientCert" => Ok(ClientAuthType::RequireAndVerifyClientCert),
        other => Err(format!(
            "unknown client auth type \"{other}\" (allowed: NoClientCert, RequestClientCert, \
             RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RouterTlsConfig;

    #[test]
    fn versions_rustls_lacks_are_refused_by_name() {
        assert_eq!(parse_version("VersionTLS12"), Ok(TlsVersion::Tls12));
        assert_eq!(parse_version("VersionTLS13"), Ok(TlsVersion::Tls13));
        let old = parse_version("VersionTLS10").unwrap_err();
        assert!(old.contains("VersionTLS10 is not supported"), "{old}");
        assert!(parse_version("TLS12").unwrap_err().contains("unknown"));
    }

    #[test]
    fn cbc_and_static_rsa_suites_are_refused() {
        assert_eq!(
            parse_cipher_suite("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"),
            Ok(CipherSuite::EcdheRsaChacha20Poly1305)
        );
        assert_eq!(
            parse_cipher_suite("TLS_AES_128_GCM_SHA256"),
            Ok(CipherSuite::Tls13Aes128GcmSha256)
        );
        let cbc = parse_cipher_suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA").unwrap_err();
        assert!(cbc.contains("CBC cipher suites are not supported"), "{cbc}");
        let rsa = parse_cipher_suite("TLS_RSA_WITH_AES_128_GCM_SHA256").unwrap_err();
        assert!(rsa.contains("static RSA"), "{rsa}");
        assert!(parse_cipher_suite("nope").unwrap_err().contains("unknown"));
    }

    #[test]
    fn curves_and_client_auth_types() {
        assert_eq!(parse_curve("CurveP256"), Ok(Curve::P256));
        assert_eq!(parse_curve("X25519"), Ok(Curve::X25519));
        assert!(parse_curve("CurveP521").is_err());
        assert_eq!(
            parse_client_auth_type("RequireAndVerifyClientCert"),
            Ok(ClientAuthType::RequireAndVerifyClientCert)
        );
        assert!(parse_client_auth_type("Always").is_err());
    }

    const PREAMBLE: &str = "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n";

    fn errors(yaml: &str) -> Vec<String> {
        match crate::config::load_from_str("/etc/gw/gw.yml", &format!("{PREAMBLE}{yaml}")) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn tls_and_its_sections_are_read_in_any_case() {
        let yaml = format!(
            "{PREAMBLE}http:\n  routers:\n    r: {{ rule: \"Host(`a.test`)\", service: s, tls: {{}} }}\n\
             \x20 services:\n    s: {{ loadBalancer: {{ servers: [{{ url: \"http://127.0.0.1:1\" }}] }} }}\n\
             TLS:\n  Certificates:\n    - {{ certFile: a.pem, keyFile: a.key }}\n\
             \x20 OPTIONS:\n    modern:\n      minVersion: VersionTLS13\n"
        );
        let config = match crate::config::load_from_str("/etc/gw/gw.yml", &yaml) {
            Ok(config) => config,
            Err(errors) => panic!("{errors}"),
        };
        let tls = &config.dynamic.tls;
        assert_eq!(
            tls.certificates[0].cert,
            PemSource::File("/etc/gw/a.pem".into())
        );
        assert_eq!(tls.options["modern"].min_version, TlsVersion::Tls13);
    }

    #[test]
    fn tls_sections_resolve_with_paths_relative_to_the_file() {
        let yaml = format!(
            "{PREAMBLE}    http:\n      tls: {{ options: modern }}\n\
             http:\n  routers:\n    r: {{ rule: \"Host(`a.test`)\", service: s, tls: {{}} }}\n\
             \x20 services:\n    s: {{ loadBalancer: {{ servers: [{{ url: \"http://127.0.0.1:1\" }}] }} }}\n\
             tls:\n  certificates:\n    - {{ certFile: certs/a.pem, keyFile: certs/a.key }}\n\
             \x20 stores:\n    default:\n      defaultCertificate: {{ certFile: d.pem, keyFile: d.key }}\n\
             \x20 options:\n    modern:\n      minVersion: VersionTLS13\n      sniStrict: true\n\
             \x20     clientAuth: {{ caFiles: [ca.pem] }}\n"
        );
        let config = match crate::config::load_from_str("/etc/gw/gw.yml", &yaml) {
            Ok(config) => config,
            Err(errors) => panic!("{errors}"),
        };
        let tls = &config.dynamic.tls;
        assert_eq!(
            tls.certificates[0].cert,
            PemSource::File("/etc/gw/certs/a.pem".into())
        );
        assert_eq!(
            tls.certificates[0].key_site.key,
            "tls.certificates[0].keyFile"
        );
        assert_eq!(tls.certificates[0].key_site.line, Some(13));
        assert!(tls.default_certificate.is_some());
        let modern = &tls.options["modern"];
        assert_eq!(
            (modern.min_version, modern.sni_strict),
            (TlsVersion::Tls13, true)
        );
        assert_eq!(
            modern.client_auth.auth_type,
            ClientAuthType::RequireAndVerifyClientCert
        );
        assert!(tls.options.contains_key("default"));
        let router_tls = config.dynamic.http.routers["r"].tls.as_ref();
        assert_eq!(
            router_tls.map(RouterTlsConfig::options_name),
            Some("default")
        );
        let ep_tls = config.static_config.entry_points["web"].tls.as_ref();
        assert_eq!(ep_tls.map(RouterTlsConfig::options_name), Some("modern"));
        assert_eq!(tls.files().len(), 5);
    }

    #[test]
    fn check_names_the_key_of_each_tls_mistake() {
        let found = errors(
            "http:\n  routers:\n    r:\n      rule: \"Host(`a.test`)\"\n      service: s\n\
             \x20     tls:\n        options: nope\n        certResolver: le\n\
             \x20 services:\n    s: { loadBalancer: { servers: [{ url: \"http://127.0.0.1:1\" }] } }\n\
             tls:\n  options:\n    old:\n      minVersion: VersionTLS10\n\
             \x20     cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n\
             \x20     clientAuth: { clientAuthType: RequireAndVerifyClientCert }\n",
        );
        assert_eq!(
            found,
            [
                "/etc/gw/gw.yml:10: http.routers.r.tls.options: unknown TLS options \"nope\" \
                 (defined: default, old)",
                "/etc/gw/gw.yml:11: http.routers.r.tls.certResolver: unknown certificate resolver \"le\" \
                 (certificatesResolvers defines none)",
                "/etc/gw/gw.yml:17: tls.options.old.minVersion: VersionTLS10 is not supported: \
                 rustls implements TLS 1.2 and 1.3 only (use VersionTLS12 or VersionTLS13)",
                "/etc/gw/gw.yml:18: tls.options.old.cipherSuites[0]: \
                 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: CBC cipher suites are not supported \
                 (rustls implements only AEAD suites)",
                "/etc/gw/gw.yml:19: tls.options.old.clientAuth.clientAuthType: needs \
                 clientAuth.caFiles to verify against",
            ]
        );
    }

    #[test]
    fn unknown_tls_keys_are_refused_and_other_stores_load_unused_as_in_traefik() {
        let found = errors(
            "tls:\n  certificates:\n    - { certFile: a.pem, keyFile: a.key, stores: [other] }\n\
             \x20 stores:\n    other: {}\n  bogus: {}\n",
        );
        assert_eq!(
            found,
            [
                "/etc/gw/gw.yml:9: tls.bogus: unknown key \"bogus\" (allowed: certificates, \
              options, stores)"
            ]
        );
        let yaml = format!(
            "{PREAMBLE}tls:\n  certificates:\n\
             \x20   - {{ certFile: a.pem, keyFile: a.key, stores: [other] }}\n\
             \x20   - {{ certFile: b.pem, keyFile: b.key, stores: [other, default] }}\n\
             \x20   - {{ certFile: c.pem, keyFile: c.key }}\n\
             \x20 stores:\n    other: {{}}\n"
        );
        let config = match crate::config::load_from_str("/etc/gw/gw.yml", &yaml) {
            Ok(config) => config,
            Err(errors) => panic!("{errors}"),
        };
        let served: Vec<&PemSource> = config
            .dynamic
            .tls
            .certificates
            .iter()
            .map(|c| &c.cert)
            .collect();
        assert_eq!(
            served,
            [
                &PemSource::File("/etc/gw/b.pem".into()),
                &PemSource::File("/etc/gw/c.pem".into())
            ],
            "only the certificates of the default store are served"
        );
    }

    #[test]
    fn inline_pem_is_told_from_a_path() {
        let dir = Path::new("/etc/gw");
        assert_eq!(
            pem_source(dir, "certs/./a.pem".into()),
            PemSource::File("/etc/gw/certs/a.pem".into())
        );
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(
            pem_source(dir, pem.into()),
            PemSource::Inline(pem.to_string())
        );
    }
}
