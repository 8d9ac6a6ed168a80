//! `basicAuth` under its declared verdict memo (`verdict-memo`): the gateway remembers, per
//! `Authorization` value, what a successful `on-request` did and replays it without calling the
//! plugin; refusals always reach the plugin, and a config reload drops what was remembered.

use std::time::{Duration, Instant};

use crate::observability::{hook_calls, read_lines, with_statics};
use crate::support::{Client, Config, Gateway, Upstream, listed_plugin};

use super::send;

/// `alice:s3cret-b` (bcrypt), `bob:s3cret-m` (MD5-crypt), `bob:wrong`.
const ALICE: &str = "Basic YWxpY2U6czNjcmV0LWI=";
const BOB: &str = "Basic Ym9iOnMzY3JldC1t";
const BOB_WRONG: &str = "Basic Ym9iOndyb25n";

const ALICE_LINE: &str = "\"alice:$2y$05$ZzeWa.HILIuIrOcdETjZDeZVplQrJ.Edims7tOZWEAd4k577gXn7e\"";
const BOB_LINE: &str = "\"bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1\"";

/// `staff` (these users, `X-WebAuth-User`, `removeHeader`) on every path, with metrics, the
/// API and a Common Log Format access log.
fn yaml(upstream_url: &str, users: &[&str], api_port: u16) -> String {
    let middlewares = format!(
        "    staff:\n      basicAuth:\n        users: [{}]\n        headerField: X-WebAuth-User\n        removeHeader: true\n",
        users.join(", ")
    );
    let config = Config::new()
        .route_through("r", "PathPrefix(`/`)", "app", "staff")
        .service("app", upstream_url)
        .middlewares(&middlewares);
    with_statics(
        &config,
        &format!("  traefik:\n    address: \"127.0.0.1:{api_port}\"\n"),
        "api:\n  insecure: true\nmetrics:\n  prometheus:\n    entryPoint: web\naccessLog:\n  filePath: access.log\n  format: common\nplugins:\n  defaults:\n    deadline: 2s\n",
    )
}

/// The plugin's hook calls for `staff`, as `/metrics` counts them.
async fn calls(gw: &Gateway) -> f64 {
    hook_calls(gw, "staff").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_valid_credentials_call_the_plugin_once_and_every_response_keeps_its_effects() {
    let up = Upstream::start("app").await;
    let api_port = crate::support::free_port();
    let gw = Gateway::start(&yaml(&up.url(), &[ALICE_LINE, BOB_LINE], api_port), &[]);
    for i in 0..6 {
        // A client's own X-WebAuth-User never reaches the upstream: the replayed set replaces it.
        let spoof = [("authorization", ALICE), ("x-webauth-user", "mallory")];
        let headers = if i % 2 == 0 { &spoof[..1] } else { &spoof[..] };
        let r = send(&gw, "GET", "/private", headers).await;
        assert_eq!(r.status, 200, "request {i}");
        let seen = up.last();
        assert_eq!(seen.header("x-webauth-user"), Some("alice"), "request {i}");
        assert_eq!(
            seen.header("authorization"),
            None,
            "removeHeader, request {i}"
        );
    }
    assert_eq!(calls(&gw).await, 1.0, "one call for six requests");

    for i in 0..3 {
        let r = send(&gw, "GET", "/private", &[("authorization", BOB_WRONG)]).await;
        assert_eq!(
            r.status, 401,
            "a wrong password is refused every time ({i})"
        );
    }
    assert_eq!(calls(&gw).await, 4.0, "refusals are never remembered");

    for _ in 0..2 {
        let r = send(&gw, "GET", "/private", &[("authorization", BOB)]).await;
        assert_eq!(r.status, 200);
        assert_eq!(up.last().header("x-webauth-user"), Some("bob"));
    }
    assert_eq!(calls(&gw).await, 5.0, "another user is another entry");
    assert_eq!(up.count(), 8);

    // The user named by the call is named on every replayed request's access-log line.
    let lines = read_lines(&gw.config_path().with_file_name("access.log"), 11);
    let users: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains("/private"))
        .map(|l| l.split(' ').nth(2).unwrap_or_default())
        .collect();
    let mut want = vec!["alice"; 6];
    want.extend(["-"; 3]);
    want.extend(["bob"; 2]);
    assert_eq!(users, want, "{lines:#?}");

    let basic = listed_plugin(&Client::http1(), api_port, "basic-auth").await;
    assert_eq!(
        basic["verdictMemos"],
        serde_json::json!(["staff@file"]),
        "{basic}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_reload_that_removes_a_user_its_remembered_credentials_are_refused() {
    let up = Upstream::start("app").await;
    let api_port = crate::support::free_port();
    let gw = Gateway::start(&yaml(&up.url(), &[ALICE_LINE, BOB_LINE], api_port), &[]);
    for auth in [ALICE, ALICE, BOB] {
        let r = send(&gw, "GET", "/", &[("authorization", auth)]).await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(calls(&gw).await, 2.0, "alice remembered");

    std::fs::write(gw.config_path(), yaml(&up.url(), &[BOB_LINE], api_port)).expect("write");
    // Until the reload lands alice still gets in; after it, never again (the memo of the old
    // middleware held her for another minute).
    let written = Instant::now();
    loop {
        let r = send(&gw, "GET", "/", &[("authorization", ALICE)]).await;
        if r.status == 401 {
            break;
        }
        assert_eq!(r.status, 200);
        assert!(
            written.elapsed() < Duration::from_secs(20),
            "the reload never refused alice; log:\n{}",
            gw.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..3 {
        let r = send(&gw, "GET", "/", &[("authorization", ALICE)]).await;
        assert_eq!(r.status, 401, "alice stays refused");
    }
    let r = send(&gw, "GET", "/", &[("authorization", BOB)]).await;
    assert_eq!(r.status, 200, "bob stays in");
    assert_eq!(up.last().header("x-webauth-user"), Some("bob"));
}
