//! Builds the tree of a template from its items: actions, `if` / `range` / `with` blocks with
//! their `else` branches, pipelines. Unknown functions, undefined variables and misplaced
//! `end`, `else`, `break` are errors here, before anything runs (as in Go).

use crate::TemplateError;
use crate::funcs;
use crate::lex::{Item, Token};
use crate::value::Value;

/// A node of the template tree.
#[derive(Debug)]
pub enum Node {
    /// Literal text and the template line it starts on.
    Text(String, usize),
    /// `{{pipeline}}`: prints its value unless it declares or assigns a variable.
    Action(Pipeline),
    If(Branch),
    With(Branch),
    Range(Branch),
    Break,
    Continue,
}

/// `if`, `with` and `range`: the pipeline, the body, and the `else` branch.
#[derive(Debug)]
pub struct Branch {
    pub pipe: Pipeline,
    pub body: Vec<Node>,
    pub otherwise: Vec<Node>,
}

/// `$x := cmd | cmd arg`.
#[derive(Debug)]
pub struct Pipeline {
    pub line: usize,
    /// Variables declared or assigned (at most two, in `range`).
    pub vars: Vec<String>,
    /// `=` rather than `:=`.
    pub assign: bool,
    pub commands: Vec<Command>,
}

/// One command of a pipeline: a function and its arguments, or a single operand.
#[derive(Debug)]
pub struct Command {
    pub operands: Vec<Operand>,
}

/// An operand of a command.
#[derive(Debug)]
pub enum Operand {
    Literal(Value),
    /// A function, called with the other operands of its command.
    Function(String),
    /// `.a.b` (no fields: dot itself).
    Dot(Vec<String>),
    /// `$x.a.b`.
    Variable(String, Vec<String>),
    /// `(pipeline).a.b`.
    Nested(Box<Pipeline>, Vec<String>),
}

/// Most nesting of blocks and parentheses.
const MAX_DEPTH: usize = 100;

/// What ended a list of nodes.
enum Terminator {
    Eof,
    End,
    /// `{{else}}` (`tokens` is what followed `else`: empty, or `if ...` / `with ...`).
    Else(usize, Vec<Token>),
}

struct Parser {
    items: std::vec::IntoIter<Item>,
    /// Variables in scope, innermost last.
    scope: Vec<String>,
    depth: usize,
    loops: usize,
}

fn error(line: usize, reason: impl Into<String>) -> TemplateError {
    TemplateError {
        line,
        reason: reason.into(),
    }
}

/// Parses the items of a template.
pub fn parse(items: Vec<Item>) -> Result<Vec<Node>, TemplateError> {
    let mut parser = Parser {
        items: items.into_iter(),
        scope: vec![String::new()],
        depth: 0,
        loops: 0,
    };
    let (nodes, end) = parser.list()?;
    match end {
        (Terminator::Eof, _) => Ok(nodes),
        (Terminator::End, line) => Err(error(line, "unexpected {{end}}")),
        (Terminator::Else(..), line) => Err(error(line, "unexpected {{else}}")),
    }
}

impl Parser {
    /// Nodes up to the end of the input, an `{{end}}` or an `{{else}}`.
    fn list(&mut self) -> Result<(Vec<Node>, (Terminator, usize)), TemplateError> {
        let mut nodes = Vec::new();
        while let Some(item) = self.items.next() {
            let (line, tokens) = match item {
                Item::Text(text, line) => {
                    nodes.push(Node::Text(text, line));
                    continue;
                }
                Item::Action { line, tokens } => (line, tokens),
            };
            let keyword = match tokens.first() {
                Some(Token::Ident(word)) => word.as_str(),
                Some(_) => "",
                None => return Err(error(line, "missing value for command")),
            };
            match keyword {
                "end" => {
                    expect_alone(line, &tokens, "end")?;
                    return Ok((nodes, (Terminator::End, line)));
                }
                "else" => {
                    let rest = tokens[1..].to_vec();
                    return Ok((nodes, (Terminator::Else(line, rest.clone()), line)));
                }
                "if" | "with" | "range" => {
                    let kind = keyword.to_string();
                    nodes.push(self.block(&kind, line, tokens[1..].to_vec())?);
                }
                "break" | "continue" => {
                    expect_alone(line, &tokens, keyword)?;
                    if self.loops == 0 {
                        return Err(error(
                            line,
                            format!("{{{{{keyword}}}}} outside {{{{range}}}}"),
                        ));
                    }
                    nodes.push(if keyword == "break" {
                        Node::Break
                    } else {
                        Node::Continue
                    });
                }
                "define" | "template" | "block" => {
                    return Err(error(
                        line,
                        format!("named templates ({keyword}) are not supported in config files"),
                    ));
                }
                _ => nodes.push(Node::Action(self.pipeline(line, tokens, "command")?)),
            }
        }
        Ok((nodes, (Terminator::Eof, 0)))
    }

    /// An `if`, `with` or `range` block whose pipeline is `tokens`; consumes its `{{end}}`.
    fn block(
        &mut self,
        kind: &str,
        line: usize,
        tokens: Vec<Token>,
    ) -> Result<Node, TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error(line, "blocks nested too deeply"));
        }
        let scope_len = self.scope.len();
        let pipe = self.pipeline(line, tokens, kind)?;
        // The pipeline's variables are visible up to the block's `{{end}}`, `else` included.
        let scope_with_pipe = self.scope.len();
        if kind == "range" {
            self.loops += 1;
        }
        let (body, end) = self.list()?;
        if kind == "range" {
            self.loops -= 1;
        }
        self.scope.truncate(scope_with_pipe);
        let otherwise = match end {
            (Terminator::End, _) => Vec::new(),
            (Terminator::Eof, _) => {
                return Err(error(
                    line,
                    format!("unexpected EOF: {{{{{kind}}}}} has no {{{{end}}}}"),
                ));
            }
            (Terminator::Else(else_line, rest), _) => {
                let chained = match rest.first() {
                    Some(Token::Ident(word))
                        if (word == "if" || word == "with") && kind != "range" =>
                    {
                        Some(word.clone())
                    }
                    None => None,
                    Some(_) => return Err(error(else_line, "unexpected tokens after {{else}}")),
                };
                match chained {
                    // `{{else if x}}` is `{{else}}{{if x}}...{{end}}` sharing the outer end.
                    Some(word) => vec![self.block(&word, else_line, rest[1..].to_vec())?],
                    None => {
                        let (otherwise, end) = self.list()?;
                        match end {
                            (Terminator::End, _) => otherwise,
                            (Terminator::Else(l, _), _) => {
                                return Err(error(l, "expected {{end}}, found {{else}}"));
                            }
                            (Terminator::Eof, _) => {
                                return Err(error(
                                    line,
                                    format!("unexpected EOF: {{{{{kind}}}}} has no {{{{end}}}}"),
                                ));
                            }
                        }
                    }
                }
            }
        };
        self.scope.truncate(scope_len);
        self.depth -= 1;
        let branch = Branch {
            pipe,
            body,
            otherwise,
        };
        Ok(match kind {
            "if" => Node::If(branch),
            "with" => Node::With(branch),
            _ => Node::Range(branch),
        })
    }

    /// A pipeline with its optional declaration (`$x :=`, `$x =`, and in `range` `$i, $e :=`).
    fn pipeline(
        &mut self,
        line: usize,
        tokens: Vec<Token>,
        context: &str,
    ) -> Result<Pipeline, TemplateError> {
        let mut tokens = tokens.into_iter().peekable();
        let mut vars = Vec::new();
        let mut assign = false;
        // Look ahead for `$x :=` / `$x =` / `$i, $e :=`.
        let lookahead: Vec<Token> = tokens.clone().take(4).collect();
        let declared = match lookahead.as_slice() {
            [Token::Variable(v), Token::Declare | Token::Assign, ..] => vec![v.clone()],
            [
                Token::Variable(a),
                Token::Comma,
                Token::Variable(b),
                Token::Declare | Token::Assign,
            ] if context == "range" => {
                vec![a.clone(), b.clone()]
            }
            [Token::Variable(_), Token::Comma, ..] => {
                return Err(error(line, "too many declarations in command"));
            }
            _ => Vec::new(),
        };
        if !declared.is_empty() {
            for _ in 0..(declared.len() * 2 - 1) {
                tokens.next();
            }
            assign = tokens.next() == Some(Token::Assign);
            for name in &declared {
                if assign && !self.scope.contains(name) {
                    return Err(error(line, format!("undefined variable \"${name}\"")));
                }
            }
            vars = declared;
        }
        let rest: Vec<Token> = tokens.collect();
        let commands = self.commands(line, &rest)?;
        if commands.is_empty() {
            return Err(error(line, format!("missing value for {context}")));
        }
        if !assign {
            self.scope.extend(vars.iter().cloned());
        }
        Ok(Pipeline {
            line,
            vars,
            assign,
            commands,
        })
    }

    /// Commands separated by `|`.
    fn commands(&mut self, line: usize, tokens: &[Token]) -> Result<Vec<Command>, TemplateError> {
        let mut commands = Vec::new();
        let mut at = 0;
        let mut operands = Vec::new();
        while at < tokens.len() {
            match &tokens[at] {
                Token::Pipe => {
                    if operands.is_empty() {
                        return Err(error(line, "missing command before |"));
                    }
                    commands.push(Command {
                        operands: std::mem::take(&mut operands),
                    });
                    at += 1;
                }
                _ => {
                    let (operand, next) = self.operand(line, tokens, at)?;
                    operands.push(operand);
                    at = next;
                }
            }
        }
        if operands.is_empty() {
            if !commands.is_empty() {
                return Err(error(line, "missing command after |"));
            }
        } else {
            commands.push(Command { operands });
        }
        for (i, command) in commands.iter().enumerate() {
            let first = &command.operands[0];
            let is_function = matches!(first, Operand::Function(_));
            if !is_function && (command.operands.len() > 1 || i > 0) {
                return Err(error(line, "can't give argument to non-function"));
            }
        }
        Ok(commands)
    }

    /// The operand at `tokens[at]`, with the fields that follow it; returns the next index.
    fn operand(
        &mut self,
        line: usize,
        tokens: &[Token],
        at: usize,
    ) -> Result<(Operand, usize), TemplateError> {
        let fields_from = |mut next: usize| {
            let mut fields = Vec::new();
            while let Some(Token::Field(name)) = tokens.get(next) {
                fields.push(name.clone());
                next += 1;
            }
            (fields, next)
        };
        let operand = match &tokens[at] {
            Token::Dot => {
                let (fields, next) = fields_from(at + 1);
                return Ok((Operand::Dot(fields), next));
            }
            Token::Field(_) => {
                let (fields, next) = fields_from(at);
                return Ok((Operand::Dot(fields), next));
            }
            Token::Variable(name) => {
                if !self.scope.contains(name) {
                    return Err(error(line, format!("undefined variable \"${name}\"")));
                }
                let (fields, next) = fields_from(at + 1);
                return Ok((Operand::Variable(name.clone(), fields), next));
            }
            Token::LeftParen => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(error(line, "parentheses nested too deeply"));
                }
                let mut level = 0usize;
                let mut close = None;
                for (i, token) in tokens.iter().enumerate().skip(at) {
                    match token {
                        Token::LeftParen => level += 1,
                        Token::RightParen => {
                            level -= 1;
                            if level == 0 {
                                close = Some(i);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let Some(close) = close else {
                    return Err(error(line, "unclosed left paren"));
                };
                let inner = self.pipeline(
                    line,
                    tokens[at + 1..close].to_vec(),
                    "parenthesized pipeline",
                )?;
                self.depth -= 1;
                let (fields, next) = fields_from(close + 1);
                return Ok((Operand::Nested(Box::new(inner), fields), next));
            }
            Token::RightParen => return Err(error(line, "unexpected right paren")),
            Token::Str(s) => Operand::Literal(Value::Str(s.clone())),
            Token::Char(c) => Operand::Literal(Value::Int(i64::from(u32::from(*c)))),
            Token::Number(text) => Operand::Literal(number(line, text)?),
            Token::Ident(word) => match word.as_str() {
                "true" => Operand::Literal(Value::Bool(true)),
                "false" => Operand::Literal(Value::Bool(false)),
                "nil" => Operand::Literal(Value::Nil),
                name if funcs::exists(name) => Operand::Function(name.to_string()),
                keyword @ ("if" | "range" | "with" | "end" | "else" | "break" | "continue"
                | "define" | "template" | "block") => {
                    return Err(error(
                        line,
                        format!("unexpected keyword {keyword} in command"),
                    ));
                }
                name => return Err(error(line, format!("function \"{name}\" not defined"))),
            },
            Token::Pipe | Token::Comma | Token::Declare | Token::Assign => {
                return Err(error(line, "unexpected operator in command"));
            }
        };
        Ok((operand, at + 1))
    }
}

/// `{{end}}`, `{{break}}`, `{{continue}}` take nothing.
fn expect_alone(line: usize, tokens: &[Token], keyword: &str) -> Result<(), TemplateError> {
    if tokens.len() == 1 {
        Ok(())
    } else {
        Err(error(
            line,
            format!("unexpected tokens after {{{{{keyword}}}}}"),
        ))
    }
}

/// A Go number literal: integers (decimal, `0x`, `0o`, `0b`, `_` separators), floats.
fn number(line: usize, text: &str) -> Result<Value, TemplateError> {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let (negative, digits) = match clean.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, clean.trim_start_matches('+').to_string()),
    };
    let lower = digits.to_ascii_lowercase();
    let radix = [("0x", 16), ("0o", 8), ("0b", 2)]
        .into_iter()
        .find(|(prefix, _)| lower.starts_with(prefix));
    let integer = match radix {
        Some((prefix, radix)) => i64::from_str_radix(&lower[prefix.len()..], radix).ok(),
        None if lower.len() > 1
            && lower.starts_with('0')
            && lower.bytes().all(|b| b.is_ascii_digit()) =>
        {
            i64::from_str_radix(&lower[1..], 8).ok()
        }
        None => lower.parse::<i64>().ok(),
    };
    if let Some(value) = integer {
        return Ok(Value::Int(if negative { -value } else { value }));
    }
    match lower.parse::<f64>() {
        Ok(value) if !lower.starts_with("0x") => {
            Ok(Value::Float(if negative { -value } else { value }))
        }
        _ => Err(error(line, format!("bad number syntax: {text:?}"))),
    }
}
