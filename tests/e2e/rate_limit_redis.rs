//! Traefik's `rateLimit.redis`: the buckets of a rate limit kept in a real `redis-server`
//! (started here on a port picked here, stopped by PID), shared by two real gateway processes;
//! what `denyOnError` does while Redis is down, and limiting coming back with Redis without a
//! restart; a Redis reached over TLS (`redis.tls`); located config errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::providers::stores::Store;
use crate::support::{Client, Config, Gateway, Upstream, assert_refused_at_key, check_config};

/// Hang guard while waiting for an event (a status to show up); never asserted as a time.
const AWAIT_WITHIN: Duration = Duration::from_secs(20);

/// Middleware `name`: a rate limit in the Redis at `endpoint`.
fn limit(name: &str, limit: &str, endpoint: &str, extra: &str) -> String {
    format!(
        "    {name}:\n      rateLimit:\n{limit}        redis:\n          endpoints: [\"{endpoint}\"]\n{extra}"
    )
}

/// One router per (path prefix, middleware); a 2 s plugin deadline (counts must not turn
/// into 500s on a loaded machine, as in `rate_limit`).
fn config(upstream: &str, routes: &[(&str, &str)], middlewares: &str) -> String {
    let mut c = Config::new()
        .service("app", upstream)
        .middlewares(middlewares);
    for (prefix, mw) in routes {
        c = c.route_through(mw, &format!("PathPrefix(`{prefix}`)"), "app", mw);
    }
    c.yaml() + "plugins:\n  defaults:\n    deadline: 2s\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_sharing_one_redis_admit_one_limit_together() {
    let redis = Store::redis().await;
    let up = Upstream::start("app").await;
    let mws = limit(
        "limit",
        "        average: 100\n        period: 1s\n        burst: 50\n",
        &redis.endpoint(),
        "",
    );
    let yaml = config(&up.url(), &[("/", "limit")], &mws);
    let (a, b) = (Gateway::start(&yaml, &[]), Gateway::start(&yaml, &[]));
    let urls = [a.url("/"), b.url("/")];
    let client = Client::http1();
    // 400 req/s in all, alternating between the gateways: each alone offers 200 req/s, twice
    // what the limit admits, so separate buckets would admit about twice the shared limit.
    let counts: Arc<[AtomicUsize; 4]> = Arc::new(Default::default());
    let mut ticker = tokio::time::interval(Duration::from_micros(2500));
    let mut tasks = Vec::new();
    let start = Instant::now();
    let mut last_sent = start;
    let mut n = 0usize;
    while start.elapsed() < Duration::from_secs(4) {
        ticker.tick().await;
        last_sent = Instant::now();
        let (client, url, counts) = (client.clone(), urls[n % 2].clone(), counts.clone());
        let which = n % 2;
        n += 1;
        tasks.push(tokio::spawn(async move {
            match client.get(&url, "", &[]).await.status.as_u16() {
                200 => counts[which].fetch_add(1, Ordering::Relaxed),
                429 => counts[2 + which].fetch_add(1, Ordering::Relaxed),
                other => panic!("unexpected status {other}"),
            };
        }));
    }
    for task in tasks {
        task.await.expect("request task");
    }
    // The buckets decided over a span between the last send and the last answer (on a loaded
    // machine requests still queue after the last send, and tokens keep refilling).
    let t_sent = last_sent.duration_since(start).as_secs_f64();
    let t_done = start.elapsed().as_secs_f64();
    let [a_ok, b_ok, a_no, b_no] = [0, 1, 2, 3].map(|i| counts[i].load(Ordering::Relaxed));
    let admitted = a_ok + b_ok;
    let (low, high) = (50.0 + 100.0 * t_sent, 50.0 + 100.0 * t_done);
    assert!(
        admitted as f64 >= 0.95 * low && admitted as f64 <= 1.05 * high,
        "admitted {a_ok} + {b_ok}, refused {a_no} + {b_no}: expected {low:.0}..{high:.0} \
         together (sent for {t_sent:.3}s, answered by {t_done:.3}s; separate buckets would \
         give about twice)"
    );
    assert!(a_ok > 0 && b_ok > 0, "both gateways admit: {a_ok}, {b_ok}");
    assert!(a_no > 0 && b_no > 0, "both gateways refuse: {a_no}, {b_no}");
    assert_eq!(up.count(), admitted);
}

/// Traefik's `maxDelay` on the shared bucket: a request whose token is at most 1/(2·rate) away
/// waits for it instead of being refused, whichever gateway it reaches. With 1 request a second
/// and burst 1 (`maxDelay` 500 ms): gateway A admits the first request; the second, sent to
/// gateway B 600 ms later, finds the shared bucket's next token 400 ms away, reserves it in
/// Redis and is admitted after waiting; a third, to A right after, would wait about a second
/// behind that reservation: refused. (The pause is the scenario, not an assertion: a longer
/// one only makes the second request find its token sooner.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_close_to_its_shared_token_waits_for_it_on_either_gateway() {
    let redis = Store::redis().await;
    let up = Upstream::start("app").await;
    let mws = limit(
        "limit",
        "        average: 1\n        period: 1s\n        burst: 1\n",
        &redis.endpoint(),
        "",
    );
    let yaml = config(&up.url(), &[("/", "limit")], &mws);
    let (a, b) = (Gateway::start(&yaml, &[]), Gateway::start(&yaml, &[]));
    let client = Client::http1();
    let first = client.get(&a.url("/"), "", &[]).await.status.as_u16();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let second = client.get(&b.url("/"), "", &[]).await.status.as_u16();
    let third = client.get(&a.url("/"), "", &[]).await;
    assert_eq!(
        [first, second, third.status.as_u16()],
        [200, 200, 429],
        "the second waits for its token, the third is refused"
    );
    assert!(third.header("retry-after").is_some());
    assert_eq!(up.count(), 2);
}

/// Statuses of `n` GETs in a row.
async fn statuses(client: &Client, url: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(client.get(url, "", &[]).await.status.as_u16());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_denies_or_lets_through_by_deny_on_error_and_limiting_resumes_with_redis() {
    let mut redis = Store::redis().await;
    let up = Upstream::start("app").await;
    // Three requests, then one a minute.
    let rate = "        average: 1\n        period: 1m\n        burst: 3\n";
    let mws = limit("deny", rate, &redis.endpoint(), "")
        + &limit(
            "allow",
            rate,
            &redis.endpoint(),
            "          denyOnError: false\n",
        );
    let yaml = config(&up.url(), &[("/deny", "deny"), ("/allow", "allow")], &mws);
    let gw = Gateway::start(&yaml, &[]);
    let client = Client::http1();
    let (deny, allow) = (gw.url("/deny"), gw.url("/allow"));
    for url in [&deny, &allow] {
        assert_eq!(
            statuses(&client, url, 5).await,
            [200, 200, 200, 429, 429],
            "{url}"
        );
    }

    redis.stop();
    // Redis down: `denyOnError: true` (Traefik's default) fails with 500 ...
    client
        .get_until(&deny, AWAIT_WITHIN, |status, _| status == 500)
        .await;
    assert_eq!(statuses(&client, &deny, 5).await, [500; 5]);
    // ... `false` lets every request through, unlimited, though its bucket is empty.
    assert_eq!(statuses(&client, &allow, 5).await, [200; 5]);

    // Redis back (same port, its data kept): the same process limits again, from the
    // buckets Redis kept (empty: the next token is a minute away).
    let forwarded = up.count();
    redis.restart().await;
    client
        .get_until(&deny, AWAIT_WITHIN, |status, _| status == 429)
        .await;
    assert_eq!(statuses(&client, &deny, 3).await, [429; 3]);
    assert_eq!(statuses(&client, &allow, 3).await, [429; 3]);
    assert_eq!(
        up.count(),
        forwarded,
        "nothing was forwarded once limiting resumed"
    );
    assert!(
        gw.log().contains("counters backend failed"),
        "the Redis failures are logged"
    );
}

#[test]
fn redis_options_are_checked_at_their_line() {
    let cases: [(&str, &str); 4] = [
        ("          readTimeout: 0s\n", "readTimeout"),
        ("          tls: yes\n", "must be a map"),
        ("          poolsize: many\n", "whole number"),
        ("          sentinel: x\n", "unknown option"),
    ];
    for (extra, reason) in cases {
        let mws = limit("limit", "        average: 10\n", "127.0.0.1:6379", extra);
        let yaml = config("http://127.0.0.1:1", &[("/", "limit")], &mws);
        let key = extra.trim_start().split(':').next().unwrap_or_default();
        assert_refused_at_key(&yaml, &[], key, reason);
    }
    let fine = limit(
        "limit",
        "        average: 10\n",
        "127.0.0.1:6379",
        "          db: 2\n          poolSize: 4\n          readTimeout: 500ms\n          denyOnError: false\n",
    );
    let (ok, stdout, stderr) =
        check_config(&config("http://127.0.0.1:1", &[("/", "limit")], &fine), &[]);
    assert!(ok, "a full redis block loads: {stdout} {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_over_tls_holds_the_buckets_and_an_unverified_server_is_refused() {
    let redis = Store::redis_tls().await;
    let (endpoint, ca) = redis.tls_endpoint();
    let up = Upstream::start("app").await;
    let rate = "        average: 1\n        period: 1m\n        burst: 2\n";
    let trusted = format!("          tls:\n            ca: \"{}\"\n", ca.display());
    // No `ca`: the server's certificate (from the test's own CA) is checked against the
    // system's trust store and refused; `denyOnError` (default true) then gives 500.
    let untrusted = "          tls: {}\n";
    let mws =
        limit("limit", rate, &endpoint, &trusted) + &limit("untrusted", rate, &endpoint, untrusted);
    let yaml = config(&up.url(), &[("/ok", "limit"), ("/no", "untrusted")], &mws);
    let gw = Gateway::start(&yaml, &[]);
    let client = Client::http1();
    let statuses = statuses(&client, &gw.url("/ok"), 3).await;
    assert_eq!(statuses, [200, 200, 429], "burst 2 through the TLS Redis");
    let refused = client.get(&gw.url("/no"), "", &[]).await;
    assert_eq!(refused.status, 500, "{}", refused.text());
}
