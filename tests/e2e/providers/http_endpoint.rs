//! `providers.http`: a change on the endpoint is served after the next poll; a 304 costs no
//! rebuild; an invalid body or an endpoint that is down keeps the last good config.

use std::time::{Duration, Instant};

use crate::support::{Client, ControlPlane, Gateway, Upstream};

/// Hang guard for "the change is visible": not a performance assertion.
const VISIBLE_WITHIN: Duration = Duration::from_secs(20);
const POLL_INTERVAL_MS: u64 = 200;

fn gateway_yaml(endpoint: &str) -> String {
    format!(
        "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n\
         providers:\n  http:\n    endpoint: \"{endpoint}\"\n    pollInterval: {POLL_INTERVAL_MS}ms\n    \
         pollTimeout: 1s\n    headers:\n      X-Fleet: edge\n"
    )
}

/// Traefik's dynamic config routing everything to `url`, as YAML.
fn yaml_to(url: &str) -> String {
    format!(
        "http:\n  routers:\n    all:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n  \
         services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{url}\"\n"
    )
}

/// The same, as JSON (Traefik's HTTP provider is often fed JSON).
fn json_to(url: &str) -> String {
    format!(
        r#"{{"http": {{"routers": {{"all": {{"rule": "PathPrefix(`/`)", "service": "app"}}}},
           "services": {{"app": {{"loadBalancer": {{"servers": [{{"url": "{url}"}}]}}}}}}}}}}"#
    )
}

/// Polls the gateway until `upstream` answers; returns how long that took.
async fn until_served_by(c: &Client, gw: &Gateway, upstream: &str) -> Duration {
    let started = Instant::now();
    loop {
        let r = c.get(&gw.url("/probe"), "cp.test", &[]).await;
        if r.status == 200 && r.header("x-upstream") == Some(upstream) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < VISIBLE_WITHIN,
            "{upstream} not served within {VISIBLE_WITHIN:?}; log:\n{}",
            gw.log()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until the endpoint has answered `more` further polls with 304.
async fn until_more_304s(cp: &ControlPlane, more: usize) {
    let (_, start) = cp.answers();
    let started = Instant::now();
    while cp.answers().1 < start + more {
        assert!(started.elapsed() < VISIBLE_WITHIN, "no 304 polls");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_provider_changes_go_live_after_a_poll_and_304s_cost_no_rebuild() {
    let (a, b) = (Upstream::start("a").await, Upstream::start("b").await);
    let cp = ControlPlane::start(&yaml_to(&a.url())).await;
    let gw = Gateway::start(&gateway_yaml(&cp.url()), &[]);
    let c = Client::http1();
    until_served_by(&c, &gw, "a").await;

    // Polls of an unchanged endpoint are answered 304 and rebuild nothing.
    until_more_304s(&cp, 1).await;
    let reloads = gw.log_count("configuration reloaded");
    until_more_304s(&cp, 5).await;
    assert_eq!(
        gw.log_count("configuration reloaded"),
        reloads,
        "a 304 rebuilt the config"
    );

    // A change (JSON this time) is served after the next poll; measured, printed.
    let mut seen = Vec::new();
    for round in 0..5 {
        let (to, name) = if round % 2 == 0 { (&b, "b") } else { (&a, "a") };
        cp.set(&json_to(&to.url()));
        seen.push(until_served_by(&c, &gw, name).await);
    }
    seen.sort();
    println!(
        "http provider: change visible after median {:?}, max {:?} (pollInterval {POLL_INTERVAL_MS} ms)",
        seen[seen.len() / 2],
        seen[seen.len() - 1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_provider_keeps_the_last_good_config_when_the_endpoint_fails() {
    let (a, b) = (Upstream::start("a").await, Upstream::start("b").await);
    let mut cp = ControlPlane::start(&yaml_to(&a.url())).await;
    let gw = Gateway::start(&gateway_yaml(&cp.url()), &[]);
    let c = Client::http1();
    until_served_by(&c, &gw, "a").await;

    // An invalid config (a router naming a service nobody defines) is refused, naming the
    // provider's endpoint and the key; the old config keeps serving.
    cp.set(
        "http:\n  routers:\n    all:\n      rule: \"PathPrefix(`/`)\"\n      service: nowhere\n",
    );
    assert!(
        gw.wait_for_log("service \"nowhere@http\" is not defined"),
        "log:\n{}",
        gw.log()
    );
    assert!(
        gw.log().contains(&format!("http provider {}", cp.url())),
        "log:\n{}",
        gw.log()
    );
    assert!(
        gw.log().contains("http.routers.all@http.service"),
        "log:\n{}",
        gw.log()
    );
    for _ in 0..20 {
        let r = c.get(&gw.url("/probe"), "cp.test", &[]).await;
        assert_eq!(r.header("x-upstream"), Some("a"));
    }
    // Not YAML at all: refused too.
    cp.set("http: [unclosed");
    assert!(gw.wait_for_log("invalid YAML"), "log:\n{}", gw.log());
    assert_eq!(
        c.get(&gw.url("/probe"), "cp.test", &[])
            .await
            .header("x-upstream"),
        Some("a")
    );

    // The endpoint down: logged with the endpoint, the last good config keeps serving.
    cp.stop();
    assert!(gw.wait_for_log("poll failed"), "log:\n{}", gw.log());
    for _ in 0..20 {
        let r = c.get(&gw.url("/probe"), "cp.test", &[]).await;
        assert_eq!(r.header("x-upstream"), Some("a"));
    }
    // Back, with a change: picked up (after the back-off).
    cp.set(&yaml_to(&b.url()));
    cp.restart().await;
    until_served_by(&c, &gw, "b").await;
    assert!(
        gw.log().contains("endpoint answers again"),
        "log:\n{}",
        gw.log()
    );
}
