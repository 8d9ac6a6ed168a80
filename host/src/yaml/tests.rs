//! The YAML layer: the line-keeping tree and the serde deserializer over it.

use serde::Deserialize;

use crate::yaml::de::{DeError, from_node};
use crate::yaml::tree::{Node, Resolved, Scalar, Seg, parse};

fn tree(text: &str) -> Node {
    match parse(text) {
        Ok(parsed) => {
            assert!(
                parsed.issues.is_empty(),
                "unexpected issues: {:?}",
                parsed.issues
            );
            parsed.root.unwrap_or_else(|| panic!("empty document"))
        }
        Err(error) => panic!("parse failed: {error:?}"),
    }
}

fn to_json(text: &str) -> serde_json::Value {
    from_node(&tree(text), &[], 1).unwrap_or_else(|e| panic!("{e}"))
}

fn plain(text: &str) -> Scalar {
    Scalar {
        text: text.to_string(),
        plain: true,
    }
}

#[test]
fn plain_scalars_follow_the_yaml_1_2_core_schema() {
    assert_eq!(plain("~").resolve(), Resolved::Null);
    assert_eq!(plain("").resolve(), Resolved::Null);
    assert_eq!(plain("True").resolve(), Resolved::Bool(true));
    assert_eq!(
        plain("yes").resolve(),
        Resolved::Str("yes"),
        "YAML 1.1 booleans are strings"
    );
    assert_eq!(plain("-12").resolve(), Resolved::Int(-12));
    assert_eq!(plain("0o17").resolve(), Resolved::Int(15));
    assert_eq!(plain("1e3").resolve(), Resolved::Float(1000.0));
    assert_eq!(plain("1m30s").resolve(), Resolved::Str("1m30s"));
    let quoted = Scalar {
        text: "12".to_string(),
        plain: false,
    };
    assert_eq!(quoted.resolve(), Resolved::Str("12"));
}

#[test]
fn anchors_aliases_and_merge_keys_expand() {
    let json = to_json(
        "base: &base {a: 1, b: 2}\ncopy: *base\nmerged:\n  <<: *base\n  b: 3\nlist: !!seq [!!str 5]\n",
    );
    assert_eq!(
        json,
        serde_json::json!({
            "base": {"a": 1, "b": 2},
            "copy": {"a": 1, "b": 2},
            "merged": {"a": 1, "b": 3},
            "list": ["5"]
        })
    );
}

#[test]
fn tree_issues_are_located() {
    let parsed = parse("a:\n  x: !custom 1\n  [k]: v\n").unwrap_or_else(|e| panic!("{e:?}"));
    let found: Vec<(Vec<Seg>, usize, String)> = parsed
        .issues
        .into_iter()
        .map(|i| (i.path, i.line, i.reason))
        .collect();
    let key = |k: &str| Seg::Key(k.to_string());
    assert_eq!(
        found,
        [
            (
                vec![key("a"), key("x")],
                2,
                "unsupported YAML tag \"!custom\"".to_string()
            ),
            (
                vec![key("a")],
                3,
                "only scalar mapping keys are supported".to_string()
            ),
        ]
    );
}

#[test]
fn one_document_per_file() {
    let error = parse("a: 1\n---\nb: 2\n")
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(
        (error.line, error.reason.as_str()),
        (2, "only one YAML document per file is supported")
    );
    assert!(
        parse("").map(|t| t.root.is_none()).unwrap_or(false),
        "an empty file is no document"
    );
}

#[test]
fn unclosed_at_end_of_file_points_at_the_last_written_line() {
    let error = parse("a:\n  b: [unclosed\n\n")
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(error.line, 2);
    let error = parse("a: 1\n  b: 2\nc: 3\n")
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(
        error.line, 2,
        "errors inside the file keep the parser's line"
    );
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..8 {
        let prev = level - 1;
        text.push_str(&format!("a{level}: &a{level} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    let error = parse(&text)
        .err()
        .unwrap_or_else(|| panic!("must be refused"));
    assert_eq!(error.reason, "aliases expand to more than 100000 nodes");
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Sample {
    name: String,
    count: u8,
    #[serde(default)]
    tags: Vec<String>,
}

#[test]
fn string_fields_take_any_scalar_as_written() {
    let sample: Sample = from_node(&tree("name: 0x1F\ncount: 3\ntags: [true, 1.50]\n"), &[], 1)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        sample,
        Sample {
            name: "0x1F".to_string(),
            count: 3,
            tags: vec!["true".to_string(), "1.50".to_string()]
        }
    );
}

#[test]
fn deserialize_errors_carry_path_and_line() {
    let error: DeError =
        from_node::<Sample>(&tree("name: x\ncount: 300\n"), &[Seg::Key("s".into())], 1)
            .err()
            .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(
        error.reason,
        "expected an integer from 0 to 255, found integer 300"
    );
    assert_eq!(
        error.location,
        Some((vec![Seg::Key("s".into()), Seg::Key("count".into())], 2))
    );
    let error = from_node::<Sample>(&tree("name: ~\ncount: 1\n"), &[], 1).err();
    assert_eq!(
        error.map(|e| e.reason),
        Some("expected a string, found null".to_string())
    );
    let error = from_node::<Sample>(&tree("- 1\n"), &[], 1).err();
    assert_eq!(
        error.map(|e| e.reason),
        Some("expected a mapping, found sequence".to_string())
    );
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Router {
    entry_points: Vec<String>,
    #[serde(default)]
    ports: Vec<u16>,
    rule: Option<String>,
}

#[test]
fn struct_keys_match_in_any_case_as_traefik_reads_them() {
    let router: Router =
        from_node(&tree("entrypoints: [web]\nRULE: x\n"), &[], 1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(router.entry_points, ["web"]);
    assert_eq!(router.rule.as_deref(), Some("x"));
    let error = from_node::<Router>(&tree("entryPoint: [web]\n"), &[], 1).err();
    assert_eq!(
        error.map(|e| (e.reason, e.location)),
        Some((
            "unknown key \"entryPoint\" (allowed: entryPoints, ports, rule)".to_string(),
            Some((vec![Seg::Key("entryPoint".into())], 1))
        ))
    );
    let error = from_node::<Router>(&tree("entryPoints: [a]\nentrypoints: [b]\n"), &[], 1).err();
    assert_eq!(
        error.map(|e| e.reason),
        Some("duplicate key \"entryPoints\"".to_string())
    );
}

#[test]
fn map_keys_are_data_and_keep_their_case() {
    let json = to_json("Headers:\n  X-Id: 1\n");
    assert_eq!(json, serde_json::json!({"Headers": {"X-Id": 1}}));
}

#[test]
fn a_scalar_where_a_list_is_expected_splits_on_commas() {
    let router: Router = from_node(&tree("entryPoints: web\nports: 80, 443\n"), &[], 1)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(router.entry_points, ["web"]);
    assert_eq!(router.ports, [80, 443]);
    let router: Router = from_node(&tree("entryPoints: \" web , websecure\"\n"), &[], 1)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(router.entry_points, ["web", "websecure"]);
    // Each item of a list is split too, as Traefik's parser joins and splits a list's items.
    let router: Router = from_node(
        &tree("entryPoints: [\"a, b\", c]\nports: [80, 443]\n"),
        &[],
        1,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(router.entry_points, ["a", "b", "c"]);
    assert_eq!(router.ports, [80, 443]);
    let error = from_node::<Router>(&tree("entryPoints: [a]\nports: 80, x\n"), &[], 1).err();
    assert_eq!(
        error.map(|e| (e.reason, e.location)),
        Some((
            "expected an integer from 0 to 65535, found string \"x\"".to_string(),
            Some((vec![Seg::Key("ports".into()), Seg::Index(1)], 2))
        ))
    );
}
