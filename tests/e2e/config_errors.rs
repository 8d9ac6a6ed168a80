//! `wasmgate check` (and `run`) reject bad configs with `file:line: key: reason`, exit non-zero.

use crate::support::{check_config, fixture_wasm};

const HEAD: &str = r#"entryPoints:
  web:
    address: "127.0.0.1:0"
plugins:
  directory: plugins
http:
  services:
    app:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:1"
"#;
// HEAD is 11 lines; what follows starts on line 12.

fn assert_rejected(yaml: &str, plugins: &[(&str, std::path::PathBuf)], expected: &[&str]) {
    let (ok, stdout, stderr) = check_config(yaml, plugins);
    assert!(!ok, "config must be rejected; stdout: {stdout}");
    for needle in expected {
        assert!(
            stderr.contains(needle),
            "stderr should contain {needle:?}; got:\n{stderr}"
        );
    }
}

#[test]
fn a_valid_config_passes_check() {
    let yaml = format!(
        "{HEAD}  routers:\n    r:\n      rule: \"Host(`a.test`)\"\n      service: app\n      middlewares: [h]\n  middlewares:\n    h:\n      headers:\n        customRequestHeaders: {{ X-A: b }}\n"
    );
    let (ok, stdout, stderr) = check_config(&yaml, &[]);
    assert!(ok, "stderr: {stderr}");
    assert!(stdout.contains("OK"), "{stdout}");
}

#[test]
fn malformed_yaml_names_the_line() {
    let yaml = format!("{HEAD}  routers:\n    r:\n      rule: [unclosed\n");
    assert_rejected(&yaml, &[], &["gateway.yml:14"]);
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let yaml = format!(
        "{HEAD}  routers:\n    r:\n      rule: \"Host(`a`)\"\n      service: app\n      prioritee: 3\n"
    );
    assert_rejected(&yaml, &[], &["gateway.yml:16", "prioritee"]);
}

#[test]
fn a_rule_that_does_not_parse_is_a_located_error() {
    let yaml =
        format!("{HEAD}  routers:\n    r:\n      rule: \"Hots(`a.test`)\"\n      service: app\n");
    assert_rejected(&yaml, &[], &["gateway.yml:14: http.routers.r.rule", "Hots"]);
}

#[test]
fn a_router_naming_a_missing_service_is_a_located_error() {
    let yaml =
        format!("{HEAD}  routers:\n    r:\n      rule: \"Host(`a`)\"\n      service: nope\n");
    assert_rejected(
        &yaml,
        &[],
        &["gateway.yml:15: http.routers.r.service", "nope"],
    );
}

#[test]
fn a_middleware_naming_a_missing_plugin_names_router_side_and_plugin() {
    let yaml = format!(
        "{HEAD}  routers:\n    r:\n      rule: \"Host(`a`)\"\n      service: app\n      middlewares: [m]\n  middlewares:\n    m:\n      plugin:\n        name: ghost\n"
    );
    assert_rejected(
        &yaml,
        &[],
        &[
            "gateway.yml:19: http.middlewares.m.plugin",
            "\"ghost\"",
            "does not exist",
        ],
    );
}

#[test]
fn a_router_naming_a_missing_middleware_is_a_located_error() {
    let yaml = format!(
        "{HEAD}  routers:\n    r:\n      rule: \"Host(`a`)\"\n      service: app\n      middlewares: [ghost]\n"
    );
    assert_rejected(
        &yaml,
        &[],
        &["gateway.yml:16: http.routers.r.middlewares", "ghost"],
    );
}

#[test]
fn a_plugin_rejecting_its_config_fails_the_load_with_its_reason() {
    let yaml = format!(
        "{HEAD}  routers:\n    r:\n      rule: \"Host(`a`)\"\n      service: app\n      middlewares: [h]\n  middlewares:\n    h:\n      headers:\n        stsSecondz: 3\n"
    );
    assert_rejected(
        &yaml,
        &[],
        &[
            "gateway.yml:20: http.middlewares.h.headers.stsSecondz: plugin \"headers\" rejected its config",
            "unknown option \"stsSecondz\"",
        ],
    );
}

#[test]
fn a_custom_plugin_rejecting_its_config_fails_the_load() {
    let yaml = format!(
        "{HEAD}  routers:\n    r:\n      rule: \"Host(`a`)\"\n      service: app\n      middlewares: [d]\n  middlewares:\n    d:\n      plugin:\n        name: deny\n        config: {{ status: \"not a number\" }}\n"
    );
    assert_rejected(
        &yaml,
        &[("deny", fixture_wasm("fixture_deny"))],
        &[
            // At the option the decoder's position falls in, without that position.
            "gateway.yml:21: http.middlewares.d.plugin.config.status: plugin \"deny\" rejected its config",
            "expected u16\n",
        ],
    );
}

#[test]
fn run_refuses_to_start_on_an_invalid_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yml");
    std::fs::write(
        &path,
        format!("{HEAD}  routers:\n    r:\n      rule: \"Host(`a`)\"\n      service: nope\n"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasmgate"))
        .arg("run")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.yml:15: http.routers.r.service"),
        "{stderr}"
    );
}

#[test]
fn check_reports_config_rule_and_plugin_errors_in_one_run_in_line_order() {
    let yaml = format!(
        "{HEAD}  routers:
    bad-key:
      rule: \"Host(`a`)\"
      service: app
      prioritee: 3
    bad-rule:
      rule: \"Hots(`a`)\"
      service: app
      middlewares: [h]
  middlewares:
    h:
      headers:
        stsSecondz: 3
    gone:
      bogusType: {{}}
"
    );
    let (ok, stdout, stderr) = check_config(&yaml, &[]);
    assert!(!ok, "config must be rejected; stdout: {stdout}");
    let located: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.split_once("gateway.yml:").map(|(_, rest)| rest))
        .collect();
    assert_eq!(located.len(), 4, "{stderr}");
    assert!(
        located[0].starts_with("16: http.routers.bad-key.prioritee"),
        "{stderr}"
    );
    assert!(
        located[1].starts_with("18: http.routers.bad-rule.rule: invalid rule"),
        "{stderr}"
    );
    // The plugin's refusal is placed at the option it names.
    assert!(
        located[2].starts_with(
            "24: http.middlewares.h.headers.stsSecondz: plugin \"headers\" rejected its config"
        ),
        "{stderr}"
    );
    assert!(
        located[3].starts_with("25: http.middlewares.gone: unknown middleware type \"bogusType\""),
        "{stderr}"
    );
}
