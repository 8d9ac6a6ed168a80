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

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Number(String),
    LParen,
    RParen,
    Comma,
    And,
    Or,
    Op(CompareOp),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Ident(name) => format!("{name:?}"),
            Token::Number(n) => n.clone(),
            Token::LParen => "\"(\"".into(),
            Token::RParen => "\")\"".into(),
            Token::Comma => "\",\"".into(),
            Token::And => "\"&&\"".into(),
            Token::Or => "\"||\"".into(),
            Token::Op(op) => format!("{op:?}"),
        }
    }
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
                (Token::Number(text[i..end].to_string()), end - i)
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

struct Cursor {
    tokens: Vec<Token>,
    at: usize,
}

impl Cursor {
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
            Some(t) => Err(format!("expected {what}, found {}", t.describe())),
            None => Err(format!("expected {what}, found the end")),
        }
    }

    fn fold(
        &mut self,
        separator: &Token,
        item: fn(&mut Cursor) -> Result<Expression, String>,
        join: fn(Box<Expression>, Box<Expression>) -> Expression,
    ) -> Result<Expression, String> {
        let mut left = item(self)?;
        while self.peek() == Some(separator) {
            self.at += 1;
            left = join(Box::new(left), Box::new(item(self)?));
        }
        Ok(left)
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
    let mut cursor = Cursor {
        tokens: tokens(text)?,
        at: 0,
    };
    if cursor.tokens.is_empty() {
        return Err("empty expression".to_string());
    }
    let parsed = or(&mut cursor)?;
    match cursor.next() {
        None => Ok(parsed),
        Some(t) => Err(format!(
            "unexpected {} after a whole expression",
            t.describe()
        )),
    }
}
