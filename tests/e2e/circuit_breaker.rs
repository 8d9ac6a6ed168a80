//! Traefik's `circuitBreaker` middleware (the bundled `circuit-breaker` plugin, on `kv` and
//! `on-complete`): a real gateway in front of an upstream that breaks
//! every connection trips on `NetworkErrorRatio() > 0.5`, answers 503 without reaching the
//! upstream while tripped, and returns to forwarding once the upstream is back and the
//! fallback and recovery durations have passed. State changes are awaited by polling
//! requests; nothing is timed.

use std::time::Duration;

use crate::support::{Client, Config, FlakyUpstream, Gateway, check_config, located_errors};

/// Sends requests until `done` accepts a status (at most `limit` tries, 20 ms apart); returns
/// the statuses seen.
async fn poll_until(
    client: &Client,
    gw: &Gateway,
    limit: usize,
    mut done: impl FnMut(u16, &str) -> bool,
) -> Vec<u16> {
    let mut seen = Vec::new();
    for _ in 0..limit {
        let reply = client.get(&gw.url("/"), "app.test", &[]).await;
        let status = reply.status.as_u16();
        seen.push(status);
        if done(status, &reply.text()) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the awaited state never came; statuses seen: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_on_network_errors_and_recovers_when_the_upstream_is_back() {
    let upstream = FlakyUpstream::start(0).await;
    upstream.set_down(true);
    let gw = Gateway::start(
        &Config::new()
            .route_through("r", "Host(`app.test`)", "app", "cb")
            .service("app", &upstream.url())
            .middlewares(
                r#"    cb:
      circuitBreaker:
        expression: "NetworkErrorRatio() > 0.5"
        checkPeriod: 10ms
        fallbackDuration: 1s
        recoveryDuration: 1s
"#,
            )
            .yaml(),
        &[],
    );
    let client = Client::http1();

    // Standby: the broken upstream gives 502s until the breaker trips and answers 503 with
    // Traefik's body, the status text.
    let seen = poll_until(&client, &gw, 500, |status, body| {
        status == 503 && body == "Service Unavailable"
    })
    .await;
    assert!(
        seen.contains(&502),
        "the upstream was reached first: {seen:?}"
    );
    assert!(seen[..seen.len() - 1].iter().all(|s| *s == 502), "{seen:?}");

    // Tripped: more requests are refused without a connection to the upstream.
    let closed = upstream.closed();
    let reply = client.get(&gw.url("/"), "app.test", &[]).await;
    if reply.status.as_u16() == 503 {
        assert_eq!(
            upstream.closed(),
            closed,
            "a refused request reached the upstream"
        );
    }

    // The upstream comes back: after the fallback the breaker recovers, letting a growing
    // share through, then stands by. Await ten 200s in a row.
    upstream.set_down(false);
    let mut in_a_row = 0;
    let seen = poll_until(&client, &gw, 2000, |status, _| {
        in_a_row = if status == 200 { in_a_row + 1 } else { 0 };
        in_a_row == 10
    })
    .await;
    // Every status on the way was the breaker's 503, a 502 from a connection that was still
    // being closed when it came back, or a 200 that the upstream served.
    assert!(seen.iter().all(|s| [200, 502, 503].contains(s)), "{seen:?}");
    let ok = seen.iter().filter(|s| **s == 200).count();
    assert_eq!(
        upstream.served(),
        ok,
        "each 200 is one request the upstream served"
    );
    assert!(
        gw.wait_for_log("circuit breaker: recovering"),
        "the breaker went through recovering"
    );
    assert!(gw.wait_for_log("circuit breaker: standby"));
}

#[test]
fn circuit_breaker_config_errors_are_located() {
    let yaml = Config::new()
        .route_through("r", "PathPrefix(`/`)", "app", "a, b, c")
        .service("app", "http://127.0.0.1:9")
        .middlewares(
            r#"    a:
      circuitBreaker:
        expression: "NetworkErrorRatio() > 0.5 &&"
    b:
      circuitBreaker:
        expression: "LatencyAtQuantileMS(50.0) > 100"
        responseCode: 42
    c:
      circuitBreaker:
        checkPeriod: 1s
"#,
        )
        .yaml();
    let (ok, _, stderr) = check_config(&yaml, &[]);
    assert!(!ok, "{stderr}");
    let errors = located_errors(&stderr);
    let line_of = |needle: &str| {
        yaml.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap()
    };
    // The bundled plugin parses the options: its reasons are placed at the option they name.
    let expect = [
        (
            format!(
                "{}: http.middlewares.a.circuitBreaker.expression: ",
                line_of("> 0.5 &&")
            ),
            "expression: expected",
        ),
        (
            format!(
                "{}: http.middlewares.b.circuitBreaker.responseCode: ",
                line_of("responseCode: 42")
            ),
            "responseCode: must be a status",
        ),
        (
            format!(
                "{}: http.middlewares.c.circuitBreaker: ",
                line_of("    c:") + 1
            ),
            "expression: required",
        ),
    ];
    for (at, reason) in &expect {
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(at.as_str()) && e.contains(reason)),
            "missing {at:?} ... {reason:?} in {errors:?}"
        );
    }
}
