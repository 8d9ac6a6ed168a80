//! Recursive-descent parser from rule text to a compiled [`Expr`].
//!
//! Grammar (precedence `!` > `&&` > `||`, both binary operators left-associative):
//! ```text
//! rule    := or EOF
//! or      := and ( "||" and )*
//! and     := unary ( "&&" unary )*
//! unary   := "!" unary | primary
//! primary := "(" or ")" | NAME "(" [ STRING ( "," STRING )* ] ")"
//! ```
//! Runs once per rule at config load; cost is linear in the rule length plus regex compilation.
//! Recursion is bounded by [`MAX_DEPTH`] nested `(` and `!`, so no input can overflow the stack.

use super::compile::{Arg, MatcherKind};
use super::error::RuleError;
use super::expr::Expr;
use super::lexer::{Lexer, Token, TokenKind};
use super::matcher::Matcher;

/// How deeply `(` and `!` may nest in one rule. Real rules nest two or three levels.
pub const MAX_DEPTH: usize = 64;

/// Longest rule text accepted, in bytes. Real rules are well under 1 KiB; a list of a hundred
/// hosts joined by `||` is about 3 KiB.
pub const MAX_RULE_LEN: usize = 64 * 1024;

const EXPECT_OPERAND: &str = "a matcher, '!' or '('";

/// A matcher language the parser reads: how names resolve and arguments compile. HTTP's
/// matchers are [`HttpGrammar`]; TCP routers bring their own (`tcp::rule`).
pub(crate) trait Grammar {
    type Kind: Copy;
    type Matcher;
    /// Resolves the matcher name at `offset` (before its arguments are read).
    fn lookup(&self, name: &str, offset: usize) -> Result<Self::Kind, RuleError>;
    /// Compiles a matcher of `kind` (named at `offset`) with its arguments.
    fn compile(
        &self,
        kind: Self::Kind,
        args: Vec<Arg>,
        offset: usize,
    ) -> Result<Self::Matcher, RuleError>;
}

/// The HTTP router matchers (`Host`, `Path`, ...).
pub(crate) struct HttpGrammar;

impl Grammar for HttpGrammar {
    type Kind = MatcherKind;
    type Matcher = Matcher;

    fn lookup(&self, name: &str, offset: usize) -> Result<MatcherKind, RuleError> {
        MatcherKind::lookup(name).ok_or_else(|| RuleError::UnknownMatcher {
            name: name.to_owned(),
            offset,
        })
    }

    fn compile(
        &self,
        kind: MatcherKind,
        args: Vec<Arg>,
        offset: usize,
    ) -> Result<Matcher, RuleError> {
        Matcher::compile(kind, args, offset)
    }
}

/// Parses and compiles `text` as an HTTP rule.
pub(crate) fn parse(text: &str) -> Result<Expr, RuleError> {
    parse_with(text, &HttpGrammar)
}

/// Parses and compiles `text` with the matchers of `grammar`.
pub(crate) fn parse_with<G: Grammar>(
    text: &str,
    grammar: &G,
) -> Result<Expr<G::Matcher>, RuleError> {
    if text.len() > MAX_RULE_LEN {
        return Err(RuleError::TooLong {
            len: text.len(),
            limit: MAX_RULE_LEN,
        });
    }
    if text.trim().is_empty() {
        return Err(RuleError::Empty);
    }
    let mut lexer = Lexer::new(text);
    let current = lexer.next_token()?;
    let mut parser = Parser {
        lexer,
        current,
        depth: 0,
        grammar,
    };
    let expr = parser.or()?;
    match parser.current.kind {
        TokenKind::End => Ok(expr),
        TokenKind::RParen => Err(RuleError::UnmatchedParen {
            offset: parser.current.offset,
        }),
        ref other => Err(RuleError::TrailingInput {
            found: other.describe(),
            offset: parser.current.offset,
        }),
    }
}

struct Parser<'a, 'g, G> {
    lexer: Lexer<'a>,
    grammar: &'g G,
    /// The next unconsumed token (one token of lookahead).
    current: Token<'a>,
    /// How many `(` and `!` enclose the current position.
    depth: usize,
}

impl<'a, G: Grammar> Parser<'a, '_, G> {
    /// Consumes the current token and returns it.
    fn advance(&mut self) -> Result<Token<'a>, RuleError> {
        let next = self.lexer.next_token()?;
        Ok(std::mem::replace(&mut self.current, next))
    }

    fn enter(&mut self, offset: usize) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RuleError::TooDeep {
                limit: MAX_DEPTH,
                offset,
            });
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr<G::Matcher>, RuleError> {
        let first = self.and()?;
        if self.current.kind != TokenKind::Or {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.current.kind == TokenKind::Or {
            self.advance()?;
            operands.push(self.and()?);
        }
        Ok(Expr::Any(operands.into()))
    }

    fn and(&mut self) -> Result<Expr<G::Matcher>, RuleError> {
        let first = self.unary()?;
        if self.current.kind != TokenKind::And {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.current.kind == TokenKind::And {
            self.advance()?;
            operands.push(self.unary()?);
        }
        Ok(Expr::All(operands.into()))
    }

    fn unary(&mut self) -> Result<Expr<G::Matcher>, RuleError> {
        if self.current.kind != TokenKind::Not {
            return self.primary();
        }
        let bang = self.advance()?;
        self.enter(bang.offset)?;
        let inner = self.unary()?;
        self.depth -= 1;
        Ok(Expr::Not(Box::new(inner)))
    }

    fn primary(&mut self) -> Result<Expr<G::Matcher>, RuleError> {
        let token = self.advance()?;
        match token.kind {
            TokenKind::LParen => {
                self.enter(token.offset)?;
                let inner = self.or()?;
                self.close_group(token.offset, "'&&', '||' or ')'")?;
                self.depth -= 1;
                Ok(inner)
            }
            TokenKind::Ident(name) => self.matcher(name, token.offset),
            TokenKind::End => Err(RuleError::UnexpectedEnd {
                expected: EXPECT_OPERAND,
                offset: token.offset,
            }),
            other => Err(RuleError::UnexpectedToken {
                found: other.describe(),
                expected: EXPECT_OPERAND,
                offset: token.offset,
            }),
        }
    }

    /// Consumes the `)` closing the `(` at `open`; `expected` names what else could have come.
    fn close_group(&mut self, open: usize, expected: &'static str) -> Result<(), RuleError> {
        let token = self.advance()?;
        match token.kind {
            TokenKind::RParen => Ok(()),
            TokenKind::End => Err(RuleError::UnclosedParen { offset: open }),
            other => Err(RuleError::UnexpectedToken {
                found: other.describe(),
                expected,
                offset: token.offset,
            }),
        }
    }

    /// A matcher call whose name `name` (at `offset`) was just consumed.
    fn matcher(&mut self, name: &str, offset: usize) -> Result<Expr<G::Matcher>, RuleError> {
        let kind = self.grammar.lookup(name, offset)?;
        let open = self.advance()?;
        match open.kind {
            TokenKind::LParen => {}
            TokenKind::End => {
                return Err(RuleError::UnexpectedEnd {
                    expected: "'(' after the matcher name",
                    offset: open.offset,
                });
            }
            other => {
                return Err(RuleError::UnexpectedToken {
                    found: other.describe(),
                    expected: "'(' after the matcher name",
                    offset: open.offset,
                });
            }
        }
        let mut args = Vec::new();
        if self.current.kind == TokenKind::RParen {
            self.advance()?;
        } else {
            loop {
                let token = self.advance()?;
                match token.kind {
                    TokenKind::Str(value) => args.push(Arg {
                        value,
                        offset: token.offset,
                    }),
                    TokenKind::End => {
                        return Err(RuleError::UnclosedParen {
                            offset: open.offset,
                        });
                    }
                    other => {
                        return Err(RuleError::UnexpectedToken {
                            found: other.describe(),
                            expected: "a quoted argument",
                            offset: token.offset,
                        });
                    }
                }
                if self.current.kind != TokenKind::Comma {
                    self.close_group(open.offset, "',' or ')'")?;
                    break;
                }
                self.advance()?;
            }
        }
        self.grammar.compile(kind, args, offset).map(Expr::Match)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse(text) {
            Ok(expr) => panic!("{text:?} parsed as {expr:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn chains_are_flat_lists() {
        let text = vec!["Path(`/a`)"; 500].join(" && ");
        let expr = parse(&text).unwrap();
        assert_eq!(expr.depth(), 2);
        let text = vec!["Path(`/a`) && Method(`GET`)"; 300].join(" || ");
        let expr = parse(&text).unwrap();
        assert_eq!(expr.depth(), 3);
    }

    #[test]
    fn precedence_shapes_the_tree() {
        let expr = parse("!Path(`/a`) && Path(`/b`) || Path(`/c`)").unwrap();
        let Expr::Any(any) = &expr else {
            panic!("{expr:?}")
        };
        assert_eq!(any.len(), 2);
        let Expr::All(all) = &any[0] else {
            panic!("{expr:?}")
        };
        assert!(matches!(all[0], Expr::Not(_)));
        assert!(matches!(any[1], Expr::Match(_)));
    }

    #[test]
    fn nesting_up_to_the_limit_parses() {
        let text = format!(
            "{}Path(`/`){}",
            "(".repeat(MAX_DEPTH),
            ")".repeat(MAX_DEPTH)
        );
        assert!(parse(&text).is_ok());
        let text = format!("{}Path(`/`)", "!".repeat(MAX_DEPTH));
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn nesting_past_the_limit_is_rejected() {
        let deep = MAX_DEPTH + 1;
        let text = format!("{}Path(`/`){}", "(".repeat(deep), ")".repeat(deep));
        assert_eq!(err(&text), "rule nests deeper than 64 levels at offset 64");
        let text = format!("{}Path(`/`)", "!(".repeat(40));
        assert_eq!(err(&text), "rule nests deeper than 64 levels at offset 64");
        // Far past the limit, unclosed: still a clean error, no stack overflow.
        assert!(matches!(
            parse(&"(".repeat(60_000)),
            Err(RuleError::TooDeep { .. })
        ));
        assert!(matches!(
            parse(&"!".repeat(60_000)),
            Err(RuleError::TooDeep { .. })
        ));
    }

    #[test]
    fn overlong_rules_are_rejected_before_parsing() {
        let text = format!("Path(`/{}`)", "a".repeat(MAX_RULE_LEN));
        assert_eq!(
            err(&text),
            format!(
                "rule is {} bytes long, more than the limit of 65536 bytes",
                text.len()
            )
        );
    }
}
