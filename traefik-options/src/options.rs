//! Traefik's option types, read from the JSON the gateway hands a plugin.
//!
//! Used by the request-rewriting plugins (`add-prefix`, `strip-prefix`, `strip-prefix-regex`,
//! `replace-path`, `replace-path-regex`, `redirect-scheme`, `redirect-regex`) and `content-type`.
//!
//! The gateway turns the middleware's YAML into JSON typed as written, while Traefik's file
//! provider reads every YAML scalar as text and converts it to the field's type. So, as in
//! Traefik:
//! - a text option ([`Text`]) also takes a number or a boolean (`port: 443` is `"443"`);
//! - a boolean option ([`Flag`]) takes `true`/`false` or text Go's `strconv.ParseBool` accepts
//!   (`"true"`, `"1"`, `"F"`...);
//! - a list option ([`TextList`]) must be a list (a single string is refused, as Traefik refuses
//!   it in a file); its items are scalars, each trimmed of surrounding white space;
//! - `null` (an empty YAML value) leaves an option unset.
//!
//! [`parse`] refuses unknown options by name (the structs use `deny_unknown_fields`) and prefixes
//! every other error with the option it concerns. Runs at config load and once per instance;
//! costs one JSON parse of the config.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde_json::Value;

/// A middleware's JSON config as its map of options, for plugins that read their options one
/// by one: `null` is no options; anything else but a map, or text that is not JSON, is refused
/// (`config must be a map`, `config is not valid JSON: ...`). Runs at config load and once per
/// instance.
pub fn option_map(config: &str) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_str(config) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(serde_json::Map::new()),
        Ok(_) => Err("config must be a map".to_string()),
        Err(e) => Err(format!("config is not valid JSON: {e}")),
    }
}

/// Parses a middleware's JSON config into its option struct. Blank text and `null` mean "no
/// options" (every option at its default).
///
/// Errors read `unknown option "prefix" (known: "prefixes", "forceSlash")` or
/// `prefixes[1]: expected text, got a map`.
pub fn parse<T: DeserializeOwned>(config: &str) -> Result<T, String> {
    let value: Value = if config.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(config).map_err(|e| format!("config is not valid JSON: {e}"))?
    };
    let value = match value {
        Value::Null => Value::Object(serde_json::Map::new()),
        Value::Object(map) => Value::Object(map),
        other => {
            return Err(format!(
                "config must be a map of options, got {}",
                kind(&other)
            ));
        }
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let reason = unknown_option_message(&e.inner().to_string());
        if path == "." || reason.starts_with("unknown option") {
            reason
        } else {
            format!("{path}: {reason}")
        }
    })
}

/// Rewrites serde's "unknown field `x`, expected `a` or `b`" as `unknown option "x" (known: "a",
/// "b")`; other messages pass through.
fn unknown_option_message(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((name, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let known: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|k| format!("{k:?}"))
        .collect();
    if known.is_empty() {
        format!("unknown option {name:?} (this middleware takes no options)")
    } else {
        format!("unknown option {name:?} (known: {})", known.join(", "))
    }
}

/// Text as Traefik reads it from a YAML scalar: strings as written, numbers and booleans in their
/// text form, `null` as empty. Not trimmed (Traefik does not trim text options).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A boolean as Traefik reads it: `true`/`false`, or text Go's `strconv.ParseBool` accepts;
/// `null` is `false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flag(pub bool);

/// A list of text items as Traefik reads it from a YAML sequence: each item a scalar, trimmed;
/// `null` is the empty list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextList(pub Vec<String>);

/// Go's `strconv.FormatFloat(f, 'f', 6, 64)` with a trailing `.000000` removed, which is how
/// Traefik turns a YAML float into text (`1.5` is `"1.500000"`, `2.0` is `"2"`).
fn float_text(f: f64) -> String {
    let text = format!("{f:.6}");
    match text.strip_suffix(".000000") {
        Some(whole) => whole.to_string(),
        None => text,
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

struct ScalarText {
    /// What `null` becomes; `None` refuses it (list items).
    null: Option<&'static str>,
}

impl<'de> Visitor<'de> for ScalarText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("text")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(float_text(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        match self.null {
            Some(text) => Ok(text.to_string()),
            None => Err(E::custom("expected text, got null")),
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(de::Error::custom("expected text, got a list"))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(de::Error::custom("expected text, got a map"))
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarText { null: Some("") }).map(Text)
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FlagVisitor;
        impl<'de> Visitor<'de> for FlagVisitor {
            type Value = bool;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
                Ok(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
                parse_go_bool(v)
                    .ok_or_else(|| E::custom(format!("expected true or false, got {v:?}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
                parse_go_bool(&v.to_string())
                    .ok_or_else(|| E::custom(format!("expected true or false, got {v}")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
                parse_go_bool(&v.to_string())
                    .ok_or_else(|| E::custom(format!("expected true or false, got {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
                Err(E::custom(format!("expected true or false, got {v}")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<bool, A::Error> {
                Err(de::Error::custom("expected true or false, got a list"))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<bool, A::Error> {
                Err(de::Error::custom("expected true or false, got a map"))
            }
        }
        d.deserialize_any(FlagVisitor).map(Flag)
    }
}

/// One list item: a scalar, trimmed (as Traefik trims slice items).
struct Item(String);

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarText { null: None })
            .map(|text| Item(text.trim().to_string()))
    }
}

impl<'de> Deserialize<'de> for TextList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(Item(item)) = seq.next_element()? {
                    items.push(item);
                }
                Ok(items)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
                Ok(Vec::new())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
                Err(E::custom(format!(
                    "expected a list, got the text {v:?} (write it as [{v:?}])"
                )))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Vec<String>, E> {
                Err(E::custom(format!("expected a list, got {v}")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Vec<String>, E> {
                Err(E::custom(format!("expected a list, got {v}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Vec<String>, E> {
                Err(E::custom(format!("expected a list, got {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Vec<String>, E> {
                Err(E::custom(format!("expected a list, got {v}")))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Vec<String>, A::Error> {
                Err(de::Error::custom("expected a list, got a map"))
            }
        }
        d.deserialize_any(ListVisitor).map(TextList)
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(rename_all = "camelCase", deny_unknown_fields, default)]
    struct Sample {
        some_text: Text,
        some_flag: Flag,
        some_list: TextList,
    }

    #[test]
    fn scalars_become_text_as_traefik_reads_them() {
        let cases = [
            (r#"{"someText": "a b "}"#, "a b "),
            (r#"{"someText": 443}"#, "443"),
            (r#"{"someText": -1}"#, "-1"),
            (r#"{"someText": 1.5}"#, "1.500000"),
            (r#"{"someText": 2.0}"#, "2"),
            (r#"{"someText": true}"#, "true"),
            (r#"{"someText": null}"#, ""),
        ];
        for (json, text) in cases {
            let parsed: Sample = parse(json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(parsed.some_text.as_str(), text, "{json}");
        }
    }

    #[test]
    fn flags_take_go_parse_bool_forms() {
        for (json, flag) in [
            (r#"{"someFlag": true}"#, true),
            (r#"{"someFlag": "True"}"#, true),
            (r#"{"someFlag": "1"}"#, true),
            (r#"{"someFlag": 1}"#, true),
            (r#"{"someFlag": "F"}"#, false),
            (r#"{"someFlag": 0}"#, false),
            (r#"{"someFlag": null}"#, false),
        ] {
            let parsed: Sample = parse(json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(parsed.some_flag, Flag(flag), "{json}");
        }
        assert_eq!(
            parse::<Sample>(r#"{"someFlag": "yes"}"#),
            Err(r#"someFlag: expected true or false, got "yes""#.to_string())
        );
    }

    #[test]
    fn lists_take_scalars_trimmed_and_refuse_a_bare_string() {
        let parsed: Sample = parse(r#"{"someList": [" /a ", 2, false]}"#).unwrap_or_default();
        assert_eq!(parsed.some_list.0, vec!["/a", "2", "false"]);
        let parsed: Sample = parse(r#"{"someList": null}"#).unwrap_or_default();
        assert!(parsed.some_list.0.is_empty());
        assert_eq!(
            parse::<Sample>(r#"{"someList": "/a"}"#),
            Err(r#"someList: expected a list, got the text "/a" (write it as ["/a"])"#.to_string())
        );
        assert_eq!(
            parse::<Sample>(r#"{"someList": ["/a", {"x": 1}]}"#),
            Err("someList[1]: expected text, got a map".to_string())
        );
        assert_eq!(
            parse::<Sample>(r#"{"someList": ["/a", null]}"#),
            Err("someList[1]: expected text, got null".to_string())
        );
    }

    #[test]
    fn unknown_options_are_named_with_the_known_ones() {
        assert_eq!(
            parse::<Sample>(r#"{"someTxt": "x"}"#),
            Err(
                r#"unknown option "someTxt" (known: "someText", "someFlag", "someList")"#
                    .to_string()
            )
        );
    }

    #[test]
    fn blank_null_and_non_map_configs() {
        for config in ["", " ", "null", "{}"] {
            assert_eq!(parse::<Sample>(config), Ok(Sample::default()), "{config:?}");
        }
        assert_eq!(
            parse::<Sample>("[1]"),
            Err("config must be a map of options, got a list".to_string())
        );
        assert!(parse::<Sample>("{").is_err_and(|e| e.starts_with("config is not valid JSON")));
    }
}
