//! The guard's config, parsed and checked once per instance.

use std::collections::BTreeMap;

use plugin_sdk::rules::{check_header_name, check_header_value};
use serde::Deserialize;

/// Config as written in the route (JSON). Unknown keys are refused, so a typo is a load-time error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    #[serde(default = "default_header")]
    header: String,
    keys: BTreeMap<String, String>,
    #[serde(default)]
    user_header: Option<String>,
    #[serde(default = "default_true")]
    strip_key: bool,
}

fn default_header() -> String {
    "x-api-key".to_string()
}

fn default_true() -> bool {
    true
}

/// The checked config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyConfig {
    /// Request header carrying the key (default `x-api-key`), lower-case.
    pub header: String,
    /// (user, key) pairs; keys are non-empty and distinct.
    pub keys: Vec<(String, Vec<u8>)>,
    /// Request header set to the user's name for the upstream (default: none).
    pub user_header: Option<String>,
    /// Remove the key header before forwarding, so the secret never reaches the upstream
    /// (default `true`).
    pub strip_key: bool,
}

impl ApiKeyConfig {
    /// Parse and check: at least one key, no empty or duplicate key, valid header names, a user
    /// header different from the key header, and user names that are valid header values.
    pub fn parse(config: &str) -> Result<Self, String> {
        let raw: RawConfig =
            serde_json::from_str(config).map_err(|e| format!("api-key config: {e}"))?;
        check_header_name(&raw.header)
            .map_err(|_| format!("header: invalid header name {:?}", raw.header))?;
        let header = raw.header.to_ascii_lowercase();
        let user_header = match raw.user_header {
            Some(name) => {
                check_header_name(&name)
                    .map_err(|_| format!("userHeader: invalid header name {name:?}"))?;
                let name = name.to_ascii_lowercase();
                if name == header {
                    return Err(format!("userHeader: must differ from header {header:?}"));
                }
                Some(name)
            }
            None => None,
        };
        if raw.keys.is_empty() {
            return Err("keys: at least one user and key are required".to_string());
        }
        let mut keys: Vec<(String, Vec<u8>)> = Vec::with_capacity(raw.keys.len());
        for (user, key) in raw.keys {
            if user_header.is_some() && check_header_value(user.as_bytes()).is_err() {
                return Err(format!(
                    "keys: user name {user:?} cannot be sent in userHeader"
                ));
            }
            if key.is_empty() {
                return Err(format!("keys: the key of user {user:?} is empty"));
            }
            if let Some((other, _)) = keys.iter().find(|(_, k)| k.as_slice() == key.as_bytes()) {
                return Err(format!("keys: users {other:?} and {user:?} share a key"));
            }
            keys.push((user, key.into_bytes()));
        }
        Ok(ApiKeyConfig {
            header,
            keys,
            user_header,
            strip_key: raw.strip_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_and_names_are_lower_cased() {
        let config =
            ApiKeyConfig::parse(r#"{"keys": {"alice": "k1"}, "userHeader": "X-Api-User"}"#);
        assert_eq!(
            config,
            Ok(ApiKeyConfig {
                header: "x-api-key".into(),
                keys: vec![("alice".into(), b"k1".to_vec())],
                user_header: Some("x-api-user".into()),
                strip_key: true,
            })
        );
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        let cases = [
            (r#"{"keys": {}}"#, "keys: at least one"),
            (r#"{"keys": {"a": ""}}"#, "empty"),
            (r#"{"keys": {"a": "k", "b": "k"}}"#, "share a key"),
            (
                r#"{"keys": {"a": "k"}, "header": "bad name"}"#,
                "header: invalid header name",
            ),
            (
                r#"{"keys": {"a": "k"}, "userHeader": "X-API-KEY"}"#,
                "must differ",
            ),
            (r#"{"keys": {"a": "k"}, "keyz": 1}"#, "unknown field `keyz`"),
            (r#"{}"#, "missing field `keys`"),
            (
                r#"{"keys": {"bad\nuser": "k"}, "userHeader": "x-u"}"#,
                "cannot be sent in userHeader",
            ),
        ];
        for (config, expected) in cases {
            let err = ApiKeyConfig::parse(config).err().unwrap_or_default();
            assert!(err.contains(expected), "{config}: {err}");
        }
    }
}
