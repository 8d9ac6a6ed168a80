//! Bundled plugin `pass-tls-client-cert`: Traefik's `passTLSClientCert` middleware.
//!
//! On a request whose TLS connection presented client certificates (the `connection`
//! interface: DER, leaf first), sets for the upstream:
//! - `pem: true`: `X-Forwarded-Tls-Client-Cert`, each certificate's PEM body (base64 of the
//!   DER, without the BEGIN/END lines and newlines), the chain joined by `,`. Not URL-escaped:
//!   Traefik v3 dropped v2's escaping (base64 needs none in a header).
//! - `info`: `X-Forwarded-Tls-Client-Cert-Info`, the selected fields of each certificate in
//!   Traefik's format ([`info`]), URL-escaped as Go's `url.QueryEscape` does.
//!
//! One deliberate difference from Traefik: when the connection presented no certificate, a
//! header of that name sent by the client is removed rather than passed on, so a backend that
//! trusts the header cannot be handed a forged one.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     client-cert:
//!       passTLSClientCert:
//!         pem: true
//!         info:
//!           notAfter: true
//!           sans: true
//!           subject: { commonName: true, organization: true }
//!           issuer: { commonName: true }
//! ```
//!
//! Cost per request: one host call for the chain (a copy of its DER), then base64 and/or a DER
//! walk of each certificate; no response hook. Without a client certificate: the host call
//! and one header removal per configured header.

pub mod cert;
pub mod info;

use base64::Engine as _;
use plugin_sdk::{Action, Middleware, Request, client_connection};
use serde::Deserialize;
use traefik_options::options::{self, Flag};

use info::{InfoFields, NameFields, query_escape};

/// Header carrying the PEM chain.
pub const CERT_HEADER: &str = "X-Forwarded-Tls-Client-Cert";
/// Header carrying the selected fields.
pub const INFO_HEADER: &str = "X-Forwarded-Tls-Client-Cert-Info";

/// Traefik's `passTLSClientCert` options.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct Options {
    pem: Flag,
    info: Option<InfoOptions>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct InfoOptions {
    not_after: Flag,
    not_before: Flag,
    sans: Flag,
    serial_number: Flag,
    subject: Option<NameOptions>,
    issuer: Option<NameOptions>,
}

/// The name fields of `info.subject` and `info.issuer` (Traefik's issuer options have no
/// `organizationalUnit`: refused there by `from_config`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct NameOptions {
    country: Flag,
    province: Flag,
    locality: Flag,
    organization: Flag,
    organizational_unit: Option<Flag>,
    common_name: Flag,
    serial_number: Flag,
    domain_component: Flag,
}

impl From<NameOptions> for NameFields {
    fn from(o: NameOptions) -> Self {
        NameFields {
            country: o.country.0,
            province: o.province.0,
            locality: o.locality.0,
            organization: o.organization.0,
            organizational_unit: o.organizational_unit.is_some_and(|f| f.0),
            common_name: o.common_name.0,
            serial_number: o.serial_number.0,
            domain_component: o.domain_component.0,
        }
    }
}

/// The configured middleware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassTlsClientCert {
    /// Set `X-Forwarded-Tls-Client-Cert`.
    pub pem: bool,
    /// Set `X-Forwarded-Tls-Client-Cert-Info` with these fields.
    pub info: Option<InfoFields>,
}

impl PassTlsClientCert {
    /// The `X-Forwarded-Tls-Client-Cert` value of a chain (DER, leaf first).
    pub fn pem_value(chain: &[Vec<u8>]) -> String {
        let bodies: Vec<String> = chain
            .iter()
            .map(|der| base64::engine::general_purpose::STANDARD.encode(der))
            .collect();
        bodies.join(",")
    }

    /// The `X-Forwarded-Tls-Client-Cert-Info` value of a chain, escaped. A certificate the
    /// DER walk cannot read counts as one with no fields (Go would have refused the
    /// handshake; rustls accepted it, so it is still passed on).
    pub fn info_value(fields: &InfoFields, chain: &[Vec<u8>]) -> String {
        let per_cert: Vec<String> = chain
            .iter()
            .map(|der| match cert::read(der) {
                Ok(cert) => fields.certificate(&cert),
                Err(_) => String::new(),
            })
            .collect();
        query_escape(&per_cert.join(","))
    }
}

impl Middleware for PassTlsClientCert {
    fn from_config(config: &str) -> Result<Self, String> {
        let options: Options = options::parse(config)?;
        if let Some(issuer) = options.info.as_ref().and_then(|i| i.issuer.as_ref())
            && issuer.organizational_unit.is_some()
        {
            return Err(
                "info.issuer: unknown option \"organizationalUnit\" (only the subject has one)"
                    .into(),
            );
        }
        let info = options.info.map(|i| InfoFields {
            not_after: i.not_after.0,
            not_before: i.not_before.0,
            sans: i.sans.0,
            serial_number: i.serial_number.0,
            subject: i.subject.map(NameFields::from),
            issuer: i.issuer.map(NameFields::from),
        });
        Ok(PassTlsClientCert {
            pem: options.pem.0,
            info,
        })
    }

    fn wants_response_hook(&self) -> bool {
        false
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        if !self.pem && self.info.is_none() {
            return Action::Continue;
        }
        let chain = client_connection::client_certificates(req);
        if chain.is_empty() {
            if self.pem {
                req.remove_header(CERT_HEADER);
            }
            if self.info.is_some() {
                req.remove_header(INFO_HEADER);
            }
            return Action::Continue;
        }
        // The values are base64 and URL-escaped text: always valid header values. An edit
        // refused for the header budget drops the header rather than leave the client's.
        if self.pem
            && req
                .set_header(CERT_HEADER, Self::pem_value(&chain))
                .is_err()
        {
            req.remove_header(CERT_HEADER);
        }
        if let Some(fields) = &self.info
            && req
                .set_header(INFO_HEADER, Self::info_value(fields, &chain))
                .is_err()
        {
            req.remove_header(INFO_HEADER);
        }
        Action::Continue
    }
}

plugin_sdk::export_middleware!(PassTlsClientCert);

#[cfg(test)]
mod tests;
