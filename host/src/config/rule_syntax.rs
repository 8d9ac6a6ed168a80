//! Traefik's `ruleSyntax` per router (`http.routers.<name>.ruleSyntax`,
//! `tcp.routers.<name>.ruleSyntax`) and its default for every router, `core.defaultRuleSyntax`:
//! `v3` (the default) or `v2`. A v2 rule is rewritten into v3 spelling once, at load
//! ([`super::v2_rule::v2_to_v3`]); the router then holds the v3 rule, which is what the API
//! shows and what an error in it quotes. Runs once per router per load.

use crate::yaml::report::Reporter;

/// The rule syntax a router's rule is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum RuleSyntax {
    V2,
    #[default]
    V3,
}

impl RuleSyntax {
    /// Reads a `ruleSyntax` value; Traefik accepts exactly `v2` and `v3`.
    fn parse(text: &str) -> Option<Self> {
        match text {
            "v2" => Some(Self::V2),
            "v3" => Some(Self::V3),
            _ => None,
        }
    }

    /// `core.defaultRuleSyntax` of the main file; an unknown value is reported and read as v3.
    pub(crate) fn resolve_default(reporter: &mut Reporter<'_>, written: Option<&str>) -> Self {
        let Some(text) = written else {
            return Self::V3;
        };
        Self::parse(text).unwrap_or_else(|| {
            reporter.at(0, &["core", "defaultRuleSyntax"], invalid(text));
            Self::V3
        })
    }
}

fn invalid(text: &str) -> String {
    format!("\"{text}\" is not a rule syntax (write v2 or v3)")
}

/// The rule a router serves: `rule` as written when its syntax (its own `ruleSyntax`, else
/// `default`) is v3, its v3 spelling when v2. `at` is the router's key path (for the error on
/// an unknown `ruleSyntax`).
pub(crate) fn rule_in_v3(
    reporter: &mut Reporter<'_>,
    file: usize,
    at: &[&str],
    rule: String,
    written: Option<&str>,
    default: RuleSyntax,
) -> String {
    let syntax = match written {
        None => default,
        Some(text) => RuleSyntax::parse(text).unwrap_or_else(|| {
            let mut path = at.to_vec();
            path.push("ruleSyntax");
            reporter.at(file, &path, invalid(text));
            default
        }),
    };
    match syntax {
        RuleSyntax::V3 => rule,
        RuleSyntax::V2 => super::v2_rule::v2_to_v3(&rule).unwrap_or(rule),
    }
}
