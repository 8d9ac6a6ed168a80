//! The `digestAuth` config: Traefik's option names, checked once at `validate-config` / `init`.

use std::collections::BTreeMap;

use plugin_sdk::rules::{check_header_name, check_header_value};
use serde_json::Value;

/// Traefik's default realm.
pub const DEFAULT_REALM: &str = "traefik";

/// The parsed config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestAuthConfig {
    /// `user:realm` -> HA1 (lower-case hex MD5 of `user:realm:password`), from htdigest lines.
    /// Only entries for [`DigestAuthConfig::realm`] can ever match, as in Traefik.
    pub users: BTreeMap<String, String>,
    /// `realm`, default `traefik`.
    pub realm: String,
    /// `removeHeader`: drop `Authorization` before the request goes upstream.
    pub remove_header: bool,
    /// `headerField`: header (lower-case) that carries the authenticated user upstream.
    pub header_field: Option<String>,
}

impl DigestAuthConfig {
    /// Parses the JSON config. `users` holds htdigest lines `user:realm:HA1`; the gateway puts
    /// the lines of `usersFile` first when it loads the config. Any other option is refused by
    /// name.
    pub fn parse(config: &str) -> Result<Self, String> {
        let options = match serde_json::from_str::<Value>(config)
            .map_err(|e| format!("config is not valid JSON: {e}"))?
        {
            Value::Null => serde_json::Map::new(),
            Value::Object(options) => options,
            other => return Err(format!("config must be an object, got {}", kind(&other))),
        };
        let mut parsed = DigestAuthConfig {
            users: BTreeMap::new(),
            realm: DEFAULT_REALM.to_string(),
            remove_header: false,
            header_field: None,
        };
        for (option, value) in options {
            match option.as_str() {
                "users" => parsed.users = users(value)?,
                "usersFile" => {
                    return Err("usersFile: only a Traefik digestAuth middleware's usersFile is read (by the gateway, at config load); list the users in `users`".into());
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

    /// The HA1 of `user` in this middleware's realm.
    pub fn ha1(&self, user: &str) -> Option<&str> {
        self.users
            .get(&format!("{user}:{}", self.realm))
            .map(String::as_str)
    }
}

fn users(value: Value) -> Result<BTreeMap<String, String>, String> {
    let entries = match value {
        Value::Null => return Ok(BTreeMap::new()),
        Value::Array(entries) => entries,
        other => return Err(format!("users: must be a list, got {}", kind(&other))),
    };
    let mut users = BTreeMap::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let Value::String(entry) = entry else {
            return Err(format!("users[{i}]: must be a string \"user:realm:hash\""));
        };
        let parts: Vec<&str> = entry.split(':').collect();
        let [user, realm, ha1] = parts[..] else {
            return Err(format!(
                "users[{i}]: must be \"user:realm:hash\" with exactly two ':' (an htdigest line)"
            ));
        };
        check_header_value(user.as_bytes())
            .map_err(|_| format!("users[{i}]: user name {user:?} has a control character"))?;
        if ha1.len() != 32 || !ha1.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "users[{i}] ({user}): the hash must be 32 hex digits (MD5 of user:realm:password, as htdigest writes it)"
            ));
        }
        users.insert(format!("{user}:{realm}"), ha1.to_ascii_lowercase());
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

    #[test]
    fn htdigest_lines_are_looked_up_in_the_middlewares_realm() {
        let config = DigestAuthConfig::parse(
            r#"{"users": ["carol:traefik:3F9220F5CCB299C92BF498B9B67930EC",
                          "carol:other:00000000000000000000000000000000"]}"#,
        )
        .unwrap();
        assert_eq!(
            config.ha1("carol"),
            Some("3f9220f5ccb299c92bf498b9b67930ec")
        );
        assert_eq!(config.ha1("dan"), None);
        let other = DigestAuthConfig::parse(
            r#"{"realm": "other", "users": ["carol:traefik:3f9220f5ccb299c92bf498b9b67930ec"]}"#,
        )
        .unwrap();
        assert_eq!(
            other.ha1("carol"),
            None,
            "an entry for another realm never matches"
        );
    }

    #[test]
    fn errors_name_the_option_and_entry() {
        let cases = [
            (r#"{"realms": "x"}"#, r#"unknown option "realms""#),
            (
                r#"{"users": ["carol:3f9220f5ccb299c92bf498b9b67930ec"]}"#,
                "users[0]: must be \"user:realm:hash\" with exactly two ':' (an htdigest line)",
            ),
            (
                r#"{"users": ["carol:traefik:nothex"]}"#,
                "users[0] (carol): the hash must be 32 hex digits (MD5 of user:realm:password, as htdigest writes it)",
            ),
            (
                r#"{"headerField": "a b"}"#,
                r#"headerField: invalid header name "a b""#,
            ),
            (
                r#"{"removeHeader": 1}"#,
                "removeHeader: must be a boolean, got a number",
            ),
        ];
        for (config, expected) in cases {
            assert_eq!(
                DigestAuthConfig::parse(config),
                Err(expected.to_string()),
                "{config}"
            );
        }
    }
}
