//! The certificates the TLS layer serves, described with Traefik's labels for
//! `traefik_tls_certs_not_after` (`cn`, `serial`, `sans`). Read when a snapshot's certificate
//! store is built; published by `app` once the snapshot is good.

use crate::admin::published::ServedCertificate;
use der_walk::{OID, element, integer_decimal, subject_alt_names, tbs_fields};

/// OID 2.5.4.3 (commonName), DER-encoded contents.
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// GeneralName `dNSName` ([2] IMPLICIT IA5String).
const DNS_NAME: u8 = 0x82;

/// The labels and expiry of a DER certificate; `None` when it does not parse.
pub(crate) fn describe(der: &[u8]) -> Option<ServedCertificate> {
    let fields = tbs_fields(der)?;
    let not_after = super::acme::validity(der)?
        .not_after
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(ServedCertificate {
        cn: common_name(fields.subject).unwrap_or_default(),
        sans: fields
            .extensions
            .map(dns_names)
            .unwrap_or_default()
            .join(","),
        serial: integer_decimal(fields.serial),
        not_after: i64::try_from(not_after.as_secs()).ok()?,
    })
}

/// The first commonName of an RDN sequence.
fn common_name(mut rdns: &[u8]) -> Option<String> {
    while let Some((_, set, rest)) = element(rdns) {
        let mut attrs = set;
        while let Some((_, attr, after)) = element(attrs) {
            let (tag, oid, value) = element(attr)?;
            if tag == OID && oid == COMMON_NAME {
                let (_, text, _) = element(value)?;
                return Some(String::from_utf8_lossy(text).into_owned());
            }
            attrs = after;
        }
        rdns = rest;
    }
    None
}

/// The dNSName entries of the subjectAltName extension, in order.
fn dns_names(extensions: &[u8]) -> Vec<String> {
    subject_alt_names(extensions)
        .filter(|(tag, _)| *tag == DNS_NAME)
        .map(|(_, name)| String::from_utf8_lossy(name).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_is_described_with_traefiks_labels() {
        let mut params =
            rcgen::CertificateParams::new(vec!["a.test".to_string(), "*.b.test".to_string()])
                .expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Example CN");
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        ]));
        params.not_after = rcgen::date_time_ymd(2031, 7, 9);
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        let d = describe(cert.der()).expect("parses");
        assert_eq!(d.cn, "Example CN");
        assert_eq!(d.sans, "a.test,*.b.test");
        // 2^64 + 1
        assert_eq!(d.serial, "18446744073709551617");
        assert_eq!(d.not_after, 1_941_321_600);
        assert_eq!(describe(b"\x30\x03\x02\x01"), None);
    }

    #[test]
    fn serials_print_in_decimal() {
        assert_eq!(integer_decimal(&[0x00, 0xff]), "255");
        assert_eq!(integer_decimal(&[0x00]), "0");
        assert_eq!(integer_decimal(&[0xff]), "-1");
        assert_eq!(integer_decimal(&[0x30, 0x39]), "12345");
    }
}
