//! Typed reads of option values from the JSON config, each error naming the option.
//!
//! YAML `null` (an option written with no value) reads as the option's zero value, as Traefik's
//! file provider does.

use plugin_sdk::rules::{check_header_name, check_header_value};
use serde_json::Value;
/// What a JSON value is, for error messages.
pub(crate) use traefik_options::json_text::kind;
use traefik_options::json_text::number;

/// A boolean option (`null` is false).
pub(crate) fn boolean(option: &str, value: Value) -> Result<bool, String> {
    match value {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(b),
        other => Err(format!("{option}: must be a boolean, got {}", kind(&other))),
    }
}

/// An integer option (`null` is 0).
pub(crate) fn integer(option: &str, value: Value) -> Result<i64, String> {
    match value {
        Value::Null => Ok(0),
        // Not `Number`'s `Display`: see `json_text`.
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{option}: must be a whole number, got {}", number(&n))),
        other => Err(format!("{option}: must be a number, got {}", kind(&other))),
    }
}

/// A string option that becomes a header value (`null` is empty, meaning "not set").
pub(crate) fn header_value(option: &str, value: Value) -> Result<String, String> {
    let text = match value {
        Value::Null => return Ok(String::new()),
        Value::String(text) => text,
        other => return Err(format!("{option}: must be a string, got {}", kind(&other))),
    };
    check_header_value(text.as_bytes())
        .map_err(|_| format!("{option}: invalid header value {text:?}"))?;
    Ok(text)
}

/// A list of strings (`null` is empty).
pub(crate) fn string_list(option: &str, value: Value) -> Result<Vec<String>, String> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => {
            return Err(format!(
                "{option}: must be a list of strings, got {}",
                kind(&other)
            ));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(text) => Ok(text),
            other => Err(format!(
                "{option}[{i}]: must be a string, got {}",
                kind(&other)
            )),
        })
        .collect()
}

/// A list of header names, lower-cased.
pub(crate) fn header_names(option: &str, value: Value) -> Result<Vec<String>, String> {
    let names = string_list(option, value)?;
    names
        .into_iter()
        .map(|name| {
            check_header_name(&name)
                .map(|()| name.to_ascii_lowercase())
                .map_err(|_| format!("{option}: invalid header name {name:?}"))
        })
        .collect()
}

/// A list of strings joined with `,` into one header value (empty list: empty string).
pub(crate) fn joined_header_value(option: &str, value: Value) -> Result<String, String> {
    let joined = string_list(option, value)?.join(",");
    check_header_value(joined.as_bytes())
        .map_err(|_| format!("{option}: invalid header value {joined:?}"))?;
    Ok(joined)
}

/// A map of header name to string value, in the map's order (`null` is empty).
pub(crate) fn header_map(option: &str, value: Value) -> Result<Vec<(String, String)>, String> {
    let map = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Object(map) => map,
        other => {
            return Err(format!(
                "{option}: must be a map of header name to value, got {}",
                kind(&other)
            ));
        }
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, value) in map {
        check_header_name(&name).map_err(|_| format!("{option}: invalid header name {name:?}"))?;
        let Value::String(text) = value else {
            return Err(format!(
                "{option}: header {name:?}: value must be a string, got {}",
                kind(&value)
            ));
        };
        check_header_value(text.as_bytes())
            .map_err(|_| format!("{option}: header {name:?}: invalid header value {text:?}"))?;
        out.push((name, text));
    }
    Ok(out)
}
