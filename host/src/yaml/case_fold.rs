//! Two rules of Traefik's file-provider parser (paerser) that plain YAML -> struct decoding does
//! not have, applied by the deserializer ([`super::de`]) at load:
//!
//! - a key names a struct field **case-insensitively** (`loadbalancer`, `EntryPoints`); the
//!   exact spelling wins when both exist, and a key that matches nothing is still refused with
//!   the allowed names;
//! - a **single scalar where a list is expected** is the list of its comma-separated parts, each
//!   trimmed (`entryPoints: web, websecure`), as paerser splits a slice's raw value.
//!
//! Costs a scan of the field names per key read; runs at load only.

use super::tree::{Node, Scalar, Value};

/// The field a mapping key names: the exact field, else the first field equal to it ignoring
/// ASCII case; `None` when nothing matches (the caller then passes the key on as written, so the
/// unknown-key error names it).
pub(crate) fn field_for(key: &str, fields: &'static [&'static str]) -> Option<&'static str> {
    if let Some(exact) = fields.iter().find(|f| **f == key) {
        return Some(exact);
    }
    fields.iter().find(|f| f.eq_ignore_ascii_case(key)).copied()
}

/// The items a scalar stands for where a list is expected: its text split on commas, each part
/// trimmed; a plain scalar's parts stay plain (so `ports: 80, 443` are integers), a quoted one's
/// stay strings. Empty text is the empty list.
pub(crate) fn split_scalar(scalar: &Scalar, line: usize) -> Vec<Node> {
    if scalar.text.trim().is_empty() {
        return Vec::new();
    }
    scalar
        .text
        .split(',')
        .map(|part| Node {
            line,
            value: Value::Scalar(Scalar {
                text: part.trim().to_string(),
                plain: scalar.plain,
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[&str] = &["loadBalancer", "healthCheck", "healthcheck"];

    #[test]
    fn exact_spelling_first_then_any_case() {
        assert_eq!(field_for("healthcheck", FIELDS), Some("healthcheck"));
        assert_eq!(field_for("loadbalancer", FIELDS), Some("loadBalancer"));
        assert_eq!(field_for("LOADBALANCER", FIELDS), Some("loadBalancer"));
        assert_eq!(field_for("loadBalancers", FIELDS), None);
    }

    #[test]
    fn scalar_splits_on_commas_trimmed() {
        let scalar = Scalar {
            text: "10.0.0.0/8, 192.168.0.0/16".to_string(),
            plain: true,
        };
        let parts: Vec<String> = split_scalar(&scalar, 3)
            .into_iter()
            .map(|n| match n.value {
                Value::Scalar(s) => s.text,
                _ => String::new(),
            })
            .collect();
        assert_eq!(parts, ["10.0.0.0/8", "192.168.0.0/16"]);
        let empty = Scalar {
            text: String::new(),
            plain: false,
        };
        assert!(split_scalar(&empty, 1).is_empty());
    }
}
