//! What the access log says about a TLS session, spelt as Traefik spells it: `TLSVersion`
//! (`1.3`), `TLSCipher` (Go's suite names, `TLS_AES_128_GCM_SHA256`) and `TLSClientSubject`
//! (the client certificate's subject as Go's `pkix.Name.String()` writes it).
//!
//! Runs once per TLS connection, right after its handshake: two table look-ups, and for a
//! client certificate a walk of its subject (a few hundred byte reads and one string). Every
//! logged request of the connection shares the result.

use der_walk::{oid_text, string_text};

use crate::admin::TlsFacts;

/// The facts of a finished handshake.
pub fn session_facts(conn: &rustls::ServerConnection) -> TlsFacts {
    TlsFacts {
        version: conn.protocol_version().map_or("unknown", version_name),
        cipher: conn
            .negotiated_cipher_suite()
            .map_or("unknown", |s| cipher_name(s.suite())),
        client_subject: conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|leaf| subject_text(leaf))
            .map(String::into_boxed_str),
    }
}

/// Traefik's `GetVersion`.
fn version_name(version: rustls::ProtocolVersion) -> &'static str {
    match version {
        rustls::ProtocolVersion::TLSv1_0 => "1.0",
        rustls::ProtocolVersion::TLSv1_1 => "1.1",
        rustls::ProtocolVersion::TLSv1_2 => "1.2",
        rustls::ProtocolVersion::TLSv1_3 => "1.3",
        _ => "unknown",
    }
}

/// Traefik's `GetCipherName` (Go's constant names; rustls names the TLS 1.3 suites `TLS13_…`)
/// for the suites the gateway offers.
fn cipher_name(suite: rustls::CipherSuite) -> &'static str {
    use rustls::CipherSuite as C;
    match suite {
        C::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        C::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        C::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => {
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        }
        C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => {
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
        }
        _ => "unknown",
    }
}

/// The attributes Go's `pkix.Name` keeps in named fields, in the order its `ToRDNSequence`
/// lays them out (the string is written last first): the last byte of each `2.5.4.x` type
/// and the name `String()` writes for it.
const NAMED: [(u8, &str); 9] = [
    (6, "C"),
    (8, "ST"),
    (7, "L"),
    (9, "STREET"),
    (17, "POSTALCODE"),
    (10, "O"),
    (11, "OU"),
    (3, "CN"),
    (5, "SERIALNUMBER"),
];

/// A certificate's subject as Go's `pkix.Name.String()` writes it (what Traefik logs as
/// `TLSClientSubject`): the named attributes first, `SERIALNUMBER`, `CN`, `OU`, `O`,
/// `POSTALCODE`, `STREET`, `L`, `ST`, `C` (one attribute's values joined by `+`; `CN` and
/// `SERIALNUMBER` keep only the last value given), then the other attributes, last first, as
/// `<dotted oid>=<value>`, as Go 1.27 writes them (earlier releases wrote `#` and the hex of the
/// value's DER). `None` when the certificate or a value is not one Go reads.
fn subject_text(cert: &[u8]) -> Option<String> {
    let subject = der_walk::tbs_fields(cert)?.subject;
    let mut named: [Vec<String>; NAMED.len()] = Default::default();
    let mut others: Vec<String> = Vec::new();
    for attribute in der_walk::name_attributes(subject) {
        let (oid, value_tag, value) = attribute?;
        let text = string_text(value_tag, value)?;
        let slot = match oid {
            [0x55, 0x04, last] => NAMED.iter().position(|(n, _)| n == last),
            _ => None,
        };
        match slot {
            // CN and SERIALNUMBER are single fields in Go's `Name`: the last one wins.
            Some(i) if NAMED[i].0 == 3 || NAMED[i].0 == 5 => named[i] = vec![text],
            Some(i) => named[i].push(text),
            None => others.push(format!("{}={}", oid_text(oid), escape_value(&text))),
        }
    }
    let mut parts: Vec<String> = Vec::new();
    for (i, values) in named.iter().enumerate().rev() {
        if values.is_empty() {
            continue;
        }
        let name = NAMED[i].1;
        let rdn: Vec<String> = values
            .iter()
            .map(|v| format!("{name}={}", escape_value(v)))
            .collect();
        parts.push(rdn.join("+"));
    }
    parts.extend(others.into_iter().rev());
    Some(parts.join(","))
}

/// RFC 2253's escaping as Go's `RDNSequence.String` does it: `,+"\<>;` anywhere, a space
/// first or last, a `#` first.
fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.len().saturating_sub(1);
    for (at, c) in value.char_indices() {
        let escape = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => at == 0 || at == last,
            '#' => at == 0,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use der_walk::{OID, SEQUENCE, SET};

    /// A certificate-shaped DER whose subject holds `attributes` (OID contents, string tag,
    /// value), one RDN each: only the subject is real, the other fields are placeholders of the
    /// right tags (what `der_walk::tbs_fields` reads).
    fn cert_with_subject(attributes: &[(&[u8], u8, &str)]) -> Vec<u8> {
        fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            match u8::try_from(contents.len()) {
                Ok(n) if n < 0x80 => out.push(n),
                _ => {
                    let len = u16::try_from(contents.len()).expect("short");
                    out.push(0x82);
                    out.extend_from_slice(&len.to_be_bytes());
                }
            }
            out.extend_from_slice(contents);
            out
        }
        let rdns: Vec<u8> = attributes
            .iter()
            .flat_map(|(oid, tag, value)| {
                let atv = [tlv(OID, oid), tlv(*tag, value.as_bytes())].concat();
                tlv(SET, &tlv(SEQUENCE, &atv))
            })
            .collect();
        let tbs = [
            tlv(0x02, &[1]),
            tlv(SEQUENCE, &[]),
            tlv(SEQUENCE, &[]),
            tlv(SEQUENCE, &[]),
            tlv(SEQUENCE, &rdns),
            tlv(SEQUENCE, &[]),
        ]
        .concat();
        tlv(SEQUENCE, &tlv(SEQUENCE, &tbs))
    }

    const CN: &[u8] = &[0x55, 4, 3];
    const C: &[u8] = &[0x55, 4, 6];
    const OU: &[u8] = &[0x55, 4, 11];

    /// The expectations are what Go 1.27's `pkix.Name.String()` printed for the same
    /// attributes (`FillFromRDNSequence`, as `x509.ParseCertificate` fills a subject).
    #[test]
    fn subjects_are_written_as_gos_pkix_name_string() {
        // The e2e suite's client leaf (tests/e2e/pass_tls_client_cert.rs) has this subject
        // too, made by rcgen and read back over a real mTLS connection.
        let rich = cert_with_subject(&[
            (CN, 0x0c, "client one"),
            (C, 0x13, "FR"),
            (&[0x55, 4, 8], 0x0c, "Occitanie"),
            (&[0x55, 4, 7], 0x0c, "Zürich"),
            (&[0x55, 4, 10], 0x0c, "Cheese"),
            (OU, 0x0c, "Signing"),
            (&[0x55, 4, 5], 0x13, "SN-1234"),
            (
                &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
                0x16,
                "example",
            ),
        ]);
        assert_eq!(
            subject_text(&rich).as_deref(),
            Some(
                "SERIALNUMBER=SN-1234,CN=client one,OU=Signing,O=Cheese,L=Zürich,ST=Occitanie,\
                 C=FR,0.9.2342.19200300.100.1.25=example"
            )
        );

        let escapes = cert_with_subject(&[
            (CN, 0x0c, " lead, and #1 "),
            (&[0x55, 4, 10], 0x0c, "#hash+plus;semi<lt>\"q\"\\"),
            (
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 9, 1],
                0x16,
                "a@b.example",
            ),
        ]);
        assert_eq!(
            subject_text(&escapes).as_deref(),
            Some(
                "CN=\\ lead\\, and #1\\ ,O=\\#hash\\+plus\\;semi\\<lt\\>\\\"q\\\"\\\\,\
                 1.2.840.113549.1.9.1=a@b.example"
            )
        );
    }

    #[test]
    fn several_values_of_one_attribute_share_its_rdn_and_cn_keeps_the_last() {
        let cert = cert_with_subject(&[
            (OU, 0x13, "a"),
            (CN, 0x13, "first"),
            (OU, 0x13, "b"),
            (CN, 0x0c, "second"),
            (C, 0x13, "FR"),
            (&[0x2a, 3], 0x0c, "x*y"),
            (&[0x2a, 4], 0x13, "z"),
        ]);
        assert_eq!(
            subject_text(&cert).as_deref(),
            Some("CN=second,OU=a+OU=b,C=FR,1.2.4=z,1.2.3=x*y")
        );
    }

    #[test]
    fn a_value_go_cannot_read_gives_no_subject() {
        assert_eq!(subject_text(&cert_with_subject(&[(CN, 0x04, "x")])), None);
    }

    #[test]
    fn a_malformed_certificate_has_no_subject() {
        assert_eq!(subject_text(b"\x30\x03\x02\x01"), None);
        assert_eq!(subject_text(&[]), None);
    }

    #[test]
    fn suites_and_versions_are_named_as_traefik_names_them() {
        assert_eq!(version_name(rustls::ProtocolVersion::TLSv1_3), "1.3");
        assert_eq!(version_name(rustls::ProtocolVersion::TLSv1_2), "1.2");
        assert_eq!(
            cipher_name(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256),
            "TLS_AES_128_GCM_SHA256"
        );
        assert_eq!(
            cipher_name(rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
        );
    }
}
