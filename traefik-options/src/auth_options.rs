//! The options `basicAuth` and `digestAuth` share, with Traefik's names: `users` (a list of
//! strings; each plugin parses its own line format), `realm`, `removeHeader`, `headerField`.
//! A `usersFile` reaching a plugin is refused: the gateway reads it at config load and puts its
//! lines first in `users`. Any other option is refused by name. Runs at `validate-config` / `init`
//! only.

use crate::json_text::kind;
use plugin_sdk::rules::{check_header_name, check_header_value};
use serde_json::Value;

/// Traefik's default realm.
pub const DEFAULT_REALM: &str = "traefik";

/// The shared options, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthOptions {
    /// The `users` entries, in order, not yet parsed.
    pub users: Vec<String>,
    /// `realm`, default `traefik`; never contains `"` or a control character.
    pub realm: String,
    /// `removeHeader`: drop `Authorization` before the request goes upstream.
    pub remove_header: bool,
    /// `headerField`: header (lower-case) that carries the authenticated user upstream.
    pub header_field: Option<String>,
}

/// Parses the JSON config of middleware type `middleware` (for messages); `entry` describes
/// one `users` line (e.g. `name:hash`) for the error of a non-string entry.
pub fn parse(config: &str, middleware: &str, entry: &str) -> Result<AuthOptions, String> {
    let options = match serde_json::from_str::<Value>(config)
        .map_err(|e| format!("config is not valid JSON: {e}"))?
    {
        Value::Null => serde_json::Map::new(),
        Value::Object(options) => options,
        other => return Err(format!("config must be an object, got {}", kind(&other))),
    };
    let mut parsed = AuthOptions {
        users: Vec::new(),
        realm: DEFAULT_REALM.to_string(),
        remove_header: false,
        header_field: None,
    };
    for (option, value) in options {
        match option.as_str() {
            "users" => parsed.users = users(value, entry)?,
            "usersFile" => {
                return Err(format!(
                    "usersFile: only a Traefik {middleware} middleware's usersFile is read (by the gateway, at config load); list the users in `users`"
                ));
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

fn users(value: Value, entry: &str) -> Result<Vec<String>, String> {
    let entries = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(entries) => entries,
        other => return Err(format!("users: must be a list, got {}", kind(&other))),
    };
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| match e {
            Value::String(s) => Ok(s),
            _ => Err(format!("users[{i}]: must be a string \"{entry}\"")),
        })
        .collect()
}

fn string(option: &str, value: Value) -> Result<String, String> {
    match value {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s),
        other => Err(format!("{option}: must be a string, got {}", kind(&other))),
    }
}
