//! `buffering.retryExpression`: the predicate language of vulcand/oxy's `buffer` (what Traefik
//! uses), parsed once at config time into a tree the proxy evaluates after each attempt of a
//! buffered request (`proxy::handler`, ARCHITECTURE "Native middlewares").
//!
//! Grammar (oxy's functions and operators; `!` binds tightest, then comparisons, `&&`, `||`;
//! parentheses group):
//!
//! ```text
//! expr       := and ( "||" and )*
//! and        := unary ( "&&" unary )*
//! unary      := "!" unary | "(" expr ")" | "IsNetworkError()" | comparison
//! comparison := "Attempts()" op integer | "ResponseCode()" op integer
//!             | "RequestMethod()" ( "==" | "!=" ) string
//! op         := "==" | "!=" | "<" | "<=" | ">" | ">="
//! ```
//!
//! Meanings, as oxy's: `Attempts()` counts the attempts made so far (1 after the first);
//! `ResponseCode()` is the status of the last attempt (the gateway's 502 or 504 when the
//! upstream failed); `IsNetworkError()` is `ResponseCode()` being 502 or 504;
//! `RequestMethod()` is the request's method. Strings are Go's double-quoted literals.

use oxy_expression::{Cursor, Token, parse_whole};

/// An integer the expression can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryMetric {
    Attempts,
    ResponseCode,
}

/// A comparison operator (oxy's).
pub use oxy_expression::CompareOp as RetryOp;

/// A parsed `retryExpression`.
#[derive(Debug, Clone, PartialEq)]
pub enum RetryExpression {
    IsNetworkError,
    Compare {
        metric: RetryMetric,
        op: RetryOp,
        value: i64,
    },
    /// `RequestMethod() == "..."` (`equal` false for `!=`).
    MethodIs {
        equal: bool,
        method: String,
    },
    Not(Box<RetryExpression>),
    And(Box<RetryExpression>, Box<RetryExpression>),
    Or(Box<RetryExpression>, Box<RetryExpression>),
}

/// What the expression is evaluated on, after one attempt.
#[derive(Debug, Clone, Copy)]
pub struct AttemptFacts<'a> {
    /// Attempts made so far, the one just made included (1 after the first).
    pub attempts: u32,
    /// The status of that attempt (502 / 504 where the upstream failed).
    pub response_code: u16,
    pub method: &'a str,
}

impl RetryExpression {
    /// Whether the request is to be sent again. `&&` and `||` short-cut. Costs a few
    /// comparisons; runs once per attempt, on buffered requests only.
    pub fn holds(&self, facts: &AttemptFacts<'_>) -> bool {
        match self {
            RetryExpression::IsNetworkError => matches!(facts.response_code, 502 | 504),
            RetryExpression::Compare { metric, op, value } => {
                let left = match metric {
                    RetryMetric::Attempts => i64::from(facts.attempts),
                    RetryMetric::ResponseCode => i64::from(facts.response_code),
                };
                op.holds(left, *value)
            }
            RetryExpression::MethodIs { equal, method } => (facts.method == method) == *equal,
            RetryExpression::Not(inner) => !inner.holds(facts),
            RetryExpression::And(a, b) => a.holds(facts) && b.holds(facts),
            RetryExpression::Or(a, b) => a.holds(facts) || b.holds(facts),
        }
    }
}

/// Parses a `retryExpression`; the error says what is wrong, for `file:line: key: reason`.
pub fn parse_retry_expression(text: &str) -> Result<RetryExpression, String> {
    parse_whole(
        text,
        "is empty; e.g. \"IsNetworkError() && Attempts() < 2\"",
        or,
    )
}

/// The functions the language knows.
const FUNCTIONS: &str = "IsNetworkError(), Attempts(), ResponseCode(), RequestMethod()";

fn or(c: &mut Cursor) -> Result<RetryExpression, String> {
    c.fold(&Token::Or, and, RetryExpression::Or)
}

fn and(c: &mut Cursor) -> Result<RetryExpression, String> {
    c.fold(&Token::And, unary, RetryExpression::And)
}

fn unary(c: &mut Cursor) -> Result<RetryExpression, String> {
    match c.next() {
        Some(Token::Not) => Ok(RetryExpression::Not(Box::new(unary(c)?))),
        Some(Token::LParen) => {
            let inner = or(c)?;
            c.expect(Token::RParen, "\")\"")?;
            Ok(inner)
        }
        Some(Token::Ident(name)) => {
            c.expect(Token::LParen, &format!("\"(\" after {name}"))?;
            c.expect(Token::RParen, &format!("\")\" ({name} takes no arguments)"))?;
            function(c, &name)
        }
        Some(t) => Err(format!(
            "expected one of {FUNCTIONS}, found {}",
            t.describe()
        )),
        None => Err(format!("expected one of {FUNCTIONS}, found the end")),
    }
}

/// After `name()`: the predicate, or the comparison it starts.
fn function(c: &mut Cursor, name: &str) -> Result<RetryExpression, String> {
    let metric = match name {
        "IsNetworkError" => return Ok(RetryExpression::IsNetworkError),
        "Attempts" => RetryMetric::Attempts,
        "ResponseCode" => RetryMetric::ResponseCode,
        "RequestMethod" => {
            let equal = match c.next() {
                Some(Token::Op(RetryOp::Eq)) => true,
                Some(Token::Op(RetryOp::Ne)) => false,
                _ => return Err("RequestMethod() compares with == or != only".to_string()),
            };
            return match c.next() {
                Some(Token::Str(method)) => Ok(RetryExpression::MethodIs { equal, method }),
                _ => Err("RequestMethod() compares with a string, e.g. \"GET\"".to_string()),
            };
        }
        other => return Err(format!("unknown function {other}() (known: {FUNCTIONS})")),
    };
    let op = match c.next() {
        Some(Token::Op(op)) => op,
        _ => return Err(format!("{name}() must be compared, e.g. {name}() < 2")),
    };
    match c.next() {
        Some(Token::Number(literal)) => match literal.parse::<i64>() {
            Ok(value) => Ok(RetryExpression::Compare { metric, op, value }),
            Err(_) => Err(format!("{literal:?} is not a whole number")),
        },
        Some(t) => Err(format!(
            "{name}() compares with a whole number, found {}",
            t.describe()
        )),
        None => Err(format!(
            "{name}() compares with a whole number, found the end"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(text: &str, attempts: u32, code: u16, method: &str) -> bool {
        let expression = parse_retry_expression(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        expression.holds(&AttemptFacts {
            attempts,
            response_code: code,
            method,
        })
    }

    #[test]
    fn traefiks_example_retries_a_network_error_once() {
        let e = "IsNetworkError() && Attempts() < 2";
        assert!(holds(e, 1, 502, "GET"));
        assert!(holds(e, 1, 504, "POST"));
        assert!(!holds(e, 2, 502, "GET"), "the second attempt is the last");
        assert!(
            !holds(e, 1, 503, "GET"),
            "503 is an answer, not a network error"
        );
    }

    #[test]
    fn not_or_parentheses_comparisons_and_methods() {
        let e = "!(RequestMethod() == \"POST\") && (ResponseCode() >= 500 || Attempts() == 0)";
        assert!(holds(e, 1, 503, "GET"));
        assert!(!holds(e, 1, 503, "POST"));
        assert!(!holds(e, 1, 200, "GET"));
        assert!(holds("ResponseCode() != 200", 3, 404, "GET"));
        assert!(holds("RequestMethod() != \"GET\"", 1, 200, "PUT"));
        // `&&` binds tighter than `||`.
        assert!(holds(
            "Attempts() > 5 && IsNetworkError() || Attempts() <= 1",
            1,
            200,
            "GET"
        ));
    }

    #[test]
    fn mistakes_are_refused_with_a_reason() {
        for (text, says) in [
            ("", "empty"),
            ("Attempts()", "must be compared"),
            ("Attempts() < \"2\"", "whole number"),
            ("Bogus()", "unknown function"),
            ("IsNetworkError(", "\")\""),
            ("IsNetworkError() &&", "the end"),
            (
                "IsNetworkError() IsNetworkError()",
                "after a whole expression",
            ),
            ("RequestMethod() < \"GET\"", "== or !="),
            ("ResponseCode() > 1.5", "\"1.5\" is not a whole number"),
            ("\"open", "unterminated"),
            ("IsNetworkError() & Attempts() < 2", "unexpected character"),
        ] {
            let err = parse_retry_expression(text).expect_err(text);
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
