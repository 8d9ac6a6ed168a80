//! Splits a template into text and actions, and an action into tokens, as Go's `text/template`
//! lexer does: `{{- ` trims the whitespace before the action, ` -}}` the whitespace after it,
//! and `{{/* ... */}}` is a comment.

use crate::TemplateError;

/// A piece of the template.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// Literal text, copied to the output, and the line it starts on.
    Text(String, usize),
    /// An action: its tokens and the line it starts on.
    Action { line: usize, tokens: Vec<Token> },
}

/// A token inside an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A function name or a keyword (`if`, `range`, `end`, `true`, `nil`...).
    Ident(String),
    /// `$` or `$name` (the name without the `$`; empty for `$`).
    Variable(String),
    /// `.name`: a field of what precedes it (or of dot when it starts an operand).
    Field(String),
    /// `.` on its own.
    Dot,
    /// A string literal, unquoted.
    Str(String),
    /// A number literal, as written.
    Number(String),
    /// A character literal, as its code point.
    Char(char),
    Pipe,
    LeftParen,
    RightParen,
    Comma,
    /// `:=`
    Declare,
    /// `=`
    Assign,
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn error(line: usize, reason: impl Into<String>) -> TemplateError {
    TemplateError {
        line,
        reason: reason.into(),
    }
}

fn line_at(text: &str, byte: usize) -> usize {
    1 + text[..byte].bytes().filter(|&b| b == b'\n').count()
}

/// Byte offset of `part`, a slice of `text`, within `text`.
fn offset_in(text: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Splits `text` into items.
pub fn lex(text: &str) -> Result<Vec<Item>, TemplateError> {
    let mut items = Vec::new();
    let mut rest_start = 0;
    let mut trim_next_text = false;
    while let Some(found) = text[rest_start..].find(LEFT) {
        let open = rest_start + found;
        let line = line_at(text, open);
        let mut inner_start = open + LEFT.len();
        let after = &text[inner_start..];
        let trim_left = after.starts_with('-') && after[1..].starts_with(is_space);
        if trim_left {
            inner_start += 1;
        }
        let mut literal = &text[rest_start..open];
        if trim_next_text {
            literal = literal.trim_start_matches(is_space);
        }
        if trim_left {
            literal = literal.trim_end_matches(is_space);
        }
        if !literal.is_empty() {
            items.push(Item::Text(
                literal.to_string(),
                line_at(text, offset_in(text, literal)),
            ));
        }
        let (tokens, end, trim_right) = lex_action(text, inner_start, line)?;
        if let Some(tokens) = tokens {
            items.push(Item::Action { line, tokens });
        }
        trim_next_text = trim_right;
        rest_start = end;
    }
    let mut literal = &text[rest_start..];
    if trim_next_text {
        literal = literal.trim_start_matches(is_space);
    }
    if !literal.is_empty() {
        items.push(Item::Text(
            literal.to_string(),
            line_at(text, offset_in(text, literal)),
        ));
    }
    Ok(items)
}

/// Whether the action closes at `at`: `}}`, or ` -}}` (returned as true: trim after).
fn closes_at(text: &str, at: usize) -> Option<(usize, bool)> {
    let rest = &text[at..];
    if rest.starts_with(RIGHT) {
        return Some((at + RIGHT.len(), false));
    }
    let mut chars = rest.chars();
    if chars.next().is_some_and(is_space) {
        let trimmed = rest.trim_start_matches(is_space);
        if let Some(after) = trimmed.strip_prefix('-')
            && after.starts_with(RIGHT)
        {
            let consumed = rest.len() - after.len() + RIGHT.len();
            return Some((at + consumed, true));
        }
    }
    None
}

/// Tokens of the action starting at `start` (after `{{` and its trim marker); `None` for a
/// comment. Returns the byte after the closing delimiter and whether it trims what follows.
fn lex_action(
    text: &str,
    start: usize,
    line: usize,
) -> Result<(Option<Vec<Token>>, usize, bool), TemplateError> {
    let bytes = text.as_bytes();
    let mut at = start;
    // A comment: `/*` right after the delimiter (and its trim marker's space).
    let comment_at = text[at..].trim_start_matches(is_space);
    if comment_at.starts_with("/*") {
        let body = text.len() - comment_at.len() + 2;
        let Some(close) = text[body..].find("*/") else {
            return Err(error(line, "unclosed comment"));
        };
        let after = body + close + 2;
        return match closes_at(text, after) {
            Some((end, trim)) => Ok((None, end, trim)),
            None => Err(error(line, "comment ends before closing delimiter")),
        };
    }
    let mut tokens = Vec::new();
    loop {
        if at >= text.len() {
            return Err(error(line, "unclosed action"));
        }
        if let Some((end, trim)) = closes_at(text, at) {
            return Ok((Some(tokens), end, trim));
        }
        let c = text[at..].chars().next().unwrap_or(' ');
        let token_line = line_at(text, at);
        match c {
            c if is_space(c) => at += c.len_utf8(),
            '|' => {
                tokens.push(Token::Pipe);
                at += 1;
            }
            '(' => {
                tokens.push(Token::LeftParen);
                at += 1;
            }
            ')' => {
                tokens.push(Token::RightParen);
                at += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                at += 1;
            }
            ':' if bytes.get(at + 1) == Some(&b'=') => {
                tokens.push(Token::Declare);
                at += 2;
            }
            '=' => {
                tokens.push(Token::Assign);
                at += 1;
            }
            '"' => {
                let (value, end) = quoted(text, at, token_line)?;
                tokens.push(Token::Str(value));
                at = end;
            }
            '`' => {
                let Some(close) = text[at + 1..].find('`') else {
                    return Err(error(token_line, "unterminated raw quoted string"));
                };
                tokens.push(Token::Str(text[at + 1..at + 1 + close].to_string()));
                at += close + 2;
            }
            '\'' => {
                let (value, end) = char_literal(text, at, token_line)?;
                tokens.push(Token::Char(value));
                at = end;
            }
            '$' => {
                let end = word_end(text, at + 1);
                tokens.push(Token::Variable(text[at + 1..end].to_string()));
                at = end;
            }
            '.' => {
                let next = text[at + 1..].chars().next();
                if next.is_some_and(|n| n.is_ascii_digit()) {
                    let end = number_end(text, at);
                    tokens.push(Token::Number(text[at..end].to_string()));
                    at = end;
                } else if next.is_some_and(is_word_char) {
                    let end = word_end(text, at + 1);
                    tokens.push(Token::Field(text[at + 1..end].to_string()));
                    at = end;
                } else {
                    tokens.push(Token::Dot);
                    at += 1;
                }
            }
            '-' | '+' | '0'..='9' => {
                let end = number_end(text, at);
                if end == at + 1 && !c.is_ascii_digit() {
                    return Err(error(token_line, format!("unexpected {c:?} in action")));
                }
                tokens.push(Token::Number(text[at..end].to_string()));
                at = end;
            }
            c if is_word_char(c) => {
                let end = word_end(text, at);
                tokens.push(Token::Ident(text[at..end].to_string()));
                at = end;
            }
            c => return Err(error(token_line, format!("unexpected {c:?} in action"))),
        }
    }
}

fn is_word_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn word_end(text: &str, from: usize) -> usize {
    text[from..]
        .char_indices()
        .find(|&(_, c)| !is_word_char(c))
        .map_or(text.len(), |(i, _)| from + i)
}

/// End of a number starting at `from` (sign, digits, `_`, `.`, exponent, hex/octal/binary
/// prefixes and digits): validity is checked when it is parsed.
fn number_end(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut at = from;
    if matches!(bytes.get(at), Some(b'-' | b'+')) {
        at += 1;
    }
    while let Some(&b) = bytes.get(at) {
        let exponent_sign = matches!(b, b'-' | b'+')
            && at > from
            && matches!(bytes[at - 1], b'e' | b'E' | b'p' | b'P')
            && !text[from..at].starts_with("0x")
            && !text[from..at].starts_with("0X");
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || exponent_sign {
            at += 1;
        } else {
            break;
        }
    }
    at
}

/// A Go interpreted string literal starting at `from` (the opening quote).
fn quoted(text: &str, from: usize, line: usize) -> Result<(String, usize), TemplateError> {
    let mut out = String::new();
    let mut chars = text[from + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, from + 1 + i + 1)),
            '\n' => break,
            '\\' => {
                let Some((_, escape)) = chars.next() else {
                    break;
                };
                out.push(unescape(escape, &mut chars, line)?);
            }
            c => out.push(c),
        }
    }
    Err(error(line, "unterminated quoted string"))
}

fn char_literal(text: &str, from: usize, line: usize) -> Result<(char, usize), TemplateError> {
    let mut chars = text[from + 1..].char_indices();
    let value = match chars.next() {
        Some((_, '\\')) => {
            let Some((_, escape)) = chars.next() else {
                return Err(error(line, "unterminated character constant"));
            };
            unescape(escape, &mut chars, line)?
        }
        Some((_, c)) if c != '\'' => c,
        _ => return Err(error(line, "malformed character constant")),
    };
    match chars.next() {
        Some((i, '\'')) => Ok((value, from + 1 + i + 1)),
        _ => Err(error(line, "unterminated character constant")),
    }
}

fn unescape(
    escape: char,
    chars: &mut std::str::CharIndices<'_>,
    line: usize,
) -> Result<char, TemplateError> {
    let hex = |chars: &mut std::str::CharIndices<'_>, n: usize| -> Result<char, TemplateError> {
        let digits: String = chars.by_ref().take(n).map(|(_, c)| c).collect();
        u32::from_str_radix(&digits, 16)
            .ok()
            .filter(|_| digits.len() == n)
            .and_then(char::from_u32)
            .ok_or_else(|| error(line, format!("invalid escape \\{escape}{digits}")))
    };
    Ok(match escape {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'v' => '\u{b}',
        '\\' => '\\',
        '"' => '"',
        '\'' => '\'',
        'x' => hex(chars, 2)?,
        'u' => hex(chars, 4)?,
        'U' => hex(chars, 8)?,
        other => return Err(error(line, format!("unknown escape sequence \\{other}"))),
    })
}
