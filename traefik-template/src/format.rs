//! Go's `fmt` as templates use it: `printf` verbs (`%s %v %d %q %x %X %o %b %f %e %g %t %c %%`
//! with flags `-`, `+`, `0`, space, width and precision), `print`, `println`, and `%q` quoting.

use crate::value::{Value, go_exponent, go_float};

/// `fmt.Sprintf(format, args...)`. Missing arguments print `%!v(MISSING)` and extra ones
/// `%!(EXTRA ...)`, as Go does.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => spec.left = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                '#' => spec.alternate = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = digits(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(digits(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next) {
            Some(arg) => {
                next += 1;
                let body = spec.verb(verb, arg);
                out.push_str(&spec.pad(body, verb, arg));
            }
            None => out.push_str(&format!("%!{verb}(MISSING)")),
        }
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| format!("{}={}", a.kind(), a))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut value: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        value = Some(
            value
                .unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(d as usize),
        );
        chars.next();
    }
    value.map(|v| v.min(4096))
}

#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    zero: bool,
    space: bool,
    alternate: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Spec {
    fn verb(&self, verb: char, arg: &Value) -> String {
        match (verb, arg) {
            ('v' | 's', Value::Str(s)) => self.truncate(s),
            ('v', Value::Float(f)) | ('g', Value::Float(f)) => match self.precision {
                Some(p) => trim_float(&format!("{:.*e}", p.saturating_sub(1), f), *f, p),
                None => self.sign(*f >= 0.0, go_float(*f)),
            },
            ('v', other) | ('s', other) => self.truncate(&other.to_string()),
            ('d', Value::Int(i)) => self.sign(*i >= 0, i.unsigned_abs().to_string()),
            ('x', Value::Int(i)) => signed_radix(*i, |u| format!("{u:x}")),
            ('X', Value::Int(i)) => signed_radix(*i, |u| format!("{u:X}")),
            ('o', Value::Int(i)) => signed_radix(*i, |u| format!("{u:o}")),
            ('b', Value::Int(i)) => signed_radix(*i, |u| format!("{u:b}")),
            ('c', Value::Int(i)) => u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}')
                .to_string(),
            ('q', Value::Int(i)) => {
                let c = u32::try_from(*i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                format!("'{}'", escape(&c.to_string(), '\''))
            }
            ('x', Value::Str(s)) => hex_bytes(s.as_bytes(), false),
            ('X', Value::Str(s)) => hex_bytes(s.as_bytes(), true),
            ('q', Value::Str(s)) => quote(s),
            ('f' | 'F', Value::Float(f)) => self.sign(
                *f >= 0.0,
                format!("{:.*}", self.precision.unwrap_or(6), f.abs()),
            ),
            ('e', Value::Float(f)) => {
                let text = format!("{:.*e}", self.precision.unwrap_or(6), f.abs());
                self.sign(*f >= 0.0, go_exponent(&text))
            }
            ('t', Value::Bool(b)) => b.to_string(),
            (verb, other) => format!("%!{verb}({}={})", other.kind(), other),
        }
    }

    fn truncate(&self, s: &str) -> String {
        match self.precision {
            Some(p) => s.chars().take(p).collect(),
            None => s.to_string(),
        }
    }

    /// The sign of a number (`-`, or `+` / space when asked) before its digits.
    fn sign(&self, non_negative: bool, digits: String) -> String {
        let digits = digits.trim_start_matches('-').to_string();
        if !non_negative {
            format!("-{digits}")
        } else if self.plus {
            format!("+{digits}")
        } else if self.space {
            format!(" {digits}")
        } else {
            digits
        }
    }

    fn pad(&self, body: String, verb: char, arg: &Value) -> String {
        let _ = self.alternate;
        let Some(width) = self.width else {
            return body;
        };
        let len = body.chars().count();
        if len >= width {
            return body;
        }
        let fill = width - len;
        let numeric = matches!(arg, Value::Int(_) | Value::Float(_)) && verb != 's' && verb != 'q';
        if self.left {
            format!("{body}{}", " ".repeat(fill))
        } else if self.zero && numeric {
            let (sign, digits) = match body.chars().next() {
                Some(c @ ('-' | '+' | ' ')) => (c.to_string(), body[1..].to_string()),
                _ => (String::new(), body),
            };
            format!("{sign}{}{digits}", "0".repeat(fill))
        } else {
            format!("{}{body}", " ".repeat(fill))
        }
    }
}

fn signed_radix(i: i64, digits: impl Fn(u64) -> String) -> String {
    if i < 0 {
        format!("-{}", digits(i.unsigned_abs()))
    } else {
        digits(i.unsigned_abs())
    }
}

fn hex_bytes(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

/// `%.Ng`: N significant digits, trailing zeros removed.
fn trim_float(_scientific: &str, value: f64, precision: usize) -> String {
    let precision = precision.max(1);
    let exponent = if value == 0.0 {
        0
    } else {
        value.abs().log10().floor() as i32
    };
    if exponent < -4 || exponent >= precision as i32 {
        let text = format!("{:.*e}", precision - 1, value);
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        go_exponent(&format!("{mantissa}e{exp}"))
    } else {
        let decimals = (precision as i32 - 1 - exponent).max(0) as usize;
        let text = format!("{value:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        }
    }
}

/// Go's `strconv.Quote`: double quotes, Go escapes for control characters, `\"` and `\\`.
pub fn quote(s: &str) -> String {
    format!("\"{}\"", escape(s, '"'))
}

fn escape(s: &str, quote: char) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => {
                let code = c as u32;
                if code <= 0xffff {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `fmt.Sprint`: operands joined, with a space between two operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::Str(_));
        if i > 0 && !is_string && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        out.push_str(&arg.to_string());
    }
    out
}

/// `fmt.Sprintln`: operands joined by spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let parts: Vec<String> = args.iter().map(ToString::to_string).collect();
    format!("{}\n", parts.join(" "))
}
