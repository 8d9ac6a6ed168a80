//! A resolver's ACME account: restored from the storage file when it holds one (no request to
//! the CA until an order needs it), else created at the CA and stored. Runs on a resolver's
//! first issuance of the process; later issuances reuse the account in memory.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use instant_acme::{Account, NewAccount};
use rustls::pki_types::PrivatePkcs8KeyDer;

use super::http_client::AcmeHttpClient;
use super::issue::AcmeError;
use super::storage::{self, AccountRecord, Registration};
use crate::config::AcmeResolverConfig;

/// The ACME directory of `config` (`caServer`, else Let's Encrypt's production directory).
pub(crate) fn directory_url(config: &AcmeResolverConfig) -> String {
    config
        .ca_server
        .clone()
        .unwrap_or_else(|| instant_acme::LetsEncrypt::Production.url().to_string())
}

/// The account of resolver `name`, restored from its stored record or created. The caller
/// holds the storage lock.
///
/// # Errors
/// The CA is unreachable or refuses the account, the CA files are unusable, or the storage file
/// cannot be read or written.
pub(crate) async fn account(name: &str, config: &AcmeResolverConfig) -> Result<Account, AcmeError> {
    let http = || {
        AcmeHttpClient::new(&config.ca_certificates, config.ca_system_cert_pool)
            .map(|c| Box::new(c) as Box<dyn instant_acme::HttpClient>)
            .map_err(AcmeError::Local)
    };
    let url = directory_url(config);
    let mut stored = storage::read(&config.storage)?;
    let record = stored.resolvers.get(name).and_then(|r| r.account.as_ref());
    if let Some((uri, key)) = record.and_then(restorable) {
        let key = PrivatePkcs8KeyDer::from(key);
        match Account::builder_with_http(http()?)
            .from_parts(uri, key, url.clone())
            .await
        {
            Ok(account) => return Ok(account),
            Err(e) => tracing::warn!(
                resolver = name,
                "the stored ACME account cannot be used ({e}); creating a new one"
            ),
        }
    }
    let contact: Vec<String> = config.email.iter().map(|e| format!("mailto:{e}")).collect();
    let contact: Vec<&str> = contact.iter().map(String::as_str).collect();
    let new = NewAccount {
        contact: &contact,
        terms_of_service_agreed: true,
        only_return_existing: false,
    };
    let (account, credentials) = Account::builder_with_http(http()?)
        .create(&new, url, None)
        .await?;
    let record = AccountRecord {
        email: config.email.clone().unwrap_or_default(),
        registration: Some(Registration {
            body: serde_json::json!({ "status": "valid", "contact": contact }),
            uri: account.id().to_string(),
        }),
        private_key: STANDARD.encode(credentials.private_key().secret_pkcs8_der()),
        key_type: "EC256".to_string(),
    };
    stored
        .resolvers
        .entry(name.to_string())
        .or_default()
        .account = Some(record);
    storage::write(&config.storage, &stored)?;
    tracing::info!(
        resolver = name,
        account = account.id(),
        "ACME account created"
    );
    Ok(account)
}

/// The account URL and PKCS#8 key of a stored account, when both are there.
fn restorable(record: &AccountRecord) -> Option<(String, Vec<u8>)> {
    let uri = record.registration.as_ref()?.uri.clone();
    let key = STANDARD.decode(record.private_key.trim()).ok()?;
    (!uri.is_empty() && !key.is_empty()).then_some((uri, key))
}
