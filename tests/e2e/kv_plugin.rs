//! The `kv` capability through a user plugin built with the SDK (`tests/plugins/kv-counter`) on
//! a real gateway: a counter and a compare-and-swap shared by every instance of a middleware
//! (per-request isolation: each request a fresh instance), kept apart between middlewares,
//! written from `on-complete` too, with a time to live; and a plugin importing `kv` without the
//! grant refused at load with the middleware's file:line.

use crate::support::{Client, Config, Gateway, check_config, fixture_wasm, located_errors};

fn yaml(middlewares: &str) -> String {
    Config::new()
        .plugin_dir()
        .route_through("a", "PathPrefix(`/a`)", "app", "strip, one")
        .route_through("b", "PathPrefix(`/b`)", "app", "strip, two")
        .service("app", "http://127.0.0.1:9")
        .middlewares(middlewares)
        .yaml()
}

const GRANTED: &str = "    strip:\n      stripPrefixRegex:\n        regex: [\"^/[ab]\"]\n    \
    one:\n      plugin: { name: kv-counter, isolation: per-request, capabilities: [kv] }\n    \
    two:\n      plugin: { name: kv-counter, isolation: per-request, capabilities: [kv], config: { ttlMs: 60000 } }\n";

async fn text(client: &Client, gw: &Gateway, path: &str) -> String {
    let reply = client.get(&gw.url(path), "", &[]).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    reply.text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_keeps_counters_and_claims_in_kv_across_requests_and_instances() {
    let gw = Gateway::start(
        &yaml(GRANTED),
        &[("kv-counter", fixture_wasm("fixture_kv_counter"))],
    );
    let client = Client::http1();
    // Each request runs on a fresh instance: the count lives in the host's store.
    for n in 1..=5 {
        assert_eq!(text(&client, &gw, "/a/hit").await, n.to_string());
    }
    // Another middleware of the same plugin has its own store.
    assert_eq!(text(&client, &gw, "/b/hit").await, "1");
    assert_eq!(text(&client, &gw, "/a/claim/first").await, "won");
    assert_eq!(text(&client, &gw, "/a/claim/second").await, "lost:first");
    assert_eq!(text(&client, &gw, "/b/claim/second").await, "won");
    // A window with a one-minute TTL keeps counting.
    assert_eq!(text(&client, &gw, "/b/window").await, "1");
    assert_eq!(text(&client, &gw, "/b/window").await, "2");
    // `on-complete` (no request, off the response path) writes to the same store: await its
    // count of the 8 requests middleware `one` answered before this one.
    let mut seen = Vec::new();
    for _ in 0..500 {
        let completed: u64 = text(&client, &gw, "/a/completed")
            .await
            .parse()
            .expect("a count");
        seen.push(completed);
        if completed >= 8 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(seen.last().is_some_and(|n| *n >= 8), "{seen:?}");
}

#[test]
fn a_plugin_importing_kv_needs_the_grant_at_load() {
    let denied = yaml(
        "    strip:\n      stripPrefixRegex:\n        regex: [\"^/[ab]\"]\n    \
         one:\n      plugin: { name: kv-counter, capabilities: [kv] }\n    \
         two:\n      plugin: { name: kv-counter, capabilities: [counters] }\n",
    );
    let plugins = [("kv-counter", fixture_wasm("fixture_kv_counter"))];
    let (ok, _, stderr) = check_config(&denied, &plugins);
    assert!(!ok, "refused without the grant: {stderr}");
    let line = denied
        .lines()
        .position(|l| l.contains("capabilities: [counters]"))
        .map(|i| i + 1)
        .expect("the line");
    let errors = located_errors(&stderr);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{line}: http.middlewares.two"))
                && e.contains("kv capability")),
        "{errors:?}"
    );
    assert!(
        !errors.iter().any(|e| e.contains("http.middlewares.one")),
        "{errors:?}"
    );
}
