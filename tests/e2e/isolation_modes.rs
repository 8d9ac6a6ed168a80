//! Pooled instances are reused and recycled; per-request instances are never shared; the
//! per-request scratch state survives from on-request to on-response.

use crate::observability::middleware_metric;
use crate::support::client::Reply;
use crate::support::{Client, Config, Gateway, Upstream, fixture_wasm};

/// `config` with Prometheus metrics served on the `web` entry point.
fn with_metrics(config: &Config) -> String {
    format!(
        "{}metrics:\n  prometheus:\n    entryPoint: web\n",
        config.yaml()
    )
}

/// Instances made so far for `middleware` (`wasmgate_plugin_instantiations_total`).
async fn instances_made(gw: &Gateway, middleware: &str) -> f64 {
    middleware_metric(gw, "wasmgate_plugin_instantiations_total", middleware).await
}

/// One route through the `counter` fixture as middleware `count`, with `runtime`'s settings.
fn counter_config(up: &Upstream, runtime: &str) -> Config {
    Config::new()
        .plugin_dir()
        .route_through("r", "PathPrefix(`/`)", "app", "count")
        .service("app", &up.url())
        .middlewares(&format!(
            "    count:\n      plugin:\n        name: counter\n{runtime}\n"
        ))
}

fn counter_gateway(up: &Upstream, runtime: &str) -> Gateway {
    Gateway::start(
        &counter_config(up, runtime).yaml(),
        &[("counter", fixture_wasm("fixture_counter"))],
    )
}

/// [`counter_gateway`] with Prometheus metrics, to count the instances made.
fn counter_gateway_with_metrics(up: &Upstream, runtime: &str) -> Gateway {
    Gateway::start(
        &with_metrics(&counter_config(up, runtime)),
        &[("counter", fixture_wasm("fixture_counter"))],
    )
}

/// `n` GETs sent at once to `path(i)`, their replies in order, each checked for a 200.
async fn at_once(
    gw: &Gateway,
    n: usize,
    path: impl Fn(usize) -> String,
    host: &'static str,
) -> Vec<Reply> {
    let c = Client::http1();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (c, url) = (c.clone(), gw.url(&path(i)));
            tokio::spawn(async move { c.get(&url, host, &[]).await })
        })
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        let r = t.await.expect("request task");
        assert_eq!(r.status, 200, "{}", gw.log());
        replies.push(r);
    }
    replies
}

/// An upstream that answers after 400 ms: requests wait on it long enough to overlap.
async fn slow_upstream() -> Upstream {
    Upstream::start_with(
        "app",
        crate::support::UpstreamBehavior::Slow(std::time::Duration::from_millis(400)),
    )
    .await
}

async fn sequential_counts(gw: &Gateway, up: &Upstream, n: usize) -> Vec<(String, String)> {
    let c = Client::http1();
    let mut out = Vec::new();
    for _ in 0..n {
        let r = c.get(&gw.url("/"), "i.test", &[]).await;
        assert_eq!(r.status, 200);
        let upstream_saw = up
            .last()
            .header("x-instance-calls")
            .unwrap_or("")
            .to_owned();
        out.push((
            upstream_saw,
            r.header("x-instance-calls").unwrap_or("").to_owned(),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_instances_are_reused_and_recycled_after_their_quota() {
    let up = Upstream::start("app").await;
    let gw = counter_gateway(
        &up,
        "        isolation: pooled\n        maxRequestsPerInstance: 3\n        poolSize: 1",
    );
    let seen = sequential_counts(&gw, &up, 7).await;
    let requests: Vec<&str> = seen.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        requests,
        ["1", "2", "3", "1", "2", "3", "1"],
        "one warm instance, recycled every 3 requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_request_instances_never_see_another_request() {
    let up = Upstream::start("app").await;
    let gw = counter_gateway(&up, "        isolation: per-request");
    for (req, resp) in sequential_counts(&gw, &up, 6).await {
        assert_eq!(
            (req.as_str(), resp.as_str()),
            ("1", "1"),
            "a fresh instance for every request"
        );
    }
}

/// Per-request isolation reuses an instance whose state it can put back: each request still
/// sees the instance as `init` left it (the counter at 1), and the plugin is instantiated once,
/// not once per request (`plugins::snapshot`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_request_instances_are_put_back_as_init_left_them_and_reused() {
    let up = Upstream::start("app").await;
    let gw = counter_gateway_with_metrics(&up, "        isolation: per-request");
    let requests = 20;
    for (req, resp) in sequential_counts(&gw, &up, requests).await {
        assert_eq!(
            (req.as_str(), resp.as_str()),
            ("1", "1"),
            "state as init left it"
        );
    }
    let made = instances_made(&gw, "count").await;
    assert!(
        (1.0..=2.0).contains(&made),
        "{requests} sequential requests, {made} instances made\n{}",
        gw.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_request_state_survives_between_hooks_and_stays_private_to_the_request() {
    let up = Upstream::start("app").await;
    for mode in ["pooled", "per-request"] {
        let gw = Gateway::start(
            &Config::new()
                .plugin_dir()
                .route_through("r", "PathPrefix(`/`)", "app", "state")
                .service("app", &up.url())
                .middlewares(&format!(
                    "    state:\n      plugin: {{ name: echo-state, isolation: {mode} }}\n"
                ))
                .yaml(),
            &[("echo-state", fixture_wasm("fixture_echo_state"))],
        );
        let replies = at_once(&gw, 16, |i| format!("/req-{i}"), "s.test").await;
        for (i, r) in replies.iter().enumerate() {
            assert_eq!(
                r.header("x-state"),
                Some(format!("/req-{i}").as_str()),
                "{mode}"
            );
        }
    }
}

/// Regression: std's `HashMap` imports `wasi:random/insecure-seed` at an older 0.2.x version
/// than the host's; the import used to be stubbed as a trap under its exact name, so every
/// plugin using a `HashMap` (and every regex plugin) failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_using_std_hashmap_gets_random_seeds_at_its_wasi_version() {
    let up = Upstream::start("app").await;
    for mode in ["pooled", "per-request"] {
        let gw = Gateway::start(
            &Config::new()
                .plugin_dir()
                .route_through("r", "PathPrefix(`/`)", "app", "maps")
                .service("app", &up.url())
                .middlewares(&format!(
                    "    maps:\n      plugin: {{ name: std-hashmap, isolation: {mode} }}\n"
                ))
                .yaml(),
            &[("std-hashmap", fixture_wasm("fixture_std_hashmap"))],
        );
        let r = Client::http1().get(&gw.url("/"), "h.test", &[]).await;
        assert_eq!(r.status, 200, "{mode}: {}", gw.log());
        assert_eq!(up.last().header("x-hashmap-entries"), Some("2"), "{mode}");
    }
}

/// Per-request snapshots never replay randomness: an instance whose `init` drew random numbers
/// (basicAuth's cache key) is not snapshotted, so every request gets a new one; randomness a
/// hook draws (headers' CSP nonce) is drawn anew on every request by the reused instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_request_snapshots_never_replay_randomness() {
    let up = Upstream::start("app").await;
    let config = Config::new()
        .route_through("auth", "PathPrefix(`/auth`)", "app", "auth")
        .route_through("csp", "PathPrefix(`/csp`)", "app", "csp")
        .service("app", &up.url())
        .middlewares(concat!(
            "    auth:\n      plugin:\n        name: basic-auth\n        isolation: per-request\n",
            "        config: { users: [\"bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1\"] }\n",
            "    csp:\n      plugin:\n        name: headers\n        isolation: per-request\n",
            "        config: { contentSecurityPolicy: \"script-src $NONCE\" }\n",
        ));
    let yaml = with_metrics(&config);
    let gw = Gateway::start(&yaml, &[]);
    let c = Client::http1();
    let requests = 6;
    let mut nonces = std::collections::BTreeSet::new();
    let r = c
        .get(
            &gw.url("/auth"),
            "r.test",
            &[("authorization", "Basic Ym9iOnMzY3JldC1t")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", gw.log());
    for _ in 0..requests {
        // A refusal is never remembered by basicAuth's verdict memo: each one calls the hook.
        let r = c
            .get(
                &gw.url("/auth"),
                "r.test",
                &[("authorization", "Basic Ym9iOndyb25n")],
            )
            .await;
        assert_eq!(r.status, 401, "{}", gw.log());
        let r = c.get(&gw.url("/csp"), "r.test", &[]).await;
        assert_eq!(r.status, 200, "{}", gw.log());
        let csp = r.header("content-security-policy").unwrap_or("").to_owned();
        assert!(csp.starts_with("script-src 'nonce-"), "{csp}");
        nonces.insert(csp);
    }
    assert_eq!(
        nonces.len(),
        requests,
        "a new nonce per request: {nonces:?}"
    );
    let (auth, csp) = (
        instances_made(&gw, "auth").await,
        instances_made(&gw, "csp").await,
    );
    assert!(
        auth >= requests as f64,
        "basicAuth: a new instance per request, {auth} made"
    );
    assert!(csp <= 2.0, "headers: reused, {csp} made");
    assert!(
        gw.log().contains("its init drew randomness"),
        "the gateway says why: {}",
        gw.log()
    );
}

/// A request that grew a reused per-request instance's memory (which cannot shrink back to its
/// snapshot) leaves that instance dropped: the next request gets a new one, as `init` left it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_request_instance_whose_memory_grew_is_replaced() {
    let up = Upstream::start("app").await;
    let config = Config::new()
        .plugin_dir()
        .route_through("r", "PathPrefix(`/`)", "app", "hog")
        .service("app", &up.url())
        .middlewares("    hog:\n      plugin: { name: memory-hog, isolation: per-request }\n");
    let yaml = with_metrics(&config);
    let gw = Gateway::start(&yaml, &[("memory-hog", fixture_wasm("fixture_memory_hog"))]);
    let c = Client::http1();
    for _ in 0..3 {
        assert_eq!(c.get(&gw.url("/"), "h.test", &[]).await.status, 200);
    }
    let before = instances_made(&gw, "hog").await;
    assert!(
        before <= 2.0,
        "plain requests reuse the instance: {before} made"
    );
    let r = c.get(&gw.url("/"), "h.test", &[("x-leak", "2048")]).await;
    assert_eq!(r.status, 200, "{}", gw.log());
    for _ in 0..3 {
        assert_eq!(c.get(&gw.url("/"), "h.test", &[]).await.status, 200);
    }
    assert_eq!(
        instances_made(&gw, "hog").await,
        before + 1.0,
        "one new instance after the growth"
    );
}

/// More requests at once than a per-request middleware's pool holds: the pool's worth are
/// served by reused instances, the rest by fresh ones, and every request sees an instance as
/// `init` left it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_request_isolation_holds_with_more_requests_at_once_than_the_pool_holds() {
    let up = Upstream::start("app").await;
    let gw = counter_gateway(&up, "        isolation: per-request\n        poolSize: 2");
    for round in 0..3 {
        for r in at_once(&gw, 16, |_| "/".to_string(), "i.test").await {
            assert_eq!(r.header("x-instance-calls"), Some("1"), "round {round}");
        }
    }
}

/// A per-request middleware with no response hook hands its instance back as soon as
/// `on-request` returns: requests waiting on a slow upstream hold none, so they share the one
/// instance rather than each keeping its own across the round trip (the counter would show
/// `1` either way: the instance is put back as `init` left it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_request_instance_with_no_response_hook_is_not_held_across_the_upstream_wait() {
    let up = slow_upstream().await;
    let config = Config::new()
        .route_through("r", "PathPrefix(`/`)", "app", "strip")
        .service("app", &up.url())
        .middlewares(
            "    strip:\n      plugin: { name: strip-prefix, isolation: per-request, config: { prefixes: [/api] } }\n",
        );
    let gw = Gateway::start(&with_metrics(&config), &[]);
    at_once(&gw, 8, |i| format!("/api/{i}"), "s.test").await;
    let made = instances_made(&gw, "strip").await;
    assert!(
        made <= 3.0,
        "8 requests at once, each waiting 400 ms upstream: {made} instances made"
    );
}

/// A per-request middleware with a response hook, with requests overlapping: once the pool has
/// no spare, an instance goes back after each hook (put back as `init` left it: the counter
/// fixture's two counters show `1` in both hooks), so requests waiting on a slow upstream do
/// not each hold one; what a guest carries between its hooks goes through the host-kept
/// scratch state (`per_request_state_survives_between_hooks…`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_request_instance_with_a_response_hook_is_not_held_across_the_upstream_wait() {
    let up = slow_upstream().await;
    let gw = counter_gateway_with_metrics(&up, "        isolation: per-request");
    for r in at_once(&gw, 8, |i| format!("/{i}"), "c.test").await {
        assert_eq!(r.header("x-instance-calls"), Some("1"), "response hook");
    }
    for req in up.requests() {
        assert_eq!(req.header("x-instance-calls"), Some("1"), "request hook");
    }
    let made = instances_made(&gw, "count").await;
    assert!(
        made <= 3.0,
        "8 requests at once, each waiting 400 ms upstream: {made} instances made\n{}",
        gw.log()
    );
}
