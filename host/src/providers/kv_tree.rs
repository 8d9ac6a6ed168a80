//! Traefik's KV layout into the config tree the YAML reader builds, so that every check and
//! error of a file config applies to a KV config too.
//!
//! A key `<rootKey>/http/routers/web/entrypoints/0` with value `web` is the YAML
//! `http: {routers: {web: {entrypoints: [web]}}}`: key segments are map keys (read in any case,
//! as Traefik reads them), a map whose keys are all list indices (`0`, `1`, ...) is a list in
//! index order, except the maps of named entities (`http.routers`, `tls.options`, ...: depth 2),
//! which stay maps whatever their names. Values are plain scalars, typed by the field that
//! reads them (`"80"` is a port, `"true"` a flag), as Traefik types KV strings. A key that
//! has sub-keys keeps the sub-keys (a value stored at it is ignored). Every node's line is the
//! 1-based position of its first key in the sorted key list, so an error's `origin:line`
//! names a key. Keys outside `<rootKey>/` are ignored.
//!
//! Runs once per change of a store's tree; linear in the number of keys.

use std::collections::BTreeMap;

use crate::config::KvTree;
use crate::yaml::scalar::Scalar;
use crate::yaml::tree::{Entry, Node, Value};

/// A key's value or its sub-keys, while the tree is put together.
#[derive(Default)]
struct Branch {
    line: usize,
    value: Option<String>,
    children: BTreeMap<String, Branch>,
}

/// The KV prefix of pinned plugin files under `root_key`: `<rootKey>/plugins/`. Not config
/// (Traefik's layout has no `plugins` key): the providers leave it out of the tree, and
/// `super::plugin_fetch` reads `<prefix><sha256>` one file at a time.
pub(crate) fn kv_plugin_prefix(root_key: &str) -> String {
    format!("{}/plugins/", root_key.trim_matches('/'))
}

/// The tree of every pair under `root_key/` (pairs in any order); `None` when there is none.
pub(crate) fn kv_tree(root_key: &str, pairs: &[(String, String)]) -> Option<KvTree> {
    let prefix = format!("{}/", root_key.trim_matches('/'));
    let mut sorted: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(key, _)| key.starts_with(&prefix))
        .collect();
    sorted.sort();
    let mut root = Branch::default();
    for (index, (key, value)) in sorted.iter().enumerate() {
        let line = index + 1;
        let mut branch = &mut root;
        for segment in key[prefix.len()..].split('/').filter(|s| !s.is_empty()) {
            branch = branch.children.entry(segment.to_string()).or_default();
            if branch.line == 0 {
                branch.line = line;
            }
        }
        branch.value = Some(value.clone());
    }
    if root.children.is_empty() {
        return None;
    }
    root.line = 1;
    Some(KvTree(to_node(root, 0)))
}

/// The node of `branch`, found `depth` keys below the root.
fn to_node(branch: Branch, depth: usize) -> Node {
    let line = branch.line;
    if branch.children.is_empty() {
        let text = branch.value.unwrap_or_default();
        return Node {
            line,
            value: Value::Scalar(Scalar { text, plain: true }),
        };
    }
    let is_list = depth != 2
        && branch
            .children
            .keys()
            .all(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()));
    if is_list {
        let mut items: Vec<(u64, Branch)> = branch
            .children
            .into_iter()
            .map(|(k, b)| (k.parse::<u64>().unwrap_or(u64::MAX), b))
            .collect();
        items.sort_by_key(|(index, _)| *index);
        let items = items
            .into_iter()
            .map(|(_, b)| to_node(b, depth + 1))
            .collect();
        return Node {
            line,
            value: Value::Seq(items),
        };
    }
    let entries = branch
        .children
        .into_iter()
        .map(|(key, child)| Entry {
            line: child.line,
            value: to_node(child, depth + 1),
            key,
        })
        .collect();
    Node {
        line,
        value: Value::Map(entries),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn render(node: &Node) -> String {
        match &node.value {
            Value::Scalar(s) => s.text.clone(),
            Value::Seq(items) => format!(
                "[{}]",
                items.iter().map(render).collect::<Vec<_>>().join(",")
            ),
            Value::Map(entries) => format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|e| format!("{}:{}", e.key, render(&e.value)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    #[test]
    fn traefik_kv_keys_become_the_config_tree() {
        let tree = kv_tree(
            "traefik",
            &pairs(&[
                ("traefik/http/routers/r/rule", "Path(`/`)"),
                ("traefik/http/routers/r/entrypoints/1", "websecure"),
                ("traefik/http/routers/r/entrypoints/0", "web"),
                (
                    "traefik/http/services/s/loadbalancer/servers/0/url",
                    "http://a",
                ),
                ("other/http/routers/x/rule", "ignored"),
            ]),
        );
        let Some(tree) = tree else {
            panic!("keys under the root make a tree");
        };
        assert_eq!(
            render(&tree.0),
            "{http:{routers:{r:{entrypoints:[web,websecure],rule:Path(`/`)}},\
             services:{s:{loadbalancer:{servers:[{url:http://a}]}}}}}"
        );
    }

    #[test]
    fn entities_named_by_numbers_stay_maps() {
        let Some(tree) = kv_tree("t", &pairs(&[("t/http/routers/0/rule", "Path(`/`)")])) else {
            panic!("a tree");
        };
        assert_eq!(render(&tree.0), "{http:{routers:{0:{rule:Path(`/`)}}}}");
    }

    #[test]
    fn lines_count_keys_in_sorted_order() {
        let Some(tree) = kv_tree(
            "traefik",
            &pairs(&[
                ("traefik/http/services/s/loadbalancer/servers/0/url", "u"),
                ("traefik/http/routers/r/rule", "x"),
            ]),
        ) else {
            panic!("a tree");
        };
        let Value::Map(top) = &tree.0.value else {
            panic!("a map");
        };
        let Value::Map(sections) = &top[0].value.value else {
            panic!("a map");
        };
        assert_eq!((sections[0].key.as_str(), sections[0].line), ("routers", 1));
        assert_eq!(
            (sections[1].key.as_str(), sections[1].line),
            ("services", 2)
        );
    }

    #[test]
    fn no_key_under_the_root_is_no_tree() {
        assert!(kv_tree("traefik", &pairs(&[("other/x", "1")])).is_none());
    }
}
