//! Runs a parsed template: walks the tree with a variable stack, evaluates pipelines, and
//! writes the output, within [`Limits`].

use crate::parse::{Branch, Command, Node, Operand, Pipeline};
use crate::value::Value;
use crate::{Environment, Limits, Rendered, TemplateError, funcs};

/// How a list of nodes ended.
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The state of one rendering.
pub struct Exec<'a> {
    pub env: &'a dyn Environment,
    vars: Vec<(String, Value)>,
    out: String,
    /// The template line each output line comes from (index 0: output line 1).
    line_sources: Vec<usize>,
    steps: u64,
    limits: Limits,
}

fn error(line: usize, reason: impl Into<String>) -> TemplateError {
    TemplateError {
        line,
        reason: reason.into(),
    }
}

/// Renders `nodes` with dot = `false` (Traefik's template data).
pub fn execute(
    nodes: &[Node],
    env: &dyn Environment,
    limits: Limits,
) -> Result<Rendered, TemplateError> {
    let dot = Value::Bool(false);
    let mut exec = Exec {
        env,
        vars: vec![(String::new(), dot.clone())],
        out: String::new(),
        line_sources: Vec::new(),
        steps: 0,
        limits,
    };
    exec.list(nodes, &dot)?;
    Ok(Rendered {
        text: exec.out,
        line_sources: exec.line_sources,
    })
}

impl Exec<'_> {
    /// Counts one step (a loop iteration or a function call) against the limit.
    pub fn step(&mut self, line: usize) -> Result<(), TemplateError> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(error(
                line,
                format!("the template ran more than {} steps", self.limits.max_steps),
            ));
        }
        Ok(())
    }

    /// Appends `text`, which comes from template line `line`: literal text advances a line
    /// per newline it holds, an action's output stays on its action's line.
    fn write(&mut self, line: usize, text: &str, literal: bool) -> Result<(), TemplateError> {
        if self.out.len() + text.len() > self.limits.max_output_bytes {
            return Err(error(
                line,
                format!(
                    "the template's output exceeds {} bytes",
                    self.limits.max_output_bytes
                ),
            ));
        }
        let mut source = line;
        let mut at_line_start = self.out.is_empty() || self.out.ends_with('\n');
        for c in text.chars() {
            if at_line_start {
                self.line_sources.push(source);
                at_line_start = false;
            }
            if c == '\n' {
                at_line_start = true;
                if literal {
                    source += 1;
                }
            }
        }
        self.out.push_str(text);
        Ok(())
    }

    fn list(&mut self, nodes: &[Node], dot: &Value) -> Result<Flow, TemplateError> {
        for node in nodes {
            match node {
                Node::Text(text, line) => self.write(*line, text, true)?,
                Node::Action(pipe) => {
                    let value = self.pipeline(pipe, dot)?;
                    if pipe.vars.is_empty() {
                        let text = match &value {
                            Value::Nil => "<no value>".to_string(),
                            other => other.to_string(),
                        };
                        self.write(pipe.line, &text, false)?;
                    }
                }
                Node::If(branch) => match self.if_or_with(branch, dot, false)? {
                    Flow::Normal => {}
                    flow => return Ok(flow),
                },
                Node::With(branch) => match self.if_or_with(branch, dot, true)? {
                    Flow::Normal => {}
                    flow => return Ok(flow),
                },
                Node::Range(branch) => self.range(branch, dot)?,
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    fn if_or_with(
        &mut self,
        branch: &Branch,
        dot: &Value,
        is_with: bool,
    ) -> Result<Flow, TemplateError> {
        let mark = self.vars.len();
        let value = self.pipeline(&branch.pipe, dot)?;
        let flow = if value.truth() {
            let inner = if is_with { value } else { dot.clone() };
            self.list(&branch.body, &inner)?
        } else {
            self.list(&branch.otherwise, dot)?
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn range(&mut self, branch: &Branch, dot: &Value) -> Result<(), TemplateError> {
        let mark = self.vars.len();
        let pipe = &branch.pipe;
        let value = self.commands(&pipe.commands, dot, pipe.line)?;
        let items: Vec<(Value, Value)> = match &value {
            Value::List(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (Value::Int(i as i64), item.clone()))
                .collect(),
            Value::Map(entries) => entries
                .borrow()
                .iter()
                .map(|(key, item)| (Value::Str(key.clone()), item.clone()))
                .collect(),
            Value::Int(n) => {
                if *n as u64 > self.limits.max_steps {
                    return Err(error(pipe.line, format!("range over {n} is too long")));
                }
                (0..(*n).max(0))
                    .map(|i| (Value::Int(i), Value::Int(i)))
                    .collect()
            }
            Value::Nil => Vec::new(),
            other => {
                return Err(error(
                    pipe.line,
                    format!("range can't iterate over {other}"),
                ));
            }
        };
        if items.is_empty() {
            self.list(&branch.otherwise, dot)?;
            self.vars.truncate(mark);
            return Ok(());
        }
        for (key, item) in items {
            self.step(pipe.line)?;
            let iteration = self.vars.len();
            match pipe.vars.as_slice() {
                [] => {}
                [element] => self.bind(pipe, element, item.clone())?,
                [index, element] => {
                    self.bind(pipe, index, key)?;
                    self.bind(pipe, element, item.clone())?;
                }
                _ => return Err(error(pipe.line, "too many declarations in range")),
            }
            let flow = self.list(&branch.body, &item)?;
            self.vars.truncate(iteration);
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(())
    }

    /// Declares (`:=`) or assigns (`=`) `name`.
    fn bind(&mut self, pipe: &Pipeline, name: &str, value: Value) -> Result<(), TemplateError> {
        if pipe.assign {
            match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = value,
                None => {
                    return Err(error(pipe.line, format!("undefined variable \"${name}\"")));
                }
            }
        } else {
            self.vars.push((name.to_string(), value));
        }
        Ok(())
    }

    fn pipeline(&mut self, pipe: &Pipeline, dot: &Value) -> Result<Value, TemplateError> {
        let value = self.commands(&pipe.commands, dot, pipe.line)?;
        for name in &pipe.vars {
            self.bind(pipe, name, value.clone())?;
        }
        Ok(value)
    }

    fn commands(
        &mut self,
        commands: &[Command],
        dot: &Value,
        line: usize,
    ) -> Result<Value, TemplateError> {
        let mut previous = None;
        for command in commands {
            previous = Some(self.command(command, dot, line, previous)?);
        }
        Ok(previous.unwrap_or(Value::Nil))
    }

    fn command(
        &mut self,
        command: &Command,
        dot: &Value,
        line: usize,
        previous: Option<Value>,
    ) -> Result<Value, TemplateError> {
        match &command.operands[0] {
            Operand::Function(name) => {
                self.step(line)?;
                let rest = &command.operands[1..];
                // `and` / `or` stop at the first operand that decides them, as in Go.
                if name == "and" || name == "or" {
                    return self.and_or(name == "and", rest, dot, line, previous);
                }
                let mut args = Vec::with_capacity(rest.len() + 1);
                for operand in rest {
                    args.push(self.operand(operand, dot, line)?);
                }
                args.extend(previous);
                funcs::call(self, name, args)
                    .map_err(|reason| error(line, format!("error calling {name}: {reason}")))
            }
            operand => {
                if matches!(operand, Operand::Literal(Value::Nil)) {
                    return Err(error(line, "nil is not a command"));
                }
                self.operand(operand, dot, line)
            }
        }
    }

    fn and_or(
        &mut self,
        is_and: bool,
        operands: &[Operand],
        dot: &Value,
        line: usize,
        previous: Option<Value>,
    ) -> Result<Value, TemplateError> {
        let name = if is_and { "and" } else { "or" };
        if operands.len() + usize::from(previous.is_some()) == 0 {
            return Err(error(
                line,
                format!("wrong number of args for {name}: want at least 1 got 0"),
            ));
        }
        let mut last = Value::Nil;
        for operand in operands {
            last = self.operand(operand, dot, line)?;
            if last.truth() != is_and {
                return Ok(last);
            }
        }
        if let Some(value) = previous {
            last = value;
        }
        Ok(last)
    }

    fn operand(
        &mut self,
        operand: &Operand,
        dot: &Value,
        line: usize,
    ) -> Result<Value, TemplateError> {
        match operand {
            Operand::Literal(value) => Ok(value.clone()),
            Operand::Function(name) => {
                self.step(line)?;
                funcs::call(self, name, Vec::new())
                    .map_err(|reason| error(line, format!("error calling {name}: {reason}")))
            }
            Operand::Dot(fields) => fields_of(dot.clone(), fields, line),
            Operand::Variable(name, fields) => {
                let value = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| error(line, format!("undefined variable \"${name}\"")))?;
                fields_of(value, fields, line)
            }
            Operand::Nested(pipe, fields) => {
                let value = self.pipeline(pipe, dot)?;
                fields_of(value, fields, line)
            }
        }
    }
}

/// `value.a.b`: map lookups (a missing key is nil, as for Go's `map[string]interface{}`).
fn fields_of(mut value: Value, fields: &[String], line: usize) -> Result<Value, TemplateError> {
    for field in fields {
        value = match &value {
            Value::Map(entries) => entries.borrow().get(field).cloned().unwrap_or(Value::Nil),
            Value::Nil => {
                return Err(error(
                    line,
                    format!("nil pointer evaluating interface {{}}.{field}"),
                ));
            }
            other => {
                return Err(error(
                    line,
                    format!("can't evaluate field {field} in type {}", other.kind()),
                ));
            }
        };
    }
    Ok(value)
}
