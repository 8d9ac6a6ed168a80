//! Traefik's `retry` middleware: a request whose connection the upstream breaks before any
//! response is sent again (after `initialInterval`, doubling), up to `attempts` tries in all;
//! the client sees the answer of the try that worked, or 502 when every try failed. The policy
//! is the bundled `retry` plugin's (`retry-policy`); the load balancer resends.

use crate::support::{Client, Config, FlakyUpstream, Gateway, check_config, located_errors};

fn gateway(upstream: &FlakyUpstream, attempts: u32) -> Gateway {
    Gateway::start(
        &Config::new()
            .route_through("r", "PathPrefix(`/`)", "app", "again")
            .service("app", &upstream.url())
            .middlewares(&format!(
                "    again:\n      retry:\n        attempts: {attempts}\n        initialInterval: 10ms\n"
            ))
            .yaml()
            .replace("http:\n", "metrics:\n  prometheus:\n    entryPoint: web\nhttp:\n"),
        &[],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_upstream_breaks_are_retried_and_the_client_sees_200() {
    let upstream = FlakyUpstream::start(2).await;
    let gw = gateway(&upstream, 4);
    let reply = Client::http1().get(&gw.url("/"), "", &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), "ok");
    assert_eq!(upstream.closed(), 2, "two tries were broken");
    assert_eq!(upstream.served(), 1, "the third was served");
    // Each retry is counted as Traefik counts it.
    let metrics = Client::http1()
        .get(&gw.url("/metrics"), "", &[])
        .await
        .text();
    assert!(
        metrics.contains("traefik_service_retries_total{service=\"app@file\"} 2"),
        "{metrics}"
    );
    // The retry plugin is `policy-only`: none of its hooks ran (it decided through
    // `retry-after`, which is not a hook of the chain).
    let hook_calls: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("wasmgate_plugin_calls_total{") && l.contains("again"))
        .filter(|l| !l.ends_with(" 0"))
        .collect();
    assert!(hook_calls.is_empty(), "{hook_calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_attempt_fails_the_client_gets_502() {
    let upstream = FlakyUpstream::start(0).await;
    upstream.set_down(true);
    let gw = gateway(&upstream, 3);
    let reply = Client::http1().get(&gw.url("/"), "", &[]).await;
    assert_eq!(reply.status, 502);
    assert_eq!(upstream.closed(), 3, "three tries in all");
    assert_eq!(upstream.served(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_a_body_is_not_retried() {
    let upstream = FlakyUpstream::start(1).await;
    let gw = gateway(&upstream, 3);
    let req = http::Request::builder()
        .method("PUT")
        .uri(gw.url("/"))
        .body({
            use http_body_util::BodyExt;
            http_body_util::Full::new(bytes::Bytes::from_static(b"payload"))
                .map_err(|never| match never {})
                .boxed()
        })
        .unwrap();
    let reply = Client::http1().send(req).await;
    assert_eq!(reply.status, 502, "a streamed body cannot be replayed");
    assert_eq!(upstream.closed(), 1);
}

/// The method rule is the plugin's (`retry-after` answers none): a POST, even without a body,
/// may have had effects and is not sent twice (Traefik retries idempotent methods only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_a_body_is_not_retried() {
    let upstream = FlakyUpstream::start(1).await;
    let gw = gateway(&upstream, 3);
    let req = http::Request::builder()
        .method("POST")
        .uri(gw.url("/"))
        .body(crate::support::client::empty())
        .unwrap();
    let reply = Client::http1().send(req).await;
    assert_eq!(reply.status, 502);
    assert_eq!(upstream.closed(), 1, "one try");
    assert_eq!(upstream.served(), 0);
}

#[test]
fn retry_config_errors_are_located() {
    let yaml = Config::new()
        .route_through("r", "PathPrefix(`/`)", "app", "a, b")
        .service("app", "http://127.0.0.1:9")
        .middlewares(
            "    a:\n      retry:\n        attempts: 0\n    b:\n      retry:\n        initialInterval: soon\n",
        )
        .yaml();
    let (ok, _, stderr) = check_config(&yaml, &[]);
    assert!(!ok, "{stderr}");
    let errors = located_errors(&stderr);
    let line_of = |needle: &str| yaml.lines().position(|l| l.contains(needle)).unwrap() + 1;
    // The bundled `retry` plugin refuses them; the gateway places each at its option's line.
    let want = [
        (
            format!(
                "{}: http.middlewares.a.retry.attempts: ",
                line_of("attempts: 0")
            ),
            "attempts: must be at least 1",
        ),
        (
            format!(
                "{}: http.middlewares.b.retry.initialInterval: ",
                line_of("initialInterval: soon")
            ),
            "initialInterval",
        ),
    ];
    for (at, reason) in &want {
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(at.as_str()) && e[at.len()..].contains(reason)),
            "missing {at:?} ... {reason:?} in {errors:?}"
        );
    }
}
