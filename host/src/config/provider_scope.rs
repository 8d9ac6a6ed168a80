//! Traefik's provider namespaces for the control-plane providers: every router, service,
//! middleware and servers transport a provider `P` defines is named `name@P`, and every
//! reference it writes without a suffix means its own `name@P`; a reference with a suffix
//! (`svc@file`, `mw@redis`, `api@internal`) is left as written. The file provider's names stay
//! bare (`x` and `x@file` are the same), so a file config reads as it always did, and
//! reaches another provider's entities by their suffix.
//!
//! Runs on a contribution's tree before it joins the load (linear in the tree). TLS options
//! and stores are not qualified (one TLS configuration per gateway).

use crate::yaml::case_fold::field_for;
use crate::yaml::scalar::Scalar;
use crate::yaml::tree::{Node, Value};

/// Qualifies the names `provider` defines and refers to in `root` (see the module doc).
pub(crate) fn scope_to_provider(root: &mut Node, provider: &str) {
    let Value::Map(top) = &mut root.value else {
        return;
    };
    for section in top.iter_mut() {
        if field_for(&section.key, &["http", "tcp"]).is_none() {
            continue;
        }
        let Value::Map(kinds) = &mut section.value.value else {
            continue;
        };
        for kind in kinds.iter_mut() {
            let folded = field_for(
                &kind.key,
                &["routers", "services", "middlewares", "serversTransports"],
            );
            let Some(folded) = folded else { continue };
            let Value::Map(entities) = &mut kind.value.value else {
                continue;
            };
            for entity in entities.iter_mut() {
                entity.key = qualified(&entity.key, provider);
                let refs: &[&[&str]] = match folded {
                    "routers" => &[&["service"], &["middlewares"]],
                    "services" => &[
                        &["weighted", "services", "name"],
                        &["mirroring", "service"],
                        &["mirroring", "mirrors", "name"],
                        &["failover", "service"],
                        &["failover", "fallback"],
                        &["loadBalancer", "serversTransport"],
                    ],
                    "middlewares" => &[&["chain", "middlewares"], &["errors", "service"]],
                    _ => &[],
                };
                for path in refs {
                    qualify_at(&mut entity.value, path, provider);
                }
            }
        }
    }
}

/// `name@provider`, unless `name` already names its provider.
fn qualified(name: &str, provider: &str) -> String {
    if name.contains('@') {
        name.to_string()
    } else {
        format!("{name}@{provider}")
    }
}

/// Qualifies the references found at `path` below `node` (list items on the way are each
/// followed; a scalar at the end may be a comma-separated list, as Traefik reads one).
fn qualify_at(node: &mut Node, path: &[&str], provider: &str) {
    match (&mut node.value, path.split_first()) {
        (Value::Seq(items), _) => {
            for item in items {
                qualify_at(item, path, provider);
            }
        }
        (Value::Map(entries), Some((first, rest))) => {
            for entry in entries.iter_mut() {
                if entry.key.eq_ignore_ascii_case(first) {
                    qualify_at(&mut entry.value, rest, provider);
                }
            }
        }
        (Value::Scalar(scalar), None) => {
            let names: Vec<String> = scalar
                .text
                .split(',')
                .map(|n| qualified(n.trim(), provider))
                .collect();
            if !scalar.text.trim().is_empty() {
                *scalar = Scalar {
                    text: names.join(","),
                    plain: scalar.plain,
                };
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::tree::parse;

    fn scoped(yaml: &str) -> String {
        let Ok(tree) = parse(yaml) else {
            panic!("test YAML parses");
        };
        let Some(mut root) = tree.root else {
            panic!("a root");
        };
        scope_to_provider(&mut root, "redis");
        format!("{root:?}")
    }

    #[test]
    fn names_and_bare_references_get_the_providers_suffix() {
        let out = scoped(
            "http:\n  routers:\n    r:\n      service: s\n      middlewares: [m, auth@file]\n  \
             services:\n    s:\n      weighted:\n        services:\n          - name: v1\n\
             \x20         - name: v2@http\n  middlewares:\n    m:\n      chain:\n        middlewares: [x]\n",
        );
        for want in [
            "\"r@redis\"",
            "\"s@redis\"",
            "\"m@redis\"",
            "text: \"s@redis\"",
            "text: \"m@redis\"",
            "text: \"auth@file\"",
            "text: \"v1@redis\"",
            "text: \"v2@http\"",
            "text: \"x@redis\"",
        ] {
            assert!(out.contains(want), "{want} missing in {out}");
        }
    }

    #[test]
    fn rules_and_other_values_are_left_alone() {
        let out = scoped("http:\n  routers:\n    r:\n      rule: Host(`a`)\n      service: s\n");
        assert!(out.contains("text: \"Host(`a`)\""), "{out}");
    }
}
