//! One certificate order with an ACME CA: the challenge of each name answered (HTTP-01 or
//! TLS-ALPN-01, through [`Challenges`]), a key generated and a CSR sent, the chain downloaded.
//! Runs on a resolver's background task; takes as long as the CA's validation (seconds), and
//! each request to the CA is bounded by the HTTP client's timeout.

use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewOrder, OrderStatus, RetryPolicy,
};

use super::challenges::Challenges;
use crate::config::AcmeKeyType;

/// Why an order failed. Logged with the resolver and the names, then retried with back-off.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    #[error("ACME request failed: {0}")]
    Protocol(#[from] instant_acme::Error),
    #[error("the CA offers no {0:?} challenge for \"{1}\"")]
    NoChallenge(ChallengeType, String),
    #[error("authorization for \"{0}\" is {1:?}")]
    Authorization(String, AuthorizationStatus),
    #[error("the order ended {0:?} instead of ready")]
    OrderNotReady(OrderStatus),
    #[error("{0}")]
    Local(String),
    #[error(transparent)]
    Storage(#[from] super::storage::StorageError),
}

/// A certificate the CA issued: its PEM chain and the PEM key it was requested for.
pub(crate) struct Issued {
    pub(crate) chain_pem: String,
    pub(crate) key_pem: String,
}

/// How the names of an order prove control.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ChallengeKind {
    Http01,
    TlsAlpn01,
}

/// Removes an order's challenges from [`Challenges`] however the order ends.
struct Answered<'a> {
    challenges: &'a Challenges,
    http_tokens: Vec<String>,
    tls_names: Vec<String>,
}

impl Drop for Answered<'_> {
    fn drop(&mut self) {
        for token in &self.http_tokens {
            self.challenges.remove_http01(token);
        }
        for name in &self.tls_names {
            self.challenges.remove_tls_alpn01(name);
        }
    }
}

/// Orders a certificate for `names` (main name first) from `account`'s CA.
///
/// # Errors
/// The CA refuses the order or a challenge fails validation, the CA is unreachable, or the key
/// or CSR cannot be made.
pub(crate) async fn issue(
    account: &Account,
    names: &[String],
    kind: ChallengeKind,
    key_type: AcmeKeyType,
    challenges: &Challenges,
) -> Result<Issued, AcmeError> {
    let identifiers: Vec<Identifier> = names.iter().map(|n| Identifier::Dns(n.clone())).collect();
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
    let mut answered = Answered {
        challenges,
        http_tokens: Vec::new(),
        tls_names: Vec::new(),
    };
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization?;
        let name = match &authorization.identifier().identifier {
            Identifier::Dns(name) => name.clone(),
            other => format!("{other:?}"),
        };
        match authorization.status {
            AuthorizationStatus::Valid => continue,
            AuthorizationStatus::Pending => {}
            status => return Err(AcmeError::Authorization(name, status)),
        }
        let challenge_type = match kind {
            ChallengeKind::Http01 => ChallengeType::Http01,
            ChallengeKind::TlsAlpn01 => ChallengeType::TlsAlpn01,
        };
        let Some(mut challenge) = authorization.challenge(challenge_type.clone()) else {
            return Err(AcmeError::NoChallenge(challenge_type, name));
        };
        let key_authorization = challenge.key_authorization();
        match kind {
            ChallengeKind::Http01 => {
                challenges.add_http01(&challenge.token, key_authorization.as_str());
                answered.http_tokens.push(challenge.token.clone());
            }
            ChallengeKind::TlsAlpn01 => {
                challenges
                    .add_tls_alpn01(&name, key_authorization.digest().as_ref())
                    .map_err(AcmeError::Local)?;
                answered.tls_names.push(name.clone());
            }
        }
        challenge.set_ready().await?;
    }
    let patient = RetryPolicy::new().timeout(std::time::Duration::from_secs(90));
    let status = order.poll_ready(&patient).await?;
    if status != OrderStatus::Ready {
        return Err(AcmeError::OrderNotReady(status));
    }
    drop(answered);
    let local = |e: rcgen::Error| AcmeError::Local(format!("cannot make the key or CSR: {e}"));
    let algorithm = match key_type {
        AcmeKeyType::Ec256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        AcmeKeyType::Ec384 => &rcgen::PKCS_ECDSA_P384_SHA384,
    };
    let key = rcgen::KeyPair::generate_for(algorithm).map_err(local)?;
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(local)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&key).map_err(local)?;
    order.finalize_csr(csr.der()).await?;
    let chain_pem = order.poll_certificate(&patient).await?;
    Ok(Issued {
        chain_pem,
        key_pem: key.serialize_pem(),
    })
}
