//! Go's `text/template` language with the functions Traefik's file provider gives it: the sprig
//! set (`env`, `default`, `until`, `quote`, `lower`...) plus Traefik's own `normalize` and
//! `split`. Traefik renders every dynamic configuration file of its file provider as a template
//! before it decodes the YAML; wasmgate does the same with this crate.
//!
//! What is implemented: text and actions with `{{-` / `-}}` trimming and `{{/* comments */}}`;
//! pipelines (`a | b c`), parenthesised pipelines, variables (`$x := ...`, `$x = ...`, `$`),
//! field access on maps (`$d.key`, `.`); `if` / `else if` / `else`, `range` over lists, maps
//! (keys in order), integers and with `$i, $e :=`, `break` / `continue`, `with` / `else with`;
//! Go's built-in functions and the sprig functions people use in configs (see [`funcs`]). Named
//! templates (`define`, `template`, `block`) are refused with a clear error. The template's data
//! (`.`) is `false`, as in Traefik.
//!
//! Cost: runs at config load only, once per file that contains `{{`; linear in the template
//! plus its output, which is capped (see [`Limits`]) so that a runaway `range` ends with an error.

mod exec;
mod format;
pub mod funcs;
mod lex;
mod parse;
#[cfg(test)]
mod tests;
mod value;

pub use value::Value;

/// A template that failed to parse or to run: the 1-based line of the action at fault and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// 1-based line in the template text.
    pub line: usize,
    /// What is wrong, for a person (`function "foo" not defined`).
    pub reason: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for TemplateError {}

/// Bounds on one rendering, so that a template cannot exhaust the gateway at load.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest output, in bytes.
    pub max_output_bytes: usize,
    /// Most loop iterations (all `range`s together) and function calls.
    pub max_steps: u64,
}

impl Default for Limits {
    /// 16 MiB of output (the size cap of a config file) and ten million steps.
    fn default() -> Self {
        Limits {
            max_output_bytes: 16 << 20,
            max_steps: 10_000_000,
        }
    }
}

/// Where `env` and `expandenv` read variables from.
pub trait Environment {
    /// The variable's value, `None` when it is not set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment (what Traefik's `env` reads).
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String>> Environment for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Whether `text` contains template actions at all (a file without `{{` renders to itself, so
/// callers can skip rendering and keep their line numbers exact).
pub fn has_actions(text: &str) -> bool {
    text.contains("{{")
}

/// A rendered template: the text, and for each of its lines the template line it came from
/// (so that errors found in the rendered YAML point at the line the user wrote).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    /// `line_sources[i]` is the template line of output line `i + 1`.
    pub line_sources: Vec<usize>,
}

impl Rendered {
    /// The template line output line `line` (1-based) came from; lines past the end map to the
    /// last known one.
    pub fn source_line(&self, line: usize) -> usize {
        match line.checked_sub(1) {
            Some(index) => self
                .line_sources
                .get(index)
                .or(self.line_sources.last())
                .copied()
                .unwrap_or(1),
            None => 1,
        }
    }
}

/// Renders `text` as a Go template with the data `false`, reading variables from `env`.
///
/// # Errors
/// A parse error (unclosed action, unknown function, unbalanced `end`...) or an execution error
/// (wrong argument count or type, `fail`, a limit reached), with the line of the action.
pub fn render(
    text: &str,
    env: &dyn Environment,
    limits: Limits,
) -> Result<Rendered, TemplateError> {
    let items = lex::lex(text)?;
    let nodes = parse::parse(items)?;
    exec::execute(&nodes, env, limits)
}
