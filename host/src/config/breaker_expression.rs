//! `circuitBreaker.expression`: the condition language of vulcand/oxy's `cbreaker` (what
//! Traefik uses), parsed once at config time into a tree the breaker evaluates every
//! `checkPeriod` (`lb::breaker`).
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

pub use super::oxy_expression::CompareOp;
use super::oxy_expression::{Cursor, Token, parse_whole};

/// A measurement over the breaker's rolling window (10 s, as oxy's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BreakerMetric {
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
    /// The latency at quantile `q` (0..=100, in percent as oxy reads it), in milliseconds.
    LatencyAtQuantileMs(f64),
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum BreakerExpression {
    Compare {
        metric: BreakerMetric,
        op: CompareOp,
        value: f64,
    },
    And(Box<BreakerExpression>, Box<BreakerExpression>),
    Or(Box<BreakerExpression>, Box<BreakerExpression>),
}

impl BreakerExpression {
    /// Evaluates with `measure` giving each metric's current value; `&&` and `||` short-cut.
    pub fn holds(&self, measure: &mut impl FnMut(BreakerMetric) -> f64) -> bool {
        match self {
            BreakerExpression::Compare { metric, op, value } => op.holds(measure(*metric), *value),
            BreakerExpression::And(a, b) => a.holds(measure) && b.holds(measure),
            BreakerExpression::Or(a, b) => a.holds(measure) || b.holds(measure),
        }
    }
}

/// The metric functions and how many arguments each takes.
const FUNCTIONS: &str = "NetworkErrorRatio(), ResponseCodeRatio(from, to, dividedByFrom, \
                         dividedByTo), LatencyAtQuantileMS(quantile)";

fn or(c: &mut Cursor) -> Result<BreakerExpression, String> {
    c.fold(&Token::Or, and, BreakerExpression::Or)
}

fn and(c: &mut Cursor) -> Result<BreakerExpression, String> {
    c.fold(&Token::And, term, BreakerExpression::And)
}

fn term(c: &mut Cursor) -> Result<BreakerExpression, String> {
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
    Ok(BreakerExpression::Compare { metric, op, value })
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

fn metric(c: &mut Cursor) -> Result<BreakerMetric, String> {
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
        "NetworkErrorRatio" => BreakerMetric::NetworkErrorRatio,
        "LatencyAtQuantileMS" => {
            let q = number(c, "a quantile")?;
            if !(0.0..=100.0).contains(&q) {
                return Err(format!("quantile {q} is outside 0..100"));
            }
            BreakerMetric::LatencyAtQuantileMs(q)
        }
        "ResponseCodeRatio" => {
            let from = code(c)?;
            c.expect(Token::Comma, "\",\"")?;
            let to = code(c)?;
            c.expect(Token::Comma, "\",\"")?;
            let dividend_from = code(c)?;
            c.expect(Token::Comma, "\",\"")?;
            let dividend_to = code(c)?;
            BreakerMetric::ResponseCodeRatio {
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

/// Parses an expression; the error is the reason only (the caller locates it).
pub fn parse_breaker_expression(text: &str) -> Result<BreakerExpression, String> {
    parse_whole(text, "empty expression", or)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, ne: f64, rc: f64, lat: f64) -> bool {
        parse_breaker_expression(text)
            .unwrap()
            .holds(&mut |m| match m {
                BreakerMetric::NetworkErrorRatio => ne,
                BreakerMetric::ResponseCodeRatio { .. } => rc,
                BreakerMetric::LatencyAtQuantileMs(_) => lat,
            })
    }

    #[test]
    fn traefiks_documented_expressions_parse_and_evaluate() {
        assert!(eval("NetworkErrorRatio() > 0.5", 0.6, 0.0, 0.0));
        assert!(!eval("NetworkErrorRatio() > 0.5", 0.5, 0.0, 0.0));
        assert!(eval(
            "ResponseCodeRatio(500, 600, 0, 600) > 0.25",
            0.0,
            0.3,
            0.0
        ));
        assert!(eval("LatencyAtQuantileMS(50.0) > 100", 0.0, 0.0, 101.0));
        let both = "ResponseCodeRatio(500, 600, 0, 600) > 0.30 || NetworkErrorRatio() > 0.10";
        assert!(eval(both, 0.2, 0.0, 0.0));
        assert!(!eval(both, 0.05, 0.1, 0.0));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        // true || (false && false) = true
        assert!(eval(
            "NetworkErrorRatio() > 0.1 || LatencyAtQuantileMS(99) > 5 && ResponseCodeRatio(500,600,0,600) > 0.5",
            0.2,
            0.0,
            0.0
        ));
        // (true || false) && false = false
        assert!(!eval(
            "(NetworkErrorRatio() > 0.1 || LatencyAtQuantileMS(99) > 5) && ResponseCodeRatio(500,600,0,600) > 0.5",
            0.2,
            0.0,
            0.0
        ));
    }

    #[test]
    fn mistakes_are_named() {
        let err = |t: &str| parse_breaker_expression(t).unwrap_err();
        assert!(err("").contains("empty"));
        assert!(err("NetworkErrorRate() > 0.5").contains("unknown function NetworkErrorRate"));
        assert!(err("NetworkErrorRatio() > ").contains("a number"));
        assert!(err("NetworkErrorRatio()").contains("comparison"));
        assert!(err("ResponseCodeRatio(500, 600) > 0.5").contains("\",\""));
        assert!(err("NetworkErrorRatio() > 0.5 &&").contains("found the end"));
        assert!(err("NetworkErrorRatio() > 0.5 )").contains("unexpected"));
        assert!(err("LatencyAtQuantileMS(150) > 1").contains("outside"));
        assert!(err("NetworkErrorRatio() > 0.5 # x").contains("unexpected character"));
    }
}
