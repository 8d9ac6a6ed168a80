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

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl CompareOp {
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            CompareOp::Gt => left > right,
            CompareOp::Ge => left >= right,
            CompareOp::Lt => left < right,
            CompareOp::Le => left <= right,
            CompareOp::Eq => left == right,
            CompareOp::Ne => left != right,
        }
    }
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

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Number(f64),
    LParen,
    RParen,
    Comma,
    And,
    Or,
    Op(CompareOp),
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
            b',' => (Token::Comma, 1),
            _ if two == b"&&" => (Token::And, 2),
            _ if two == b"||" => (Token::Or, 2),
            _ if two == b">=" => (Token::Op(CompareOp::Ge), 2),
            _ if two == b"<=" => (Token::Op(CompareOp::Le), 2),
            _ if two == b"==" => (Token::Op(CompareOp::Eq), 2),
            _ if two == b"!=" => (Token::Op(CompareOp::Ne), 2),
            b'>' => (Token::Op(CompareOp::Gt), 1),
            b'<' => (Token::Op(CompareOp::Lt), 1),
            b'0'..=b'9' | b'.' | b'-' => {
                let end = bytes[i + 1..]
                    .iter()
                    .position(|b| !(b.is_ascii_digit() || *b == b'.'))
                    .map_or(bytes.len(), |p| i + 1 + p);
                let literal = &text[i..end];
                let number = literal
                    .parse::<f64>()
                    .map_err(|_| format!("{literal:?} is not a number"))?;
                (Token::Number(number), end - i)
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

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

/// The metric functions and how many arguments each takes.
const FUNCTIONS: &str = "NetworkErrorRatio(), ResponseCodeRatio(from, to, dividedByFrom, \
                         dividedByTo), LatencyAtQuantileMS(quantile)";

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

    fn or(&mut self) -> Result<BreakerExpression, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            left = BreakerExpression::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<BreakerExpression, String> {
        let mut left = self.term()?;
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            left = BreakerExpression::And(Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<BreakerExpression, String> {
        if self.peek() == Some(&Token::LParen) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(Token::RParen, "\")\"")?;
            return Ok(inner);
        }
        let metric = self.metric()?;
        let op = match self.next() {
            Some(Token::Op(op)) => op,
            Some(t) => {
                return Err(format!(
                    "expected a comparison (>, >=, <, <=, ==, !=) after the function, found {}",
                    describe(&t)
                ));
            }
            None => return Err("expected a comparison after the function, found the end".into()),
        };
        let value = self.number("a number to compare with")?;
        Ok(BreakerExpression::Compare { metric, op, value })
    }

    fn number(&mut self, what: &str) -> Result<f64, String> {
        match self.next() {
            Some(Token::Number(n)) => Ok(n),
            Some(t) => Err(format!("expected {what}, found {}", describe(&t))),
            None => Err(format!("expected {what}, found the end")),
        }
    }

    fn code(&mut self) -> Result<u16, String> {
        let n = self.number("a status code")?;
        if n.fract() != 0.0 || !(0.0..=999.0).contains(&n) {
            return Err(format!("{n} is not a status code"));
        }
        Ok(n as u16)
    }

    fn metric(&mut self) -> Result<BreakerMetric, String> {
        let name = match self.next() {
            Some(Token::Ident(name)) => name,
            Some(t) => {
                return Err(format!(
                    "expected one of {FUNCTIONS}, found {}",
                    describe(&t)
                ));
            }
            None => return Err(format!("expected one of {FUNCTIONS}, found the end")),
        };
        self.expect(Token::LParen, &format!("\"(\" after {name}"))?;
        let metric = match name.as_str() {
            "NetworkErrorRatio" => BreakerMetric::NetworkErrorRatio,
            "LatencyAtQuantileMS" => {
                let q = self.number("a quantile")?;
                if !(0.0..=100.0).contains(&q) {
                    return Err(format!("quantile {q} is outside 0..100"));
                }
                BreakerMetric::LatencyAtQuantileMs(q)
            }
            "ResponseCodeRatio" => {
                let from = self.code()?;
                self.expect(Token::Comma, "\",\"")?;
                let to = self.code()?;
                self.expect(Token::Comma, "\",\"")?;
                let dividend_from = self.code()?;
                self.expect(Token::Comma, "\",\"")?;
                let dividend_to = self.code()?;
                BreakerMetric::ResponseCodeRatio {
                    from,
                    to,
                    dividend_from,
                    dividend_to,
                }
            }
            other => return Err(format!("unknown function {other}; use one of {FUNCTIONS}")),
        };
        self.expect(Token::RParen, &format!("\")\" closing {name}"))?;
        Ok(metric)
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Ident(name) => format!("{name:?}"),
        Token::Number(n) => format!("{n}"),
        Token::LParen => "\"(\"".into(),
        Token::RParen => "\")\"".into(),
        Token::Comma => "\",\"".into(),
        Token::And => "\"&&\"".into(),
        Token::Or => "\"||\"".into(),
        Token::Op(op) => format!("{op:?}"),
    }
}

/// Parses an expression; the error is the reason only (the caller locates it).
pub fn parse_breaker_expression(text: &str) -> Result<BreakerExpression, String> {
    let tokens = tokens(text)?;
    if tokens.is_empty() {
        return Err("empty expression".into());
    }
    let mut parser = Parser { tokens, at: 0 };
    let expression = parser.or()?;
    match parser.next() {
        None => Ok(expression),
        Some(t) => Err(format!(
            "unexpected {} after a complete expression",
            describe(&t)
        )),
    }
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
