//! The `basicAuth` config: Traefik's option names, checked once at `validate-config` / `init`.

use std::collections::HashMap;

use plugin_sdk::rules::check_header_value;

use crate::hash::PasswordHash;

pub use traefik_options::auth_options::DEFAULT_REALM;

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
        let options = traefik_options::auth_options::parse(config, "basicAuth", "name:hash")?;
        Ok(BasicAuthConfig {
            users: users(options.users)?,
            realm: options.realm,
            remove_header: options.remove_header,
            header_field: options.header_field,
        })
    }
}

fn users(entries: Vec<String>) -> Result<HashMap<String, PasswordHash>, String> {
    let mut users = HashMap::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
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
