//! sprig's encodings and digests: `b64enc b64dec sha1sum sha256sum toJson toPrettyJson
//! fromJson`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::Digest as _;

use super::{Func, arity, text};
use crate::exec::Exec;
use crate::value::Value;

pub const FUNCTIONS: &[(&str, Func)] = &[
    ("b64enc", |_, a| {
        arity(&a, 1)?;
        Ok(Value::Str(STANDARD.encode(text(&a[0]))))
    }),
    ("b64dec", b64dec),
    ("sha1sum", |_, a| {
        arity(&a, 1)?;
        Ok(Value::Str(hex::encode(sha1::Sha1::digest(
            text(&a[0]).as_bytes(),
        ))))
    }),
    ("sha256sum", |_, a| {
        arity(&a, 1)?;
        Ok(Value::Str(hex::encode(sha2::Sha256::digest(
            text(&a[0]).as_bytes(),
        ))))
    }),
    ("toJson", |_, a| json(a, false)),
    ("toPrettyJson", |_, a| json(a, true)),
    ("fromJson", from_json),
];

/// `b64dec`: the decoded text; invalid input gives sprig's error text as the value.
fn b64dec(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 1)?;
    Ok(Value::Str(match STANDARD.decode(text(&args[0])) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(error) => error.to_string(),
    }))
}

fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Nil => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Str(s) => serde_json::Value::String(s.clone()),
        Value::List(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => serde_json::Value::Object(
            entries
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
    }
}

fn from_json_value(value: serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            // encoding/json decodes every number into float64.
            Some(i) => Value::Float(i as f64),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Array(items) => {
            Value::List(items.into_iter().map(from_json_value).collect())
        }
        serde_json::Value::Object(entries) => Value::map(
            entries
                .into_iter()
                .map(|(k, v)| (k, from_json_value(v)))
                .collect(),
        ),
    }
}

fn json(args: Vec<Value>, pretty: bool) -> Result<Value, String> {
    arity(&args, 1)?;
    let value = to_json(&args[0]);
    let text = if pretty {
        serde_json::to_string_pretty(&value)
    } else {
        serde_json::to_string(&value)
    };
    Ok(Value::Str(text.unwrap_or_default()))
}

fn from_json(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 1)?;
    Ok(serde_json::from_str(&text(&args[0])).map_or(Value::Str(String::new()), from_json_value))
}
