//! The `headers` config: Traefik's option names, checked once at `validate-config` / `init`.

use serde_json::Value;

use crate::cors::Cors;
use crate::json::{header_map, kind};
use crate::secure::Secure;

/// One configured header edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    /// Replace every value of the header (name lower-case) with this one.
    Set(String, Vec<u8>),
    /// Remove the header (configured with an empty value).
    Remove(String),
}

impl HeaderEdit {
    /// The header's name, lower-case.
    pub fn name(&self) -> &str {
        match self {
            HeaderEdit::Set(name, _) | HeaderEdit::Remove(name) => name,
        }
    }
}

/// The parsed config. Every option defaults to off / empty; custom edits apply in name order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadersConfig {
    /// `customRequestHeaders`: applied to the request in `on-request`.
    pub request: Vec<HeaderEdit>,
    /// `customResponseHeaders`: applied to the response in `on-response`.
    pub response: Vec<HeaderEdit>,
    /// The `accessControl*` and `addVaryHeader` options.
    pub cors: Cors,
    /// The security options (`stsSeconds`, `frameDeny`, `allowedHosts`...).
    pub secure: Secure,
}

const REQUEST_OPTION: &str = "customRequestHeaders";
const RESPONSE_OPTION: &str = "customResponseHeaders";

/// Options Traefik v2 had and v3 removed: refused with a pointer to what replaced them. (The
/// `ssl*` redirect options and `featurePolicy` are deprecated, not removed: v3 still reads them.)
const REMOVED_IN_V3: &[(&str, &str)] = &[(
    "accessControlAllowOrigin",
    "use accessControlAllowOriginList",
)];

impl HeadersConfig {
    /// Parse the middleware's JSON config. A blank config or `null` means no edits; an option
    /// Traefik v3 does not have is refused by name, as are invalid header names and values,
    /// regexes that do not compile and names configured twice (case-insensitively).
    pub fn parse(config: &str) -> Result<Self, String> {
        if config.trim().is_empty() {
            return Ok(Self::default());
        }
        let value: Value =
            serde_json::from_str(config).map_err(|e| format!("config is not valid JSON: {e}"))?;
        let options = match value {
            Value::Null => return Ok(Self::default()),
            Value::Object(options) => options,
            other => return Err(format!("config must be an object, got {}", kind(&other))),
        };
        let mut parsed = Self::default();
        for (option, value) in options {
            match option.as_str() {
                REQUEST_OPTION => parsed.request = edits(REQUEST_OPTION, value)?,
                RESPONSE_OPTION => parsed.response = edits(RESPONSE_OPTION, value)?,
                name if Cors::OPTIONS.contains(&name) => parsed.cors.set(name, value)?,
                name if Secure::OPTIONS.contains(&name) => parsed.secure.set(name, value)?,
                name => {
                    return Err(match REMOVED_IN_V3.iter().find(|(old, _)| *old == name) {
                        Some((_, instead)) => {
                            format!("option {name:?} was removed in Traefik v3 ({instead})")
                        }
                        None => format!("unknown option {name:?}"),
                    });
                }
            }
        }
        parsed.cors.finish();
        parsed.secure.finish();
        Ok(parsed)
    }
}

fn edits(option: &str, value: Value) -> Result<Vec<HeaderEdit>, String> {
    let map = header_map(option, value)?;
    let mut edits: Vec<HeaderEdit> = Vec::with_capacity(map.len());
    for (name, text) in map {
        let lower = name.to_ascii_lowercase();
        if edits.iter().any(|e| e.name() == lower) {
            return Err(format!("{option}: header {name:?} is configured twice"));
        }
        if text.is_empty() {
            edits.push(HeaderEdit::Remove(lower));
        } else {
            edits.push(HeaderEdit::Set(lower, text.into_bytes()));
        }
    }
    // Sorted whatever map order serde_json was built with, so the order of edits is stable.
    edits.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(edits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_maps_parse_with_empty_values_meaning_remove() {
        let config = HeadersConfig::parse(
            r#"{"customRequestHeaders": {"X-Script-Name": "test", "X-Drop": ""},
                "customResponseHeaders": {"X-Custom-Response-Header": "value"}}"#,
        );
        assert_eq!(
            config,
            Ok(HeadersConfig {
                request: vec![
                    HeaderEdit::Remove("x-drop".into()),
                    HeaderEdit::Set("x-script-name".into(), b"test".to_vec()),
                ],
                response: vec![HeaderEdit::Set(
                    "x-custom-response-header".into(),
                    b"value".to_vec()
                )],
                ..HeadersConfig::default()
            })
        );
    }

    #[test]
    fn blank_null_and_empty_configs_mean_no_edits() {
        for config in ["", "  ", "null", "{}", r#"{"customRequestHeaders": null}"#] {
            assert_eq!(
                HeadersConfig::parse(config),
                Ok(HeadersConfig::default()),
                "{config:?}"
            );
        }
    }

    #[test]
    fn unknown_options_are_refused_by_name() {
        assert_eq!(
            HeadersConfig::parse(r#"{"stsSecondz": 31536000}"#),
            Err(r#"unknown option "stsSecondz""#.to_string())
        );
    }

    #[test]
    fn options_traefik_v3_removed_are_refused_with_their_replacement() {
        assert_eq!(
            HeadersConfig::parse(r#"{"accessControlAllowOrigin": "*"}"#),
            Err(
                r#"option "accessControlAllowOrigin" was removed in Traefik v3 (use accessControlAllowOriginList)"#
                    .to_string()
            )
        );
    }

    #[test]
    fn options_traefik_v3_deprecated_are_read() {
        let parsed = HeadersConfig::parse(
            r#"{"sslRedirect": true, "sslTemporaryRedirect": true, "sslHost": "a.test",
                "sslForceHost": true, "featurePolicy": "camera 'none'"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let ssl = &parsed.secure.ssl_redirect;
        assert!(ssl.redirect && ssl.temporary && ssl.force_host);
        assert_eq!(ssl.host, "a.test");
        assert_eq!(parsed.secure.feature_policy, "camera 'none'");
    }

    #[test]
    fn invalid_header_names_and_values_name_the_header() {
        let err = HeadersConfig::parse(r#"{"customRequestHeaders": {"bad name": "v"}}"#);
        assert_eq!(
            err,
            Err(r#"customRequestHeaders: invalid header name "bad name""#.to_string())
        );
        let err = HeadersConfig::parse(r#"{"customResponseHeaders": {"X-Split": "a\r\nb"}}"#)
            .err()
            .unwrap_or_default();
        assert!(
            err.starts_with(r#"customResponseHeaders: header "X-Split": invalid header value"#),
            "{err}"
        );
    }

    #[test]
    fn wrong_types_and_bad_json_are_explained() {
        let cases = [
            ("[1]", "config must be an object, got a list"),
            (
                r#"{"customRequestHeaders": ["x"]}"#,
                "customRequestHeaders: must be a map of header name to value, got a list",
            ),
            (
                r#"{"customRequestHeaders": {"x-a": 1}}"#,
                r#"customRequestHeaders: header "x-a": value must be a string, got a number"#,
            ),
            (
                r#"{"stsSeconds": 1.5}"#,
                "stsSeconds: must be a whole number, got 1.5",
            ),
            (
                r#"{"accessControlMaxAge": 1e300}"#,
                "accessControlMaxAge: must be a whole number, got 1e300",
            ),
        ];
        for (config, expected) in cases {
            assert_eq!(
                HeadersConfig::parse(config),
                Err(expected.to_string()),
                "{config}"
            );
        }
        assert!(
            HeadersConfig::parse("{").is_err_and(|e| e.starts_with("config is not valid JSON"))
        );
    }

    #[test]
    fn a_name_configured_twice_in_different_case_is_refused() {
        let err = HeadersConfig::parse(r#"{"customRequestHeaders": {"X-A": "1", "x-a": "2"}}"#);
        assert!(err.is_err_and(|e| e.contains("configured twice")));
    }
}
