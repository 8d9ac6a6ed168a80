//! The verdict memo (`verdict-memo` in the contract) for any plugin, driven by a real guest
//! (fixture `memo-probe`): the gateway remembers a `continue` and the header edits made with it
//! per value of the declared header, and replays them without a hook call; a call that did
//! anything a replay would not do (a log line, the request's state, a path rewrite) and every
//! refusal reach the plugin every time.

use crate::observability::{hook_calls, with_statics};
use crate::support::{Client, Config, Gateway, Upstream, fixture_wasm, free_port};

/// `probe` (the fixture) on every path, with metrics and the API.
fn start(upstream_url: &str) -> Gateway {
    let api_port = free_port();
    let config = Config::new()
        .plugin_dir()
        .route_through("r", "PathPrefix(`/`)", "app", "probe")
        .service("app", upstream_url)
        .middlewares("    probe:\n      plugin: { name: memo-probe }\n");
    let yaml = with_statics(
        &config,
        &format!("  traefik:\n    address: \"127.0.0.1:{api_port}\"\n"),
        "api:\n  insecure: true\nmetrics:\n  prometheus:\n    entryPoint: web\n",
    );
    Gateway::start(&yaml, &[("memo-probe", fixture_wasm("fixture_memo_probe"))])
}

/// The fixture's hook calls, as `/metrics` counts them.
async fn calls(gw: &Gateway) -> f64 {
    hook_calls(gw, "probe").await
}

/// Sends `x-key: key` `times` times; each answer is the upstream's 200 and the upstream saw
/// the edit the plugin makes for `key`, replayed or not.
async fn send_key(gw: &Gateway, up: &Upstream, key: &str, times: usize) {
    let c = Client::http1();
    for i in 0..times {
        let r = c.get(&gw.url("/item"), "h.test", &[("x-key", key)]).await;
        assert_eq!(r.status.as_u16(), 200, "{key}, request {i}");
        assert_eq!(
            up.last().header("x-memo-probe"),
            Some(key),
            "{key}, request {i}: the edit reaches the upstream"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugins_declared_memo_replays_its_edits_once_per_value() {
    let up = Upstream::start("app").await;
    let gw = start(&up.url());
    send_key(&gw, &up, "plain-1", 4).await;
    assert_eq!(calls(&gw).await, 1.0, "one call for four requests");
    send_key(&gw, &up, "plain-2", 2).await;
    assert_eq!(calls(&gw).await, 2.0, "another value, another call");
    send_key(&gw, &up, "plain-1", 1).await;
    assert_eq!(calls(&gw).await, 2.0, "the first value is still remembered");
    // No `x-key`: nothing to key a memo by, so the hook runs every time.
    let c = Client::http1();
    for _ in 0..2 {
        let r = c.get(&gw.url("/item"), "h.test", &[]).await;
        assert_eq!(r.status.as_u16(), 200);
        assert_eq!(up.last().header("x-memo-probe"), None);
    }
    assert_eq!(
        calls(&gw).await,
        4.0,
        "requests without the header are never replayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_logs_keeps_state_or_rewrites_the_path_is_never_remembered() {
    let up = Upstream::start("app").await;
    let gw = start(&up.url());
    send_key(&gw, &up, "log-1", 3).await;
    assert_eq!(
        calls(&gw).await,
        3.0,
        "a call that wrote a log line is not replayed"
    );
    assert!(
        gw.wait_for_log("memo-probe saw log-1"),
        "the log line is written on every call: {}",
        gw.log()
    );
    send_key(&gw, &up, "state-1", 2).await;
    assert_eq!(
        calls(&gw).await,
        5.0,
        "a call that set the request's state is not replayed"
    );
    let c = Client::http1();
    for i in 0..2 {
        let r = c
            .get(&gw.url("/item"), "h.test", &[("x-key", "path-1")])
            .await;
        assert_eq!(r.status.as_u16(), 200);
        assert_eq!(
            up.last().path_and_query,
            "/rewritten",
            "request {i}: every request is rewritten by the plugin itself"
        );
    }
    assert_eq!(
        calls(&gw).await,
        7.0,
        "a call that rewrote the path is not replayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_never_remembered() {
    let up = Upstream::start("app").await;
    let gw = start(&up.url());
    let c = Client::http1();
    for i in 0..3 {
        let r = c
            .get(&gw.url("/item"), "h.test", &[("x-key", "deny")])
            .await;
        assert_eq!(r.status.as_u16(), 403, "request {i}");
        assert_eq!(r.header("x-denied-by"), Some("memo-probe"), "request {i}");
    }
    assert_eq!(calls(&gw).await, 3.0, "every refusal is the plugin's own");
    assert_eq!(up.count(), 0, "no refused request reached the upstream");
}
