//! Traefik file-provider configs as Traefik reads them: keys in any case, a scalar for a list,
//! scalars as text, provider-qualified names and Traefik's plugin form (issue 13).

use crate::config::{LoadedConfig, ServiceConfig, load_from_str};

const MAIN: &str = "entryPoints:\n  web:\n    address: 127.0.0.1:0\n";

fn load_ok(dynamic: &str) -> LoadedConfig {
    let text = format!("{MAIN}{dynamic}");
    match load_from_str("gateway.yml", &text) {
        Ok(config) => config,
        Err(errors) => panic!("should load, got:\n{errors}\n--- config:\n{text}"),
    }
}

fn load_errors(dynamic: &str) -> Vec<String> {
    let text = format!("{MAIN}{dynamic}");
    match load_from_str("gateway.yml", &text) {
        Ok(_) => panic!("should not load:\n{text}"),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

fn config_json(config: &LoadedConfig, middleware: &str) -> serde_json::Value {
    let text = &config.dynamic.http.middlewares[middleware].config_json;
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON: {e}"))
}

#[test]
fn keys_and_middleware_types_match_in_any_case() {
    let config = load_ok(
        "HTTP:
  Routers:
    r:
      Rule: PathPrefix(`/`)
      EntryPoints: web
      Service: s
      middlewares: [to-https, secure]
  services:
    s:
      loadbalancer:
        servers:
          - URL: http://127.0.0.1:1
        passhostheader: false
  Middlewares:
    to-https:
      redirectscheme:
        Scheme: https
        permanent: true
    secure:
      Headers:
        contenttypenosniff: true
        FRAMEDENY: true
",
    );
    let http = &config.dynamic.http;
    assert_eq!(http.routers["r"].entry_points, ["web"]);
    assert_eq!(http.routers["r"].rule, "PathPrefix(`/`)");
    let Some(ServiceConfig::LoadBalancer(lb)) = http.services.get("s") else {
        panic!("service s should be a load balancer");
    };
    assert!(!lb.pass_host_header);
    assert_eq!(http.middlewares["to-https"].plugin, "redirect-scheme");
    assert_eq!(http.middlewares["to-https"].type_key, "redirectScheme");
    assert_eq!(
        config_json(&config, "to-https"),
        serde_json::json!({"scheme": "https", "permanent": true})
    );
    assert_eq!(
        config_json(&config, "secure"),
        serde_json::json!({"contentTypeNosniff": true, "frameDeny": true})
    );
    // Later errors found by the model's spelling point at the file's spelling.
    let error = config.error_at(&["http", "routers", "r", "rule"], "x");
    assert_eq!(error.to_string(), "gateway.yml:7: HTTP.Routers.r.Rule: x");
}

#[test]
fn a_misspelt_key_is_still_refused_with_the_allowed_names() {
    let errors = load_errors(
        "http:
  routers:
    r:
      rule: PathPrefix(`/`)
      service: s
      entrypoint: web
  services:
    s:
      loadBalancers: {}
",
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with(
            "gateway.yml:9: http.routers.r.entrypoint: unknown key \"entrypoint\" (allowed: rule, service, entryPoints, "
        ),
        "{errors:#?}"
    );
    assert_eq!(
        errors[1],
        "gateway.yml:11: http.services.s: unknown service type \"loadBalancers\" (allowed: loadBalancer, weighted, mirroring, failover)"
    );
}

#[test]
fn scalars_for_lists_and_text_as_traefik_reads_them() {
    let config = load_ok(
        "http:
  middlewares:
    auth:
      basicAuth:
        users: \"test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/\"
    lan:
      ipAllowList:
        sourceRange: \"10.0.0.0/8, 192.168.0.0/16\"
    fwd:
      headers:
        customRequestHeaders:
          X-Forwarded-Port: 443
          X-Forwarded-Ssl: true
",
    );
    assert_eq!(
        config_json(&config, "auth")["users"],
        serde_json::json!(["test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"])
    );
    assert_eq!(
        config_json(&config, "lan")["sourceRange"],
        serde_json::json!(["10.0.0.0/8", "192.168.0.0/16"])
    );
    assert_eq!(
        config_json(&config, "fwd")["customRequestHeaders"],
        serde_json::json!({"X-Forwarded-Port": "443", "X-Forwarded-Ssl": "true"})
    );
}

#[test]
fn file_provider_names_resolve_and_other_providers_are_named() {
    let errors = load_errors(
        "http:
  routers:
    local:
      rule: PathPrefix(`/`)
      service: s@file
      middlewares: [m@file]
    dash:
      rule: PathPrefix(`/dashboard`)
      service: api@internal
    docker:
      rule: PathPrefix(`/d`)
      service: s
      middlewares: [auth@docker]
  services:
    s:
      loadBalancer:
        servers: [{url: http://127.0.0.1:1}]
  middlewares:
    m:
      addPrefix: {prefix: /x}
",
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with(
            "gateway.yml:12: http.routers.dash.service: service \"api@internal\" is not defined: Traefik's internal service exists only when the static section `api` is configured"
        ),
        "{errors:#?}"
    );
    assert!(
        errors[1].starts_with(
            "gateway.yml:16: http.routers.docker.middlewares[0]: provider \"docker\" is not available: \"auth@docker\" names a middleware"
        ),
        "{errors:#?}"
    );
}

#[test]
fn traefiks_plugin_form_names_the_plugin_by_its_key() {
    let config = load_ok(
        "http:
  middlewares:
    traefik-form:
      plugin:
        my-plugin:
          headerName: X-Demo
          count: 2
    wasmgate-form:
      plugin:
        name: my-plugin
        config: {headerName: X-Demo}
        isolation: per-request
",
    );
    let http = &config.dynamic.http;
    assert_eq!(http.middlewares["traefik-form"].plugin, "my-plugin");
    assert_eq!(
        config_json(&config, "traefik-form"),
        serde_json::json!({"headerName": "X-Demo", "count": 2})
    );
    assert_eq!(http.middlewares["wasmgate-form"].plugin, "my-plugin");
}

#[test]
fn a_plugin_pinned_by_sha256_has_its_own_registry_name_and_a_bad_hash_is_refused() {
    let hash = "AB".repeat(32);
    let config = load_ok(&format!(
        "http:
  middlewares:
    pinned:
      plugin:
        name: my-plugin
        sha256: {hash}
        config: {{headerName: X-Demo}}
    unpinned:
      plugin:
        name: my-plugin
"
    ));
    let http = &config.dynamic.http;
    let lower = "ab".repeat(32);
    assert_eq!(
        http.middlewares["pinned"].sha256.as_deref(),
        Some(lower.as_str())
    );
    assert_eq!(
        http.middlewares["pinned"].registry_name(),
        format!("my-plugin@sha256:{lower}")
    );
    assert_eq!(http.middlewares["unpinned"].registry_name(), "my-plugin");
    let errors = load_errors(
        "http:
  middlewares:
    short:
      plugin:
        name: my-plugin
        sha256: abc
",
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with(
            "gateway.yml:9: http.middlewares.short.plugin.sha256: \"abc\" is not a SHA-256"
        ),
        "{errors:#?}"
    );
    let store = load_ok("plugins:\n  store:\n    url: http://store.test/plugins/\n");
    assert_eq!(
        store.static_config.plugins.store.as_deref(),
        Some("http://store.test/plugins")
    );
    let errors = load_errors("plugins:\n  store:\n    url: ftp://store.test\n");
    assert_eq!(
        errors,
        [
            "gateway.yml:6: plugins.store.url: \"ftp://store.test\" is not an http:// or https:// URL"
        ]
    );
}

#[test]
fn a_plugin_of_neither_shape_explains_both() {
    let errors = load_errors(
        "http:
  middlewares:
    two:
      plugin:
        a: {}
        b: {}
    scalar:
      plugin: my-plugin
    bad-config:
      plugin:
        my-plugin: 3
",
    );
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[0].starts_with(
            "gateway.yml:7: http.middlewares.two.plugin: has 2 keys (\"a\", \"b\"): write either wasmgate's form `plugin: {name: <plugin>, config: {...}}` or Traefik's form `plugin: {<plugin>: {...config...}}`"
        ),
        "{errors:#?}"
    );
    assert!(
        errors[1].starts_with(
            "gateway.yml:11: http.middlewares.scalar.plugin: expected a mapping: write either"
        ),
        "{errors:#?}"
    );
    assert_eq!(
        errors[2],
        "gateway.yml:14: http.middlewares.bad-config.plugin.my-plugin: the config of plugin \"my-plugin\" must be a mapping"
    );
}

#[test]
fn a_service_without_servers_loads_as_in_traefik() {
    let config = load_ok(
        "http:
  services:
    empty:
      loadBalancer:
        servers: []
",
    );
    let Some(ServiceConfig::LoadBalancer(lb)) = config.dynamic.http.services.get("empty") else {
        panic!("service empty should be a load balancer");
    };
    assert!(lb.servers.is_empty());
}

#[test]
fn experimental_local_plugins_name_plugin_directories_under_plugins_local_src() {
    let config = load_ok(
        "Experimental:
  localPlugins:
    demo:
      moduleName: github.com/acme/demo
      settings: { useUnsafe: false, envs: [], mounts: [] }
http: {}
",
    );
    let local = &config.static_config.plugins.local_plugins;
    assert_eq!(local.len(), 1);
    assert_eq!(local[0].0, "demo");
    assert!(
        local[0]
            .1
            .ends_with("plugins-local/src/github.com/acme/demo"),
        "{:?}",
        local[0].1
    );
}

#[test]
fn experimental_keys_other_than_local_plugins_are_not_supported_yet() {
    let errors = load_errors(
        "experimental:\n  plugins:\n    demo: { moduleName: x, version: v1 }\nhttp: {}\n",
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("experimental.plugins") && e.contains("not supported yet")),
        "{errors:?}"
    );
    let errors = load_errors(
        "experimental:\n  localPlugins:\n    demo:\n      moduleName: ../escape\n      settings: { mounts: [/etc] }\nhttp: {}\n",
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("gateway.yml:") && e.contains("localPlugins.demo.moduleName")),
        "{errors:?}"
    );
}
