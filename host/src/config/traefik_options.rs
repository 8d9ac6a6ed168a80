//! The options of Traefik's built-in middlewares as Traefik v3's dynamic config structs declare
//! them (`pkg/config/dynamic/middlewares.go`), so that the JSON a bundled plugin gets is what
//! Traefik's file provider would have read from the same YAML:
//!
//! - option names match **in any case** and are handed on in Traefik's spelling
//!   (`contenttypenosniff` -> `contentTypeNosniff`);
//! - a **scalar where a list is expected** is its comma-separated parts, trimmed
//!   (`users: "a:$apr1$..."`, `sourceRange: "10.0.0.0/8, 192.168.0.0/16"`);
//! - a number or boolean where **text** is expected is its text, also as a header value
//!   (`X-Forwarded-Port: 443`).
//!
//! Options not listed here pass on as written, so the plugin refuses them by name. Runs at config
//! load, once per middleware: a walk over its options.

use serde_json::{Map, Value};

/// What an option holds, as far as reading YAML is concerned.
#[derive(Clone, Copy)]
enum Kind {
    /// Text (Go `string`).
    Text,
    /// A list of text (Go `[]string`).
    List,
    /// Header name -> text (Go `map[string]string`); names are data, kept as written.
    TextMap,
    /// Nested options.
    Struct(&'static [(&'static str, Kind)]),
    /// A boolean or a number: passed on as written (the plugins read Go's forms).
    Scalar,
}

use Kind::{List, Scalar, Struct, Text, TextMap};

const AUTH: &[(&str, Kind)] = &[
    ("users", List),
    ("usersFile", Text),
    ("realm", Text),
    ("removeHeader", Scalar),
    ("headerField", Text),
];

const IP_STRATEGY: Kind = Struct(&[
    ("depth", Scalar),
    ("excludedIPs", List),
    ("ipv6Subnet", Scalar),
]);

const SOURCE_CRITERION: Kind = Struct(&[
    ("ipStrategy", IP_STRATEGY),
    ("requestHeaderName", Text),
    ("requestHost", Scalar),
]);

const HEADERS: &[(&str, Kind)] = &[
    ("customRequestHeaders", TextMap),
    ("customResponseHeaders", TextMap),
    ("accessControlAllowCredentials", Scalar),
    ("accessControlAllowHeaders", List),
    ("accessControlAllowMethods", List),
    ("accessControlAllowOriginList", List),
    ("accessControlAllowOriginListRegex", List),
    ("accessControlExposeHeaders", List),
    ("accessControlMaxAge", Scalar),
    ("addVaryHeader", Scalar),
    ("allowedHosts", List),
    ("hostsProxyHeaders", List),
    ("sslProxyHeaders", TextMap),
    ("stsSeconds", Scalar),
    ("stsIncludeSubdomains", Scalar),
    ("stsPreload", Scalar),
    ("forceSTSHeader", Scalar),
    ("frameDeny", Scalar),
    ("customFrameOptionsValue", Text),
    ("contentTypeNosniff", Scalar),
    ("browserXssFilter", Scalar),
    ("customBrowserXSSValue", Text),
    ("contentSecurityPolicy", Text),
    ("contentSecurityPolicyReportOnly", Text),
    ("publicKey", Text),
    ("referrerPolicy", Text),
    ("permissionsPolicy", Text),
    ("isDevelopment", Scalar),
    ("featurePolicy", Text),
    ("sslRedirect", Scalar),
    ("sslTemporaryRedirect", Scalar),
    ("sslHost", Text),
    ("sslForceHost", Scalar),
];

/// The subject fields `passTLSClientCert.info.subject` can select (the issuer's lack
/// `organizationalUnit`, as in Traefik).
const CERT_SUBJECT: Kind = Struct(&[
    ("country", Scalar),
    ("province", Scalar),
    ("locality", Scalar),
    ("organization", Scalar),
    ("organizationalUnit", Scalar),
    ("commonName", Scalar),
    ("serialNumber", Scalar),
    ("domainComponent", Scalar),
]);

const CERT_ISSUER: Kind = Struct(&[
    ("country", Scalar),
    ("province", Scalar),
    ("locality", Scalar),
    ("organization", Scalar),
    ("commonName", Scalar),
    ("serialNumber", Scalar),
    ("domainComponent", Scalar),
]);

/// Every Traefik middleware key with a bundled plugin, and its options.
const OPTIONS: &[(&str, &[(&str, Kind)])] = &[
    ("addPrefix", &[("prefix", Text)]),
    ("grpcWeb", &[("allowOrigins", List)]),
    ("retry", &[("attempts", Scalar), ("initialInterval", Text)]),
    (
        "passTLSClientCert",
        &[
            ("pem", Scalar),
            (
                "info",
                Struct(&[
                    ("notAfter", Scalar),
                    ("notBefore", Scalar),
                    ("sans", Scalar),
                    ("serialNumber", Scalar),
                    ("subject", CERT_SUBJECT),
                    ("issuer", CERT_ISSUER),
                ]),
            ),
        ],
    ),
    ("basicAuth", AUTH),
    ("digestAuth", AUTH),
    ("contentType", &[("autoDetect", Scalar)]),
    ("headers", HEADERS),
    (
        "errors",
        &[
            ("status", List),
            ("service", Text),
            ("query", Text),
            ("statusRewrites", Scalar),
        ],
    ),
    (
        "forwardAuth",
        &[
            ("address", Text),
            (
                "tls",
                Struct(&[
                    ("ca", Text),
                    ("cert", Text),
                    ("key", Text),
                    ("insecureSkipVerify", Scalar),
                    ("caOptional", Scalar),
                ]),
            ),
            ("trustForwardHeader", Scalar),
            ("authResponseHeaders", List),
            ("authResponseHeadersRegex", Text),
            ("authRequestHeaders", List),
            ("addAuthCookiesToResponse", List),
            ("headerField", Text),
            ("forwardBody", Scalar),
            ("maxBodySize", Scalar),
            ("preserveLocationHeader", Scalar),
            ("preserveRequestMethod", Scalar),
            ("maxResponseBodySize", Scalar),
        ],
    ),
    (
        "ipAllowList",
        &[
            ("sourceRange", List),
            ("ipStrategy", IP_STRATEGY),
            ("rejectStatusCode", Scalar),
        ],
    ),
    (
        "ipWhiteList",
        &[("sourceRange", List), ("ipStrategy", IP_STRATEGY)],
    ),
    (
        "redirectRegex",
        &[
            ("regex", Text),
            ("replacement", Text),
            ("permanent", Scalar),
        ],
    ),
    (
        "redirectScheme",
        &[("scheme", Text), ("port", Text), ("permanent", Scalar)],
    ),
    (
        "inFlightReq",
        &[("amount", Scalar), ("sourceCriterion", SOURCE_CRITERION)],
    ),
    (
        "rateLimit",
        &[
            ("average", Scalar),
            ("period", Scalar),
            ("burst", Scalar),
            ("sourceCriterion", SOURCE_CRITERION),
        ],
    ),
    ("replacePath", &[("path", Text)]),
    (
        "replacePathRegex",
        &[("regex", Text), ("replacement", Text)],
    ),
    ("stripPrefix", &[("prefixes", List), ("forceSlash", Scalar)]),
    ("stripPrefixRegex", &[("regex", List)]),
];

/// Options Traefik v3 still reads but has deprecated, with what replaces them (the comments of
/// its `dynamic.Headers`): loaded, with a warning at load.
const DEPRECATED: &[(&str, &str, &str)] = &[
    (
        "headers",
        "sslRedirect",
        "an entrypoint redirection or the redirectScheme middleware",
    ),
    (
        "headers",
        "sslTemporaryRedirect",
        "an entrypoint redirection or the redirectScheme middleware",
    ),
    ("headers", "sslHost", "the redirectRegex middleware"),
    ("headers", "sslForceHost", "the redirectRegex middleware"),
    ("headers", "featurePolicy", "permissionsPolicy"),
];

/// The deprecated options set in `config` (already normalized) of a `type_key` middleware, each
/// with the warning to give.
pub(crate) fn deprecated_options(type_key: &str, config: &Value) -> Vec<(&'static str, String)> {
    DEPRECATED
        .iter()
        .filter(|(key, option, _)| *key == type_key && config.get(option).is_some())
        .map(|(_, option, instead)| {
            let warning = format!("option \"{option}\" is deprecated in Traefik v3: use {instead}");
            (*option, warning)
        })
        .collect()
}

/// Rewrites `config`, the options of a `type_key` middleware as read from YAML, the way
/// Traefik's file provider reads them (see the module doc). Other types are left alone.
pub(crate) fn normalize_options(type_key: &str, config: &mut Value) {
    if let Some((_, fields)) = OPTIONS.iter().find(|(key, _)| *key == type_key) {
        normalize(Struct(fields), config);
    }
}

fn normalize(kind: Kind, value: &mut Value) {
    match kind {
        Text => {
            if let Some(text) = scalar_text(value) {
                *value = Value::String(text);
            }
        }
        // Traefik's parser joins a list's items with commas and splits the whole again, so an
        // item holding a comma is several items, as a scalar holding one is.
        List => match value {
            Value::Array(items) => {
                let mut split = Vec::with_capacity(items.len());
                for mut item in std::mem::take(items) {
                    normalize(Text, &mut item);
                    match item.as_str() {
                        Some(text) if text.contains(',') => split.extend(comma_parts(text)),
                        _ => split.push(item),
                    }
                }
                *items = split;
            }
            Value::Null => {}
            other => {
                if let Some(text) = scalar_text(other).or_else(|| other.as_str().map(str::to_owned))
                {
                    *other = Value::Array(comma_parts(&text).collect());
                }
            }
        },
        TextMap => {
            if let Value::Object(map) = value {
                for item in map.values_mut() {
                    normalize(Text, item);
                }
            }
        }
        Struct(fields) => {
            if let Value::Object(map) = value {
                *map = fold_keys(std::mem::take(map), fields);
                for (key, item) in map.iter_mut() {
                    if let Some((_, kind)) = fields.iter().find(|(name, _)| name == key) {
                        normalize(*kind, item);
                    }
                }
            }
        }
        Scalar => {}
    }
}

/// `text` split on commas, each part trimmed.
fn comma_parts(text: &str) -> impl Iterator<Item = Value> + '_ {
    text.split(',')
        .map(|part| Value::String(part.trim().to_string()))
}

/// The text of a number or boolean (a string is already text; other values are not scalars).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// `map` with every key that names a field in another case spelt as the field is. A key whose
/// field is also written in its exact spelling keeps its own spelling, so the plugin still sees
/// both and refuses the duplicate.
fn fold_keys(map: Map<String, Value>, fields: &[(&'static str, Kind)]) -> Map<String, Value> {
    let exact: Vec<bool> = fields
        .iter()
        .map(|(name, _)| map.contains_key(*name))
        .collect();
    map.into_iter()
        .map(|(key, value)| {
            let folded = fields
                .iter()
                .zip(&exact)
                .find(|((name, _), written)| {
                    !**written && *name != key && name.eq_ignore_ascii_case(&key)
                })
                .map(|((name, _), _)| (*name).to_string());
            (folded.unwrap_or(key), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn normalized(type_key: &str, mut config: Value) -> Value {
        normalize_options(type_key, &mut config);
        config
    }

    #[test]
    fn option_names_in_any_case_take_traefiks_spelling() {
        assert_eq!(
            normalized(
                "headers",
                json!({"contenttypenosniff": true, "FrameDeny": true})
            ),
            json!({"contentTypeNosniff": true, "frameDeny": true})
        );
        assert_eq!(
            normalized("ipAllowList", json!({"ipstrategy": {"Depth": 1}})),
            json!({"ipStrategy": {"depth": 1}})
        );
        // A misspelling stays as written, for the plugin to refuse by name.
        assert_eq!(
            normalized("headers", json!({"contentTypeNoSniffs": true})),
            json!({"contentTypeNoSniffs": true})
        );
    }

    #[test]
    fn a_scalar_where_a_list_is_expected_is_split_on_commas() {
        assert_eq!(
            normalized(
                "ipAllowList",
                json!({"sourceRange": "10.0.0.0/8, 192.168.0.0/16"})
            ),
            json!({"sourceRange": ["10.0.0.0/8", "192.168.0.0/16"]})
        );
        assert_eq!(
            normalized("basicAuth", json!({"users": "a:$apr1$x$y"})),
            json!({"users": ["a:$apr1$x$y"]})
        );
        assert_eq!(
            normalized("stripPrefix", json!({"prefixes": ["/a", 2]})),
            json!({"prefixes": ["/a", "2"]})
        );
        assert_eq!(
            normalized(
                "ipAllowList",
                json!({"sourceRange": ["10.0.0.0/8, ::1", "127.0.0.1"]})
            ),
            json!({"sourceRange": ["10.0.0.0/8", "::1", "127.0.0.1"]})
        );
    }

    #[test]
    fn scalars_become_text_where_text_is_expected() {
        assert_eq!(
            normalized(
                "headers",
                json!({"customRequestHeaders": {"X-Forwarded-Port": 443, "X-Forwarded-Ssl": true}})
            ),
            json!({"customRequestHeaders": {"X-Forwarded-Port": "443", "X-Forwarded-Ssl": "true"}})
        );
        assert_eq!(
            normalized("redirectScheme", json!({"port": 8443, "permanent": true})),
            json!({"port": "8443", "permanent": true})
        );
    }

    #[test]
    fn deprecated_headers_options_are_named_with_their_replacement() {
        let config = normalized("headers", json!({"sslredirect": true, "frameDeny": true}));
        assert_eq!(
            deprecated_options("headers", &config),
            [(
                "sslRedirect",
                "option \"sslRedirect\" is deprecated in Traefik v3: use an entrypoint redirection or the redirectScheme middleware".to_string()
            )]
        );
    }

    #[test]
    fn other_middleware_types_are_left_alone() {
        let config = json!({"Anything": 1});
        assert_eq!(normalized("myPlugin", config.clone()), config);
    }
}
