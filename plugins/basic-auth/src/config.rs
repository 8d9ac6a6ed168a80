//! The `basicAuth` config: Traefik's option names, checked once at `validate-config` / `init`.

use std::collections::HashMap;

use plugin_sdk::rules::{check_header_name, check_header_value};
use serde_json::Value;

use crate::hash::PasswordHash;

/// Traefik's default realm.
pub const DEFAULT_REALM: &str = "traefik";

/// The parsed config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuthConfig {
    /// User name -> stored hash. A name listed twice keeps its last hash, as in Traefik.
    pub users: HashMap<String, PasswordHash>,
    /// `realm`, default `traefik`.
    pub realm: String,
    /// `removeHeader`: drop `Authorization` before the request goes upstream.
    pub remove_header: bool,
    /// `headerField`: header (lower-case) that carries the authenticated user upstream.
    pub header_field: Option<String>,
}

impl BasicAuthConfig {
    /// Parses the JSON config. `users` holds `name:hash` entries (htpasswd lines); the gateway
    /// puts the lines of `usersFile` first when it loads the config, so this plugin never sees
    /// `usersFile` from a Traefik `basicAuth` key. Any other option is refused by name.
    pub fn parse(config: &str) -> Result<Self, String> {
        let options = match serde_json::from_str::<Value>(config)
            .map_err(|e| format!("config is not valid JSON: {e}"))?
        {
            Value::Null => serde_json::Map::new(),
            Value::Object(options) => options,
            other => return Err(format!("config must be an object, got {}", kind(&other))),
        };
        let mut parsed = BasicAuthConfig {
            users: HashMap::new(),
            realm: DEFAULT_REALM.to_string(),
            remove_header: false,
            header_field: None,
        };
        for (option, value) in options {
            match option.as_str() {
                "users" => parsed.users = users(value)?,
                "usersFile" => {
                    return Err("usersFile: only a Traefik basicAuth middleware's usersFile is read (by the gateway, at config load); list the users in `users`".into());
                }
                "realm" => {
                    let realm = string(&option, value)?;
                    check_header_value(realm.as_bytes())
                        .map_err(|_| format!("realm: invalid character in {realm:?}"))?;
                    if realm.contains('"') {
                        return Err(format!("realm: must not contain '\"', got {realm:?}"));
                    }
                    if !realm.is_empty() {
                        parsed.realm = realm;
                    }
                }
                "removeHeader" => {
                    parsed.remove_header = match value {
                        Value::Null => false,
                        Value::Bool(b) => b,
                        other => {
                            return Err(format!(
                                "removeHeader: must be a boolean, got {}",
                                kind(&other)
                            ));
                        }
                    };
                }
                "headerField" => {
                    let field = string(&option, value)?;
                    if !field.is_empty() {
                        check_header_name(&field)
                            .map_err(|_| format!("headerField: invalid header name {field:?}"))?;
                        parsed.header_field = Some(field.to_ascii_lowercase());
                    }
                }
                _ => return Err(format!("unknown option {option:?}")),
            }
        }
        Ok(parsed)
    }
}

fn users(value: Value) -> Result<HashMap<String, PasswordHash>, String> {
    let entries = match value {
        Value::Null => return Ok(HashMap::new()),
        Value::Array(entries) => entries,
        other => return Err(format!("users: must be a list, got {}", kind(&other))),
    };
    let mut users = HashMap::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let Value::String(entry) = entry else {
            return Err(format!("users[{i}]: must be a string \"name:hash\""));
        };
        let mut parts = entry.split(':');
        let (Some(name), Some(hash), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "users[{i}]: must be \"name:hash\" with exactly one ':' (an htpasswd line)"
            ));
        };
        check_header_value(name.as_bytes())
            .map_err(|_| format!("users[{i}]: user name {name:?} has a control character"))?;
        let hash = PasswordHash::parse(hash).map_err(|e| format!("users[{i}] ({name}): {e}"))?;
        users.insert(name.to_string(), hash);
    }
    Ok(users)
}

fn string(option: &str, value: Value) -> Result<String, String> {
    match value {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s),
        other => Err(format!("{option}: must be a string, got {}", kind(&other))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOB: &str = "bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1";

    #[test]
    fn every_option_parses() {
        let config = BasicAuthConfig::parse(&format!(
            r#"{{"users": ["{BOB}"], "realm": "Staff", "removeHeader": true, "headerField": "X-WebAuth-User"}}"#
        ))
        .unwrap();
        assert_eq!(config.users.len(), 1);
        assert!(config.users.contains_key("bob"));
        assert_eq!(config.realm, "Staff");
        assert!(config.remove_header);
        assert_eq!(config.header_field.as_deref(), Some("x-webauth-user"));
    }

    #[test]
    fn defaults_are_traefiks() {
        let config = BasicAuthConfig::parse("{}").unwrap();
        assert!(config.users.is_empty());
        assert_eq!(config.realm, "traefik");
        assert!(!config.remove_header);
        assert_eq!(config.header_field, None);
        assert_eq!(
            BasicAuthConfig::parse(r#"{"realm": ""}"#).unwrap().realm,
            "traefik"
        );
    }

    #[test]
    fn the_last_entry_of_a_user_wins() {
        let config = BasicAuthConfig::parse(&format!(
            r#"{{"users": ["bob:{{SHA}}ZnB77uxZYGhjHppL6R7KgbbYWZE=", "{BOB}"]}}"#
        ))
        .unwrap();
        assert!(matches!(
            config.users.get("bob"),
            Some(PasswordHash::Md5Crypt { .. })
        ));
    }

    #[test]
    fn errors_name_the_option_and_entry() {
        let cases = [
            (r#"{"userz": []}"#, r#"unknown option "userz""#),
            (r#"{"users": "bob"}"#, "users: must be a list, got a string"),
            (
                r#"{"users": ["bob"]}"#,
                "users[0]: must be \"name:hash\" with exactly one ':' (an htpasswd line)",
            ),
            (
                r#"{"removeHeader": "yes"}"#,
                "removeHeader: must be a boolean, got a string",
            ),
            (
                r#"{"headerField": "bad name"}"#,
                r#"headerField: invalid header name "bad name""#,
            ),
            (
                r#"{"realm": "a\"b"}"#,
                r#"realm: must not contain '"', got "a\"b""#,
            ),
        ];
        for (config, expected) in cases {
            assert_eq!(
                BasicAuthConfig::parse(config),
                Err(expected.to_string()),
                "{config}"
            );
        }
        let err = BasicAuthConfig::parse(r#"{"users": ["eve:plain"]}"#).unwrap_err();
        assert!(
            err.starts_with("users[0] (eve): unsupported password hash"),
            "{err}"
        );
        let err = BasicAuthConfig::parse(r#"{"usersFile": "/etc/htpasswd"}"#).unwrap_err();
        assert!(err.starts_with("usersFile: "), "{err}");
    }
}
