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

/// An integer the expression can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryMetric {
    Attempts,
    ResponseCode,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl RetryOp {
    fn holds(self, left: i64, right: i64) -> bool {
        match self {
            RetryOp::Eq => left == right,
            RetryOp::Ne => left != right,
            RetryOp::Lt => left < right,
            RetryOp::Le => left <= right,
            RetryOp::Gt => left > right,
            RetryOp::Ge => left >= right,
        }
    }
}

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
    let mut parser = Parser {
        tokens: tokens(text)?,
        at: 0,
    };
    if parser.tokens.is_empty() {
        return Err("is empty; e.g. \"IsNetworkError() && Attempts() < 2\"".to_string());
    }
    let expression = parser.or()?;
    match parser.next() {
        None => Ok(expression),
        Some(t) => Err(format!(
            "unexpected {} after a whole expression",
            describe(&t)
        )),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Int(i64),
    Str(String),
    LParen,
    RParen,
    And,
    Or,
    Not,
    Op(RetryOp),
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let two = bytes.get(i..i + 2).unwrap_or(&[]);
        let (token, len) = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => (Token::LParen, 1),
            b')' => (Token::RParen, 1),
            _ if two == b"&&" => (Token::And, 2),
            _ if two == b"||" => (Token::Or, 2),
            _ if two == b">=" => (Token::Op(RetryOp::Ge), 2),
            _ if two == b"<=" => (Token::Op(RetryOp::Le), 2),
            _ if two == b"==" => (Token::Op(RetryOp::Eq), 2),
            _ if two == b"!=" => (Token::Op(RetryOp::Ne), 2),
            b'!' => (Token::Not, 1),
            b'>' => (Token::Op(RetryOp::Gt), 1),
            b'<' => (Token::Op(RetryOp::Lt), 1),
            b'"' => {
                let Some(end) = bytes[i + 1..].iter().position(|b| *b == b'"') else {
                    return Err(format!("unterminated string at offset {i}"));
                };
                let literal = &text[i + 1..i + 1 + end];
                if literal.contains('\\') {
                    return Err(format!("escapes are not supported in {literal:?}"));
                }
                (Token::Str(literal.to_string()), end + 2)
            }
            b'0'..=b'9' | b'-' => {
                let end = bytes[i + 1..]
                    .iter()
                    .position(|b| !b.is_ascii_digit())
                    .map_or(bytes.len(), |p| i + 1 + p);
                let literal = &text[i..end];
                let number = literal
                    .parse::<i64>()
                    .map_err(|_| format!("{literal:?} is not a whole number"))?;
                (Token::Int(number), end - i)
            }
            _ if c.is_ascii_alphabetic() => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| !b.is_ascii_alphanumeric())
                    .map_or(bytes.len(), |p| i + p);
                (Token::Ident(text[i..end].to_string()), end - i)
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(format!("unexpected character {ch:?} at offset {i}"));
            }
        };
        out.push(token);
        i += len;
    }
    Ok(out)
}

/// The functions the language knows.
const FUNCTIONS: &str = "IsNetworkError(), Attempts(), ResponseCode(), RequestMethod()";

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, want: Token, what: &str) -> Result<(), String> {
        match self.next() {
            Some(t) if t == want => Ok(()),
            Some(t) => Err(format!("expected {what}, found {}", describe(&t))),
            None => Err(format!("expected {what}, found the end")),
        }
    }

    fn or(&mut self) -> Result<RetryExpression, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            left = RetryExpression::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<RetryExpression, String> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            left = RetryExpression::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<RetryExpression, String> {
        match self.next() {
            Some(Token::Not) => Ok(RetryExpression::Not(Box::new(self.unary()?))),
            Some(Token::LParen) => {
                let inner = self.or()?;
                self.expect(Token::RParen, "\")\"")?;
                Ok(inner)
            }
            Some(Token::Ident(name)) => {
                self.expect(Token::LParen, &format!("\"(\" after {name}"))?;
                self.expect(Token::RParen, &format!("\")\" ({name} takes no arguments)"))?;
                self.function(&name)
            }
            Some(t) => Err(format!(
                "expected one of {FUNCTIONS}, found {}",
                describe(&t)
            )),
            None => Err(format!("expected one of {FUNCTIONS}, found the end")),
        }
    }

    /// After `name()`: the predicate, or the comparison it starts.
    fn function(&mut self, name: &str) -> Result<RetryExpression, String> {
        let metric = match name {
            "IsNetworkError" => return Ok(RetryExpression::IsNetworkError),
            "Attempts" => RetryMetric::Attempts,
            "ResponseCode" => RetryMetric::ResponseCode,
            "RequestMethod" => {
                let equal = match self.next() {
                    Some(Token::Op(RetryOp::Eq)) => true,
                    Some(Token::Op(RetryOp::Ne)) => false,
                    _ => return Err("RequestMethod() compares with == or != only".to_string()),
                };
                return match self.next() {
                    Some(Token::Str(method)) => Ok(RetryExpression::MethodIs { equal, method }),
                    _ => Err("RequestMethod() compares with a string, e.g. \"GET\"".to_string()),
                };
            }
            other => return Err(format!("unknown function {other}() (known: {FUNCTIONS})")),
        };
        let op = match self.next() {
            Some(Token::Op(op)) => op,
            _ => return Err(format!("{name}() must be compared, e.g. {name}() < 2")),
        };
        match self.next() {
            Some(Token::Int(value)) => Ok(RetryExpression::Compare { metric, op, value }),
            Some(t) => Err(format!(
                "{name}() compares with a whole number, found {}",
                describe(&t)
            )),
            None => Err(format!(
                "{name}() compares with a whole number, found the end"
            )),
        }
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Ident(name) => format!("{name:?}"),
        Token::Int(n) => format!("{n}"),
        Token::Str(s) => format!("\"{s}\""),
        Token::LParen => "\"(\"".to_string(),
        Token::RParen => "\")\"".to_string(),
        Token::And => "\"&&\"".to_string(),
        Token::Or => "\"||\"".to_string(),
        Token::Not => "\"!\"".to_string(),
        Token::Op(op) => format!("{op:?}"),
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
            ("ResponseCode() > 1.5", "unexpected character '.'"),
            ("\"open", "unterminated"),
            ("IsNetworkError() & Attempts() < 2", "unexpected character"),
        ] {
            let err = parse_retry_expression(text).expect_err(text);
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
