//! Traefik's `buffering`, served by the bundled `buffering` plugin on the host's `body` grant:
//! a request body over `maxRequestBodyBytes` is refused with 413 before the upstream sees it;
//! one under it reaches the upstream whole; `retryExpression` sends the held request again.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};

use crate::forward_auth::roomy;
use crate::support::h1_raw::{Answer, RawH1};
use crate::support::{Client, Config, FlakyUpstream, Gateway, Upstream};

fn gateway(upstream_url: &str, options: &str) -> Gateway {
    let yaml = roomy(
        Config::new()
            .route_through("buffered", "PathPrefix(`/`)", "app", "hold")
            .service("app", upstream_url)
            .middlewares(&format!("    hold:\n      buffering:\n{options}")),
    );
    Gateway::start(&yaml, &[])
}

#[tokio::test]
async fn a_10_mib_request_over_max_request_body_bytes_gets_413_before_the_upstream() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up.url(), "        maxRequestBodyBytes: 1048576\n");
    let addr = gw.addr;
    let answer = tokio::task::spawn_blocking(move || {
        let mut c = RawH1::connect(addr, Duration::from_secs(30)).expect("connect");
        let head = "POST /upload HTTP/1.1\r\nhost: app\r\ncontent-length: 10485760\r\n\r\n";
        c.send(head.as_bytes()).expect("send head");
        c.read_response()
    })
    .await
    .expect("client thread");
    match answer {
        Answer::Response(r) => assert_eq!(r.status, 413, "{}", r.head),
        other => panic!("no response: {other:?}"),
    }

    let under = Full::new(Bytes::from(vec![b'u'; 512 << 10]))
        .map_err(|never| match never {})
        .boxed();
    let reply = Client::http1()
        .send(
            Request::post(gw.url("/upload"))
                .body(under)
                .expect("request"),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        up.count(),
        1,
        "only the request under the limit reached the upstream"
    );
    assert_eq!(up.last().body_len, 512 << 10);
}

fn post(url: String, body: &'static [u8]) -> Request<crate::support::client::Body> {
    let body = Full::new(Bytes::from_static(body))
        .map_err(|never| match never {})
        .boxed();
    Request::post(url).body(body).expect("request")
}

#[tokio::test]
async fn retry_expression_sends_the_held_request_again_after_a_network_error() {
    // The first connection is closed before any answer: a network error (502).
    let up = FlakyUpstream::start(1).await;
    let gw = gateway(
        &up.url(),
        "        retryExpression: \"IsNetworkError() && Attempts() < 2\"\n",
    );
    let reply = Client::http1()
        .send(post(gw.url("/orders"), b"order 42"))
        .await;
    assert_eq!(reply.status, 200, "the second attempt answered");
    assert_eq!(reply.text(), "ok");
    assert_eq!(up.closed(), 1);
    assert_eq!(up.served(), 1);
    assert_eq!(
        up.bodies(),
        [Bytes::from_static(b"order 42")],
        "the retry carried the held body"
    );
}

#[tokio::test]
async fn retry_expression_stops_when_it_no_longer_holds() {
    let up = FlakyUpstream::start(5).await;
    let gw = gateway(
        &up.url(),
        "        retryExpression: \"IsNetworkError() && Attempts() < 3\"\n",
    );
    let reply = Client::http1()
        .send(post(gw.url("/orders"), b"order 43"))
        .await;
    assert_eq!(
        reply.status, 502,
        "the third attempt failed too: its error is the answer"
    );
    assert_eq!(up.closed(), 3, "three attempts, no more");
    assert_eq!(up.served(), 0);

    // Without retryExpression a POST is sent once.
    let once = FlakyUpstream::start(1).await;
    let gw = gateway(&once.url(), "        maxRequestBodyBytes: 1024\n");
    let reply = Client::http1()
        .send(post(gw.url("/orders"), b"order 44"))
        .await;
    assert_eq!(reply.status, 502);
    assert_eq!((once.closed(), once.served()), (1, 0));
}

#[test]
fn a_bad_retry_expression_is_a_config_error_at_its_line() {
    let yaml = roomy(
        Config::new()
            .route_through("buffered", "PathPrefix(`/`)", "app", "hold")
            .service("app", "http://127.0.0.1:1")
            .middlewares(
                "    hold:\n      buffering:\n        retryExpression: \"IsNetworkError() && Tries() < 2\"\n",
            ),
    );
    let (ok, _, stderr) = crate::support::check_config(&yaml, &[]);
    assert!(!ok, "{stderr}");
    let line_of = |needle: &str| yaml.lines().position(|l| l.contains(needle)).unwrap_or(0) + 1;
    let errors = crate::support::located_errors(&stderr);
    let want = format!(
        "{}: http.middlewares.hold.buffering.retryExpression: unknown function Tries()",
        line_of("retryExpression")
    );
    assert!(
        errors.iter().any(|e| e.starts_with(&want)),
        "{want} in {errors:?}"
    );

    let good = roomy(
        Config::new()
            .route_through("buffered", "PathPrefix(`/`)", "app", "hold")
            .service("app", "http://127.0.0.1:1")
            .middlewares(
                "    hold:\n      buffering:\n        retryExpression: \"!(RequestMethod() == \\\"POST\\\") || ResponseCode() >= 500\"\n",
            ),
    );
    let (ok, _, stderr) = crate::support::check_config(&good, &[]);
    assert!(ok, "{stderr}");
}
