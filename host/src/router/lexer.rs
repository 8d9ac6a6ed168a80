//! Tokens of the rule language: matcher names, quoted arguments, `( ) , && || !`.
//!
//! Arguments follow Go string syntax, as in Traefik: a backquoted string is raw (no escapes,
//! carriage returns dropped), a double-quoted string takes Go's escapes (`\n`, `\"`, `\\`,
//! `\xHH`, `\NNN`, `\uHHHH`, `\UHHHHHHHH`, ...) and may not span lines. Runs at parse time only.

use super::error::RuleError;

/// One token and the byte offset where it starts in the rule text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub kind: TokenKind<'a>,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind<'a> {
    /// A matcher name (`Host`, `PathPrefix`, ...): ASCII letters, digits and `_`.
    Ident(&'a str),
    /// A quoted argument, already unescaped.
    Str(String),
    LParen,
    RParen,
    Comma,
    And,
    Or,
    Not,
    /// End of the rule text.
    End,
}

impl TokenKind<'_> {
    /// How an error message names this token.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Ident(name) => format!("name {name:?}"),
            TokenKind::Str(value) => format!("string {value:?}"),
            TokenKind::LParen => "'('".to_owned(),
            TokenKind::RParen => "')'".to_owned(),
            TokenKind::Comma => "','".to_owned(),
            TokenKind::And => "'&&'".to_owned(),
            TokenKind::Or => "'||'".to_owned(),
            TokenKind::Not => "'!'".to_owned(),
            TokenKind::End => "end of rule".to_owned(),
        }
    }
}

/// Splits rule text into tokens on demand; the parser pulls one token at a time.
pub(crate) struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Self {
        Lexer { text, pos: 0 }
    }

    /// The next token, or [`TokenKind::End`] (repeatedly) once the text is used up.
    pub fn next_token(&mut self) -> Result<Token<'a>, RuleError> {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(self.pos) {
            self.pos += 1;
        }
        let offset = self.pos;
        let Some(&byte) = bytes.get(offset) else {
            return Ok(Token {
                kind: TokenKind::End,
                offset,
            });
        };
        let (kind, len) = match byte {
            b'(' => (TokenKind::LParen, 1),
            b')' => (TokenKind::RParen, 1),
            b',' => (TokenKind::Comma, 1),
            b'!' => (TokenKind::Not, 1),
            b'&' if bytes.get(offset + 1) == Some(&b'&') => (TokenKind::And, 2),
            b'|' if bytes.get(offset + 1) == Some(&b'|') => (TokenKind::Or, 2),
            b'`' => self.raw_string(offset)?,
            b'"' => self.quoted_string(offset)?,
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let len = bytes[offset..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                    .count();
                (TokenKind::Ident(&self.text[offset..offset + len]), len)
            }
            _ => {
                let found = self.text[offset..].chars().next().unwrap_or('\u{FFFD}');
                return Err(RuleError::UnexpectedChar { found, offset });
            }
        };
        self.pos = offset + len;
        Ok(Token { kind, offset })
    }

    /// A backquoted Go raw string starting at `start`; returns the token and its length.
    fn raw_string(&self, start: usize) -> Result<(TokenKind<'a>, usize), RuleError> {
        let body = &self.text[start + 1..];
        let end = body
            .find('`')
            .ok_or(RuleError::UnterminatedString { offset: start })?;
        let value = body[..end].replace('\r', "");
        Ok((TokenKind::Str(value), end + 2))
    }

    /// A double-quoted Go interpreted string starting at `start`; returns the token and its length.
    fn quoted_string(&self, start: usize) -> Result<(TokenKind<'a>, usize), RuleError> {
        let bytes = self.text.as_bytes();
        let mut out = Vec::new();
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None | Some(b'\n') => return Err(RuleError::UnterminatedString { offset: start }),
                Some(b'"') => break,
                Some(b'\\') => i = self.escape(i, &mut out)?,
                Some(&b) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        let value = String::from_utf8(out).map_err(|_| RuleError::InvalidUtf8 { offset: start })?;
        Ok((TokenKind::Str(value), i + 1 - start))
    }

    /// Decodes the escape whose `\` is at `at` into `out`; returns the offset just past it.
    fn escape(&self, at: usize, out: &mut Vec<u8>) -> Result<usize, RuleError> {
        let bytes = self.text.as_bytes();
        let bad = |len: usize| {
            let end = (at + len).min(self.text.len());
            // Widen to a char boundary so the slice below cannot split a UTF-8 sequence.
            let end = (end..=self.text.len())
                .find(|e| self.text.is_char_boundary(*e))
                .unwrap_or(self.text.len());
            RuleError::BadEscape {
                escape: self.text[at..end].to_owned(),
                offset: at,
            }
        };
        let Some(&kind) = bytes.get(at + 1) else {
            return Err(RuleError::UnterminatedString { offset: at });
        };
        let simple = match kind {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' => Some(b'\\'),
            b'"' => Some(b'"'),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            return Ok(at + 2);
        }
        let (digits, radix, skip) = match kind {
            b'x' => (2, 16, 2),
            b'u' => (4, 16, 2),
            b'U' => (8, 16, 2),
            b'0'..=b'7' => (3, 8, 1),
            _ => return Err(bad(2)),
        };
        let start = at + skip;
        let digits_text = bytes
            .get(start..start + digits)
            .ok_or_else(|| bad(skip + digits))?;
        let mut value: u32 = 0;
        for d in digits_text {
            let digit = char::from(*d)
                .to_digit(radix)
                .ok_or_else(|| bad(skip + digits))?;
            value = value * radix + digit;
        }
        match kind {
            b'x' => out.push(value as u8),
            b'0'..=b'7' => {
                let byte = u8::try_from(value).map_err(|_| bad(skip + digits))?;
                out.push(byte);
            }
            _ => {
                let ch = char::from_u32(value).ok_or_else(|| bad(skip + digits))?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
        }
        Ok(start + digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Result<Vec<TokenKind<'_>>, RuleError> {
        let mut lexer = Lexer::new(text);
        let mut out = Vec::new();
        loop {
            let token = lexer.next_token()?;
            if token.kind == TokenKind::End {
                return Ok(out);
            }
            out.push(token.kind);
        }
    }

    fn single_string(text: &str) -> Result<String, RuleError> {
        match kinds(text)?.as_slice() {
            [TokenKind::Str(s)] => Ok(s.clone()),
            other => panic!("expected one string token, got {other:?}"),
        }
    }

    #[test]
    fn splits_operators_names_and_strings() {
        let got = kinds("Host(`a`) && !(Path(\"/b\") || X_1)").unwrap();
        use TokenKind::*;
        assert_eq!(
            got,
            vec![
                Ident("Host"),
                LParen,
                Str("a".into()),
                RParen,
                And,
                Not,
                LParen,
                Ident("Path"),
                LParen,
                Str("/b".into()),
                RParen,
                Or,
                Ident("X_1"),
                RParen,
            ]
        );
    }

    #[test]
    fn reports_token_offsets() {
        let mut lexer = Lexer::new("  Host ( `x`)");
        let offsets: Vec<usize> = (0..5).map(|_| lexer.next_token().unwrap().offset).collect();
        assert_eq!(offsets, vec![2, 7, 9, 12, 13]);
    }

    #[test]
    fn raw_strings_keep_backslashes_and_drop_carriage_returns() {
        assert_eq!(single_string(r"`^a\.b$`").unwrap(), r"^a\.b$");
        assert_eq!(single_string("`a\r\nb`").unwrap(), "a\nb");
        assert_eq!(single_string("`é`").unwrap(), "é");
    }

    #[test]
    fn quoted_strings_decode_go_escapes() {
        assert_eq!(single_string(r#""a\"b\\c""#).unwrap(), "a\"b\\c");
        assert_eq!(
            single_string(r#""\t\n\r\a\b\f\v""#).unwrap(),
            "\t\n\r\x07\x08\x0c\x0b"
        );
        assert_eq!(
            single_string(r#""\x41\101\u00e9\U0001F600""#).unwrap(),
            "AAé😀"
        );
    }

    #[test]
    fn rejects_bad_escapes() {
        let err = single_string(r#""\q""#).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid escape "\\q" in string at offset 1"#
        );
        assert!(matches!(
            single_string(r#""\x4""#),
            Err(RuleError::BadEscape { offset: 1, .. })
        ));
        assert!(matches!(
            single_string(r#""\777""#),
            Err(RuleError::BadEscape { .. })
        ));
        assert!(matches!(
            single_string(r#""\uD800""#),
            Err(RuleError::BadEscape { .. })
        ));
        assert!(matches!(
            single_string(r#""\xé""#),
            Err(RuleError::BadEscape { .. })
        ));
        assert!(matches!(
            single_string(r#""\xff""#),
            Err(RuleError::InvalidUtf8 { offset: 0 })
        ));
    }

    #[test]
    fn rejects_unterminated_strings() {
        let err = kinds("Host(`a)").unwrap_err();
        assert_eq!(err.to_string(), "unterminated string starting at offset 5");
        assert!(matches!(
            kinds("\"abc"),
            Err(RuleError::UnterminatedString { offset: 0 })
        ));
        assert!(matches!(
            kinds("\"a\nb\""),
            Err(RuleError::UnterminatedString { offset: 0 })
        ));
        assert!(matches!(
            kinds("\"a\\"),
            Err(RuleError::UnterminatedString { .. })
        ));
    }

    #[test]
    fn rejects_stray_characters() {
        let err = kinds("Host(`a`) & Path(`/`)").unwrap_err();
        assert_eq!(err.to_string(), "unexpected character '&' at offset 10");
        assert!(matches!(
            kinds("a | b"),
            Err(RuleError::UnexpectedChar {
                found: '|',
                offset: 2
            })
        ));
        assert!(matches!(
            kinds("'a'"),
            Err(RuleError::UnexpectedChar { found: '\'', .. })
        ));
        assert!(matches!(
            kinds("ü"),
            Err(RuleError::UnexpectedChar {
                found: 'ü',
                offset: 0
            })
        ));
    }
}
