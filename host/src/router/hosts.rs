//! The host names a rule names with `Host(...)`, for what is decided per host before any
//! request is read: the TLS options of a handshake are chosen by its server name among the
//! hosts of the TLS routers (Traefik's `ParseDomains`).
//!
//! Runs when a snapshot is built; costs a walk of the rule tree.

use super::Rule;
use super::expr::Expr;
use super::matcher::Matcher;

impl Rule {
    /// The `Host` literals of the rule outside any `!`, lowercased and without a trailing dot,
    /// in rule order (duplicates kept). `HostRegexp` names no host and is skipped.
    pub fn hosts(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect(&self.expr, &mut out);
        out
    }
}

fn collect(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Match(Matcher::Host(host)) => {
            let host = host.strip_suffix('.').unwrap_or(host);
            out.push(host.to_ascii_lowercase());
        }
        Expr::Match(_) | Expr::Not(_) => {}
        Expr::All(operands) | Expr::Any(operands) => {
            for operand in operands {
                collect(operand, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rule;

    fn hosts(rule: &str) -> Vec<String> {
        Rule::parse(rule).map(|r| r.hosts()).unwrap_or_default()
    }

    #[test]
    fn hosts_of_a_rule_outside_negations() {
        assert_eq!(hosts("Host(`A.test.`)"), ["a.test"]);
        assert_eq!(
            hosts("(Host(`a.test`) || Host(`b.test`)) && PathPrefix(`/x`)"),
            ["a.test", "b.test"]
        );
        assert!(hosts("!Host(`a.test`) && PathPrefix(`/`)").is_empty());
        assert!(hosts("HostRegexp(`^a`)").is_empty());
    }
}
