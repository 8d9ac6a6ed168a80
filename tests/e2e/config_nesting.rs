//! Deep configs against the bundled plugins' guest stacks (16 KiB; 64 KiB for the Go-regex
//! plugins): the SDK refuses a config nested past `plugin_sdk::config::MAX_CONFIG_NESTING` (32
//! levels) naming the depth, every bundled plugin parses one nested right up to it, and the
//! deepest regexes the plugins accept compile and match, all without exhausting the stack (a
//! trap).

use crate::support::{Client, Config, Gateway, Upstream, check_config, located_errors};

/// Every HTTP middleware key with a bundled plugin.
const BUNDLED: &[&str] = &[
    "addPrefix",
    "basicAuth",
    "buffering",
    "circuitBreaker",
    "compress",
    "contentType",
    "digestAuth",
    "errors",
    "forwardAuth",
    "grpcWeb",
    "headers",
    "inFlightReq",
    "ipAllowList",
    "passTLSClientCert",
    "rateLimit",
    "redirectRegex",
    "redirectScheme",
    "replacePath",
    "replacePathRegex",
    "retry",
    "stripPrefix",
    "stripPrefixRegex",
];

/// `levels` flow lists, one inside the other.
fn lists(levels: usize) -> String {
    format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
}

/// A `check` config with one middleware per bundled HTTP plugin, each given an unknown option
/// `deep` holding `levels` nested lists: the plugin's config is then nested `levels + 1` deep
/// (its map of options is the first level). (The TCP middlewares' options are read by the
/// gateway, which hands their plugins flat configs of its own.)
fn every_plugin_with_deep_option(levels: usize) -> String {
    let deep = lists(levels);
    let mut http = String::new();
    for (i, key) in BUNDLED.iter().enumerate() {
        http.push_str(&format!("    m{i}:\n      {key}:\n        deep: {deep}\n"));
        // The options the gateway itself requires before the plugin sees the config.
        match *key {
            "errors" => http.push_str("        service: app\n        status: [\"500\"]\n"),
            "forwardAuth" => http.push_str("        address: \"http://127.0.0.1:1/auth\"\n"),
            _ => {}
        }
    }
    let names: Vec<String> = (0..BUNDLED.len()).map(|i| format!("m{i}")).collect();
    Config::new()
        .route_through("r", "PathPrefix(`/`)", "app", &names.join(", "))
        .service("app", "http://127.0.0.1:1")
        .middlewares(&http)
        .yaml()
}

#[test]
fn a_config_nested_past_the_sdk_limit_is_a_config_error_naming_the_depth_not_a_trap() {
    // 120 lists deep: under serde_json's own limit (128), so the plugins' parsers would recurse
    // all the way down; the SDK refuses it first.
    let (ok, stdout, stderr) = check_config(&every_plugin_with_deep_option(120), &[]);
    assert!(!ok, "config must be rejected; stdout: {stdout}");
    let errors = located_errors(&stderr);
    let refused = errors
        .iter()
        .filter(|e| e.contains("config nests lists and maps more than 32 levels deep"))
        .count();
    assert_eq!(refused, BUNDLED.len(), "{stderr}");
    assert!(!stderr.contains("trap"), "{stderr}");
}

#[test]
fn every_bundled_plugin_parses_a_config_nested_to_the_sdk_limit_without_trapping() {
    // 31 lists in the map of options: 32 levels, the most the SDK lets through.
    let (ok, stdout, stderr) = check_config(&every_plugin_with_deep_option(31), &[]);
    assert!(!ok, "`deep` is no option of any plugin; stdout: {stdout}");
    let errors = located_errors(&stderr);
    for (i, key) in BUNDLED.iter().enumerate() {
        let at = format!("http.middlewares.m{i}.{key}.deep: plugin ");
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&at) && e.contains("unknown option \"deep\"")),
            "{key}'s plugin reports its config error: {stderr}"
        );
    }
    assert!(!stderr.contains("levels deep"), "{stderr}");
    assert!(!stderr.contains("trap"), "{stderr}");
}

/// `levels` groups, one inside the other, around `a`.
fn nested_groups(levels: usize) -> String {
    format!("{}a{}", "(".repeat(levels), ")".repeat(levels))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deepest_regexes_the_plugins_accept_compile_and_match_on_their_stack() {
    // One level under each limit (the groups' concatenation with the anchors is a level too):
    // Go regexes under `traefik_options::go_regex::MAX_NESTING` (64), in plugins linked with a
    // 64 KiB stack for it; CORS origin regexes under `ORIGIN_REGEX_NEST_LIMIT` (32), in
    // `headers` on the 16 KiB stack. Compiled at `validate-config` and at `init` of every
    // instance.
    let go = nested_groups(63);
    let origin = format!("^https://{}\\.test$", nested_groups(31));
    let up = Upstream::start("app").await;
    let yaml = Config::new()
        .route_through("app", "PathPrefix(`/`)", "app", "strip, rewrite, cors")
        .service("app", &up.url())
        .middlewares(&format!(
            r#"
    strip:
      stripPrefixRegex:
        regex: ['/{go}']
    rewrite:
      replacePathRegex:
        regex: '^/{go}$'
        replacement: "/rewritten"
    cors:
      headers:
        accessControlAllowOriginListRegex: ['{origin}']
        accessControlAllowMethods: [GET]
"#
        ))
        .yaml();
    let (ok, stdout, stderr) = check_config(&yaml, &[]);
    assert!(ok, "stdout: {stdout}\nstderr: {stderr}");
    let gw = Gateway::start(&yaml, &[]);
    let r = Client::http1()
        .get(&gw.url("/aa"), "h.test", &[("origin", "https://a.test")])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://a.test"),
        "{r:?}"
    );
    // `/aa`: `/a` stripped by the first regex, the `/a` left rewritten by the second.
    assert_eq!(up.last().path_and_query, "/rewritten");
}

/// A `check` config with one `circuitBreaker` whose expression is `expression`.
fn circuit_breaker_config(expression: &str) -> String {
    Config::new()
        .route_through("r", "PathPrefix(`/`)", "app", "cb")
        .service("app", "http://127.0.0.1:1")
        .middlewares(&format!(
            "    cb:\n      circuitBreaker:\n        expression: '{expression}'\n"
        ))
        .yaml()
}

#[test]
fn a_circuit_breaker_expression_past_its_nesting_or_length_limit_is_a_config_error_not_a_trap() {
    // `oxy_expression::MAX_NESTING` (16) grouping parentheses around `MAX_OPERATORS` (64) `||`:
    // the deepest parse and expression tree the plugin accepts.
    let terms = |n: usize| vec!["NetworkErrorRatio() > 0.5"; n].join(" || ");
    let grouped =
        |levels: usize, inner: &str| format!("{}{inner}{}", "(".repeat(levels), ")".repeat(levels));
    let (ok, stdout, stderr) = check_config(&circuit_breaker_config(&grouped(16, &terms(65))), &[]);
    assert!(ok, "stdout: {stdout}\nstderr: {stderr}");
    for (expression, reason) in [
        (
            grouped(17, &terms(1)),
            "nests parentheses and negations more than 16 levels deep",
        ),
        (
            grouped(5000, &terms(1)),
            "nests parentheses and negations more than 16 levels deep",
        ),
        (terms(5000), "has 4999 && and || operators, more than 64"),
    ] {
        let (ok, stdout, stderr) = check_config(&circuit_breaker_config(&expression), &[]);
        assert!(!ok, "refused; stdout: {stdout}");
        assert!(
            stderr.contains("http.middlewares.cb.circuitBreaker") && stderr.contains(reason),
            "{reason:?}: {stderr}"
        );
        assert!(!stderr.contains("trap"), "{stderr}");
    }
}
