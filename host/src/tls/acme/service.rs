//! The ACME side of the process: every resolver of the static config, the certificates they
//! hold, the challenges being answered, and one background task per set of names a router
//! asks for. Started once at start-up ([`AcmeService::start`] reads the storage files and
//! serves what they hold, without contacting a CA); [`AcmeService::maintain`] is called after
//! each snapshot build and starts a task only for a set of names not yet maintained.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use instant_acme::Account;

use super::certificates::{AcmeCertificates, certified_key};
use super::challenges::Challenges;
use super::issue::{AcmeError, ChallengeKind, issue};
use super::renewal::{FIRST_RETRY, LONGEST_SLEEP, next_retry, renew_at};
use super::storage::{self, CertificateRecord, StorageError};
use super::validity::{Validity, validity};
use crate::config::AcmeResolverConfig;

/// One resolver and its account (restored or created on its first order).
struct Resolver {
    name: String,
    config: AcmeResolverConfig,
    account: tokio::sync::Mutex<Option<Account>>,
}

/// Every resolver's state; one per process.
pub struct AcmeService {
    resolvers: BTreeMap<String, Arc<Resolver>>,
    pub(crate) certificates: AcmeCertificates,
    pub(crate) challenges: Challenges,
    /// Entrypoints named by an `httpChallenge.entryPoint`.
    pub(crate) http_entrypoints: BTreeSet<String>,
    /// Sets of names (by resolver) that have a task.
    maintained: Mutex<HashSet<(String, Vec<String>)>>,
    /// Serialises reads-then-writes of the storage files (resolvers may share one).
    storage_lock: tokio::sync::Mutex<()>,
    /// When each stored certificate expires, by resolver and names (as loaded at start).
    stored_expiry: BTreeMap<(String, Vec<String>), Validity>,
}

impl std::fmt::Debug for AcmeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcmeService")
            .field("resolvers", &self.resolvers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl AcmeService {
    /// Reads every resolver's storage file and serves the certificates it holds (one that
    /// cannot be used is skipped with a warning, and obtained again).
    ///
    /// # Errors
    /// A storage file that exists but cannot be read or is not ACME storage JSON, with the
    /// name of the resolver that names it.
    pub fn start(
        resolvers: &BTreeMap<String, AcmeResolverConfig>,
    ) -> Result<AcmeService, (String, StorageError)> {
        let certificates = AcmeCertificates::default();
        let mut stored_expiry = BTreeMap::new();
        let provider = rustls::crypto::ring::default_provider();
        for (name, config) in resolvers {
            let stored = storage::read(&config.storage).map_err(|e| (name.clone(), e))?;
            let Some(record) = stored.resolvers.get(name) else {
                continue;
            };
            for cert in record.certificates.iter().flatten() {
                let names = cert.domain.names();
                let loaded = cert
                    .pem()
                    .ok_or_else(|| "not base64".to_string())
                    .and_then(|(chain, key)| certified_key(&chain, &key, &provider));
                let key = match loaded {
                    Ok(key) => key,
                    Err(reason) => {
                        tracing::warn!(
                            resolver = name.as_str(),
                            domain = cert.domain.main.as_str(),
                            "stored ACME certificate skipped: {reason}"
                        );
                        continue;
                    }
                };
                if let Some(expiry) = key.end_entity_cert().ok().and_then(|c| validity(c)) {
                    stored_expiry.insert((name.clone(), names.clone()), expiry);
                }
                certificates.insert(&names, &key);
            }
        }
        let http_entrypoints = resolvers
            .values()
            .filter_map(|r| r.http_challenge_entry_point.clone())
            .collect();
        let resolvers = resolvers
            .iter()
            .map(|(name, config)| {
                let resolver = Resolver {
                    name: name.clone(),
                    config: config.clone(),
                    account: tokio::sync::Mutex::new(None),
                };
                (name.clone(), Arc::new(resolver))
            })
            .collect();
        Ok(AcmeService {
            resolvers,
            certificates,
            challenges: Challenges::default(),
            http_entrypoints,
            maintained: Mutex::new(HashSet::new()),
            storage_lock: tokio::sync::Mutex::new(()),
            stored_expiry,
        })
    }

    /// Keeps a certificate for `names` (main name first) from resolver `resolver`: starts its
    /// background task unless one runs. Cheap when it does (a set lookup).
    pub fn maintain(self: &Arc<Self>, resolver: &str, names: Vec<String>) {
        let Some(state) = self.resolvers.get(resolver).cloned() else {
            return;
        };
        let key = (resolver.to_string(), names.clone());
        {
            let mut maintained = self.maintained.lock().unwrap_or_else(|e| e.into_inner());
            if !maintained.insert(key.clone()) {
                return;
            }
        }
        let expiry = self.stored_expiry.get(&key).copied();
        tokio::spawn(self.clone().keep(state, names, expiry));
    }

    /// A set of names' task: waits until its certificate is due for renewal (at once when
    /// there is none), orders one, and after a failure retries with back-off.
    async fn keep(
        self: Arc<Self>,
        resolver: Arc<Resolver>,
        names: Vec<String>,
        mut expiry: Option<Validity>,
    ) {
        let mut retry = FIRST_RETRY;
        let main = names.first().cloned().unwrap_or_default();
        loop {
            if let Some(expiry) = expiry {
                let due = renew_at(expiry, resolver.config.certificates_duration);
                if let Ok(wait) = due.duration_since(SystemTime::now()) {
                    tokio::time::sleep(wait.min(LONGEST_SLEEP)).await;
                    continue;
                }
            }
            match self.obtain(&resolver, &names).await {
                Ok(new_expiry) => {
                    tracing::info!(
                        resolver = resolver.name.as_str(),
                        domain = main.as_str(),
                        "ACME certificate obtained"
                    );
                    expiry = Some(new_expiry);
                    retry = FIRST_RETRY;
                }
                Err(e) => {
                    tracing::warn!(resolver = resolver.name.as_str(), domain = main.as_str(),
                        retry_in = ?retry, "cannot obtain an ACME certificate: {e}");
                    tokio::time::sleep(retry).await;
                    retry = next_retry(retry);
                }
            }
        }
    }

    /// Orders a certificate for `names`, stores it and serves it; returns its validity.
    async fn obtain(&self, resolver: &Resolver, names: &[String]) -> Result<Validity, AcmeError> {
        let account = {
            let mut cached = resolver.account.lock().await;
            match cached.as_ref() {
                Some(account) => account.clone(),
                None => {
                    let _storage = self.storage_lock.lock().await;
                    let account = super::account::account(&resolver.name, &resolver.config).await?;
                    *cached = Some(account.clone());
                    account
                }
            }
        };
        let kind = match resolver.config.http_challenge_entry_point {
            Some(_) => ChallengeKind::Http01,
            None => ChallengeKind::TlsAlpn01,
        };
        let issued = issue(
            &account,
            names,
            kind,
            resolver.config.key_type,
            &self.challenges,
        )
        .await?;
        let provider = rustls::crypto::ring::default_provider();
        let key = certified_key(
            issued.chain_pem.as_bytes(),
            issued.key_pem.as_bytes(),
            &provider,
        )
        .map_err(AcmeError::Local)?;
        let expiry = key
            .end_entity_cert()
            .ok()
            .and_then(|c| validity(c))
            .ok_or_else(|| {
                AcmeError::Local("the issued certificate has no readable expiry".into())
            })?;
        {
            let _storage = self.storage_lock.lock().await;
            let path = &resolver.config.storage;
            let mut stored = storage::read(path)?;
            let record = stored.resolvers.entry(resolver.name.clone()).or_default();
            let certs = record.certificates.get_or_insert_with(Vec::new);
            certs.retain(|c| c.domain.names() != names);
            certs.push(CertificateRecord::new(
                names,
                &issued.chain_pem,
                &issued.key_pem,
            ));
            storage::write(path, &stored)?;
        }
        self.certificates.insert(names, &key);
        Ok(expiry)
    }
}
