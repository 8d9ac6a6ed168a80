//! Upstream unreachable -> 502; upstream slower than the response-header timeout -> 504;
//! `maxConnsPerHost`; pooled connections the upstream closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// An upstream that answers each connection's first request with keep-alive (no
/// `Connection: close`), then closes it: every pooled connection the gateway keeps goes stale.
async fn one_request_per_connection_upstream() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
            });
        }
    });
    (format!("http://{addr}"), accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_upstream_connection_the_server_closed_is_replaced_without_an_error() {
    let (url, accepted) = one_request_per_connection_upstream().await;
    let gw = Gateway::start(
        &Config::new()
            .route("r", "PathPrefix(`/`)", "once")
            .service("once", &url)
            .yaml(),
        &[],
    );
    let c = Client::http1();
    for i in 1..=5 {
        let r = c.get(&gw.url(&format!("/{i}")), "x.test", &[]).await;
        assert_eq!(
            (r.status.as_u16(), r.text().as_str()),
            (200, "ok"),
            "request {i}: a closed idle connection is never used for it"
        );
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        5,
        "a new connection per request"
    );
}
