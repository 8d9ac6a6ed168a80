//! The certificates the TLS layer serves, described with Traefik's labels for
//! `traefik_tls_certs_not_after` (`cn`, `serial`, `sans`). Read when a snapshot's certificate
//! store is built; published by `app` once the snapshot is good.

use crate::admin::published::ServedCertificate;
use crate::tls::der::{SEQUENCE, element, tbs_fields};

/// OID 2.5.4.3 (commonName), DER-encoded contents.
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// OID 2.5.29.17 (subjectAltName).
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
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
        serial: decimal(fields.serial),
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
fn dns_names(mut extensions: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    while let Some((tag, extension, rest)) = element(extensions) {
        extensions = rest;
        if tag != SEQUENCE {
            continue;
        }
        let Some((OID, oid, mut after)) = element(extension) else {
            continue;
        };
        if oid != SUBJECT_ALT_NAME {
            continue;
        }
        // An optional `critical` BOOLEAN before the value.
        while let Some((tag, value, next)) = element(after) {
            if tag == OCTET_STRING {
                if let Some((SEQUENCE, mut general, _)) = element(value) {
                    while let Some((tag, name, next)) = element(general) {
                        if tag == DNS_NAME {
                            names.push(String::from_utf8_lossy(name).into_owned());
                        }
                        general = next;
                    }
                }
                break;
            }
            after = next;
        }
    }
    names
}

/// A DER INTEGER's contents in decimal, as Go's `big.Int.String()` prints a serial.
fn decimal(be: &[u8]) -> String {
    let negative = be.first().is_some_and(|b| b & 0x80 != 0);
    let mut digits: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    if negative {
        // Two's complement: a negative serial (not allowed by RFC 5280, seen in the wild).
        let mut carry = true;
        for b in digits.iter_mut().rev() {
            let (v, c) = (!*b).overflowing_add(u8::from(carry));
            *b = v;
            carry = c;
        }
    }
    let mut out = Vec::new();
    while digits.iter().any(|b| *b != 0) {
        let mut rem = 0u32;
        for b in digits.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = u8::try_from(cur / 10).unwrap_or(0);
            rem = cur % 10;
        }
        out.push(b'0' + u8::try_from(rem).unwrap_or(0));
    }
    if out.is_empty() {
        out.push(b'0');
    }
    if negative {
        out.push(b'-');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
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
        assert_eq!(decimal(&[0x00, 0xff]), "255");
        assert_eq!(decimal(&[0x00]), "0");
        assert_eq!(decimal(&[0xff]), "-1");
        assert_eq!(decimal(&[0x30, 0x39]), "12345");
    }
}
