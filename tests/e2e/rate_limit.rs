//! Traefik's `rateLimit` and `inFlightReq`, served by the bundled `rate-limit` and
//! `in-flight-req` plugins on the host's `counters` capability: the admitted count under an
//! offered load above the limit, independent sources, the 429's retry headers, the upstream held
//! to `amount` with places freed by finished and aborted requests, and the grant a component
//! importing `counters` needs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{
    Client, Config, Gateway, Upstream, UpstreamBehavior, check_config, listed_plugin,
};

/// A gateway routing everything through middleware `limit` (defined by `middlewares`).
/// The bundled plugins get a 2 s deadline instead of 50 ms: these suites count admissions, and
/// a plugin call starved of CPU on a loaded 2-core machine must not turn into a 500.
fn config(upstream_url: &str, middlewares: &str) -> String {
    Config::new()
        .route_through("r", "PathPrefix(`/`)", "app", "limit")
        .service("app", upstream_url)
        .middlewares(middlewares)
        .yaml()
        + "plugins:\n  defaults:\n    deadline: 2s\n"
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

/// The header source is keyed by the gateway under the rate limit's pre-take and by the hook for
/// the 429: the exact statuses pin that both use one bucket per key (a key text that differed
/// would let the hook's own bucket admit the sixth request).
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

/// The status of a `GET /` sent from the loopback address `from` on a connection of its own.
async fn status_from(gw: &Gateway, from: &str) -> u16 {
    use crate::support::h1_raw::{Answer, RawH1};
    let (addr, from) = (gw.addr, from.parse().expect("an IP"));
    tokio::task::spawn_blocking(move || {
        let mut conn = RawH1::connect_from(from, addr, Duration::from_secs(10)).expect("connect");
        conn.send(b"GET / HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n")
            .expect("send");
        match conn.read_response() {
            Answer::Response(response) => response.status,
            other => panic!("no response from {from}: {other:?}"),
        }
    })
    .await
    .expect("request task")
}

#[tokio::test]
async fn the_default_source_is_each_client_ip_read_typed() {
    // The peer's IP, read with `client-ip` (no text crosses): each loopback address has its own
    // bucket, and every connection (another port) of one address shares it.
    let (up, gw) = start(
        "    limit:\n      rateLimit:\n        average: 6\n        period: 1m\n        burst: 2\n",
    )
    .await;
    for from in ["127.0.0.1", "127.0.0.2", "127.0.0.3"] {
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(status_from(&gw, from).await);
        }
        assert_eq!(statuses, [200, 200, 429], "{from}");
    }
    assert_eq!(up.count(), 6);
    // `ipStrategy: {}` with `ipv6Subnet` is the same per-IP source for IPv4 clients.
    let (_up, gw) = start(
        "    limit:\n      rateLimit:\n        average: 6\n        period: 1m\n        burst: 1\n        sourceCriterion:\n          ipStrategy:\n            ipv6Subnet: 64\n",
    )
    .await;
    for from in ["127.0.0.1", "127.0.0.2"] {
        assert_eq!(status_from(&gw, from).await, 200, "{from}");
        assert_eq!(status_from(&gw, from).await, 429, "{from}");
    }
}

#[tokio::test]
async fn a_plugin_reads_the_client_ip_without_a_grant() {
    // `client-ip` needs no grant: a `plugin:` middleware importing it loads as it is.
    let up = Upstream::start("app").await;
    let yaml = Config::new()
        .plugin_dir()
        .route_through("r", "PathPrefix(`/`)", "app", "conn")
        .service("app", &up.url())
        .middlewares("    conn:\n      plugin: { name: conn-info }\n")
        .yaml();
    let gw = Gateway::start(
        &yaml,
        &[(
            "conn-info",
            crate::support::fixture_wasm("fixture_conn_info"),
        )],
    );
    for from in ["127.0.0.1", "127.0.0.5"] {
        assert_eq!(status_from(&gw, from).await, 200);
        assert_eq!(
            up.last().headers.get("x-client-ip").map(|v| v.as_bytes()),
            Some(from.as_bytes())
        );
    }
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

/// Sends `n` concurrent GETs to `url`; their statuses (0: the client gave up) in order.
async fn concurrent(url: &str, n: usize, give_up: Option<Duration>) -> Vec<u16> {
    let client = Client::http1();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (client, url) = (client.clone(), url.to_string());
            tokio::spawn(async move {
                let get = client.get(&url, "", &[]);
                match give_up {
                    Some(limit) => match tokio::time::timeout(limit, get).await {
                        Ok(reply) => reply.status.as_u16(),
                        Err(_) => 0,
                    },
                    None => get.await.status.as_u16(),
                }
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("request task"));
    }
    statuses
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_req_holds_the_upstream_to_amount_and_frees_finished_and_aborted_requests() {
    let up = Upstream::start_with("app", UpstreamBehavior::Slow(Duration::from_millis(600))).await;
    let yaml = config(
        &up.url(),
        "    limit:\n      inFlightReq:\n        amount: 4\n",
    );
    let gw = Gateway::start(&yaml, &[]);
    let url = gw.url("/");

    let statuses = concurrent(&url, 20, None).await;
    assert_eq!(count(&statuses, 200), 4, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 16, "{statuses:?}");
    assert!(up.peak_in_flight() <= 4, "peak {}", up.peak_in_flight());

    // The slow ones are done: 4 fit again (once their `on-complete` freed their places, which
    // may come just after their answers: see below).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let statuses = concurrent(&url, 4, None).await;
        if statuses == [200; 4] {
            break;
        }
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 429) && Instant::now() < deadline,
            "4 places never free again: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up.peak_in_flight() <= 4, "peak {}", up.peak_in_flight());

    // Clients that give up mid-request free their places too. The places of the 4 answered
    // just now are freed by their `on-complete`, which runs on its own task after the response
    // went out, so a client can see its answer before its place is free: until all 4 are, one
    // of these may get a 429 (it takes no place), and the batch is sent again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let statuses = concurrent(&url, 4, Some(Duration::from_millis(150))).await;
        if statuses == [0; 4] {
            break;
        }
        assert!(
            statuses.iter().all(|s| *s == 0 || *s == 429) && Instant::now() < deadline,
            "4 places never free for clients that give up: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    loop {
        let statuses = concurrent(&url, 4, None).await;
        if statuses == [200; 4] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "places never freed after aborts: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // (The upstream may still be sleeping on the abandoned requests, so its own peak can now
    // pass 4: the gateway stopped waiting for them when their clients went away.)
}

/// Traefik's `maxDelay`: a request whose token is at most 1/(2·rate) away waits for it instead
/// of being refused. With 1 request a second and burst 1, `maxDelay` is 500 ms: the first request
/// takes the token; the second, sent 600 ms later, finds the next token 400 ms away and is
/// admitted after waiting for it; a third right after it would wait about a second, more than
/// `maxDelay`: refused. (The pause is the scenario, not an assertion: a longer one only makes
/// the second request find its token sooner.)
#[tokio::test]
async fn a_request_close_to_its_token_waits_for_it_instead_of_being_refused() {
    let (up, gw) = start(
        "    limit:\n      rateLimit:\n        average: 1\n        period: 1s\n        burst: 1\n",
    )
    .await;
    let client = Client::http1();
    let url = gw.url("/");
    let first = client.get(&url, "", &[]).await.status.as_u16();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let second = client.get(&url, "", &[]).await.status.as_u16();
    let third = client.get(&url, "", &[]);
    let third = third.await;
    let statuses = [first, second, third.status.as_u16()];
    assert_eq!(count(&statuses, 200), 2, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 1, "{statuses:?}");
    assert_eq!(statuses[2], 429, "the third is refused: {statuses:?}");
    assert!(third.header("retry-after").is_some());
    assert_eq!(up.count(), 2);
}

/// The rate limit's take is declared (`pre-take`): the gateway takes natively and an admitted
/// request never enters the plugin (its hook-call counter stays 0); a refused one calls
/// `on-request`, which takes again on the same key (so the host's key text must be the
/// plugin's: with another key the hook's own bucket would admit it) and builds the 429.
#[tokio::test]
async fn an_admitted_request_under_a_pre_take_never_calls_the_plugin() {
    use crate::observability::{hook_calls, with_statics};
    let up = Upstream::start("app").await;
    let config = Config::new()
        .route_through("r", "PathPrefix(`/`)", "app", "limit")
        .service("app", &up.url())
        .middlewares(
            "    limit:\n      rateLimit:\n        average: 6\n        period: 1m\n        burst: 3\n        sourceCriterion:\n          requestHeaderName: X-Api-Key\n",
        );
    let api_port = crate::support::free_port();
    let yaml = with_statics(
        &config,
        &format!("  traefik:\n    address: \"127.0.0.1:{api_port}\"\n"),
        "api:\n  insecure: true\nmetrics:\n  prometheus:\n    entryPoint: web\nplugins:\n  defaults:\n    deadline: 2s\n",
    );
    let gw = Gateway::start(&yaml, &[]);
    let client = Client::http1();
    let calls = async || hook_calls(&gw, "limit").await;
    for _ in 0..3 {
        let reply = client.get(&gw.url("/"), "", &[("x-api-key", "k")]).await;
        assert_eq!(reply.status.as_u16(), 200);
    }
    assert_eq!(calls().await, 0.0, "admitted requests never call the hook");
    let refused = client.get(&gw.url("/"), "", &[("x-api-key", "k")]).await;
    assert_eq!(
        refused.status.as_u16(),
        429,
        "the same bucket as the hook's"
    );
    assert!(refused.header("retry-after").is_some());
    assert_eq!(calls().await, 1.0, "the refused request called on-request");
    assert_eq!(up.count(), 3);

    let rate_limit = listed_plugin(&client, api_port, "rate-limit").await;
    assert_eq!(
        rate_limit["preTakes"],
        serde_json::json!(["limit@file"]),
        "{rate_limit}"
    );
}

/// Sources the gateway keys itself under a pre-take (the host) and one only the hook keys
/// (`ipStrategy.depth`, from `X-Forwarded-For`, which the gateway sets to the peer): each
/// source gets its own burst, and a source's refused request stays refused (a host key that
/// differed from the plugin's would let the hook's own bucket admit it).
#[tokio::test]
async fn the_host_and_x_forwarded_for_sources_each_get_their_burst() {
    let (up, gw) = start(
        "    limit:\n      rateLimit:\n        average: 6\n        period: 1m\n        burst: 2\n        sourceCriterion:\n          requestHost: true\n",
    )
    .await;
    let client = Client::http1();
    for host in ["a.test", "b.test:8080"] {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(client.get(&gw.url("/"), host, &[]).await.status.as_u16());
        }
        assert_eq!(statuses, [200, 200, 429, 429], "{host}");
    }
    assert_eq!(up.count(), 4);

    let (up, gw) = start(
        "    limit:\n      rateLimit:\n        average: 6\n        period: 1m\n        burst: 2\n        sourceCriterion:\n          ipStrategy:\n            depth: 1\n",
    )
    .await;
    for from in ["127.0.0.1", "127.0.0.2"] {
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(status_from(&gw, from).await);
        }
        assert_eq!(statuses, [200, 200, 429], "{from}");
    }
    assert_eq!(up.count(), 4);
}
