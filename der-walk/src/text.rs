//! The text of names' parts: object identifiers as dotted text, and the ASN.1 string kinds Go's
//! x509 accepts in names. Shared by the `pass-tls-client-cert` plugin (per request) and the
//! host's access log (`TLSClientSubject`, once per TLS connection).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// The dotted text of an OBJECT IDENTIFIER's contents (`2.5.4.3`).
pub fn oid_text(contents: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &b in contents {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    let parts: Vec<String> = arcs.iter().map(u64::to_string).collect();
    parts.join(".")
}

/// The text of an ASN.1 string of the kinds Go's x509 accepts in names (UTF8String,
/// PrintableString, IA5String, NumericString, T61String read as Latin-1, BMPString as UTF-16);
/// `None` for another tag or bytes that are not that kind's.
pub fn string_text(tag: u8, bytes: &[u8]) -> Option<String> {
    match tag {
        0x0c => String::from_utf8(bytes.to_vec()).ok(),
        0x12 | 0x13 | 0x16 => bytes
            .is_ascii()
            .then(|| String::from_utf8_lossy(bytes).into_owned()),
        0x14 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        0x1e => {
            let bytes = bytes.strip_suffix(&[0, 0]).unwrap_or(bytes);
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units = bytes
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_read_as_dotted_text() {
        assert_eq!(oid_text(&[0x55, 0x04, 0x03]), "2.5.4.3");
        assert_eq!(
            oid_text(&[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19]),
            "0.9.2342.19200300.100.1.25"
        );
    }

    #[test]
    fn strings_of_every_kind_go_accepts() {
        assert_eq!(
            string_text(0x0c, "Zürich".as_bytes()).as_deref(),
            Some("Zürich")
        );
        assert_eq!(string_text(0x13, b"FR").as_deref(), Some("FR"));
        assert_eq!(string_text(0x14, &[0x5a, 0xfc]).as_deref(), Some("Zü"));
        assert_eq!(
            string_text(0x1e, &[0x00, 0x5a, 0x00, 0xfc, 0, 0]).as_deref(),
            Some("Zü")
        );
        assert_eq!(string_text(0x04, b"x"), None);
    }
}
