//! The fields of a DER X.509 certificate that Traefik's `passTLSClientCert` reports, read the
//! way Go's `crypto/x509` reads them (Traefik is written in Go, and its header is what backends
//! parse): the serial as a big integer, the validity as Unix seconds, issuer and subject as
//! `pkix.Name` fills them, and the subjectAltName entries grouped as Go groups them.
//!
//! Runs per request with a client certificate and `info` configured: a walk over a few hundred
//! bytes, no allocation beyond the strings kept.

use der_walk::{oid_text, string_text};

/// A distinguished name as Go's `pkix.Name` holds it after `FillFromRDNSequence`: repeated
/// attributes in order, `serialNumber` and `commonName` the last one given; and the domain
/// components (RFC 2247), which Traefik reads from `Names` in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Name {
    pub country: Vec<String>,
    pub province: Vec<String>,
    pub locality: Vec<String>,
    pub organization: Vec<String>,
    pub organizational_unit: Vec<String>,
    pub serial_number: String,
    pub common_name: String,
    pub domain_component: Vec<String>,
}

/// What `info` can report of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFields {
    /// The serial number in decimal (Go's `big.Int.String`).
    pub serial: String,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    pub issuer: Name,
    pub subject: Name,
    /// DNS names, then e-mail addresses, then IP addresses, then URIs (Go's grouping).
    pub sans: Vec<String>,
}

/// Why a certificate could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedCertificate(pub &'static str);

/// OID of the domainComponent attribute (RFC 2247).
const DOMAIN_COMPONENT: &str = "0.9.2342.19200300.100.1.25";

/// Reads the fields of the DER certificate `der`.
///
/// # Errors
/// When the TBSCertificate's fields are not where X.509 puts them, or a time is not in the
/// UTCTime / GeneralizedTime form certificates use.
pub fn read(der: &[u8]) -> Result<CertFields, MalformedCertificate> {
    let fields =
        der_walk::tbs_fields(der).ok_or(MalformedCertificate("not an X.509 certificate"))?;
    let (not_before, not_after) = der_walk::validity_seconds(fields.validity)
        .ok_or(MalformedCertificate("invalid validity"))?;
    Ok(CertFields {
        serial: der_walk::integer_decimal(fields.serial),
        not_before,
        not_after,
        issuer: read_name(fields.issuer),
        subject: read_name(fields.subject),
        sans: fields.extensions.map(general_names).unwrap_or_default(),
    })
}

/// A `Name` from an RDNSequence's contents. Attribute values that are not strings are skipped
/// (Go keeps them only in `Names`, where Traefik prints domain components only).
fn read_name(rdn_sequence: &[u8]) -> Name {
    let mut name = Name::default();
    // An attribute that is not an OID and a value, or whose value is not a string, is skipped.
    for (oid, value_tag, value) in der_walk::name_attributes(rdn_sequence).flatten() {
        let Some(value) = string_text(value_tag, value) else {
            continue;
        };
        match oid {
            [0x55, 0x04, 3] => name.common_name = value,
            [0x55, 0x04, 5] => name.serial_number = value,
            [0x55, 0x04, 6] => name.country.push(value),
            [0x55, 0x04, 7] => name.locality.push(value),
            [0x55, 0x04, 8] => name.province.push(value),
            [0x55, 0x04, 10] => name.organization.push(value),
            [0x55, 0x04, 11] => name.organizational_unit.push(value),
            _ if oid_text(oid) == DOMAIN_COMPONENT => name.domain_component.push(value),
            _ => {}
        }
    }
    name
}

/// The subjectAltName entries among `extensions`, grouped as Go's `x509.Certificate` holds
/// them: DNS names, e-mail addresses, IP addresses (Go's `net.IP.String`), URIs, each group in
/// certificate order.
fn general_names(extensions: &[u8]) -> Vec<String> {
    let (mut dns, mut emails, mut ips, mut uris) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (tag, value) in der_walk::subject_alt_names(extensions) {
        let text = || {
            value
                .is_ascii()
                .then(|| String::from_utf8_lossy(value).into_owned())
        };
        match tag {
            0x81 => emails.extend(text()),
            0x82 => dns.extend(text()),
            0x86 => uris.extend(text()),
            0x87 => ips.extend(ip_text(value)),
            _ => {}
        }
    }
    dns.into_iter()
        .chain(emails)
        .chain(ips)
        .chain(uris)
        .collect()
}

/// An iPAddress entry as Go's `net.IP.String` writes it: dotted for IPv4 and IPv4-mapped IPv6,
/// RFC 5952 text for other IPv6.
fn ip_text(bytes: &[u8]) -> Option<String> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(Ipv4Addr::from(v4).to_string());
    }
    let v6 = Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => v6.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addresses_print_as_go_prints_them() {
        assert_eq!(ip_text(&[10, 0, 0, 1]).as_deref(), Some("10.0.0.1"));
        let mapped = std::net::Ipv4Addr::new(1, 2, 3, 4)
            .to_ipv6_mapped()
            .octets();
        assert_eq!(ip_text(&mapped).as_deref(), Some("1.2.3.4"));
        let v6: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(ip_text(&v6.octets()).as_deref(), Some("2001:db8::1"));
        assert_eq!(ip_text(&[1, 2, 3]), None);
    }
}
