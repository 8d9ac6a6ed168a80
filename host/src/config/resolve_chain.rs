//! Traefik's `chain` middleware: `chain: {middlewares: [a, b, ...]}` names other middlewares
//! and runs them in that order. It is not a plugin: the config keeps the member list
//! ([`MiddlewareConfig::chain`]), the load checks every member exists and no chain contains
//! itself, and the runtime replaces a chain by its members wherever a router names it
//! ([`HttpConfig::expand_middlewares`]). Runs at config load only.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::definitions::{Definitions, local_name};
use super::model_dynamic::{HttpConfig, MiddlewareConfig};
use super::plugin_runtime::RuntimeBase;
use super::provider_names::undefined_reason;
use crate::yaml::report::Reporter;
use crate::yaml::tree::Entry;

/// The middleware type key of a chain.
pub(crate) const CHAIN_KEY: &str = "chain";

/// Deeper nesting than this is not expanded (a cycle the load let through could not hang the
/// runtime build; the load rejects every cycle, so this never cuts a valid config).
const MAX_DEPTH: usize = 64;

/// `http.middlewares.<name>.chain`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChain {
    #[serde(default)]
    middlewares: Vec<String>,
}

/// Resolves `chain: {middlewares: [...]}` of middleware `name` (its type key is `entry`).
pub(crate) fn resolve_chain(
    reporter: &mut Reporter<'_>,
    file: usize,
    name: &str,
    entry: &Entry,
    base: &RuntimeBase<'_>,
) -> Option<MiddlewareConfig> {
    let path = ["http", "middlewares", name, CHAIN_KEY];
    let raw: RawChain = reporter.parse(file, &entry.value, &path, entry.line)?;
    Some(MiddlewareConfig {
        plugin: String::new(),
        sha256: None,
        config_json: "{}".to_string(),
        runtime: base.defaults.clone(),
        type_key: CHAIN_KEY.to_string(),
        chain: Some(raw.middlewares.iter().map(|m| local_name(m)).collect()),
        encoded_characters: None,
        retry_expression: None,
    })
}

/// Reports chain members that are not defined and chains that contain themselves (the cycle
/// named in order, e.g. `a -> b -> a`, once, at the member that closes it).
pub(crate) fn check_chains(
    reporter: &mut Reporter<'_>,
    http: &HttpConfig,
    definitions: &Definitions<'_>,
) {
    let chains: BTreeMap<&str, &[String]> = http
        .middlewares
        .iter()
        .filter_map(|(name, mw)| mw.chain.as_deref().map(|m| (name.as_str(), m)))
        .collect();
    for (name, members) in &chains {
        let Some(def) = definitions.middlewares.get(*name) else {
            continue;
        };
        for (i, member) in members.iter().enumerate() {
            if !definitions.middlewares.contains_key(member) {
                let index = i.to_string();
                let key = [
                    "http",
                    "middlewares",
                    name,
                    CHAIN_KEY,
                    "middlewares",
                    &index,
                ];
                reporter.at(def.file, &key, undefined_reason("middleware", member));
            }
        }
    }
    let mut done: BTreeMap<&str, bool> = BTreeMap::new();
    for start in chains.keys() {
        let mut stack = Vec::new();
        visit(
            start,
            &chains,
            &mut done,
            &mut stack,
            &mut |cycle, closing_index| {
                let closing = cycle[cycle.len() - 2];
                if let Some(def) = definitions.middlewares.get(closing) {
                    let index = closing_index.to_string();
                    let key = [
                        "http",
                        "middlewares",
                        closing,
                        CHAIN_KEY,
                        "middlewares",
                        &index,
                    ];
                    let reason = format!("chain cycle: {}", cycle.join(" -> "));
                    reporter.at(def.file, &key, reason);
                }
            },
        );
    }
}

/// Depth-first walk over chains; `done[name]` is false while `name` is on the stack, true once
/// all it reaches is explored. Calls `on_cycle(cycle, index)` for every back edge, with the
/// cycle's names (first repeated at the end) and the member index that closes it.
fn visit<'a>(
    name: &'a str,
    chains: &BTreeMap<&'a str, &'a [String]>,
    done: &mut BTreeMap<&'a str, bool>,
    stack: &mut Vec<&'a str>,
    on_cycle: &mut impl FnMut(Vec<&'a str>, usize),
) {
    if done.contains_key(name) {
        return;
    }
    let Some(members) = chains.get(name) else {
        return;
    };
    done.insert(name, false);
    stack.push(name);
    for (i, member) in members.iter().enumerate() {
        let member = member.as_str();
        match done.get(member) {
            Some(false) => {
                let from = stack.iter().position(|n| *n == member).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(member);
                on_cycle(cycle, i);
            }
            Some(true) => {}
            None => {
                if let Some((key, _)) = chains.get_key_value(member) {
                    visit(key, chains, done, stack, on_cycle);
                }
            }
        }
    }
    stack.pop();
    done.insert(name, true);
}

impl HttpConfig {
    /// A router's middleware list with every chain replaced by its members, recursively, in
    /// order. Names that are not chains (or not defined) are kept as they are, for the caller
    /// to resolve. Runs when the runtime is built; O(expanded length).
    pub fn expand_middlewares(&self, names: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(names.len());
        self.expand_into(names, 0, &mut out);
        out
    }

    fn expand_into(&self, names: &[String], depth: usize, out: &mut Vec<String>) {
        for name in names {
            match self.middlewares.get(name).and_then(|m| m.chain.as_deref()) {
                Some(members) if depth < MAX_DEPTH => self.expand_into(members, depth + 1, out),
                Some(_) => {}
                None => out.push(name.clone()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::load;

    fn write(dir: &Path, middlewares: &str, router_middlewares: &str) -> std::path::PathBuf {
        let yaml = format!(
            "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\nhttp:\n  routers:\n    r:\n      rule: \"PathPrefix(`/`)\"\n      service: s\n      middlewares: [{router_middlewares}]\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"http://127.0.0.1:1\"\n  middlewares:\n{middlewares}"
        );
        let path = dir.join("gateway.yml");
        std::fs::write(&path, yaml).unwrap();
        path
    }

    // The header above is 15 lines; middleware definitions start on line 16.
    const H: &str = "    h:\n      headers:\n        customRequestHeaders: { X-A: \"1\" }\n";
    const I: &str = "    i:\n      headers:\n        customRequestHeaders: { X-B: \"1\" }\n";

    #[test]
    fn nested_chains_expand_in_order_and_keep_their_member_lists() {
        let dir = tempfile::tempdir().unwrap();
        let mws = format!(
            "{H}{I}    inner:\n      chain:\n        middlewares: [i, h@file]\n    outer:\n      chain:\n        middlewares: [h, inner]\n"
        );
        let config = load(&write(dir.path(), &mws, "outer, i")).unwrap();
        let http = &config.dynamic.http;
        assert_eq!(
            http.middlewares["outer"].chain,
            Some(vec!["h".to_string(), "inner".to_string()])
        );
        assert_eq!(http.middlewares["h"].chain, None);
        assert_eq!(
            http.expand_middlewares(&http.routers["r"].middlewares),
            ["h", "i", "h", "i"]
        );
    }

    #[test]
    fn a_cycle_is_rejected_once_and_named_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mws = "    a:\n      chain:\n        middlewares: [b]\n    b:\n      chain:\n        middlewares: [c]\n    c:\n      chain:\n        middlewares: [a]\n";
        let errors = load(&write(dir.path(), mws, "a")).unwrap_err().to_string();
        assert_eq!(errors.matches("chain cycle").count(), 1, "{errors}");
        assert!(
            errors.contains("gateway.yml:24: http.middlewares.c.chain.middlewares[0]: chain cycle: a -> b -> c -> a"),
            "{errors}"
        );
    }

    #[test]
    fn a_chain_containing_itself_is_a_cycle() {
        let dir = tempfile::tempdir().unwrap();
        let mws = format!("{H}    self:\n      chain:\n        middlewares: [h, self]\n");
        let errors = load(&write(dir.path(), &mws, "h")).unwrap_err().to_string();
        assert!(errors.contains("chain cycle: self -> self"), "{errors}");
    }

    #[test]
    fn unknown_members_and_options_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let mws = format!("{H}    c:\n      chain:\n        middlewares: [h, ghost]\n");
        let errors = load(&write(dir.path(), &mws, "c")).unwrap_err().to_string();
        assert!(
            errors.contains("gateway.yml:21: http.middlewares.c.chain.middlewares[1]: middleware \"ghost\" is not defined"),
            "{errors}"
        );
        let mws = format!("{H}    c:\n      chain:\n        middleware: [h]\n");
        let errors = load(&write(dir.path(), &mws, "c")).unwrap_err().to_string();
        assert!(errors.contains("middleware"), "{errors}");
        assert!(errors.contains("http.middlewares.c.chain"), "{errors}");
    }
}
