//! `circuitBreaker.expression`: the condition language of vulcand/oxy's `cbreaker` (what
//! Traefik uses), parsed once per configured middleware (`validate-config`, `init`) into a tree
//! evaluated once per `checkPeriod` at most.
//!
//! Grammar (oxy's, with `&&` binding tighter than `||`, parentheses for grouping):
//!
//! ```text
//! expr       := and ( "||" and )*
//! and        := term ( "&&" term )*
//! term       := "(" expr ")" | comparison
//! comparison := metric op number
//! metric     := "NetworkErrorRatio()" | "ResponseCodeRatio(" int "," int "," int "," int ")"
//!             | "LatencyAtQuantileMS(" number ")"
//! op         := ">" | ">=" | "<" | "<=" | "==" | "!="
//! ```
//!
//! oxy compares ratios only with float literals and latencies only with integer ones; here any
//! number is accepted on either side (`NetworkErrorRatio() > 0` means what it says).

pub use oxy_expression::CompareOp;
use oxy_expression::{Cursor, Token, parse_whole};

/// A measurement over the rolling window (10 s, as oxy's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Requests that failed at the network level (the gateway answered 502 or 504), over all.
    NetworkErrorRatio,
    /// Responses with a status in `[from, to)` over those in `[dividend_from, dividend_to)`;
    /// 0 when the latter is empty.
    ResponseCodeRatio {
        from: u16,
        to: u16,
        dividend_from: u16,
        dividend_to: u16,
    },
    /// The latency (whole milliseconds) at quantile `q` (0..=100, in percent as oxy reads it).
    LatencyAtQuantileMs(f64),
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    Compare {
        metric: Metric,
        op: CompareOp,
        value: f64,
    },
    And(Box<Expression>, Box<Expression>),
    Or(Box<Expression>, Box<Expression>),
}

impl Expression {
    /// Evaluates with `compare` deciding each comparison; `&&` and `||` short-cut.
    pub fn holds(&self, compare: &mut impl FnMut(Metric, CompareOp, f64) -> bool) -> bool {
        match self {
            Expression::Compare { metric, op, value } => compare(*metric, *op, *value),
            Expression::And(a, b) => a.holds(compare) && b.holds(compare),
            Expression::Or(a, b) => a.holds(compare) || b.holds(compare),
        }
    }

    /// Every comparison, left to right.
    pub fn comparisons(&self, out: &mut Vec<(Metric, CompareOp, f64)>) {
        match self {
            Expression::Compare { metric, op, value } => out.push((*metric, *op, *value)),
            Expression::And(a, b) | Expression::Or(a, b) => {
                a.comparisons(out);
                b.comparisons(out);
            }
        }
    }
}

const FUNCTIONS: &str = "NetworkErrorRatio(), ResponseCodeRatio(from, to, dividedByFrom, \
                         dividedByTo), LatencyAtQuantileMS(quantile)";

fn or(c: &mut Cursor) -> Result<Expression, String> {
    c.fold(&Token::Or, and, Expression::Or)
}

fn and(c: &mut Cursor) -> Result<Expression, String> {
    c.fold(&Token::And, term, Expression::And)
}

fn term(c: &mut Cursor) -> Result<Expression, String> {
    if c.peek() == Some(&Token::LParen) {
        c.next();
        let inner = or(c)?;
        c.expect(Token::RParen, "\")\"")?;
        return Ok(inner);
    }
    let metric = metric(c)?;
    let op = match c.next() {
        Some(Token::Op(op)) => op,
        Some(t) => {
            return Err(format!(
                "expected a comparison (>, >=, <, <=, ==, !=) after the function, found {}",
                t.describe()
            ));
        }
        None => return Err("expected a comparison after the function, found the end".into()),
    };
    let value = number(c, "a number to compare with")?;
    Ok(Expression::Compare { metric, op, value })
}

fn number(c: &mut Cursor, what: &str) -> Result<f64, String> {
    match c.next() {
        Some(Token::Number(n)) => n.parse().map_err(|_| format!("{n:?} is not a number")),
        Some(t) => Err(format!("expected {what}, found {}", t.describe())),
        None => Err(format!("expected {what}, found the end")),
    }
}

fn code(c: &mut Cursor) -> Result<u16, String> {
    let n = number(c, "a status code")?;
    if n.fract() != 0.0 || !(0.0..=999.0).contains(&n) {
        return Err(format!("{n} is not a status code"));
    }
    Ok(n as u16)
}

fn metric(c: &mut Cursor) -> Result<Metric, String> {
    let name = match c.next() {
        Some(Token::Ident(name)) => name,
        Some(t) => {
            return Err(format!(
                "expected one of {FUNCTIONS}, found {}",
                t.describe()
            ));
        }
        None => return Err(format!("expected one of {FUNCTIONS}, found the end")),
    };
    c.expect(Token::LParen, &format!("\"(\" after {name}"))?;
    let metric = match name.as_str() {
        "NetworkErrorRatio" => Metric::NetworkErrorRatio,
        "LatencyAtQuantileMS" => {
            let q = number(c, "a quantile")?;
            if !(0.0..=100.0).contains(&q) {
                return Err(format!("quantile {q} is outside 0..100"));
            }
            Metric::LatencyAtQuantileMs(q)
        }
        "ResponseCodeRatio" => {
            let from = code(c)?;
            c.expect(Token::Comma, "\",\"")?;
            let to = code(c)?;
            c.expect(Token::Comma, "\",\"")?;
            let dividend_from = code(c)?;
            c.expect(Token::Comma, "\",\"")?;
            let dividend_to = code(c)?;
            Metric::ResponseCodeRatio {
                from,
                to,
                dividend_from,
                dividend_to,
            }
        }
        other => return Err(format!("unknown function {other}; use one of {FUNCTIONS}")),
    };
    c.expect(Token::RParen, &format!("\")\" closing {name}"))?;
    Ok(metric)
}

/// Parses an expression; the error is the reason only (the caller names the option).
pub fn parse(text: &str) -> Result<Expression, String> {
    parse_whole(text, "empty expression", or)
}
