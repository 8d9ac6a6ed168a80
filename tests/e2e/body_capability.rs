//! The `body` capability: a user plugin built with the SDK (`tests/plugins/body-filter`) reads
//! and replaces the request and response bodies the gateway holds for it up to its grant's cap;
//! over the cap a body is refused or passed on unread, by the grant; a plugin importing `body`
//! without the grant is refused at load.

use bytes::Bytes;
use http::Request;
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};

use crate::forward_auth::roomy;
use std::time::Duration;

use crate::support::client::Body;
use crate::support::h1_raw::{Answer, RawH1};
use crate::support::{Client, Config, Gateway, Upstream, check_config, fixture_wasm};

fn plugins() -> [(&'static str, std::path::PathBuf); 1] {
    [("body-filter", fixture_wasm("fixture_body_filter"))]
}

/// Router `/` through middleware `filter` (the fixture with `grant`) to the upstream.
fn config(upstream_url: &str, grant: &str) -> String {
    roomy(
        Config::new()
            .plugin_dir()
            .route_through("filtered", "PathPrefix(`/`)", "app", "filter")
            .service("app", upstream_url)
            .middlewares(&format!(
                "    filter:\n      plugin:\n        name: body-filter\n{grant}"
            )),
    )
}

const BOTH_BODIES: &str = "        capabilities: [body]\n        body:\n          request: { maxBytes: 1KiB, overLimit: reject }\n          response: { maxBytes: 1KiB }\n";

fn post(url: &str, body: Body) -> Request<Body> {
    Request::post(url)
        .body(body)
        .unwrap_or_else(|e| panic!("request: {e}"))
}

fn whole(bytes: &'static [u8]) -> Body {
    Full::new(Bytes::from_static(bytes))
        .map_err(|never| match never {})
        .boxed()
}

/// A body sent in `chunks` pieces of `piece` bytes, chunked (no `content-length`).
fn chunked(chunks: usize, piece: &'static [u8]) -> Body {
    let frames = (0..chunks).map(move |_| Ok(Frame::data(Bytes::from_static(piece))));
    StreamBody::new(futures_util::stream::iter(frames)).boxed()
}

#[tokio::test]
async fn a_granted_plugin_reads_and_replaces_the_request_and_response_bodies() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&config(&up.url(), BOTH_BODIES), &plugins());
    let client = Client::http1();

    let reply = client.send(post(&gw.url("/x"), whole(b"hello"))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), "[app]", "the response body replaced");
    assert_eq!(reply.header("content-length"), Some("5"));
    assert_eq!(reply.header("x-response-body-bytes"), Some("3"));
    let seen = up.last();
    assert_eq!(seen.body_head, b"HELLO", "the request body replaced");
    assert_eq!(seen.header("content-length"), Some("5"));
    assert_eq!(seen.header("x-body-bytes"), Some("5"));

    let chunks = client.send(post(&gw.url("/x"), chunked(4, b"abc"))).await;
    assert_eq!(chunks.status, 200, "{}", chunks.text());
    assert_eq!(
        up.last().body_head,
        b"ABCABCABCABC",
        "a chunked body, held whole"
    );

    let refused = client
        .send(post(&gw.url("/x"), whole(b"a forbidden word")))
        .await;
    assert_eq!(refused.status, 422, "the plugin answered from the body");
    assert_eq!(
        up.count(),
        2,
        "the refused request never reached the upstream"
    );
}

/// The status the gateway answers to `request` (raw bytes), read before sending anything more:
/// the gateway stops reading a refused body, so a client that kept writing could see its
/// connection reset before reading the answer.
async fn raw_status(gw: &Gateway, request: Vec<u8>) -> u16 {
    let addr = gw.addr;
    let answer = tokio::task::spawn_blocking(move || {
        let mut c = RawH1::connect(addr, Duration::from_secs(30)).expect("connect");
        c.send(&request).expect("send");
        c.read_response()
    })
    .await
    .expect("client thread");
    match answer {
        Answer::Response(r) => r.status,
        other => panic!("no response: {other:?}"),
    }
}

#[tokio::test]
async fn a_request_body_over_the_cap_is_refused_with_413_before_the_upstream() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&config(&up.url(), BOTH_BODIES), &plugins());
    let declared = "POST /x HTTP/1.1\r\nhost: app\r\ncontent-length: 2048\r\n\r\n";
    assert_eq!(
        raw_status(&gw, declared.as_bytes().to_vec()).await,
        413,
        "content-length over the cap"
    );
    // Five 256-byte chunks (1280 bytes, over the 1 KiB cap), the body not yet ended.
    let mut chunked =
        b"POST /x HTTP/1.1\r\nhost: app\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..5 {
        chunked.extend_from_slice(b"100\r\n");
        chunked.extend_from_slice(&[b'b'; 256]);
        chunked.extend_from_slice(b"\r\n");
    }
    assert_eq!(
        raw_status(&gw, chunked).await,
        413,
        "a chunked body growing over the cap"
    );
    assert_eq!(up.count(), 0);
}

#[tokio::test]
async fn a_request_body_over_the_cap_passes_unread_when_the_grant_says_pass() {
    let up = Upstream::start("app").await;
    let grant = "        capabilities: [body]\n        body:\n          request: { maxBytes: 1KiB, overLimit: pass }\n";
    let gw = Gateway::start(&config(&up.url(), grant), &plugins());
    let client = Client::http1();
    let reply = client
        .send(post(&gw.url("/x"), chunked(64, &[b'b'; 64])))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), "app", "no response body granted: left alone");
    let seen = up.last();
    assert_eq!(seen.body_len, 64 * 64, "every byte, in order");
    assert!(
        seen.body_head.iter().all(|b| *b == b'b'),
        "unread, unchanged"
    );
    assert_eq!(seen.header("x-body-over-cap"), Some("1024"));

    let declared = client.send(post(&gw.url("/x"), whole(&[b'c'; 2048]))).await;
    assert_eq!(declared.status, 200);
    assert_eq!(up.last().body_len, 2048);
}

#[test]
fn a_plugin_importing_body_needs_the_grant_at_load() {
    let (ok, stdout, stderr) = check_config(&config("http://127.0.0.1:1", ""), &plugins());
    assert!(!ok, "refused without the grant; stdout: {stdout}");
    assert!(
        stderr.contains(".yml:")
            && stderr.contains("http.middlewares.filter")
            && stderr.contains("imports the body capability"),
        "{stderr}"
    );
    let (ok, stdout, stderr) = check_config(&config("http://127.0.0.1:1", BOTH_BODIES), &plugins());
    assert!(ok, "loads with the grant: {stdout} {stderr}");
    let no_body = "        capabilities: [body]\n";
    let (ok, _, stderr) = check_config(&config("http://127.0.0.1:1", no_body), &plugins());
    assert!(
        !ok && stderr.contains("body needs to say which bodies"),
        "{stderr}"
    );
}
