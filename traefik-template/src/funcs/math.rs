//! sprig's arithmetic and conversions: `add add1 sub mul div mod max min floor ceil round int
//! int64 float64 atoi`. Integer functions convert their operands as sprig does (`"5"` is 5,
//! text that is not a number is 0); overflow and division by zero are errors.

use super::{Func, arity, at_least};
use crate::exec::Exec;
use crate::value::Value;

pub const FUNCTIONS: &[(&str, Func)] = &[
    ("add", |_, a| fold(a, i64::checked_add)),
    ("mul", |_, a| fold(a, i64::checked_mul)),
    ("add1", |_, a| {
        arity(&a, 1)?;
        checked(a[0].to_int().checked_add(1))
    }),
    ("sub", |_, a| binary(a, i64::checked_sub)),
    ("div", |_, a| {
        binary(a, |x, y| if y == 0 { None } else { x.checked_div(y) })
    }),
    ("mod", |_, a| {
        binary(a, |x, y| if y == 0 { None } else { x.checked_rem(y) })
    }),
    ("max", |_, a| fold(a, |x, y| Some(x.max(y)))),
    ("min", |_, a| fold(a, |x, y| Some(x.min(y)))),
    ("floor", |_, a| float1(a, f64::floor)),
    ("ceil", |_, a| float1(a, f64::ceil)),
    ("round", round),
    ("int", |_, a| int1(a)),
    ("int64", |_, a| int1(a)),
    ("atoi", |_, a| int1(a)),
    ("float64", |_, a| float1(a, |f| f)),
];

fn checked(value: Option<i64>) -> Result<Value, String> {
    value
        .map(Value::Int)
        .ok_or_else(|| "integer overflow or division by zero".to_string())
}

fn fold(args: Vec<Value>, f: fn(i64, i64) -> Option<i64>) -> Result<Value, String> {
    at_least(&args, 1)?;
    let mut acc = args[0].to_int();
    for arg in &args[1..] {
        acc = f(acc, arg.to_int()).ok_or("integer overflow")?;
    }
    Ok(Value::Int(acc))
}

fn binary(args: Vec<Value>, f: fn(i64, i64) -> Option<i64>) -> Result<Value, String> {
    arity(&args, 2)?;
    checked(f(args[0].to_int(), args[1].to_int()))
}

fn int1(args: Vec<Value>) -> Result<Value, String> {
    arity(&args, 1)?;
    Ok(Value::Int(args[0].to_int()))
}

fn float1(args: Vec<Value>, f: fn(f64) -> f64) -> Result<Value, String> {
    arity(&args, 1)?;
    Ok(Value::Float(f(args[0].to_float())))
}

/// `round x digits`: half away from zero, to `digits` decimals.
fn round(_: &mut Exec<'_>, args: Vec<Value>) -> Result<Value, String> {
    at_least(&args, 2)?;
    let scale = 10f64.powi(i32::try_from(args[1].to_int().clamp(-300, 300)).unwrap_or(0));
    Ok(Value::Float((args[0].to_float() * scale).round() / scale))
}
