//! The `X-Forwarded-Tls-Client-Cert-Info` value, in Traefik's exact format
//! (`pkg/middlewares/passtlsclientcert`): per certificate the selected fields as
//! `Subject="…";Issuer="…";SerialNumber="…";NB="…";NA="…";SAN="…"` (`;` between fields,
//! absent ones left out), certificates separated by `,`, the whole escaped as Go's
//! `url.QueryEscape` does.

use crate::cert::{CertFields, Name};

/// Which fields of a distinguished name to report (Traefik's `info.subject` / `info.issuer`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NameFields {
    pub country: bool,
    pub province: bool,
    pub locality: bool,
    pub organization: bool,
    /// Subject only (Traefik's issuer options have no `organizationalUnit`).
    pub organizational_unit: bool,
    pub common_name: bool,
    pub serial_number: bool,
    pub domain_component: bool,
}

/// Which fields `info` reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct InfoFields {
    pub not_after: bool,
    pub not_before: bool,
    pub sans: bool,
    pub serial_number: bool,
    pub subject: Option<NameFields>,
    pub issuer: Option<NameFields>,
}

impl InfoFields {
    /// The fields of one certificate, unescaped (`;`-separated).
    pub fn certificate(&self, cert: &CertFields) -> String {
        let mut values: Vec<String> = Vec::new();
        if let Some(text) = self.subject.map(|f| dn_text(&f, &cert.subject))
            && !text.is_empty()
        {
            values.push(format!("Subject=\"{text}\""));
        }
        if let Some(text) = self.issuer.map(|f| dn_text(&f, &cert.issuer))
            && !text.is_empty()
        {
            values.push(format!("Issuer=\"{text}\""));
        }
        if self.serial_number && !cert.serial.is_empty() {
            values.push(format!("SerialNumber=\"{}\"", cert.serial));
        }
        // Go prints `uint64(t.Unix())`: a time before 1970 wraps.
        if self.not_before {
            values.push(format!("NB=\"{}\"", cert.not_before as u64));
        }
        if self.not_after {
            values.push(format!("NA=\"{}\"", cert.not_after as u64));
        }
        if self.sans && !cert.sans.is_empty() {
            values.push(format!("SAN=\"{}\"", cert.sans.join(",")));
        }
        values.join(";")
    }
}

/// A name's selected parts in Traefik's order (DC, C, ST, L, O, OU, SN, CN), each `X=value`,
/// joined by `,`; empty values are left out.
fn dn_text(fields: &NameFields, name: &Name) -> String {
    // Traefik writes every DC, empty or not.
    let mut parts: Vec<String> = if fields.domain_component {
        (name.domain_component.iter())
            .map(|value| format!("DC={value}"))
            .collect()
    } else {
        Vec::new()
    };
    let mut add = |prefix: &str, values: &[String]| {
        for value in values.iter().filter(|v| !v.is_empty()) {
            parts.push(format!("{prefix}={value}"));
        }
    };
    if fields.country {
        add("C", &name.country);
    }
    if fields.province {
        add("ST", &name.province);
    }
    if fields.locality {
        add("L", &name.locality);
    }
    if fields.organization {
        add("O", &name.organization);
    }
    if fields.organizational_unit {
        add("OU", &name.organizational_unit);
    }
    if fields.serial_number {
        add("SN", std::slice::from_ref(&name.serial_number));
    }
    if fields.common_name {
        add("CN", std::slice::from_ref(&name.common_name));
    }
    parts.join(",")
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` kept, space as `+`, every other byte
/// as `%XX` (upper-case hex).
pub fn query_escape(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_escape_matches_go() {
        assert_eq!(
            query_escape("Subject=\"C=FR,CN=a b\";NB=\"1\""),
            "Subject%3D%22C%3DFR%2CCN%3Da+b%22%3BNB%3D%221%22"
        );
        assert_eq!(query_escape("a-_.~Z9"), "a-_.~Z9");
        assert_eq!(query_escape("é/+"), "%C3%A9%2F%2B");
    }

    #[test]
    fn fields_in_traefiks_order_and_empty_ones_left_out() {
        let name = Name {
            country: vec!["FR".into(), "US".into()],
            province: vec!["".into()],
            organization: vec!["Cheese".into()],
            common_name: "client".into(),
            domain_component: vec!["org".into(), "cheese".into()],
            ..Name::default()
        };
        let all = NameFields {
            country: true,
            province: true,
            locality: true,
            organization: true,
            organizational_unit: true,
            common_name: true,
            serial_number: true,
            domain_component: true,
        };
        assert_eq!(
            dn_text(&all, &name),
            "DC=org,DC=cheese,C=FR,C=US,O=Cheese,CN=client"
        );
        let cert = CertFields {
            serial: "42".into(),
            not_before: 10,
            not_after: 20,
            issuer: Name::default(),
            subject: name,
            sans: vec!["a.test".into(), "10.0.0.1".into()],
        };
        let info = InfoFields {
            not_after: true,
            not_before: true,
            sans: true,
            serial_number: true,
            subject: Some(NameFields {
                common_name: true,
                ..NameFields::default()
            }),
            issuer: Some(all),
        };
        assert_eq!(
            info.certificate(&cert),
            "Subject=\"CN=client\";SerialNumber=\"42\";NB=\"10\";NA=\"20\";SAN=\"a.test,10.0.0.1\""
        );
    }
}
