//! Fixed edits (`fixed-edits` in the contract): a middleware whose hooks always make the same
//! header edits declares them once, and the gateway applies them itself where the hooks would
//! run — the responses and upstream requests exactly as with the hooks, in chain order with
//! hook-called middlewares, on replies of later middlewares too — with no hook call.

use serde_json::Value;

use crate::observability::{parse_exposition, read_lines, scrape, sum_matching, with_statics};
use crate::support::{
    Client, Config, Gateway, Upstream, check_config, fixture_wasm, free_port, listed_plugin,
};

const BOB_HASH: &str = "bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1";
/// `bob:s3cret-m`, the password of [`BOB_HASH`].
const BOB: &str = "Basic Ym9iOnMzY3JldC1t";

fn hooks_declared() -> Vec<(&'static str, std::path::PathBuf)> {
    vec![("hooks-declared", fixture_wasm("fixture_hooks_declared"))]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_fixed_headers_are_applied_natively_in_chain_order_without_a_hook_call() {
    let up = Upstream::start("app").await;
    let api_port = free_port();
    let config = Config::new()
        .plugin_dir()
        .route_through("open", "PathPrefix(`/open`)", "app", "first, second")
        .route_through("locked", "PathPrefix(`/locked`)", "app", "first, auth")
        .service("app", &up.url())
        .middlewares(&format!(
            r#"
    first:
      headers:
        customRequestHeaders: {{ X-Order: "first", X-Drop: "" }}
        customResponseHeaders: {{ X-Order: "first", X-Upstream: "", X-Only-First: "1" }}
    second:
      headers:
        customRequestHeaders: {{ X-Order: "second" }}
        customResponseHeaders: {{ X-Order: "second" }}
        accessControlAllowMethods: [GET]
    auth:
      basicAuth:
        users: ["{BOB_HASH}"]
"#
        ));
    let yaml = with_statics(
        &config,
        &format!("  traefik:\n    address: \"127.0.0.1:{api_port}\"\n"),
        "api:\n  insecure: true\nmetrics:\n  prometheus:\n    entryPoint: web\n",
    );
    let gw = Gateway::start(&yaml, &[]);
    let c = Client::http1();

    for _ in 0..3 {
        let r = c
            .get(
                &gw.url("/open"),
                "h.test",
                &[("x-drop", "gone"), ("x-kept", "1")],
            )
            .await;
        assert_eq!(r.status, 200);
        let seen = up.last();
        assert_eq!(
            seen.header("x-order"),
            Some("second"),
            "the later middleware's hook sees (and overrides) the fixed request edit"
        );
        assert_eq!(
            seen.header("x-drop"),
            None,
            "an empty value removes the header"
        );
        assert_eq!(seen.header("x-kept"), Some("1"));
        assert_eq!(
            r.header("x-order"),
            Some("first"),
            "the fixed response edit runs after the later middleware's hook (reverse order)"
        );
        assert_eq!(r.header("x-upstream"), None, "an upstream header removed");
        assert_eq!(r.header("x-only-first"), Some("1"));
    }
    let served = up.count();

    // A later middleware's reply (basicAuth's 401) still gets the fixed response edits, as
    // Traefik's headers middleware wraps it.
    let r = c.get(&gw.url("/locked"), "h.test", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("x-only-first"), Some("1"));
    assert_eq!(r.header("x-order"), Some("first"));
    assert_eq!(
        up.count(),
        served,
        "the upstream never saw the refused request"
    );

    let headers = listed_plugin(&c, api_port, "headers").await;
    assert_eq!(
        headers["fixedEdits"],
        serde_json::json!(["first@file"]),
        "{headers}"
    );

    let text = scrape(&c, &gw.url("/metrics")).await;
    let s = parse_exposition(&text);
    let calls = |middleware| {
        sum_matching(
            &s,
            "wasmgate_plugin_calls_total",
            &[("middleware", middleware)],
        )
    };
    assert_eq!(calls("first"), 0.0, "no hook call for fixed edits: {text}");
    assert!(calls("second") >= 6.0, "CORS keeps its hooks: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_edits_replace_the_hooks_beside_an_old_world_component() {
    let up = Upstream::start("app").await;
    let yaml = Config::new()
        .plugin_dir()
        .route_through("app", "PathPrefix(`/`)", "app", "fixed, plain")
        .service("app", &up.url())
        .middlewares(
            r#"
    fixed:
      plugin: { name: hooks-declared, config: { fixedHeader: "x-fixed" } }
    plain:
      plugin: { name: plain-world }
"#,
        )
        .yaml();
    let mut plugins = hooks_declared();
    plugins.push(("plain-world", fixture_wasm("fixture_plain_world")));
    let gw = Gateway::start(&yaml, &plugins);
    let r = Client::http1().get(&gw.url("/"), "h.test", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-fixed"), Some("fixed"));
    assert_eq!(
        r.header("x-on-response"),
        None,
        "the hook of a middleware with fixed edits is not called"
    );
    assert_eq!(
        r.header("x-plain-world"),
        Some("on-request ran|on-response"),
        "a `middleware`-world component still runs both hooks"
    );
    assert_eq!(up.last().header("x-plain-world"), Some("request"));
}

#[test]
fn an_invalid_fixed_edit_fails_the_load_naming_the_middleware() {
    let yaml = Config::new()
        .plugin_dir()
        .route_through("app", "PathPrefix(`/`)", "app", "bad")
        .service("app", "http://127.0.0.1:9")
        .middlewares("    bad:\n      plugin: { name: hooks-declared, config: { fixedHeader: \"bad name\" } }\n")
        .yaml();
    let (ok, stdout, stderr) = check_config(&yaml, &hooks_declared());
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains(
            "middleware \"bad\" (plugin \"hooks-declared\") declared invalid fixed edits: \
             response edit set \"bad name\": not a valid header name"
        ),
        "{stderr}"
    );
}

#[test]
fn fixed_edits_with_a_body_peek_are_refused_at_load() {
    let yaml = Config::new()
        .plugin_dir()
        .route_through("app", "PathPrefix(`/`)", "app", "peeks")
        .service("app", "http://127.0.0.1:9")
        .middlewares(
            "    peeks:\n      plugin: { name: hooks-declared, config: { fixedHeader: x-f, peek: 16 } }\n",
        )
        .yaml();
    let (ok, stdout, stderr) = check_config(&yaml, &hooks_declared());
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains(
            "middleware \"peeks\" (plugin \"hooks-declared\") declared invalid fixed edits: fixed \
             edits replace the hooks, but the plugin also declared a response body peek"
        ),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_of_fixed_edits_only_keeps_the_hooks_order_on_the_plain_path() {
    let up = Upstream::start("app").await;
    let yaml = Config::new()
        .plugin_dir()
        .route_through("app", "PathPrefix(`/`)", "app", "outer, inner")
        .service("app", &up.url())
        .middlewares(
            r#"
    outer:
      headers:
        customRequestHeaders: { X-Order: "outer", X-Outer: "1" }
        customResponseHeaders: { X-Order: "outer", X-Upstream: "" }
        frameDeny: true
    inner:
      headers:
        customRequestHeaders: { X-Order: "inner", X-Outer: "" }
        customResponseHeaders: { X-Order: "inner", X-Frame-Options: "SAMEORIGIN" }
"#,
        )
        .yaml();
    let gw = Gateway::start(&yaml, &[]);
    let c = Client::http1();
    for _ in 0..3 {
        let r = c
            .get(&gw.url("/"), "h.test", &[("x-outer", "client")])
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "app");
        let seen = up.last();
        assert_eq!(
            seen.header("x-order"),
            Some("inner"),
            "request edits in chain order"
        );
        assert_eq!(
            seen.header("x-outer"),
            None,
            "the inner middleware removed it"
        );
        assert_eq!(
            r.header("x-order"),
            Some("outer"),
            "response edits in reverse order"
        );
        assert_eq!(r.header("x-upstream"), None);
        assert_eq!(
            r.header("x-frame-options"),
            Some("DENY"),
            "the outer middleware's security header is set after the inner one's custom header"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_with_an_invalid_fixed_edit_keeps_the_running_config() {
    let up = Upstream::start("app").await;
    let config = |header: &str| {
        Config::new()
            .plugin_dir()
            .route_through("app", "PathPrefix(`/`)", "app", "fixed")
            .service("app", &up.url())
            .middlewares(&format!(
                "    fixed:\n      plugin: {{ name: hooks-declared, config: {{ fixedHeader: \"{header}\" }} }}\n"
            ))
            .yaml()
    };
    let gw = Gateway::start(&config("x-fixed"), &hooks_declared());
    let c = Client::http1();
    let r = c.get(&gw.url("/"), "h.test", &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.header("x-fixed")),
        (200, Some("fixed"))
    );
    std::fs::write(gw.config_path(), config("bad name")).expect("write config");
    assert!(gw.wait_for_log("reload rejected"), "{}", gw.log());
    assert!(
        gw.log().contains("declared invalid fixed edits"),
        "{}",
        gw.log()
    );
    let r = c.get(&gw.url("/"), "h.test", &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.header("x-fixed")),
        (200, Some("fixed"))
    );
}

/// A chain whose response side calls no guest (request hooks and fixed edits: the bench's
/// scenario b, `rateLimit` + `basicAuth` + config-fixed `headers`) settles inline
/// (`Chain::settles_inline`: its request hooks run when the request arrives, its response side
/// in the forward's continuation). Everything the general chain path gives still holds: the
/// request hooks' edits go upstream with the path as sent, the fixed response edits land on the
/// upstream's answer (not on the reply of a hook before them), and the access log names the
/// user a hook set and the upstream's status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_settling_inline_forwards_logs_its_user_and_edits_the_response() {
    let up = Upstream::start("app").await;
    let config = Config::new()
        .plugin_dir()
        .route_through("b", "PathPrefix(`/`)", "app", "limit, auth, hdr")
        .service("app", &up.url())
        .middlewares(&format!(
            r#"
    limit:
      rateLimit: {{ average: 1000000, burst: 1000000, period: 1s }}
    auth:
      basicAuth:
        users: ["{BOB_HASH}"]
        headerField: X-Auth-User
    hdr:
      headers:
        customResponseHeaders: {{ X-Bench-Proxy: "wasmgate" }}
"#
        ));
    let statics = "accessLog:\n  filePath: access.json\n  format: json\n";
    let gw = Gateway::start(&with_statics(&config, "", statics), &[]);
    let c = Client::http1();

    let r = c
        .get(&gw.url("/in/line?q=1"), "h.test", &[("authorization", BOB)])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-bench-proxy"), Some("wasmgate"));
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/in/line?q=1");
    assert_eq!(seen.header("x-auth-user"), Some("bob"));
    let served = up.count();

    let refused = c.get(&gw.url("/in/line"), "h.test", &[]).await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("x-bench-proxy"),
        None,
        "`hdr` comes after `auth` in the chain: no response edit on basicAuth's reply"
    );
    assert_eq!(
        up.count(),
        served,
        "the refused request never went upstream"
    );

    let log = gw.config_path().with_file_name("access.json");
    let lines = read_lines(&log, 2);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let line = |i: usize| -> Value {
        serde_json::from_str(&lines[i]).unwrap_or_else(|e| panic!("{e}: {}", lines[i]))
    };
    let (forwarded, refused) = (line(0), line(1));
    assert_eq!(forwarded["ClientUsername"], "bob", "{forwarded}");
    assert_eq!(forwarded["OriginStatus"], 200, "{forwarded}");
    assert_eq!(forwarded["DownstreamStatus"], 200, "{forwarded}");
    assert_eq!(refused["DownstreamStatus"], 401, "{refused}");
    assert!(refused.get("OriginStatus").is_none(), "{refused}");
}
