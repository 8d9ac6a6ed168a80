//! Upstream unreachable -> 502; upstream slower than the response-header timeout -> 504.

use std::time::Duration;

use crate::support::{Client, Config, Gateway, Upstream, UpstreamBehavior};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_gives_502() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gw = Gateway::start(
        &Config::new()
            .route("r", "PathPrefix(`/`)", "dead")
            .service("dead", &format!("http://127.0.0.1:{port}"))
            .yaml(),
        &[],
    );
    let r = Client::http1().get(&gw.url("/"), "x.test", &[]).await;
    assert_eq!(r.status, 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_slower_than_the_timeout_gives_504_and_a_fast_one_still_works() {
    let slow = Upstream::start_with("slow", UpstreamBehavior::Slow(Duration::from_secs(5))).await;
    let fast = Upstream::start("fast").await;
    let gw = Gateway::start(
        &Config::new()
            .route("slow", "PathPrefix(`/slow`)", "slow")
            .route("fast", "PathPrefix(`/fast`)", "fast")
            .services(&format!(
                r#"
    slow:
      loadBalancer:
        servers: [{{ url: "{}" }}]
        serversTransport: impatient
    fast:
      loadBalancer:
        servers: [{{ url: "{}" }}]
        serversTransport: impatient
"#,
                slow.url(),
                fast.url()
            ))
            .http(
                r#"
  serversTransports:
    impatient:
      forwardingTimeouts:
        responseHeaderTimeout: 300ms
"#,
            )
            .yaml(),
        &[],
    );
    let c = Client::http1();
    let r = c.get(&gw.url("/slow"), "x.test", &[]).await;
    assert_eq!(r.status, 504);
    let r = c.get(&gw.url("/fast"), "x.test", &[]).await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (200, "fast"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_conns_per_host_caps_upstream_connections_and_queues_the_rest() {
    let slow =
        Upstream::start_with("slow", UpstreamBehavior::Slow(Duration::from_millis(300))).await;
    let gw = Gateway::start(
        &Config::new()
            .route("r", "PathPrefix(`/`)", "slow")
            .services(&format!(
                "    slow: {{ loadBalancer: {{ servers: [{{ url: \"{}\" }}], serversTransport: capped }} }}\n",
                slow.url()
            ))
            .http("  serversTransports:\n    capped:\n      maxConnsPerHost: 2\n")
            .yaml(),
        &[],
    );
    let c = Client::http1();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (c, url) = (c.clone(), gw.url(&format!("/{i}")));
            tokio::spawn(async move { c.get(&url, "x.test", &[]).await.status.as_u16() })
        })
        .collect();
    for t in tasks {
        assert_eq!(
            t.await.unwrap(),
            200,
            "queued requests are served once a connection frees"
        );
    }
    assert_eq!(slow.count(), 8);
    assert_eq!(
        slow.peak_in_flight(),
        2,
        "never more than maxConnsPerHost connections (HTTP/1: one request each)"
    );
}
