//! How a refused option's JSON value is named in a config error ("got a list", "got 1.5",
//! "got [1,\"a\"]"). Runs at `validate-config` / `init` only.
//!
//! Numbers and values are written here rather than with serde_json's `Display`: that one
//! formats floats with serde_json's float printer (the `zmij` crate), whose 17 KB table then
//! sits in the plugin's data image, which every fresh instance's memory slot copies back on
//! reset (bench/README, "Per-request isolation"). Floats are written with core's `{:?}`
//! (`1.5`, `1e300`), text with Rust's escapes (`"a\"b"`).

use std::fmt::Write;

use serde_json::{Number, Value};

/// The kind of a JSON value, for "must be a string, got a list".
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// A JSON number as text: whole numbers as they are, others with core's float formatting.
pub fn number(n: &Number) -> String {
    let mut out = String::new();
    write_number(&mut out, n);
    out
}

/// A JSON value as compact text, for an error that quotes it.
pub fn value(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

fn write_number(out: &mut String, n: &Number) {
    // Writing to a `String` cannot fail.
    let _ = if let Some(i) = n.as_i64() {
        write!(out, "{i}")
    } else if let Some(u) = n.as_u64() {
        write!(out, "{u}")
    } else {
        write!(out, "{:?}", n.as_f64().unwrap_or(f64::NAN))
    };
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => {
            let _ = write!(out, "{s:?}");
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{key:?}:");
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_written_whole_or_with_cores_float_formatting() {
        let n = |v: Value| match v {
            Value::Number(n) => number(&n),
            other => panic!("not a number: {other:?}"),
        };
        assert_eq!(n(json!(7)), "7");
        assert_eq!(n(json!(-7)), "-7");
        assert_eq!(n(json!(u64::MAX)), u64::MAX.to_string());
        assert_eq!(n(json!(1.5)), "1.5");
        assert_eq!(n(json!(1e300)), "1e300");
    }

    #[test]
    fn values_are_written_as_compact_json_like_text() {
        assert_eq!(
            value(&json!({"a": [1, 2.5, "x\"y", null, true], "b": {}})),
            r#"{"a":[1,2.5,"x\"y",null,true],"b":{}}"#
        );
        assert_eq!(value(&json!("text")), r#""text""#);
    }

    #[test]
    fn kinds_name_each_json_type() {
        let kinds: Vec<_> = [
            json!(null),
            json!(true),
            json!(1),
            json!("s"),
            json!([]),
            json!({}),
        ]
        .iter()
        .map(kind)
        .collect();
        assert_eq!(
            kinds,
            [
                "null",
                "a boolean",
                "a number",
                "a string",
                "a list",
                "a map"
            ]
        );
    }
}
