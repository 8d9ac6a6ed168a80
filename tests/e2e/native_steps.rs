//! A router whose chain is made only of fixed edits (`headers`), declared takes (`rateLimit`'s
//! pre-take) and verdict memos (`basicAuth`'s) takes the plain path: the gateway runs those
//! steps itself in chain order, and resumes the plugin chain at the middleware that needs its
//! guest (a refused take, a memo miss), with the effects of the middlewares before it kept.
//! What a client, the upstream, the access log and the metrics see is the chain path's.

use crate::observability::{parse_exposition, read_lines, scrape, sum_matching, with_statics};
use crate::support::client::Reply;
use crate::support::{Client, Config, Gateway, Upstream, free_port};

/// `alice:s3cret-b` (bcrypt), `bob:wrong`.
const ALICE: &str = "Basic YWxpY2U6czNjcmV0LWI=";
const BOB_WRONG: &str = "Basic Ym9iOndyb25n";
const ALICE_LINE: &str = "\"alice:$2y$05$ZzeWa.HILIuIrOcdETjZDeZVplQrJ.Edims7tOZWEAd4k577gXn7e\"";
const BOB_LINE: &str = "\"bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1\"";

/// Router `r`: `hdr` (fixed request and response headers), `auth` (basicAuth, its memo),
/// `limit` (rateLimit by `X-Api-Key`, burst 3, its pre-take), with metrics, the API and a
/// Common Log Format access log.
fn start(up: &Upstream) -> Gateway {
    let middlewares = format!(
        r#"
    hdr:
      headers:
        customRequestHeaders: {{ X-From-Gateway: "1" }}
        customResponseHeaders: {{ X-Proxy: "wasmgate" }}
    auth:
      basicAuth:
        users: [{ALICE_LINE}, {BOB_LINE}]
        headerField: X-WebAuth-User
        removeHeader: true
    limit:
      rateLimit:
        average: 6
        period: 1m
        burst: 3
        sourceCriterion:
          requestHeaderName: X-Api-Key
"#
    );
    let config = Config::new()
        .route_through("r", "PathPrefix(`/`)", "app", "hdr, auth, limit")
        .service("app", &up.url())
        .middlewares(&middlewares);
    let api_port = free_port();
    let yaml = with_statics(
        &config,
        &format!("  traefik:\n    address: \"127.0.0.1:{api_port}\"\n"),
        "api:\n  insecure: true\nmetrics:\n  prometheus:\n    entryPoint: web\naccessLog:\n  filePath: access.log\n  format: common\nplugins:\n  defaults:\n    deadline: 2s\n",
    );
    Gateway::start(&yaml, &[])
}

async fn get(gw: &Gateway, headers: &[(&str, &str)]) -> Reply {
    Client::http1()
        .get(&gw.url("/app"), "h.test", headers)
        .await
}

/// Hook calls per middleware, as `/metrics` counts them: `[hdr, auth, limit]`.
async fn calls(gw: &Gateway) -> [f64; 3] {
    let text = scrape(&Client::http1(), &gw.url("/metrics")).await;
    let samples = parse_exposition(&text);
    ["hdr", "auth", "limit"].map(|mw| {
        sum_matching(
            &samples,
            "wasmgate_plugin_calls_total",
            &[("middleware", mw)],
        )
    })
}

/// The user field (Common Log Format's third) of the access log's first `n` lines.
fn logged_users(gw: &Gateway, n: usize) -> Vec<String> {
    let lines = read_lines(&gw.config_path().with_file_name("access.log"), n);
    lines
        .iter()
        .filter(|l| l.contains("/app"))
        .map(|l| l.split(' ').nth(2).unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_requests_through_headers_basic_auth_and_rate_limit_get_every_effect_without_a_plugin_call()
 {
    let up = Upstream::start("app").await;
    let gw = start(&up);
    for i in 0..3 {
        let key = format!("k{i}");
        let r = get(&gw, &[("authorization", ALICE), ("x-api-key", &key)]).await;
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(r.header("x-proxy"), Some("wasmgate"), "request {i}");
        let seen = up.last();
        assert_eq!(seen.header("x-from-gateway"), Some("1"), "request {i}");
        assert_eq!(seen.header("x-webauth-user"), Some("alice"), "request {i}");
        assert_eq!(seen.header("authorization"), None, "removeHeader, {i}");
    }
    assert_eq!(
        calls(&gw).await,
        [0.0, 1.0, 0.0],
        "basicAuth called for the first request only; headers fixed, every take admitted"
    );
    assert_eq!(logged_users(&gw, 3), ["alice"; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_take_refused_after_a_memo_hit_answers_429_with_retry_after_and_the_earlier_effects() {
    let up = Upstream::start("app").await;
    let gw = start(&up);
    for i in 0..3 {
        let r = get(&gw, &[("authorization", ALICE), ("x-api-key", "k")]).await;
        assert_eq!(r.status, 200, "the burst, request {i}");
    }
    let refused = get(&gw, &[("authorization", ALICE), ("x-api-key", "k")]).await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").is_some());
    assert_eq!(
        refused.header("x-proxy"),
        Some("wasmgate"),
        "the fixed response edit of the middleware before it"
    );
    assert_eq!(up.count(), 3);
    assert_eq!(
        calls(&gw).await,
        [0.0, 1.0, 1.0],
        "the refused take called rateLimit's hook; the memo hit did not call basicAuth"
    );
    assert_eq!(
        logged_users(&gw, 4),
        ["alice"; 4],
        "the user the memo named is logged on the refused request too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memo_miss_with_wrong_credentials_answers_401_every_time() {
    let up = Upstream::start("app").await;
    let gw = start(&up);
    for i in 0..2 {
        let r = get(&gw, &[("authorization", BOB_WRONG), ("x-api-key", "k")]).await;
        assert_eq!(r.status, 401, "request {i}");
        assert!(r.header("www-authenticate").is_some(), "request {i}");
        assert_eq!(r.header("x-proxy"), Some("wasmgate"), "request {i}");
    }
    let missing = get(&gw, &[("x-api-key", "k")]).await;
    assert_eq!(missing.status, 401, "no Authorization: the hook answers");
    assert_eq!(up.count(), 0);
    assert_eq!(
        calls(&gw).await,
        [0.0, 3.0, 0.0],
        "refusals are never remembered; rateLimit never reached"
    );
    assert_eq!(logged_users(&gw, 3), ["-"; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memo_miss_with_right_credentials_calls_basic_auth_once_then_hits() {
    let up = Upstream::start("app").await;
    let gw = start(&up);
    let r = get(&gw, &[("authorization", ALICE), ("x-api-key", "a")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(up.last().header("x-webauth-user"), Some("alice"));
    assert_eq!(
        calls(&gw).await,
        [0.0, 1.0, 0.0],
        "the miss called the hook"
    );
    for i in 0..2 {
        let r = get(&gw, &[("authorization", ALICE), ("x-api-key", "b")]).await;
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(up.last().header("x-webauth-user"), Some("alice"));
        assert_eq!(up.last().header("x-from-gateway"), Some("1"));
    }
    assert_eq!(calls(&gw).await, [0.0, 1.0, 0.0], "then replayed");
    assert_eq!(up.count(), 3);
}
