//! Traefik's `rateLimit`, served by the bundled `rate-limit` plugin on the host's `counters`
//! capability: the admitted count under an offered load above the limit, independent sources,
//! the 429's retry headers, and the grant a component importing `counters` needs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Client, Config, Gateway, Upstream, check_config};

/// A gateway routing everything through middleware `limit` (defined by `middlewares`).
fn config(upstream_url: &str, middlewares: &str) -> String {
    Config::new()
        .route_through("r", "PathPrefix(`/`)", "app", "limit")
        .service("app", upstream_url)
        .middlewares(middlewares)
        .yaml()
}

async fn start(middlewares: &str) -> (Upstream, Gateway) {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&config(&up.url(), middlewares), &[]);
    (up, gw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admits_burst_plus_average_per_second_from_one_source() {
    let (_up, gw) = start(
        "    limit:\n      rateLimit:\n        average: 100\n        period: 1s\n        burst: 50\n",
    )
    .await;
    let client = Client::http1();
    let url = gw.url("/");
    // Warm one connection so the first paced request does not pay a handshake.
    let (admitted, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut ticker = tokio::time::interval(Duration::from_micros(2500)); // 400 req/s
    let mut tasks = Vec::new();
    let start = Instant::now();
    let mut last_sent = start;
    while start.elapsed() < Duration::from_secs(4) {
        ticker.tick().await;
        last_sent = Instant::now();
        let (client, url) = (client.clone(), url.clone());
        let (admitted, refused) = (admitted.clone(), refused.clone());
        tasks.push(tokio::spawn(async move {
            match client.get(&url, "", &[]).await.status.as_u16() {
                200 => admitted.fetch_add(1, Ordering::Relaxed),
                429 => refused.fetch_add(1, Ordering::Relaxed),
                other => panic!("unexpected status {other}"),
            };
        }));
    }
    for task in tasks {
        task.await.expect("request task");
    }
    let t = last_sent.duration_since(start).as_secs_f64();
    let (admitted, refused) = (
        admitted.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    let expected = 50.0 + 100.0 * t;
    let ratio = admitted as f64 / expected;
    assert!(
        (0.95..=1.05).contains(&ratio),
        "admitted {admitted}, refused {refused} over {t:.3}s: expected {expected:.0} (ratio {ratio:.3})"
    );
    assert!(refused > admitted, "the offered load must exceed the limit");
}

#[tokio::test]
async fn request_header_name_sources_are_limited_independently_and_429_says_when_to_retry() {
    let (up, gw) = start(
        "    limit:\n      rateLimit:\n        average: 6\n        period: 1m\n        burst: 5\n        sourceCriterion:\n          requestHeaderName: X-Api-Key\n",
    )
    .await;
    let client = Client::http1();
    let url = gw.url("/");
    for key in ["alice", "bob"] {
        let mut statuses = Vec::new();
        for _ in 0..8 {
            let reply = client.get(&url, "", &[("x-api-key", key)]).await;
            statuses.push(reply.status.as_u16());
        }
        assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429], "{key}");
    }
    assert_eq!(up.count(), 10);
    let refused = client.get(&url, "", &[("x-api-key", "alice")]).await;
    assert_eq!(refused.status.as_u16(), 429);
    // One token every 10 s.
    let retry_after: u64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=10).contains(&retry_after), "Retry-After {retry_after}");
    assert!(
        refused
            .header("x-retry-in")
            .is_some_and(|v| v.ends_with('s'))
    );
    assert_eq!(refused.text(), "Too Many Requests");
}

#[test]
fn a_plugin_importing_counters_needs_the_grant_at_load() {
    let plugin = |grant: &str| {
        format!(
            "    limit:\n      plugin:\n        name: rate-limit\n        config:\n          average: 10\n{grant}"
        )
    };
    let denied = config("http://127.0.0.1:1", &plugin(""));
    let (ok, stdout, stderr) = check_config(&denied, &[]);
    assert!(!ok, "refused without the grant; stdout: {stdout}");
    assert!(
        stderr.contains(".yml:")
            && stderr.contains("http.middlewares.limit")
            && stderr.contains("counters"),
        "{stderr}"
    );
    let granted = config(
        "http://127.0.0.1:1",
        &plugin("        capabilities: [counters]\n"),
    );
    let (ok, stdout, stderr) = check_config(&granted, &[]);
    assert!(ok, "loads with the grant: {stdout} {stderr}");
}
