//! Traefik's request-rewriting middlewares, served by the bundled plugins: `addPrefix`,
//! `stripPrefix`, `stripPrefixRegex`, `replacePath`, `replacePathRegex`, `redirectScheme`,
//! `redirectRegex`. One test per documented option (what the upstream receives, what the client
//! gets), a Traefik dynamic config chaining them as a Traefik user writes it, and mistyped
//! options refused by `wasmgate check`.

use crate::support::client::{Reply, empty};
use crate::support::{Client, Config, Gateway, Upstream, check_config};

/// A gateway whose one router sends everything through `chain` to `upstream`.
fn config(upstream: &Upstream, middlewares: &str, chain: &str) -> String {
    Config::new()
        .route_through("app", "PathPrefix(`/`)", "app", chain)
        .service("app", &upstream.url())
        .middlewares(middlewares)
        .yaml()
}

async fn start(middlewares: &str, chain: &str) -> (Upstream, Gateway) {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&config(&up, middlewares, chain), &[]);
    (up, gw)
}

/// Sends `method target` with this Host header and an empty body.
async fn send(gw: &Gateway, method: &str, target: &str, host: &str) -> Reply {
    let req = http::Request::builder()
        .method(method)
        .uri(gw.url(target))
        .header("host", host)
        .body(empty())
        .expect("request");
    Client::http1().send(req).await
}

fn all(headers: &http::HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_prefix_puts_the_prefix_in_front_of_the_path_and_keeps_the_query() {
    let (up, gw) = start(
        "    add:\n      addPrefix:\n        prefix: \"/api\"\n",
        "add",
    )
    .await;
    let r = send(&gw, "GET", "/users?id=7", "a.test").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "app");
    assert_eq!(up.last().path_and_query, "/api/users?id=7");
    send(&gw, "GET", "/", "a.test").await;
    assert_eq!(up.last().path_and_query, "/api/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strip_prefix_strips_the_first_matching_prefix_and_sets_x_forwarded_prefix() {
    let mws = "    strip:\n      stripPrefix:\n        prefixes:\n          - \"/foobar\"\n          - \"/fiibar\"\n";
    let (up, gw) = start(mws, "strip").await;

    let r = send(&gw, "GET", "/fiibar/shoes?size=42", "a.test").await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/shoes?size=42");
    assert_eq!(seen.header("x-forwarded-prefix"), Some("/fiibar"));

    send(&gw, "GET", "/foobar", "a.test").await;
    let seen = up.last();
    assert_eq!(
        seen.path_and_query, "/",
        "a path that was the prefix is sent as /"
    );
    assert_eq!(seen.header("x-forwarded-prefix"), Some("/foobar"));

    send(&gw, "GET", "/foobarbaz", "a.test").await;
    assert_eq!(
        up.last().path_and_query,
        "/baz",
        "Traefik v3: the prefix need not end at a /"
    );

    send(&gw, "GET", "/other/foobar", "a.test").await;
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/other/foobar");
    assert_eq!(seen.header("x-forwarded-prefix"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strip_prefix_accepts_the_deprecated_force_slash_and_chained_strips_append_the_header() {
    let mws = "    a:\n      stripPrefix:\n        prefixes: [\"/a\"]\n        forceSlash: true\n    b:\n      stripPrefix:\n        prefixes: [\"/b\"]\n        forceSlash: false\n";
    let (up, gw) = start(mws, "a, b").await;
    send(&gw, "GET", "/a/b/c", "a.test").await;
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/c");
    assert_eq!(all(&seen.headers, "x-forwarded-prefix"), vec!["/a", "/b"]);
    send(&gw, "GET", "/a", "a.test").await;
    assert_eq!(up.last().path_and_query, "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strip_prefix_regex_strips_the_matched_prefix_and_sets_x_forwarded_prefix() {
    let mws =
        "    strip:\n      stripPrefixRegex:\n        regex:\n          - \"/users/[a-z0-9]+/\"\n";
    let (up, gw) = start(mws, "strip").await;

    let r = send(&gw, "GET", "/users/bob42/profile?tab=1", "a.test").await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/profile?tab=1");
    assert_eq!(seen.header("x-forwarded-prefix"), Some("/users/bob42/"));

    send(&gw, "GET", "/users/", "a.test").await;
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/users/", "no match: unchanged");
    assert_eq!(seen.header("x-forwarded-prefix"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_path_replaces_the_path_and_keeps_the_original_in_x_replaced_path() {
    let mws = "    replace:\n      replacePath:\n        path: \"/foo\"\n";
    let (up, gw) = start(mws, "replace").await;
    let r = send(&gw, "GET", "/bar/baz?q=1", "a.test").await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/foo?q=1");
    assert_eq!(seen.header("x-replaced-path"), Some("/bar/baz"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_path_regex_rewrites_with_capture_groups_and_keeps_the_original() {
    let mws = "    rewrite:\n      replacePathRegex:\n        regex: \"^/foo/(.*)\"\n        replacement: \"/bar/$1\"\n";
    let (up, gw) = start(mws, "rewrite").await;

    let r = send(&gw, "GET", "/foo/a/b?q=1", "a.test").await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/bar/a/b?q=1");
    assert_eq!(seen.header("x-replaced-path"), Some("/foo/a/b"));

    send(&gw, "GET", "/other", "a.test").await;
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/other", "no match: unchanged");
    assert_eq!(seen.header("x-replaced-path"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_scheme_redirects_to_the_configured_scheme_and_keeps_path_and_query() {
    let mws = "    to-https:\n      redirectScheme:\n        scheme: https\n";
    let (up, gw) = start(mws, "to-https").await;
    let r = send(&gw, "GET", "/p/q?x=1", "app.test").await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("https://app.test/p/q?x=1"));
    assert_eq!(r.text(), "Found");
    let r = send(&gw, "GET", "/", "app.test:8080").await;
    assert_eq!(
        r.header("location"),
        Some("https://app.test/"),
        "the request's port is not carried over"
    );
    assert_eq!(up.count(), 0, "a redirect never reaches the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_scheme_port_goes_in_the_location_unless_it_is_the_default() {
    let mws = "    to-8443:\n      redirectScheme:\n        scheme: https\n        port: 8443\n    to-443:\n      redirectScheme:\n        scheme: https\n        port: \"443\"\n";
    let (up, gw) = start(mws, "to-8443").await;
    let r = send(&gw, "GET", "/p", "app.test").await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("https://app.test:8443/p"));
    drop((up, gw));

    let (up, gw) = start(mws, "to-443").await;
    let r = send(&gw, "GET", "/p", "app.test:80").await;
    assert_eq!(r.header("location"), Some("https://app.test/p"));
    assert_eq!(up.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_scheme_permanent_answers_301_for_get_and_308_for_other_methods() {
    let mws = "    perm:\n      redirectScheme:\n        scheme: https\n        permanent: true\n";
    let (up, gw) = start(mws, "perm").await;
    for (method, status) in [("GET", 301), ("POST", 308), ("HEAD", 308)] {
        let r = send(&gw, method, "/form", "app.test").await;
        assert_eq!(r.status, status, "{method}");
        assert_eq!(
            r.header("location"),
            Some("https://app.test/form"),
            "{method}"
        );
    }
    assert_eq!(up.count(), 0);
    drop((up, gw));

    let mws = "    temp:\n      redirectScheme:\n        scheme: https\n        permanent: false\n";
    let (_up, gw) = start(mws, "temp").await;
    assert_eq!(send(&gw, "GET", "/form", "app.test").await.status, 302);
    assert_eq!(send(&gw, "POST", "/form", "app.test").await.status, 307);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_scheme_lets_a_request_already_on_that_scheme_and_port_through() {
    let mws = "    plain:\n      redirectScheme:\n        scheme: http\n    on-8080:\n      redirectScheme:\n        scheme: http\n        port: \"8080\"\n";
    let (up, gw) = start(mws, "plain").await;
    let r = send(&gw, "GET", "/p?x=1", "app.test").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "app");
    assert_eq!(up.last().path_and_query, "/p?x=1");
    drop((up, gw));

    let (up, gw) = start(mws, "on-8080").await;
    let r = send(&gw, "GET", "/p", "app.test:8080").await;
    assert_eq!(r.status, 200);
    assert_eq!(up.count(), 1);
    let r = send(&gw, "GET", "/p", "app.test:9090").await;
    assert_eq!(r.status, 302, "same scheme, other port: redirected");
    assert_eq!(r.header("location"), Some("http://app.test:8080/p"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_regex_matches_the_full_url_and_redirects_to_the_replacement() {
    let mws = r#"    move:
      redirectRegex:
        regex: "^http://old\\.test(:\\d+)?/(.*)"
        replacement: "https://new.test/${2}"
"#;
    let (up, gw) = start(mws, "move").await;
    let r = send(&gw, "GET", "/a/b?c=d", "old.test:1234").await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("https://new.test/a/b?c=d"));
    assert_eq!(up.count(), 0);

    let r = send(&gw, "GET", "/a/b", "other.test").await;
    assert_eq!(r.status, 200, "no match: the request goes on");
    assert_eq!(up.last().path_and_query, "/a/b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_regex_permanent_answers_301_for_get_and_308_for_post() {
    let mws = r#"    move:
      redirectRegex:
        regex: "^http://([^/]+)/old/(.*)"
        replacement: "http://${1}/new/$2"
        permanent: true
"#;
    let (up, gw) = start(mws, "move").await;
    let r = send(&gw, "GET", "/old/x", "a.test").await;
    assert_eq!(
        (r.status.as_u16(), r.header("location")),
        (301, Some("http://a.test/new/x"))
    );
    let r = send(&gw, "POST", "/old/x", "a.test").await;
    assert_eq!(
        (r.status.as_u16(), r.header("location")),
        (308, Some("http://a.test/new/x"))
    );
    let r = send(&gw, "GET", "/new/x", "a.test").await;
    assert_eq!(
        r.status, 200,
        "the replacement's own URL does not match: no loop"
    );
    assert_eq!(up.count(), 1);
}

/// Written as a Traefik user writes a file-provider dynamic config (the static part on top).
const TRAEFIK_CONFIG: &str = r#"
entryPoints:
  web:
    address: "127.0.0.1:0"

http:
  routers:
    blog:
      entryPoints:
        - web
      rule: "Host(`example.com`) && PathPrefix(`/blog`)"
      middlewares:
        - strip-blog
        - add-v2@file
      service: app
    tenants:
      rule: "Host(`example.com`) && PathRegexp(`^/tenants/[a-z]+/users/`)"
      middlewares:
        - strip-tenant
        - user-profile
      service: app@file
    status:
      rule: "Host(`example.com`) && Path(`/status`)"
      middlewares:
        - health
      service: app
    old-domain:
      rule: "Host(`old.example.com`)"
      middlewares:
        - old-to-new
        - strip-blog
      service: app
    secure:
      rule: "Host(`secure.example.com`)"
      middlewares:
        - redirect-to-https
        - strip-blog
      service: app

  middlewares:
    strip-blog:
      stripPrefix:
        prefixes:
          - "/blog"
    add-v2:
      addPrefix:
        prefix: "/v2"
    strip-tenant:
      stripPrefixRegex:
        regex:
          - "^/tenants/[a-z]+"
    user-profile:
      replacePathRegex:
        regex: "^/users/(\\d+)$"
        replacement: "/api/users/$1/profile"
    health:
      replacePath:
        path: "/healthz"
    old-to-new:
      redirectRegex:
        regex: "^http://old\\.example\\.com/(.*)"
        replacement: "https://example.com/${1}"
        permanent: true
    redirect-to-https:
      redirectScheme:
        scheme: https
        port: 443
        permanent: true

  services:
    app:
      loadBalancer:
        servers:
          - url: "UPSTREAM"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traefik_dynamic_config_chaining_rewrite_middlewares_behaves_as_traefik_documents() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&TRAEFIK_CONFIG.replace("UPSTREAM", &up.url()), &[]);

    // stripPrefix then addPrefix.
    let r = send(&gw, "GET", "/blog/posts/1?draft=0", "example.com").await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/v2/posts/1?draft=0");
    assert_eq!(seen.header("x-forwarded-prefix"), Some("/blog"));

    // stripPrefixRegex then replacePathRegex.
    let r = send(&gw, "GET", "/tenants/acme/users/42", "example.com").await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/api/users/42/profile");
    assert_eq!(seen.header("x-forwarded-prefix"), Some("/tenants/acme"));
    assert_eq!(seen.header("x-replaced-path"), Some("/users/42"));
    let r = send(&gw, "GET", "/tenants/acme/users/42/extra", "example.com").await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(
        seen.path_and_query, "/users/42/extra",
        "replacePathRegex did not match"
    );
    assert_eq!(seen.header("x-replaced-path"), None);

    // replacePath.
    send(&gw, "GET", "/status", "example.com").await;
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/healthz");
    assert_eq!(seen.header("x-replaced-path"), Some("/status"));

    // A redirect first in the chain answers before the later middlewares run.
    let before = up.count();
    let r = send(&gw, "GET", "/blog/a?b=c", "old.example.com").await;
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("https://example.com/blog/a?b=c"));
    let r = send(&gw, "POST", "/blog/a", "secure.example.com").await;
    assert_eq!(r.status, 308);
    assert_eq!(
        r.header("location"),
        Some("https://secure.example.com/blog/a")
    );
    assert_eq!(
        up.count(),
        before,
        "redirected requests never reach the upstream"
    );
}

#[test]
fn mistyped_rewrite_options_are_rejected_by_check_with_file_line_and_option() {
    let yaml = r#"entryPoints:
  web:
    address: "127.0.0.1:0"
http:
  routers:
    r:
      rule: "PathPrefix(`/`)"
      service: app
      middlewares: [strip, to-https, rewrite]
  services:
    app:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:1"
  middlewares:
    strip:
      stripPrefix:
        prefix: "/api"
    to-https:
      redirectScheme:
        scheme: https
        permanent: "yes"
    rewrite:
      replacePathRegex:
        regex: "^/api/("
        replacement: "/v2/$1"
"#;
    let (ok, stdout, stderr) = check_config(yaml, &[]);
    assert!(!ok, "config must be rejected; stdout: {stdout}");
    for needle in [
        "gateway.yml:18: http.middlewares.strip.stripPrefix.prefix:",
        r#"unknown option "prefix" (known: "prefixes", "forceSlash")"#,
        "gateway.yml:22: http.middlewares.to-https.redirectScheme.permanent:",
        r#"permanent: expected true or false, got "yes""#,
        "gateway.yml:25: http.middlewares.rewrite.replacePathRegex.regex:",
        r#"regex: invalid regular expression "^/api/(""#,
    ] {
        assert!(
            stderr.contains(needle),
            "stderr should contain {needle:?}; got:\n{stderr}"
        );
    }
}

/// A `check` config with the three regex middlewares, each given `pattern`.
fn regex_middlewares_config(pattern: &str) -> String {
    format!(
        r#"entryPoints:
  web:
    address: "127.0.0.1:0"
http:
  routers:
    r:
      rule: "PathPrefix(`/`)"
      service: app
      middlewares: [strip, rewrite, redirect]
  services:
    app:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:1"
  middlewares:
    strip:
      stripPrefixRegex:
        regex: ["{pattern}"]
    rewrite:
      replacePathRegex:
        regex: "{pattern}"
        replacement: "/x"
    redirect:
      redirectRegex:
        regex: "{pattern}"
        replacement: "https://example.com/"
"#
    )
}

#[test]
fn a_regex_nested_too_deep_is_a_config_error_at_its_key_not_a_plugin_trap() {
    let nested = |depth: usize| format!("{}a{}", "(".repeat(depth), ")".repeat(depth));
    // Nested as deep as real patterns never are, yet within the limit: compiled in the plugins.
    let (ok, stdout, stderr) = check_config(&regex_middlewares_config(&nested(60)), &[]);
    assert!(ok, "stdout: {stdout}\nstderr: {stderr}");
    // 200 levels exhausted the plugins' stack while compiling: now each is refused by name.
    let (ok, stdout, stderr) = check_config(&regex_middlewares_config(&nested(200)), &[]);
    assert!(!ok, "config must be rejected; stdout: {stdout}");
    for needle in [
        "gateway.yml:18: http.middlewares.strip.stripPrefixRegex.regex[0]:",
        "gateway.yml:21: http.middlewares.rewrite.replacePathRegex.regex:",
        "gateway.yml:25: http.middlewares.redirect.redirectRegex.regex:",
        "maximum number of nested parentheses/brackets (64)",
    ] {
        assert!(
            stderr.contains(needle),
            "stderr should contain {needle:?}; got:\n{stderr}"
        );
    }
    assert!(!stderr.contains("trap"), "{stderr}");
}
