//! sprig's lists, dicts and defaults: `list until untilStep seq first last rest initial append
//! prepend concat uniq has without compact reverse sortAlpha dict get set unset hasKey keys
//! values default empty coalesce ternary fail`.

use std::collections::BTreeMap;

use super::{Func, arity, at_least, text};
use crate::exec::Exec;
use crate::value::Value;

pub const FUNCTIONS: &[(&str, Func)] = &[
    ("list", |_, a| Ok(Value::List(a))),
    ("until", until),
    ("untilStep", until_step),
    ("seq", seq),
    ("first", |_, a| pick(a, |l| l.first().cloned())),
    ("last", |_, a| pick(a, |l| l.last().cloned())),
    ("rest", |_, a| {
        sub_list(a, |l| l.get(1..).map(<[Value]>::to_vec))
    }),
    ("initial", |_, a| {
        sub_list(a, |l| {
            l.get(..l.len().saturating_sub(1)).map(<[Value]>::to_vec)
        })
    }),
    ("append", append),
    ("push", append),
    ("prepend", prepend),
    ("concat", concat),
    ("uniq", uniq),
    ("has", has),
    ("without", without),
    ("compact", |_, a| {
        sub_list(a, |l| {
            Some(l.iter().filter(|v| v.truth()).cloned().collect())
        })
    }),
    ("reverse", |_, a| {
        sub_list(a, |l| Some(l.iter().rev().cloned().collect()))
    }),
    ("sortAlpha", sort_alpha),
    ("dict", dict),
    ("get", get),
    ("set", set),
    ("unset", unset),
    ("hasKey", has_key),
    ("keys", keys),
    ("values", values),
    ("default", default),
    ("empty", |_, a| {
        arity(&a, 1)?;
        Ok(Value::Bool(!a[0].truth()))
    }),
    ("coalesce", |_, a| {
        Ok(a.into_iter().find(Value::truth).unwrap_or(Value::Nil))
    }),
    ("ternary", ternary),
    ("fail", |_, a| {
        arity(&a, 1)?;
        Err(text(&a[0]))
    }),
];

/// Longest list `until` / `untilStep` may build.
const MAX_LIST: i64 = 1_000_000;

fn list_arg(value: &Value) -> Result<Vec<Value>, String> {
    value
        .as_list()
        .ok_or_else(|| format!("cannot use type {} as a list", value.kind()))
}

fn pick(args: Vec<Value>, f: impl Fn(&[Value]) -> Option<Value>) -> Result<Value, String> {
    arity(&args, 1)?;
    Ok(f(&list_arg(&args[0])?).unwrap_or(Value::Nil))
}

fn sub_list(args: Vec<Value>, f: impl Fn(&[Value]) -> Option<Vec<Value>>) -> Result<Value, String> {
    arity(&args, 1)?;
    Ok(f(&list_arg(&args[0])?).map_or(Value::Nil, Value::List))
}

/// `until n`: `[0 1 ... n-1]` (counting down for a negative `n`).
fn until(exec: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 1)?;
    let n = args[0].to_int();
    let step = if n < 0 { -1 } else { 1 };
    until_step(exec, vec![Value::Int(0), Value::Int(n), Value::Int(step)])
}

/// `untilStep start stop step`: from `start` towards `stop` (excluded) by `step`.
fn until_step(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 3)?;
    let (start, stop, step) = (args[0].to_int(), args[1].to_int(), args[2].to_int());
    let mut out = Vec::new();
    if step == 0 || (step > 0 && start >= stop) || (step < 0 && start <= stop) {
        return Ok(Value::List(out));
    }
    let count = (i128::from(stop) - i128::from(start)) / i128::from(step);
    if count > i128::from(MAX_LIST) {
        return Err(format!("untilStep: more than {MAX_LIST} items"));
    }
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(Value::Int(i));
        i += step;
    }
    Ok(Value::List(out))
}

/// `seq` as the shell's: `seq 3` is "1 2 3", `seq 2 4` "2 3 4", `seq 0 2 6` "0 2 4 6" (a
/// string, as in sprig).
fn seq(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    let ints: Vec<i64> = args.iter().map(Value::to_int).collect();
    let (start, step, end) = match ints.as_slice() {
        [end] => (1, if *end < 1 { -1 } else { 1 }, *end),
        [start, end] => (*start, if end < start { -1 } else { 1 }, *end),
        [start, step, end] => (*start, *step, *end),
        _ => {
            return Err(format!(
                "wrong number of args: want 1 to 3 got {}",
                ints.len()
            ));
        }
    };
    if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
        return Ok(Value::Str(String::new()));
    }
    if (i128::from(end) - i128::from(start)) / i128::from(step) > i128::from(MAX_LIST) {
        return Err(format!("seq: more than {MAX_LIST} items"));
    }
    let mut parts = Vec::new();
    let mut i = start;
    while (step > 0 && i <= end) || (step < 0 && i >= end) {
        parts.push(i.to_string());
        i += step;
    }
    Ok(Value::Str(parts.join(" ")))
}

fn append(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    let mut list = list_arg(&args[0])?;
    list.push(args[1].clone());
    Ok(Value::List(list))
}

fn prepend(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    let mut list = vec![args[1].clone()];
    list.extend(list_arg(&args[0])?);
    Ok(Value::List(list))
}

fn concat(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    let mut out = Vec::new();
    for arg in &args {
        out.extend(list_arg(arg)?);
    }
    Ok(Value::List(out))
}

fn uniq(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 1)?;
    let mut out: Vec<Value> = Vec::new();
    for item in list_arg(&args[0])? {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    Ok(Value::List(out))
}

/// `has needle list`.
fn has(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    Ok(Value::Bool(list_arg(&args[1])?.contains(&args[0])))
}

/// `without list a b`.
fn without(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    at_least(&args, 1)?;
    let removed = &args[1..];
    Ok(Value::List(
        list_arg(&args[0])?
            .into_iter()
            .filter(|item| !removed.contains(item))
            .collect(),
    ))
}

fn sort_alpha(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 1)?;
    let mut items: Vec<String> = match &args[0] {
        Value::List(items) => items.iter().map(Value::to_text).collect(),
        other => vec![other.to_text()],
    };
    items.sort();
    Ok(Value::List(items.into_iter().map(Value::Str).collect()))
}

/// `dict k1 v1 k2 v2`: keys as text; an odd last key maps to "".
fn dict(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    let mut entries = BTreeMap::new();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or(Value::Str(String::new()));
        entries.insert(text(&pair[0]), value);
    }
    Ok(Value::map(entries))
}

fn map_arg(
    value: &Value,
) -> Result<&std::rc::Rc<std::cell::RefCell<BTreeMap<String, Value>>>, String> {
    match value {
        Value::Map(entries) => Ok(entries),
        other => Err(format!("cannot use type {} as a dict", other.kind())),
    }
}

/// `get dict key`: the value, or "" when the key is missing.
fn get(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    let value = map_arg(&args[0])?.borrow().get(&text(&args[1])).cloned();
    Ok(value.unwrap_or(Value::Str(String::new())))
}

/// `set dict key value`: changes the dict (shared, as a Go map) and returns it.
fn set(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 3)?;
    map_arg(&args[0])?
        .borrow_mut()
        .insert(text(&args[1]), args[2].clone());
    Ok(args[0].clone())
}

fn unset(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    map_arg(&args[0])?.borrow_mut().remove(&text(&args[1]));
    Ok(args[0].clone())
}

fn has_key(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 2)?;
    let found = map_arg(&args[0])?.borrow().contains_key(&text(&args[1]));
    Ok(Value::Bool(found))
}

/// `keys d1 d2...`: every key (sorted, where sprig leaves Go's random map order).
fn keys(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    let mut out = Vec::new();
    for arg in &args {
        out.extend(map_arg(arg)?.borrow().keys().cloned().map(Value::Str));
    }
    Ok(Value::List(out))
}

fn values(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 1)?;
    let out = map_arg(&args[0])?.borrow().values().cloned().collect();
    Ok(Value::List(out))
}

/// `default fallback given`: `given` unless it is empty (or missing).
fn default(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    at_least(&args, 1)?;
    match args.get(1) {
        Some(given) if given.truth() => Ok(given.clone()),
        _ => Ok(args[0].clone()),
    }
}

/// `ternary if_true if_false condition`.
fn ternary(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 3)?;
    Ok(if args[2].truth() {
        args[0].clone()
    } else {
        args[1].clone()
    })
}
