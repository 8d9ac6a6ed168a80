//! A minimal walk of DER-encoded X.509 certificates: one element at a time, the
//! TBSCertificate fields the gateway and its plugins read, and certificate times as Unix
//! seconds. Shared by the host (`tls`: served certificates, ACME validity; config and load
//! time) and guest plugins (`pass-tls-client-cert`: per request), so there is one reader.
//!
//! `no_std`; nothing allocates but the texts ([`integer_decimal`], [`oid_text`],
//! [`string_text`]): every other result borrows from the input. Single-byte tags and definite
//! lengths of up to 4 bytes, which is all X.509 uses. Costs a few dozen byte reads.

#![no_std]

extern crate alloc;

mod integer;
mod text;
mod time;

pub use integer::integer_decimal;
pub use text::{oid_text, string_text};
pub use time::{days_from_civil, unix_seconds};

/// Tag of a BOOLEAN.
pub const BOOLEAN: u8 = 0x01;
/// Tag of an INTEGER.
pub const INTEGER: u8 = 0x02;
/// Tag of an OCTET STRING.
pub const OCTET_STRING: u8 = 0x04;
/// Tag of an OBJECT IDENTIFIER.
pub const OID: u8 = 0x06;
/// Tag of a UTCTime.
pub const UTC_TIME: u8 = 0x17;
/// Tag of a GeneralizedTime.
pub const GENERALIZED_TIME: u8 = 0x18;
/// Tag of a SEQUENCE.
pub const SEQUENCE: u8 = 0x30;
/// Tag of a SET.
pub const SET: u8 = 0x31;

/// One DER element of `der`: its tag, its contents and the bytes after it; `None` when `der`
/// is empty or not well formed.
pub fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The element of `der` if its tag is `want`: its contents and the bytes after it.
pub fn expect(der: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    match element(der)? {
        (tag, contents, rest) if tag == want => Some((contents, rest)),
        _ => None,
    }
}

/// The elements of a constructed value's contents, in order, as (tag, contents); stops at the
/// first malformed one.
pub fn elements(mut contents: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    core::iter::from_fn(move || {
        let (tag, value, rest) = element(contents)?;
        contents = rest;
        Some((tag, value))
    })
}

/// The contents of the TBSCertificate fields read here.
#[derive(Debug, Clone, Copy)]
pub struct TbsFields<'a> {
    /// serialNumber's contents (big-endian two's complement).
    pub serial: &'a [u8],
    /// issuer's contents (the RDN sequence).
    pub issuer: &'a [u8],
    /// Validity's contents: notBefore then notAfter.
    pub validity: &'a [u8],
    /// subject's contents (the RDN sequence).
    pub subject: &'a [u8],
    /// The contents of the SEQUENCE of Extension inside the `[3]` wrapper, when present.
    pub extensions: Option<&'a [u8]>,
}

/// The fields of a DER certificate; `None` when it is not X.509 as expected.
pub fn tbs_fields(der: &[u8]) -> Option<TbsFields<'_>> {
    const VERSION: u8 = 0xa0;
    const EXTENSIONS: u8 = 0xa3;
    let (certificate, _) = expect(der, SEQUENCE)?;
    let (tbs, _) = expect(certificate, SEQUENCE)?;
    let mut rest = tbs;
    if let Some((VERSION, _, after)) = element(rest) {
        rest = after;
    }
    let (serial, rest) = expect(rest, INTEGER)?;
    let (_signature, rest) = expect(rest, SEQUENCE)?;
    let (issuer, rest) = expect(rest, SEQUENCE)?;
    let (validity, rest) = expect(rest, SEQUENCE)?;
    let (subject, rest) = expect(rest, SEQUENCE)?;
    let (_public_key, mut rest) = expect(rest, SEQUENCE)?;
    let mut extensions = None;
    while let Some((tag, contents, after)) = element(rest) {
        if tag == EXTENSIONS {
            extensions = Some(expect(contents, SEQUENCE)?.0);
        }
        rest = after;
    }
    Some(TbsFields {
        serial,
        issuer,
        validity,
        subject,
        extensions,
    })
}

/// The attributes of a Name ([`TbsFields::subject`], [`TbsFields::issuer`]: an RDNSequence's
/// contents), in certificate order, as (type OID's contents, value's tag, value's contents);
/// `None` for an RDN that is not a SET or an attribute that is not a SEQUENCE of an OID and a
/// value (each caller decides whether that spoils the whole name).
pub fn name_attributes(rdn_sequence: &[u8]) -> impl Iterator<Item = Option<(&[u8], u8, &[u8])>> {
    elements(rdn_sequence).flat_map(|(tag, rdn)| {
        let (set, not_a_set) = match tag {
            SET => (rdn, None),
            _ => (&[][..], Some(None)),
        };
        not_a_set
            .into_iter()
            .chain(elements(set).map(|(tag, attribute)| {
                if tag != SEQUENCE {
                    return None;
                }
                let (oid, rest) = expect(attribute, OID)?;
                let (value_tag, value, _) = element(rest)?;
                Some((oid, value_tag, value))
            }))
    })
}

/// OID 2.5.29.17 (subjectAltName), DER contents.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// The GeneralName entries (tag, contents) of the subjectAltName extension among `extensions`
/// ([`TbsFields::extensions`]), in certificate order; none when it is absent or malformed.
/// Tags: `0x81` rfc822Name, `0x82` dNSName, `0x86` URI, `0x87` iPAddress.
pub fn subject_alt_names(extensions: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let names = elements(extensions)
        .filter(|(tag, _)| *tag == SEQUENCE)
        .find_map(|(_, extension)| {
            let (oid, mut rest) = expect(extension, OID)?;
            if oid != SUBJECT_ALT_NAME {
                return None;
            }
            // An optional `critical` BOOLEAN before the value.
            if let Some((BOOLEAN, _, after)) = element(rest) {
                rest = after;
            }
            let (value, _) = expect(rest, OCTET_STRING)?;
            Some(expect(value, SEQUENCE)?.0)
        });
    elements(names.unwrap_or(&[]))
}

/// notBefore and notAfter of a Validity's contents, as Unix seconds.
pub fn validity_seconds(validity: &[u8]) -> Option<(i64, i64)> {
    let (tag, before, rest) = element(validity)?;
    let not_before = unix_seconds(tag, before)?;
    let (tag, after, _) = element(rest)?;
    Some((not_before, unix_seconds(tag, after)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lengths_and_truncated_input() {
        let mut long = [7u8; 131];
        long[..3].copy_from_slice(&[0x04, 0x81, 0x80]);
        let (tag, contents, rest) = element(&long).expect("element");
        assert_eq!((tag, contents.len(), rest.len()), (0x04, 128, 0));
        assert!(element(&long[..100]).is_none());
        assert!(element(&[0x30]).is_none());
        assert!(tbs_fields(b"\x30\x03\x02\x01").is_none());
    }

    #[test]
    fn elements_walks_a_sequence() {
        let contents = [0x02, 0x01, 0x05, 0x04, 0x00];
        let mut walk = elements(&contents);
        assert_eq!(walk.next(), Some((INTEGER, &[5u8][..])));
        assert_eq!(walk.next(), Some((OCTET_STRING, &[][..])));
        assert_eq!(walk.next(), None);
    }

    #[test]
    fn name_attributes_in_order_and_malformed_ones_as_none() {
        let rdns = [
            // SET { SEQUENCE { OID 2.5.4.3, UTF8String "a" }, SEQUENCE { OID 2.5.4.11, PrintableString "b" } }
            0x31, 0x12, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, b'a', 0x30, 0x06,
            0x06, 0x01, 0x2a, 0x13, 0x01, b'b',
            // SEQUENCE (not a SET) holding an attribute
            0x30, 0x02, 0x05, 0x00,
            // SET { INTEGER (not an attribute), SEQUENCE { OID without a value } }
            0x31, 0x08, 0x02, 0x01, 0x01, 0x30, 0x03, 0x06, 0x01, 0x2a,
        ];
        let got: alloc::vec::Vec<_> = name_attributes(&rdns).collect();
        assert_eq!(
            got,
            [
                Some((&[0x55, 0x04, 0x03][..], 0x0c, &b"a"[..])),
                Some((&[0x2a][..], 0x13, &b"b"[..])),
                None,
                None,
                None,
            ]
        );
    }
}
