//! Go's `text/template` built-ins: `not len index slice eq ne lt le gt ge print printf println
//! urlquery html js` (`and` / `or` are evaluated lazily by the executor).

use super::{Func, arity, at_least};
use crate::exec::Exec;
use crate::format;
use crate::value::Value;

pub const FUNCTIONS: &[(&str, Func)] = &[
    ("not", not),
    ("len", len),
    ("index", index),
    ("slice", slice),
    ("eq", eq),
    ("ne", ne),
    ("lt", |_, a| compare(a, |o| o.is_lt())),
    ("le", |_, a| compare(a, |o| o.is_le())),
    ("gt", |_, a| compare(a, |o| o.is_gt())),
    ("ge", |_, a| compare(a, |o| o.is_ge())),
    ("print", |_, a| Ok(Value::Str(format::sprint(&a)))),
    ("println", |_, a| Ok(Value::Str(format::sprintln(&a)))),
    ("printf", printf),
    ("urlquery", urlquery),
    ("html", html),
    ("js", js),
];

fn not(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 1)?;
    Ok(Value::Bool(!args[0].truth()))
}

fn len(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 1)?;
    let n = match &args[0] {
        Value::Str(s) => s.len(),
        Value::List(items) => items.len(),
        Value::Map(entries) => entries.borrow().len(),
        other => return Err(format!("len of type {}", other.kind())),
    };
    Ok(Value::Int(n as i64))
}

fn index(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    at_least(&args, 1)?;
    let mut value = args[0].clone();
    for key in &args[1..] {
        value = match (&value, key) {
            (Value::List(items), Value::Int(i)) => usize::try_from(*i)
                .ok()
                .and_then(|i| items.get(i).cloned())
                .ok_or_else(|| format!("index out of range: {i}"))?,
            (Value::Str(s), Value::Int(i)) => usize::try_from(*i)
                .ok()
                .and_then(|i| s.as_bytes().get(i))
                .map(|b| Value::Int(i64::from(*b)))
                .ok_or_else(|| format!("index out of range: {i}"))?,
            (Value::Map(entries), key) => entries
                .borrow()
                .get(&key.to_text())
                .cloned()
                .unwrap_or(Value::Nil),
            (Value::Nil, _) => return Err("index of untyped nil".to_string()),
            (value, key) => {
                return Err(format!(
                    "can't index item of type {} with {}",
                    value.kind(),
                    key.kind()
                ));
            }
        };
    }
    Ok(value)
}

fn slice(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    at_least(&args, 1)?;
    let bounds: Vec<i64> = args[1..].iter().map(Value::to_int).collect();
    let len = match &args[0] {
        Value::Str(s) => s.len(),
        Value::List(items) => items.len(),
        other => return Err(format!("can't slice item of type {}", other.kind())),
    };
    let (from, to) = match bounds.as_slice() {
        [] => (0, len as i64),
        [from] => (*from, len as i64),
        [from, to] | [from, to, _] => (*from, *to),
        _ => return Err("too many slice indexes".to_string()),
    };
    if from < 0 || to < from || to as usize > len {
        return Err(format!("index out of range: [{from}:{to}]"));
    }
    let (from, to) = (from as usize, to as usize);
    Ok(match &args[0] {
        Value::Str(s) => Value::Str(
            s.get(from..to)
                .ok_or("slice of a string inside a character")?
                .to_string(),
        ),
        Value::List(items) => Value::List(items[from..to].to_vec()),
        _ => Value::Nil,
    })
}

/// Go's `eq arg1 arg2...`: whether `arg1` equals any of the others. Numbers compare by value;
/// values of different basic kinds are an error, as in Go.
fn eq(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    at_least(&args, 2)?;
    for other in &args[1..] {
        if comparable(&args[0], other)? && args[0] == *other {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn ne(exec: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    let equal = eq(exec, args)?;
    Ok(Value::Bool(!equal.truth()))
}

fn comparable(a: &Value, b: &Value) -> Result<bool, String> {
    let number = |v: &Value| matches!(v, Value::Int(_) | Value::Float(_));
    match (a, b) {
        (Value::Nil, _) | (_, Value::Nil) => Ok(true),
        (a, b) if number(a) && number(b) => Ok(true),
        (Value::Str(_), Value::Str(_)) | (Value::Bool(_), Value::Bool(_)) => Ok(true),
        (Value::List(_) | Value::Map(_), _) | (_, Value::List(_) | Value::Map(_)) => {
            Err("non-comparable type".to_string())
        }
        (a, b) => Err(format!(
            "incompatible types for comparison: {} and {}",
            a.kind(),
            b.kind()
        )),
    }
}

fn compare(args: Vec<Value>, test: fn(std::cmp::Ordering) -> bool) -> Result<Value, String> {
    arity(&args, 2)?;
    let ordering = match (&args[0], &args[1]) {
        (Value::Int(a), Value::Int(b)) => a.cmp(b),
        (Value::Str(a), Value::Str(b)) => a.cmp(b),
        (a @ (Value::Int(_) | Value::Float(_)), b @ (Value::Int(_) | Value::Float(_))) => a
            .to_float()
            .partial_cmp(&b.to_float())
            .ok_or("comparison with NaN")?,
        (a, b) => {
            return Err(format!(
                "incompatible types for comparison: {} and {}",
                a.kind(),
                b.kind()
            ));
        }
    };
    Ok(Value::Bool(test(ordering)))
}

fn printf(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    at_least(&args, 1)?;
    let format = args[0].to_text();
    Ok(Value::Str(format::sprintf(&format, &args[1..])))
}

/// `url.QueryEscape` of the operands printed together.
fn urlquery(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    let text = format::sprint(&args);
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::Str(out))
}

fn html(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    let text = format::sprint(&args);
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Ok(Value::Str(out))
}

fn js(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    let text = format::sprint(&args);
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    Ok(Value::Str(out))
}
