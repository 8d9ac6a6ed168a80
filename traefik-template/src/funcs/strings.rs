//! sprig's string functions, the environment (`env`, `expandenv`), and Traefik's `normalize`
//! and `split`. Argument order is sprig's: the string being worked on comes last, so that it
//! can be piped (`{{ "a-b" | replace "-" "." }}`).

use super::{Func, arity, at_least, text};
use crate::exec::Exec;
use crate::format;
use crate::value::Value;

pub const FUNCTIONS: &[(&str, Func)] = &[
    ("env", env),
    ("expandenv", expandenv),
    ("normalize", normalize),
    ("split", split),
    ("splitList", split_list),
    ("join", join),
    ("lower", |_, a| map1(a, |s| s.to_lowercase())),
    ("upper", |_, a| map1(a, |s| s.to_uppercase())),
    ("title", |_, a| map1(a, title)),
    ("trim", |_, a| map1(a, |s| s.trim().to_string())),
    ("nospace", |_, a| {
        map1(a, |s| s.chars().filter(|c| !c.is_whitespace()).collect())
    }),
    ("trimAll", |_, a| {
        map2(a, |cut, s| s.trim_matches(|c| cut.contains(c)).to_string())
    }),
    ("trimPrefix", |_, a| {
        map2(a, |p, s| s.strip_prefix(p).unwrap_or(s).to_string())
    }),
    ("trimSuffix", |_, a| {
        map2(a, |p, s| s.strip_suffix(p).unwrap_or(s).to_string())
    }),
    ("contains", |_, a| test2(a, |sub, s| s.contains(sub))),
    ("hasPrefix", |_, a| test2(a, |p, s| s.starts_with(p))),
    ("hasSuffix", |_, a| test2(a, |p, s| s.ends_with(p))),
    ("replace", replace),
    ("repeat", repeat),
    ("substr", substr),
    ("trunc", trunc),
    ("indent", |_, a| indent(a, false)),
    ("nindent", |_, a| indent(a, true)),
    ("quote", |_, a| quote_each(a, format::quote)),
    ("squote", |_, a| quote_each(a, |s| format!("'{s}'"))),
    ("cat", cat),
    ("toString", |_, a| map1(a, str::to_string)),
    ("regexMatch", regex_match),
    ("regexFind", regex_find),
    ("regexFindAll", regex_find_all),
    ("regexReplaceAll", regex_replace_all),
    ("regexReplaceAllLiteral", regex_replace_all_literal),
    ("regexSplit", regex_split),
];

fn map1(args: Vec<Value>, f: impl Fn(&str) -> String) -> Result<Value, String> {
    arity(&args, 1)?;
    Ok(Value::Str(f(&text(&args[0]))))
}

fn map2(args: Vec<Value>, f: impl Fn(&str, &str) -> String) -> Result<Value, String> {
    arity(&args, 2)?;
    Ok(Value::Str(f(&text(&args[0]), &text(&args[1]))))
}

fn test2(args: Vec<Value>, f: impl Fn(&str, &str) -> bool) -> Result<Value, String> {
    arity(&args, 2)?;
    Ok(Value::Bool(f(&text(&args[0]), &text(&args[1]))))
}

/// `env "NAME"`: the variable's value, empty when unset (`os.Getenv`).
fn env(exec: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 1)?;
    Ok(Value::Str(
        exec.env.var(&text(&args[0])).unwrap_or_default(),
    ))
}

/// `expandenv "x $HOME ${USER}"` (`os.ExpandEnv`).
fn expandenv(exec: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 1)?;
    let input = text(&args[0]);
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'$' || at + 1 >= bytes.len() {
            let c = input[at..].chars().next().unwrap_or('$');
            out.push(c);
            at += c.len_utf8();
            continue;
        }
        let (name, next) = if bytes[at + 1] == b'{' {
            match input[at + 2..].find('}') {
                Some(close) => (&input[at + 2..at + 2 + close], at + 3 + close),
                None => ("", at + 2),
            }
        } else {
            let end = input[at + 1..]
                .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
                .map_or(input.len(), |i| at + 1 + i);
            (&input[at + 1..end], end)
        };
        if name.is_empty() && next == at + 1 {
            out.push('$');
            at += 1;
            continue;
        }
        out.push_str(&exec.env.var(name).unwrap_or_default());
        at = next;
    }
    Ok(Value::Str(out))
}

/// Traefik's `normalize`: the letters and digits of the name, each run of anything else one `-`.
fn normalize(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 1)?;
    let name = text(&args[0]);
    let parts: Vec<&str> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect();
    Ok(Value::Str(parts.join("-")))
}

/// Traefik's `split` is Go's `strings.Split(s, sep)` (string first, unlike sprig's).
fn split(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    Ok(go_split(&text(&args[0]), &text(&args[1])))
}

/// sprig's `splitList sep s`.
fn split_list(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    Ok(go_split(&text(&args[1]), &text(&args[0])))
}

/// `strings.Split`: an empty separator splits into characters.
fn go_split(s: &str, sep: &str) -> Value {
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::Str(c.to_string())).collect()
    } else {
        s.split(sep).map(|p| Value::Str(p.to_string())).collect()
    };
    Value::List(parts)
}

/// `join sep list`.
fn join(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    let items: Vec<String> = match &args[1] {
        Value::List(items) => items
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(Value::to_text)
            .collect(),
        Value::Nil => Vec::new(),
        other => vec![other.to_text()],
    };
    Ok(Value::Str(items.join(&text(&args[0]))))
}

/// `strings.Title`: the first letter of each word in upper case.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_word_start = true;
    for c in s.chars() {
        if at_word_start && c.is_alphanumeric() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    out
}

/// `replace old new s`.
fn replace(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 3)?;
    let (old, new, s) = (text(&args[0]), text(&args[1]), text(&args[2]));
    Ok(Value::Str(s.replace(&old, &new)))
}

/// `repeat count s`.
fn repeat(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    let count = usize::try_from(args[0].to_int()).map_err(|_| "negative repeat count")?;
    let s = text(&args[1]);
    if s.len().saturating_mul(count) > 16 << 20 {
        return Err("repeat: result too large".to_string());
    }
    Ok(Value::Str(s.repeat(count)))
}

/// `substr start end s` (byte offsets; `start < 0` is 0, `end < 0` or past the end is the end).
fn substr(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 3)?;
    let s = text(&args[2]);
    let len = s.len() as i64;
    let start = args[0].to_int().clamp(0, len);
    let mut end = args[1].to_int();
    if end < 0 || end > len {
        end = len;
    }
    let end = end.max(start);
    Ok(Value::Str(
        String::from_utf8_lossy(&s.as_bytes()[start as usize..end as usize]).into_owned(),
    ))
}

/// `trunc n s`: the first `n` bytes, or for a negative `n` the last `-n`.
fn trunc(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    let s = text(&args[1]);
    let n = args[0].to_int();
    let bytes = s.as_bytes();
    let kept = if n >= 0 {
        &bytes[..(n as usize).min(bytes.len())]
    } else {
        let keep = (n.unsigned_abs() as usize).min(bytes.len());
        &bytes[bytes.len() - keep..]
    };
    Ok(Value::Str(String::from_utf8_lossy(kept).into_owned()))
}

/// `indent n s` / `nindent n s`: every line prefixed with `n` spaces (`nindent` adds a newline
/// first).
fn indent(args: Vec<Value>, newline_first: bool) -> Result<Value, String> {
    arity(&args, 2)?;
    let width = usize::try_from(args[0].to_int()).unwrap_or(0).min(1024);
    let pad = " ".repeat(width);
    let body = format!("{pad}{}", text(&args[1]).replace('\n', &format!("\n{pad}")));
    Ok(Value::Str(if newline_first {
        format!("\n{body}")
    } else {
        body
    }))
}

/// `quote` / `squote`: each non-nil operand quoted, joined by spaces.
fn quote_each(args: Vec<Value>, quote: fn(&str) -> String) -> Result<Value, String> {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(|v| quote(&v.to_text()))
        .collect();
    Ok(Value::Str(parts.join(" ")))
}

/// `cat a b c`: the non-nil operands joined by spaces.
fn cat(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(Value::to_text)
        .collect();
    Ok(Value::Str(parts.join(" ")))
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| format!("invalid regular expression: {e}"))
}

fn regex_match(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    Ok(Value::Bool(
        compile(&text(&args[0]))?.is_match(&text(&args[1])),
    ))
}

fn regex_find(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    let s = text(&args[1]);
    let found = compile(&text(&args[0]))?
        .find(&s)
        .map(|m| m.as_str().to_string());
    Ok(Value::Str(found.unwrap_or_default()))
}

/// `regexFindAll regex s n` (`n < 0`: all).
fn regex_find_all(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 3)?;
    let s = text(&args[1]);
    let limit = usize::try_from(args[2].to_int()).unwrap_or(usize::MAX);
    let found = compile(&text(&args[0]))?
        .find_iter(&s)
        .take(limit)
        .map(|m| Value::Str(m.as_str().to_string()))
        .collect();
    Ok(Value::List(found))
}

/// `regexReplaceAll regex s replacement` (`$1` / `${name}` expand, as in Go).
fn regex_replace_all(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 3)?;
    let s = text(&args[1]);
    let replacement = text(&args[2]);
    Ok(Value::Str(
        compile(&text(&args[0]))?
            .replace_all(&s, replacement.as_str())
            .into_owned(),
    ))
}

fn regex_replace_all_literal(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 3)?;
    let s = text(&args[1]);
    let replacement = text(&args[2]);
    Ok(Value::Str(
        compile(&text(&args[0]))?
            .replace_all(&s, regex::NoExpand(&replacement))
            .into_owned(),
    ))
}

/// `regexSplit regex s n` (`n < 0`: all parts).
fn regex_split(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    at_least(&args, 3)?;
    let s = text(&args[1]);
    let re = compile(&text(&args[0]))?;
    let n = args[2].to_int();
    let parts: Vec<Value> = if n < 0 {
        re.split(&s).map(|p| Value::Str(p.to_string())).collect()
    } else {
        re.splitn(&s, n as usize)
            .map(|p| Value::Str(p.to_string()))
            .collect()
    };
    Ok(Value::List(parts))
}
