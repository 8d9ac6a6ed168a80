//! Traefik file-provider configs as Traefik users write them run as-is (issue 13): keys and
//! middleware types in any case, a scalar where a list is expected, numbers and booleans as
//! header values, `name@file` references, Traefik's plugin form; references to providers
//! wasmgate does not have are refused naming the reference.

use crate::support::{Client, Gateway, Upstream, check_config};

/// `bob:s3cret-m` (`htpasswd -nbm bob s3cret-m`).
const BOB_HASH: &str = "bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1";
const BOB: &str = "Basic Ym9iOnMzY3JldC1t";

/// A Traefik dynamic config in the spellings found in real ones: lowercase keys, scalars for
/// lists, `@file` names, numbers as header values, Traefik's plugin form.
fn traefik_yaml(upstream: &str) -> String {
    format!(
        r#"entryPoints:
  web:
    address: "127.0.0.1:0"
http:
  routers:
    secure:
      rule: "PathPrefix(`/secure`)"
      entrypoints: web
      service: app@file
      middlewares: auth@file
    old:
      rule: "PathPrefix(`/old`)"
      EntryPoints: web
      service: app
      middlewares: [to-https]
    lan:
      rule: "PathPrefix(`/lan`)"
      service: app
      middlewares: lan-only
    local:
      rule: "PathPrefix(`/local`)"
      service: app
      middlewares: loopback-or-lan
    hdr:
      rule: "PathPrefix(`/hdr`)"
      service: app
      middlewares: fwd, demo
  services:
    app:
      loadbalancer:
        strategy: wrr
        responseForwarding:
          flushInterval: -1
        servers:
          - URL: "{upstream}"
  middlewares:
    auth:
      basicauth:
        users: "{BOB_HASH}"
    to-https:
      redirectscheme:
        scheme: https
        permanent: true
    lan-only:
      ipWhiteList:
        sourceRange: "10.0.0.0/8, 192.168.0.0/16"
    loopback-or-lan:
      ipallowlist:
        sourcerange: ["10.0.0.0/8, 127.0.0.1/32"]
    fwd:
      headers:
        customRequestHeaders:
          X-Backend-Port: 443
          X-Forwarded-Ssl: true
    demo:
      plugin:
        headers:
          customResponseHeaders:
            X-Plugin-Form: traefik
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traefik_config_in_its_own_spellings_serves_as_traefik_would() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&traefik_yaml(&up.url()), &[]);
    let client = Client::http1();

    // `users: "<one entry>"` is a one-user list; `middlewares: auth@file` a one-item list.
    let r = client.get(&gw.url("/secure"), "app.test", &[]).await;
    assert_eq!(r.status, 401, "no credentials");
    let r = client
        .get(&gw.url("/secure"), "app.test", &[("authorization", BOB)])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "app");

    // `redirectscheme` in lowercase is Traefik's redirectScheme.
    let r = client.get(&gw.url("/old/p?x=1"), "app.test", &[]).await;
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("https://app.test/old/p?x=1"));

    // `sourceRange: "a, b"` is two ranges: loopback is in neither of the first pair...
    let r = client.get(&gw.url("/lan"), "app.test", &[]).await;
    assert_eq!(r.status, 403);
    // ...and in the second (key and type in lowercase; a list item holding a comma is split
    // too, as Traefik splits it).
    let r = client.get(&gw.url("/local"), "app.test", &[]).await;
    assert_eq!(r.status, 200);

    // Numbers and booleans are header values as written; Traefik's plugin form runs the plugin
    // named by its key.
    let before = up.count();
    let r = client.get(&gw.url("/hdr"), "app.test", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-plugin-form"), Some("traefik"));
    assert_eq!(up.count(), before + 1);
    let seen = up.last();
    assert_eq!(seen.header("x-backend-port"), Some("443"));
    assert_eq!(seen.header("x-forwarded-ssl"), Some("true"));
}

#[test]
fn references_to_other_providers_are_refused_naming_the_reference() {
    let yaml = r#"entryPoints:
  web:
    address: "127.0.0.1:0"
http:
  routers:
    dashboard:
      rule: "PathPrefix(`/dashboard`)"
      service: api@internal
    whoami:
      rule: "PathPrefix(`/`)"
      service: whoami@docker
      middlewares: [auth@kubernetescrd]
"#;
    let (ok, stdout, stderr) = check_config(yaml, &[]);
    assert!(!ok, "must be refused; stdout: {stdout}");
    // One line per reference, in line order, each `<path>/gateway.yml:LINE: key: reason`.
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].contains(
            "gateway.yml:8: http.routers.dashboard.service: service \"api@internal\" is not defined: Traefik's internal service exists only when the static section `api` is configured"
        ),
        "{stderr}"
    );
    assert!(
        lines[1].contains(
            "gateway.yml:11: http.routers.whoami.service: provider \"docker\" is not available: \"whoami@docker\""
        ),
        "{stderr}"
    );
    assert!(
        lines[2].contains(
            "gateway.yml:12: http.routers.whoami.middlewares[0]: provider \"kubernetescrd\" is not available: \"auth@kubernetescrd\""
        ),
        "{stderr}"
    );
}

#[test]
fn a_plugin_of_neither_form_is_refused_explaining_both() {
    let yaml = r#"entryPoints:
  web:
    address: "127.0.0.1:0"
http:
  middlewares:
    m:
      plugin:
        first: {}
        second: {}
"#;
    let (ok, _, stderr) = check_config(yaml, &[]);
    assert!(!ok);
    assert!(
        stderr.contains("gateway.yml:7: http.middlewares.m.plugin: has 2 keys (\"first\", \"second\"): write either wasmgate's form `plugin: {name: <plugin>, config: {...}}` or Traefik's form `plugin: {<plugin>: {...config...}}`"),
        "{stderr}"
    );
}

#[test]
fn traefiks_plugin_form_naming_a_missing_plugin_says_which() {
    let yaml = r#"entryPoints:
  web:
    address: "127.0.0.1:0"
http:
  middlewares:
    m:
      plugin:
        traefik-plugin-ghost:
          option: 1
"#;
    let (ok, _, stderr) = check_config(yaml, &[]);
    assert!(!ok);
    assert!(
        stderr.contains("gateway.yml:7: http.middlewares.m.plugin: middleware \"m\" uses plugin \"traefik-plugin-ghost\", which does not exist"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_without_servers_loads_with_a_warning_and_answers_503() {
    let yaml = r#"entryPoints:
  web:
    address: "127.0.0.1:0"
http:
  routers:
    r:
      rule: "PathPrefix(`/`)"
      service: empty
  services:
    empty:
      loadBalancer:
        servers: []
"#;
    let (ok, stdout, stderr) = check_config(yaml, &[]);
    assert!(ok, "a service without servers loads; stderr: {stderr}");
    assert!(stdout.contains("OK"), "{stdout}");
    assert!(
        stderr.contains(
            "gateway.yml:12: http.services.empty.loadBalancer.servers: no servers: the service answers 503"
        ),
        "check warns at the servers key: {stderr}"
    );
    let gw = Gateway::start(yaml, &[]);
    let r = Client::http1().get(&gw.url("/"), "app.test", &[]).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), "no available server\n", "Traefik's body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deprecated_headers_ssl_options_load_with_a_warning_and_redirect_as_traefik_does() {
    let up = Upstream::start("app").await;
    let yaml = format!(
        r#"entryPoints:
  web:
    address: "127.0.0.1:0"
http:
  routers:
    perm:
      rule: "PathPrefix(`/perm`)"
      service: app
      middlewares: [to-https]
    temp:
      rule: "PathPrefix(`/temp`)"
      service: app
      middlewares: [to-secure-host]
  services:
    app:
      loadBalancer:
        servers: [{{ url: "{}" }}]
  middlewares:
    to-https:
      headers:
        sslRedirect: true
        sslProxyHeaders: {{ X-Ssl: "on" }}
        featurePolicy: "camera 'none'"
    to-secure-host:
      headers:
        sslRedirect: true
        sslTemporaryRedirect: true
        sslHost: secure.test
"#,
        up.url()
    );
    let (ok, _, stderr) = check_config(&yaml, &[]);
    assert!(ok, "deprecated options load: {stderr}");
    assert!(
        stderr.contains("gateway.yml:21: http.middlewares.to-https.headers.sslRedirect: option \"sslRedirect\" is deprecated in Traefik v3: use an entrypoint redirection or the redirectScheme middleware"),
        "{stderr}"
    );
    assert!(
        stderr.contains("http.middlewares.to-https.headers.featurePolicy: option \"featurePolicy\" is deprecated in Traefik v3: use permissionsPolicy"),
        "{stderr}"
    );

    let gw = Gateway::start(&yaml, &[]);
    let client = Client::http1();
    // Plain HTTP: 301 to the same host over HTTPS, path and query kept.
    let r = client.get(&gw.url("/perm/p?x=1"), "app.test", &[]).await;
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("https://app.test/perm/p?x=1"));
    assert_eq!(up.count(), 0);
    // A request an sslProxyHeaders header marks as HTTPS goes on, with Feature-Policy set.
    let r = client
        .get(&gw.url("/perm"), "app.test", &[("x-ssl", "on")])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("feature-policy"), Some("camera 'none'"));
    // sslTemporaryRedirect: 307; sslHost: that host.
    let r = client.get(&gw.url("/temp/q"), "app.test", &[]).await;
    assert_eq!(r.status, 307);
    assert_eq!(r.header("location"), Some("https://secure.test/temp/q"));
}

#[test]
fn traefik_keys_not_implemented_yet_are_named_as_such() {
    let yaml = r#"entryPoints:
  web:
    address: "127.0.0.1:0"
    http3: {}
providers:
  docker: {}
http:
  routers:
    r:
      rule: "PathPrefix(`/`)"
      service: s
      observability: { tracing: false }
  services:
    s:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:1" }]
        strategy: p2c
hostResolver:
  cnameFlattening: true
"#;
    let (ok, _, stderr) = check_config(yaml, &[]);
    assert!(!ok);
    let located: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.split_once("gateway.yml:").map(|(_, rest)| rest))
        .collect();
    assert_eq!(
        located,
        [
            "4: entryPoints.web.http3: not supported yet: entryPoints.*.http3 (see README, Migrating from Traefik)",
            "6: providers.docker: provider \"docker\" is not available: wasmgate reads Traefik's file, http, redis and etcd providers (see README, Migrating from Traefik)",
            "17: http.services.s.loadBalancer.strategy: not supported yet: strategy \"p2c\" (wrr is the only one so far; see README, Migrating from Traefik)",
            "18: hostResolver: not supported yet: hostResolver (see README, Migrating from Traefik)",
        ],
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v2_rule_is_named_as_v2_syntax_and_its_v3_spelling_routes() {
    let up = Upstream::start("app").await;
    let config = |rule: &str| {
        format!(
            "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\nhttp:\n  routers:\n    r:\n      rule: '{rule}'\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers: [{{ url: \"{}\" }}]\n",
            up.url()
        )
    };
    let (ok, _, stderr) = check_config(&config("HostRegexp(`{sub:[a-z]+}.example.com`)"), &[]);
    assert!(!ok);
    let hint = "(this is Traefik v2 rule syntax: add `ruleSyntax: v2` to the router, or write it \
                in v3: ";
    let Some((_, v3)) = stderr.split_once(hint) else {
        panic!("the error names v2 syntax: {stderr}");
    };
    let v3 = v3.trim_end().trim_end_matches(')');
    assert_eq!(v3, r"HostRegexp(`^[a-z]+\.example\.com$`");
    // The v3 spelling the error gives loads and routes as the v2 rule did in Traefik.
    let gw = Gateway::start(&config(&format!("{v3})")), &[]);
    let client = Client::http1();
    let r = client.get(&gw.url("/"), "abc.example.com", &[]).await;
    assert_eq!(r.status, 200);
    let r = client.get(&gw.url("/"), "a1.example.com", &[]).await;
    assert_eq!(r.status, 404);
}

/// `ruleSyntax: v2` on a router, and `core.defaultRuleSyntax: v2` for every router without
/// one, load v2 rules and route them as Traefik v2 did (issue 13, item 5): several hosts in one
/// `Host`, a `HostRegexp` template (its literal dots are dots), `Headers`, several `Query`
/// pairs that must all match; a router saying `v3` next to them keeps v3 syntax.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_rule_syntax_per_router_and_by_default_routes_as_traefik_v2() {
    let up = Upstream::start("app").await;
    let other = Upstream::start("other").await;
    let config = format!(
        r#"entryPoints:
  web:
    address: "127.0.0.1:0"
core:
  defaultRuleSyntax: v2
http:
  routers:
    hosts:
      rule: "Host(`a.test`, `b.test`) && Headers(`X-Env`, `prod`)"
      service: app
    template:
      rule: "HostRegexp(`{{sub:[a-z]+}}.example.com`)"
      ruleSyntax: v2
      service: app
    query:
      rule: "Host(`q.test`) && Query(`a=1`, `b=2`)"
      service: other
    modern:
      rule: "Host(`v3.test`) && Header(`X-Env`, `prod`)"
      ruleSyntax: v3
      service: other
  services:
    app:
      loadBalancer:
        servers: [{{ url: "{}" }}]
    other:
      loadBalancer:
        servers: [{{ url: "{}" }}]
"#,
        up.url(),
        other.url()
    );
    let gw = Gateway::start(&config, &[]);
    let client = Client::http1();
    let prod = [("x-env", "prod")];
    for host in ["a.test", "b.test"] {
        let r = client.get(&gw.url("/"), host, &prod).await;
        assert_eq!(r.status, 200, "{host}");
        assert_eq!(r.header("x-upstream"), Some("app"));
    }
    assert_eq!(client.get(&gw.url("/"), "a.test", &[]).await.status, 404);
    assert_eq!(
        client
            .get(&gw.url("/"), "abc.example.com", &[])
            .await
            .status,
        200
    );
    // The template's dots are literal: `abcXexample.com` is not `abc.example.com`.
    assert_eq!(
        client
            .get(&gw.url("/"), "abcxexample.com", &[])
            .await
            .status,
        404
    );
    let r = client.get(&gw.url("/?a=1&b=2"), "q.test", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-upstream"), Some("other"));
    assert_eq!(
        client.get(&gw.url("/?a=1"), "q.test", &[]).await.status,
        404
    );
    assert_eq!(client.get(&gw.url("/"), "v3.test", &prod).await.status, 200);

    let bad = config.replace("ruleSyntax: v3", "ruleSyntax: v4");
    let (ok, _, stderr) = check_config(&bad, &[]);
    assert!(!ok);
    assert!(
        stderr.contains(
            "http.routers.modern.ruleSyntax: \"v4\" is not a rule syntax (write v2 or v3)"
        ),
        "{stderr}"
    );
}

/// A provider file written as a Go template (issue 13, item 2): `range` over `list` and
/// `until`, `env` with `default`, trim markers — rendered as Traefik's file provider does.
const TEMPLATED_PROVIDER_FILE: &str = r#"http:
  routers:
{{- range $i, $name := list "alpha" "beta" }}
    r-{{ $name }}:
      rule: "PathPrefix(`/{{ $name }}`)"
      service: app
      middlewares: [tag-{{ $i }}]
{{- end }}
  middlewares:
{{- range $i := until 2 }}
    tag-{{ $i }}:
      headers:
        customRequestHeaders:
          X-Tag: "{{ env "WASMGATE_TEST_TAG" | default "none" }}-{{ $i }}"
          X-Unset: {{ env "WASMGATE_TEST_UNSET" | default "fallback" | quote }}
{{- end }}
  services:
    app:
      loadBalancer:
        servers:
          - url: "{{ env "WASMGATE_TEST_UPSTREAM" }}"
"#;

/// The main file naming `provider` as its file provider.
fn main_with_provider(provider: &std::path::Path) -> String {
    format!(
        "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\nproviders:\n  file:\n    filename: \"{}\"\n",
        provider.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_templated_provider_file_renders_as_traefiks_file_provider_does() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let provider = dir.path().join("dynamic.yml");
    std::fs::write(&provider, TEMPLATED_PROVIDER_FILE).expect("write provider file");
    let upstream_url = up.url();
    let gw = Gateway::start_with_env(
        &main_with_provider(&provider),
        &[
            ("WASMGATE_TEST_UPSTREAM", upstream_url.as_str()),
            ("WASMGATE_TEST_TAG", "blue"),
        ],
    );
    for (path, tag) in [("/alpha/x", "blue-0"), ("/beta/y", "blue-1")] {
        let r = Client::http1().get(&gw.url(path), "app.test", &[]).await;
        assert_eq!(r.status, 200, "{path}: {}", gw.log());
        let seen = up.last();
        assert_eq!(seen.header("x-tag"), Some(tag), "{path}");
        assert_eq!(seen.header("x-unset"), Some("fallback"), "{path}");
    }
    let r = Client::http1()
        .get(&gw.url("/gamma"), "app.test", &[])
        .await;
    assert_eq!(
        r.status, 404,
        "only the routers the template produced exist"
    );
}

#[test]
fn template_errors_and_errors_in_rendered_yaml_point_at_the_template_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let provider = dir.path().join("dynamic.yml");
    std::fs::write(
        &provider,
        "http:\n  routers:\n    r:\n      rule: \"{{ nosuch \"x\" }}\"\n",
    )
    .expect("write");
    let (ok, _, stderr) = check_config(&main_with_provider(&provider), &[]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "{}:4: template: function \"nosuch\" not defined",
            provider.display()
        )),
        "{stderr}"
    );

    // A misspelt key produced by a range: reported at the line the user wrote, once per
    // rendered copy, not at the rendered file's line numbers.
    std::fs::write(
        &provider,
        "http:\n  services:\n{{- range $i := until 2 }}\n    s{{ $i }}:\n      loadBalancer:\n        servrs: []\n{{- end }}\n",
    )
    .expect("write");
    let (ok, _, stderr) = check_config(&main_with_provider(&provider), &[]);
    assert!(!ok);
    for service in ["s0", "s1"] {
        assert!(
            stderr.contains(&format!(
                "{}:6: http.services.{service}.loadBalancer.servrs: unknown key",
                provider.display()
            )),
            "{stderr}"
        );
    }
}
