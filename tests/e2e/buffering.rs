//! Traefik's `buffering`, served by the bundled `buffering` plugin on the host's `body` grant:
//! a request body over `maxRequestBodyBytes` is refused with 413 before the upstream sees it;
//! one under it reaches the upstream whole.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};

use crate::forward_auth::roomy;
use crate::support::h1_raw::{Answer, RawH1};
use crate::support::{Client, Config, Gateway, Upstream};

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

#[test]
fn retry_expression_is_a_config_error() {
    let yaml = roomy(
        Config::new()
            .route_through("buffered", "PathPrefix(`/`)", "app", "hold")
            .service("app", "http://127.0.0.1:1")
            .middlewares(
                "    hold:\n      buffering:\n        retryExpression: \"IsNetworkError() && Attempts() < 2\"\n",
            ),
    );
    let (ok, _, stderr) = crate::support::check_config(&yaml, &[]);
    assert!(!ok && stderr.contains("retryExpression"), "{stderr}");
}
