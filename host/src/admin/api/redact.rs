//! What the API never shows: secrets written in middleware configs. basicAuth / digestAuth
//! users keep their name and lose the hash; in every config, values under a key that names a
//! secret (password, secret, token, key, credential...) become `"redacted"`.

use serde_json::Value;

const REDACTED: &str = "redacted";

/// Key fragments that mark a secret, compared in lower case.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "key",
    "credential",
    "apikey",
    "salt",
];

/// `config` of a middleware of type `type_key`, with its secrets replaced.
pub fn middleware_config(type_key: &str, mut config: Value) -> Value {
    let lower = type_key.to_ascii_lowercase();
    if (lower == "basicauth" || lower == "digestauth")
        && let Some(Value::Array(users)) = config.get_mut("users")
    {
        for user in users.iter_mut() {
            if let Value::String(text) = user {
                let name = text.split(':').next().unwrap_or_default();
                *text = format!("{name}:{REDACTED}");
            }
        }
    }
    redact_secret_keys(&mut config);
    config
}

fn is_secret(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|fragment| lower.contains(fragment))
}

fn redact_secret_keys(value: &mut Value) {
    match value {
        Value::Object(entries) => {
            for (key, child) in entries.iter_mut() {
                if is_secret(key) && !matches!(child, Value::Bool(_) | Value::Null) {
                    *child = Value::String(REDACTED.to_string());
                } else {
                    redact_secret_keys(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_secret_keys),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn auth_users_keep_their_names_and_lose_their_hashes() {
        let config = json!({"users": ["bob:$apr1$x$y", "ann:$2y$05$z"], "realm": "r"});
        assert_eq!(
            middleware_config("basicAuth", config),
            json!({"users": ["bob:redacted", "ann:redacted"], "realm": "r"})
        );
    }

    #[test]
    fn values_under_secret_keys_are_redacted_at_any_depth() {
        let config = json!({"keys": {"alice": "k1"}, "nested": [{"apiKey": "x", "header": "h"}],
            "stripKey": true, "token": null});
        assert_eq!(
            middleware_config("plugin", config),
            json!({"keys": "redacted", "nested": [{"apiKey": "redacted", "header": "h"}],
                "stripKey": true, "token": null})
        );
    }
}
