//! The compiled boolean tree of a rule.
//!
//! Chains of `&&` / `||` are flat lists, so the tree is only as deep as the rule's parentheses
//! and `!` nest (bounded by [`MAX_DEPTH`](super::MAX_DEPTH)); evaluating or dropping it cannot
//! exhaust the stack.

use super::facts::RequestFacts;
use super::matcher::Matcher;

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Match(Matcher),
    Not(Box<Expr>),
    /// Every operand matches; evaluated left to right, stopping at the first miss.
    All(Box<[Expr]>),
    /// Some operand matches; evaluated left to right, stopping at the first hit.
    Any(Box<[Expr]>),
}

impl Expr {
    /// Evaluates the tree against one request. Allocates nothing; cost is the matchers visited.
    pub fn eval(&self, facts: &RequestFacts<'_>) -> bool {
        match self {
            Expr::Match(matcher) => matcher.matches(facts),
            Expr::Not(inner) => !inner.eval(facts),
            Expr::All(operands) => operands.iter().all(|e| e.eval(facts)),
            Expr::Any(operands) => operands.iter().any(|e| e.eval(facts)),
        }
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
