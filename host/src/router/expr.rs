//! The compiled boolean tree of a rule.
//!
//! Chains of `&&` / `||` are flat lists, so the tree is only as deep as the rule's parentheses
//! and `!` nest (bounded by [`MAX_DEPTH`](super::MAX_DEPTH)); evaluating or dropping it cannot
//! exhaust the stack.

use super::facts::RequestFacts;
use super::matcher::Matcher;

/// `M` is the matcher language: HTTP's [`Matcher`] by default, the TCP matchers for TCP
/// routers (`tcp::rule`).
#[derive(Debug, Clone)]
pub(crate) enum Expr<M = Matcher> {
    Match(M),
    Not(Box<Expr<M>>),
    /// Every operand matches; evaluated left to right, stopping at the first miss.
    All(Box<[Expr<M>]>),
    /// Some operand matches; evaluated left to right, stopping at the first hit.
    Any(Box<[Expr<M>]>),
}

impl Expr<Matcher> {
    /// Evaluates the tree against one request. Allocates nothing; cost is the matchers visited.
    pub fn eval(&self, facts: &RequestFacts<'_>) -> bool {
        self.eval_with(&|matcher: &Matcher| matcher.matches(facts))
    }
}

impl<M> Expr<M> {
    /// Evaluates the tree with `matches` deciding each matcher. Allocates nothing.
    pub fn eval_with(&self, matches: &impl Fn(&M) -> bool) -> bool {
        match self {
            Expr::Match(matcher) => matches(matcher),
            Expr::Not(inner) => !inner.eval_with(matches),
            Expr::All(operands) => operands.iter().all(|e| e.eval_with(matches)),
            Expr::Any(operands) => operands.iter().any(|e| e.eval_with(matches)),
        }
    }

    /// Every matcher of the tree, in rule order (config-time checks).
    pub fn matchers(&self) -> Vec<&M> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Match(m) => out.push(m),
                Expr::Not(inner) => stack.push(inner),
                Expr::All(ops) | Expr::Any(ops) => stack.extend(ops.iter().rev()),
            }
        }
        out
    }

    /// How deep the tree nests (a lone matcher is 1); tests use it to check flattening.
    #[cfg(test)]
    pub fn depth(&self) -> usize {
        match self {
            Expr::Match(_) => 1,
            Expr::Not(inner) => 1 + inner.depth(),
            Expr::All(ops) | Expr::Any(ops) => 1 + ops.iter().map(Expr::depth).max().unwrap_or(0),
        }
    }
}
