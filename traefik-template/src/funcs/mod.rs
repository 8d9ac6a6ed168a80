//! The functions a template can call: Go's built-ins, the sprig functions people use in Traefik
//! configs, and Traefik's own (`normalize`, and `split` as `strings.Split`).
//!
//! Sprig functions not listed here (dates, random values, crypto keys, semver, network lookups)
//! are unknown functions: a template using one fails to parse with `function "x" not defined`,
//! naming it, rather than rendering something different from Traefik.

mod builtin;
mod collections;
mod encoding;
mod math;
mod strings;

use crate::exec::Exec;
use crate::value::Value;

/// A function: the rendering state (for `env`) and its evaluated arguments (the piped value
/// last); an error is a reason, located by the caller.
pub type Func = fn(&mut Exec<'_>, Vec<Value>) -> Result<Value, String>;

/// Every function, by name.
const FUNCTIONS: &[&[(&str, Func)]] = &[
    builtin::FUNCTIONS,
    strings::FUNCTIONS,
    collections::FUNCTIONS,
    math::FUNCTIONS,
    encoding::FUNCTIONS,
];

fn lookup(name: &str) -> Option<Func> {
    FUNCTIONS
        .iter()
        .flat_map(|table| table.iter())
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

/// Whether `name` is a function templates can call (checked when the template is parsed).
pub fn exists(name: &str) -> bool {
    name == "and" || name == "or" || lookup(name).is_some()
}

/// Calls `name` with `args`.
pub(crate) fn call(exec: &mut Exec<'_>, name: &str, args: Vec<Value>) -> Result<Value, String> {
    match lookup(name) {
        Some(function) => function(exec, args),
        None => Err(format!("function \"{name}\" not defined")),
    }
}

/// Fails unless exactly `want` arguments were given.
pub(crate) fn arity(args: &[Value], want: usize) -> Result<(), String> {
    if args.len() == want {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args: want {want} got {}",
            args.len()
        ))
    }
}

/// Fails unless at least `want` arguments were given.
pub(crate) fn at_least(args: &[Value], want: usize) -> Result<(), String> {
    if args.len() >= want {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args: want at least {want} got {}",
            args.len()
        ))
    }
}

/// The text of a string argument (sprig functions convert anything with `strval`).
pub(crate) fn text(value: &Value) -> String {
    value.to_text()
}
