//! vulcand/oxy's expression language, which Traefik's `buffering.retryExpression` (parsed by
//! the gateway's config, `config::retry_expression`) and `circuitBreaker.expression` (parsed by
//! the bundled `circuit-breaker` plugin) both use: Go-like predicates over function calls, with
//! comparisons, `!`, `&&` (binding tighter than `||`) and parentheses. Here: the comparison
//! operators, the lexer, and a cursor over the tokens with the left-folded `a (op a)*` loop of
//! the grammar; each language's functions are its parser's. Config time only; errors are the
//! reason alone (the caller locates them as `file:line: key: reason`).

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
    pub fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
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

/// A token. Numbers keep their text: one language reads floats, the other whole numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Ident(String),
    Number(String),
    /// A double-quoted string, without escapes.
    Str(String),
    LParen,
    RParen,
    Comma,
    And,
    Or,
    Not,
    Op(CompareOp),
}

impl Token {
    /// The token as an error message quotes it.
    pub fn describe(&self) -> String {
        match self {
            Token::Ident(name) => format!("{name:?}"),
            Token::Number(n) => n.clone(),
            Token::Str(s) => format!("\"{s}\""),
            Token::LParen => "\"(\"".into(),
            Token::RParen => "\")\"".into(),
            Token::Comma => "\",\"".into(),
            Token::And => "\"&&\"".into(),
            Token::Or => "\"||\"".into(),
            Token::Not => "\"!\"".into(),
            Token::Op(op) => format!("{op:?}"),
        }
    }
}

/// Splits `text` into tokens.
pub fn tokens(text: &str) -> Result<Vec<Token>, String> {
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
            b'!' => (Token::Not, 1),
            b'>' => (Token::Op(CompareOp::Gt), 1),
            b'<' => (Token::Op(CompareOp::Lt), 1),
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

/// A recursive-descent parser's position in the tokens.
pub struct Cursor {
    tokens: Vec<Token>,
    at: usize,
}

impl Cursor {
    pub fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    /// The next token, consumed. (A cursor with `peek` and `expect`, not an `Iterator`.)
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    /// Takes `want`, or says what came instead of `what`.
    pub fn expect(&mut self, want: Token, what: &str) -> Result<(), String> {
        match self.next() {
            Some(t) if t == want => Ok(()),
            Some(t) => Err(format!("expected {what}, found {}", t.describe())),
            None => Err(format!("expected {what}, found the end")),
        }
    }

    /// `item ( separator item )*`, folded to the left with `join` (`&&` and `||`).
    pub fn fold<E>(
        &mut self,
        separator: &Token,
        item: fn(&mut Cursor) -> Result<E, String>,
        join: fn(Box<E>, Box<E>) -> E,
    ) -> Result<E, String> {
        let mut left = item(self)?;
        while self.peek() == Some(separator) {
            self.at += 1;
            left = join(Box::new(left), Box::new(item(self)?));
        }
        Ok(left)
    }
}

/// Deepest nesting of parentheses and negations (`!`) an expression may have. The parsers
/// recurse once per level and the parsed expression is evaluated and dropped recursively; in the
/// circuit-breaker plugin's 16 KiB guest stack 36 nested parentheses exhausted it (a trap at
/// config load). Real expressions nest a level or two.
pub const MAX_NESTING: usize = 16;

/// Most `&&` and `||` operators an expression may have: each is a level of the (left-folded)
/// expression tree, which is evaluated and dropped recursively.
pub const MAX_OPERATORS: usize = 64;

/// Refuses tokens nested deeper than [`MAX_NESTING`] or joined by more than [`MAX_OPERATORS`]
/// operators, before any recursion. A grouping parenthesis is a level (a function call's are
/// not: no recursion there); a `!` counts as a level until the parenthesis around it closes (an
/// upper bound of the unary chain it starts).
fn check_shape(tokens: &[Token]) -> Result<(), String> {
    // Per open parenthesis, outermost first: the levels it holds (itself, if a grouping one,
    // plus the negations seen inside it).
    let mut open: Vec<usize> = vec![0];
    let mut depth = 0usize;
    let mut operators = 0usize;
    let mut previous: Option<&Token> = None;
    for token in tokens {
        match token {
            Token::LParen => {
                let grouping = usize::from(!matches!(previous, Some(Token::Ident(_))));
                open.push(grouping);
                depth += grouping;
            }
            Token::RParen if open.len() > 1 => depth -= open.pop().unwrap_or(0),
            Token::Not => {
                if let Some(levels) = open.last_mut() {
                    *levels += 1;
                }
                depth += 1;
            }
            Token::And | Token::Or => operators += 1,
            _ => {}
        }
        if depth > MAX_NESTING {
            return Err(format!(
                "nests parentheses and negations more than {MAX_NESTING} levels deep"
            ));
        }
        previous = Some(token);
    }
    if operators > MAX_OPERATORS {
        return Err(format!(
            "has {operators} && and || operators, more than {MAX_OPERATORS}"
        ));
    }
    Ok(())
}

/// Parses all of `text` with `expression` (the grammar's top rule): `empty` is the reason for a
/// text without tokens; tokens left after a whole expression are an error, and so is an
/// expression nested deeper than [`MAX_NESTING`] or longer than [`MAX_OPERATORS`] operators.
pub fn parse_whole<E>(
    text: &str,
    empty: &str,
    expression: fn(&mut Cursor) -> Result<E, String>,
) -> Result<E, String> {
    let mut cursor = Cursor {
        tokens: tokens(text)?,
        at: 0,
    };
    if cursor.tokens.is_empty() {
        return Err(empty.to_string());
    }
    check_shape(&cursor.tokens)?;
    let parsed = expression(&mut cursor)?;
    match cursor.next() {
        None => Ok(parsed),
        Some(t) => Err(format!(
            "unexpected {} after a whole expression",
            t.describe()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `primary` (a whole operand) or `( expression )`: the least grammar for the shape checks.
    fn primary(c: &mut Cursor) -> Result<(), String> {
        match c.next() {
            Some(Token::Not) => primary(c),
            Some(Token::LParen) => {
                or(c)?;
                c.expect(Token::RParen, "\")\"")
            }
            Some(Token::Ident(_)) => {
                c.expect(Token::LParen, "\"(\"")?;
                c.expect(Token::RParen, "\")\"")
            }
            _ => Err("expected an operand".into()),
        }
    }

    fn or(c: &mut Cursor) -> Result<(), String> {
        c.fold(&Token::Or, primary, |_, _| ())
    }

    fn parse(text: &str) -> Result<(), String> {
        parse_whole(text, "empty", or)
    }

    fn nested(levels: usize, open: &str) -> String {
        format!("{}A(){}", open.repeat(levels), ")".repeat(levels))
    }

    #[test]
    fn parentheses_and_negations_nested_to_the_limit_parse() {
        assert_eq!(parse(&nested(MAX_NESTING, "(")), Ok(()));
        assert_eq!(parse(&nested(MAX_NESTING / 2, "!(")), Ok(()));
        assert_eq!(parse(&format!("{}A()", "!".repeat(MAX_NESTING))), Ok(()));
        // Levels closed again do not add up.
        let siblings = vec![nested(MAX_NESTING, "("); 3].join(" || ");
        assert_eq!(parse(&siblings), Ok(()));
    }

    #[test]
    fn nesting_past_the_limit_is_an_error_before_any_recursion() {
        for too_deep in [
            nested(MAX_NESTING + 1, "("),
            nested(MAX_NESTING / 2 + 1, "!("),
            format!("{}A()", "!".repeat(MAX_NESTING + 1)),
            nested(100_000, "("),
        ] {
            let err = parse(&too_deep).expect_err("too deep");
            assert!(err.contains("more than 16 levels deep"), "{err}");
        }
    }

    #[test]
    fn more_operators_than_the_limit_is_an_error() {
        let chain = |operators: usize| vec!["A()"; operators + 1].join(" && ");
        assert_eq!(parse(&chain(MAX_OPERATORS).replace("&&", "||")), Ok(()));
        let err = parse(&chain(MAX_OPERATORS + 1)).expect_err("too long");
        assert!(
            err.contains("65 && and || operators, more than 64"),
            "{err}"
        );
    }
}
