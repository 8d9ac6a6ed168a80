//! Building the TLS side of a snapshot from a loaded config: the certificate store (every pair
//! read and checked), one `ServerConfig` per `tls.options` entry, and per TLS entrypoint the
//! options of each host its TLS routers name. Runs at start-up, on every reload and for
//! `wasmgate check`; costs the file reads and key parses of every certificate.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;

use super::accept::EntrypointTls;
use super::certs::{load_pair, load_roots};
use super::client_auth::verifier;
use super::default_cert::generated;
use super::server_config::{provider_for, server_config};
use super::store::{CertStore, StoreResolver};
use crate::admin::published::ServedCertificate;
use crate::config::{ConfigError, DEFAULT_TLS_OPTIONS, LoadedConfig};

/// A TLS router on one entrypoint, as the TLS side needs it.
#[derive(Debug, Clone)]
pub struct TlsRouter<'a> {
    pub entrypoint: &'a str,
    pub router: &'a str,
    /// The `Host` names of its rule (`Rule::hosts`).
    pub hosts: Vec<String>,
    /// Its TLS options name.
    pub options: &'a str,
}

/// The TLS side of a snapshot: what each TLS entrypoint terminates with.
#[derive(Debug, Default)]
pub struct TlsSetup {
    entrypoints: HashMap<String, Arc<EntrypointTls>>,
    /// The `ServerConfig` of every `tls.options` entry (TCP routers that terminate TLS use
    /// their options' config directly).
    options: BTreeMap<String, Arc<ServerConfig>>,
    /// The configured certificates, for `traefik_tls_certs_not_after`.
    certificates: Vec<ServedCertificate>,
}

impl TlsSetup {
    /// Builds the certificate store and the options' configs, and a TLS side for every
    /// entrypoint with a TLS router or an `http.tls` default.
    ///
    /// # Errors
    /// Every certificate, key or CA file that cannot be used, and every options entry rustls
    /// refuses, each as `file:line: key: reason`.
    pub fn build(
        config: &LoadedConfig,
        routers: &[TlsRouter<'_>],
    ) -> Result<TlsSetup, Vec<ConfigError>> {
        let mut tls_entrypoints: BTreeSet<&str> = routers.iter().map(|r| r.entrypoint).collect();
        for (name, ep) in &config.static_config.entry_points {
            if ep.tls.is_some() {
                tls_entrypoints.insert(name);
            }
        }
        let tls = &config.dynamic.tls;
        if tls_entrypoints.is_empty()
            && tls.certificates.is_empty()
            && tls.default_certificate.is_none()
            && tls.default_generated.is_none()
        {
            return Ok(TlsSetup::default());
        }
        let mut errors = Vec::new();
        let base = rustls::crypto::ring::default_provider();
        let Some((store, certificates)) = certificate_store(config, &base, &mut errors) else {
            return Err(errors);
        };
        let store = Arc::new(store);
        let mut configs: BTreeMap<&str, Arc<ServerConfig>> = BTreeMap::new();
        for (name, options) in &tls.options {
            let provider = Arc::new(provider_for(options));
            let site = || config.error_at(&["tls", "options", name.as_str()], "");
            let auth = &options.client_auth;
            let roots = match &auth.ca_site {
                Some(ca_site) => match load_roots(&auth.ca_files, ca_site) {
                    Ok(roots) => roots,
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                },
                None => rustls::RootCertStore::empty(),
            };
            let built = verifier(auth.auth_type, roots, &provider).and_then(|client_auth| {
                let resolver = Arc::new(StoreResolver {
                    store: store.clone(),
                    strict: options.sni_strict,
                });
                server_config(options, provider, client_auth, resolver)
            });
            match built {
                Ok(server) => {
                    configs.insert(name, server);
                }
                Err(reason) => errors.push(ConfigError { reason, ..site() }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let Some(default) = configs.get(DEFAULT_TLS_OPTIONS).cloned() else {
            // `tls.options` always holds `default`; a failure to build it was reported above.
            return Err(errors);
        };
        let entrypoints = tls_entrypoints
            .into_iter()
            .map(|ep| {
                let by_host = hosts_options(ep, routers, &configs);
                let side = EntrypointTls {
                    by_host,
                    default: default.clone(),
                };
                (ep.to_string(), Arc::new(side))
            })
            .collect();
        let options = configs
            .into_iter()
            .map(|(name, config)| (name.to_string(), config))
            .collect();
        Ok(TlsSetup {
            entrypoints,
            options,
            certificates,
        })
    }

    /// The `ServerConfig` of the `tls.options` entry `name`; `None` when no TLS is set up or
    /// the name is unknown (reported by the config module).
    pub fn options(&self, name: &str) -> Option<&Arc<ServerConfig>> {
        self.options.get(name)
    }

    /// The TLS side of entrypoint `name`; `None` when it serves no TLS router.
    pub fn entrypoint(&self, name: &str) -> Option<&Arc<EntrypointTls>> {
        self.entrypoints.get(name)
    }

    /// The configured certificates this setup serves, described for the metrics.
    pub fn certificates(&self) -> &[ServedCertificate] {
        &self.certificates
    }

    /// Every TLS entrypoint's side, by entrypoint name.
    pub fn into_entrypoints(self) -> HashMap<String, Arc<EntrypointTls>> {
        self.entrypoints
    }
}

/// Every configured pair under its names, over the default certificate, and the configured
/// certificates described for the metrics (the generated default is not). `None` when the
/// default certificate cannot be had (the error is pushed).
fn certificate_store(
    config: &LoadedConfig,
    provider: &CryptoProvider,
    errors: &mut Vec<ConfigError>,
) -> Option<(CertStore, Vec<ServedCertificate>)> {
    let tls = &config.dynamic.tls;
    let default = match &tls.default_certificate {
        Some(pair) => match load_pair(pair, provider) {
            Ok(loaded) => Some(loaded.key),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        None => match generated(provider) {
            Ok(key) => Some(key),
            Err(reason) => {
                errors.push(config.error_at(&["tls"], reason));
                None
            }
        },
    };
    let mut pairs = Vec::new();
    for pair in &tls.certificates {
        match load_pair(pair, provider) {
            Ok(loaded) => pairs.push(loaded),
            Err(e) => errors.push(e),
        }
    }
    let default = default?;
    let mut served: Vec<&Arc<rustls::sign::CertifiedKey>> = pairs.iter().map(|p| &p.key).collect();
    if tls.default_certificate.is_some() {
        served.push(&default);
    }
    let certificates = served
        .into_iter()
        .filter_map(|key| key.cert.first())
        .filter_map(|leaf| super::served_certificates::describe(leaf))
        .collect();
    let mut store = CertStore::new(default);
    for pair in &pairs {
        store.add(&pair.names, &pair.key);
    }
    if let Some(main) = tls.default_generated.as_ref().and_then(|g| g.names.first()) {
        store.default_from_acme(main.clone());
    }
    Some((store, certificates))
}

/// The options config of each host the TLS routers of `entrypoint` name. A host whose routers
/// name different options gets `default`, with a warning (Traefik's rule).
fn hosts_options(
    entrypoint: &str,
    routers: &[TlsRouter<'_>],
    configs: &BTreeMap<&str, Arc<ServerConfig>>,
) -> HashMap<String, Arc<ServerConfig>> {
    let mut chosen: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for router in routers.iter().filter(|r| r.entrypoint == entrypoint) {
        for host in &router.hosts {
            let entry = chosen.entry(host.as_str()).or_insert(Some(router.options));
            if *entry != Some(router.options) && entry.is_some() {
                tracing::warn!(
                    entrypoint,
                    host = host.as_str(),
                    router = router.router,
                    "routers of one host name different TLS options; the host uses \"default\""
                );
                *entry = None;
            }
        }
    }
    chosen
        .into_iter()
        .filter_map(|(host, options)| {
            let config = configs.get(options.unwrap_or(DEFAULT_TLS_OPTIONS))?;
            Some((host.to_string(), config.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_config() -> Arc<ServerConfig> {
        let provider = rustls::crypto::ring::default_provider();
        let default = generated(&provider).expect("default certificate");
        let resolver = Arc::new(StoreResolver {
            store: Arc::new(CertStore::new(default)),
            strict: false,
        });
        Arc::new(
            ServerConfig::builder_with_provider(Arc::new(provider))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_cert_resolver(resolver),
        )
    }

    fn router<'a>(ep: &'a str, name: &'a str, host: &str, options: &'a str) -> TlsRouter<'a> {
        TlsRouter {
            entrypoint: ep,
            router: name,
            hosts: vec![host.to_string()],
            options,
        }
    }

    #[test]
    fn each_host_gets_its_routers_options_and_a_disputed_host_the_default() {
        let (default, modern, old) = (server_config(), server_config(), server_config());
        let configs = BTreeMap::from([
            ("default", default.clone()),
            ("modern", modern.clone()),
            ("old", old.clone()),
        ]);
        let routers = [
            router("web", "r1", "a.test", "modern"),
            router("web", "r2", "a.test", "old"),
            router("web", "r3", "b.test", "modern"),
            router("web", "r4", "b.test", "modern"),
            router("other", "r5", "c.test", "old"),
        ];
        let side = EntrypointTls {
            by_host: hosts_options("web", &routers, &configs),
            default: default.clone(),
        };
        assert!(Arc::ptr_eq(side.config_for(Some("a.test")), &default));
        assert!(Arc::ptr_eq(side.config_for(Some("B.Test.")), &modern));
        assert!(Arc::ptr_eq(side.config_for(Some("c.test")), &default));
        assert!(Arc::ptr_eq(side.config_for(None), &default));
    }
}
