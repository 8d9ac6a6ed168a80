//! The bundled `contentType` middleware (Traefik's, with Go's sniffer) over real sockets, and
//! the `capabilities` contract under it: body peeks, response-hook opt-outs, and components of
//! the plain `middleware` world still loading with both hooks called.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::client::empty;
use crate::support::{Client, Config, Gateway, fixture_wasm};

const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
const PNG: &[u8] = b"\x89PNG\x0D\x0A\x1A\x0A\x00\x00\x00\x0DIHDR\x00\x00\x00\x01";
const GZIP: &[u8] = b"\x1F\x8B\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9\xc9\x07\x00";
const BIG: usize = 10 << 20;
/// The body `/split` sends one small frame at a time.
const SPLIT: &[&str] = &[
    "<", "h", "t", "m", "l", ">", "<bo", "dy>", "split", "</body>",
];

type UpBody = BoxBody<Bytes, Infallible>;

/// Byte `i` of the 10 MiB body: a pattern that is not text (so a mix-up would show).
fn big_byte(i: usize) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 11)) as u8
}

/// A body fed frame by frame from a task (the frames reach the gateway separately).
struct Frames(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

/// `pause` between frames lets each leave the upstream on its own (no timing is asserted).
fn frames_body(chunks: Vec<Bytes>, pause: Duration) -> UpBody {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::spawn(async move {
        for chunk in chunks {
            if tx.send(chunk).await.is_err() {
                return;
            }
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
    });
    Frames(rx).boxed()
}

fn big_body() -> UpBody {
    let chunks = (0..BIG / (64 << 10))
        .map(|c| {
            let start = c * (64 << 10);
            Bytes::from(
                (start..start + (64 << 10))
                    .map(big_byte)
                    .collect::<Vec<u8>>(),
            )
        })
        .collect();
    frames_body(chunks, Duration::ZERO)
}

/// What the upstream answers on each path; none of these sets `Content-Type` unless named.
fn answer(path: &str) -> Response<UpBody> {
    let full = |b: &'static [u8]| Full::new(Bytes::from_static(b)).boxed();
    let mut resp = match path {
        "/html" => Response::new(full(b"  <!DOCTYPE html><html><body>hello</body></html>")),
        "/json" => Response::new(full(br#"{"name": "wasmgate", "ok": true}"#)),
        "/png" => Response::new(full(PNG)),
        "/gzip" => Response::new(full(GZIP)),
        "/typed" => {
            let mut r = Response::new(full(b"<html>not really</html>"));
            r.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("application/vnd.custom"),
            );
            r
        }
        "/empty" => Response::new(full(b"")),
        "/big" => Response::new(big_body()),
        "/split" => Response::new(frames_body(
            SPLIT
                .iter()
                .map(|s| Bytes::from_static(s.as_bytes()))
                .collect(),
            Duration::from_millis(5),
        )),
        _ => Response::new(full(b"plain text")),
    };
    resp.headers_mut()
        .insert("x-upstream", http::HeaderValue::from_static("sniff"));
    resp
}

/// An upstream serving [`answer`]; it never sets `Content-Type` itself (hyper adds none).
async fn start_upstream() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("upstream addr");
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let svc = service_fn(|req: Request<Incoming>| async move {
                    Ok::<_, Infallible>(answer(req.uri().path()))
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), task)
}

/// An upstream that promises 1000 bytes, sends 10 and closes the connection.
async fn start_broken_upstream() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("upstream addr");
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n<html>012")
                    .await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), task)
}

/// One router per host: `on.test` (contentType), `off.test` (autoDetect false), `hooks.test`
/// (fixtures that report their calls around contentType), `plain.test` (plain-world fixture),
/// `broken.test` (contentType in front of the broken upstream).
fn gateway(upstream: &str, broken: &str) -> Gateway {
    let yaml = Config::new()
        .plugin_dir()
        .route_through("on", "Host(`on.test`)", "app", "sniff")
        .route_through("off", "Host(`off.test`)", "app", "nosniff")
        .route_through(
            "hooks",
            "Host(`hooks.test`)",
            "app",
            "opted-out, opted-in, peek-cap, sniff, peek-16",
        )
        .route_through("plain", "Host(`plain.test`)", "app", "plain, sniff")
        .route_through("broken", "Host(`broken.test`)", "broken", "sniff")
        .service("app", upstream)
        .service("broken", broken)
        .middlewares(
            r#"
    sniff:
      contentType: {}
    nosniff:
      contentType: { autoDetect: false }
    opted-out:
      plugin: { name: hooks-declared, config: { responseHook: false, name: "out" } }
    opted-in:
      plugin: { name: hooks-declared, config: { name: "in" } }
    peek-cap:
      plugin: { name: hooks-declared, config: { peek: 1000000, name: "cap" } }
    peek-16:
      plugin: { name: hooks-declared, config: { peek: 16, name: "16" } }
    plain:
      plugin: { name: plain-world }
"#,
        )
        .yaml();
    Gateway::start(
        &yaml,
        &[
            ("hooks-declared", fixture_wasm("fixture_hooks_declared")),
            ("plain-world", fixture_wasm("fixture_plain_world")),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_type_sets_go_sniffed_types_only_where_the_upstream_sent_none() {
    let (up, _u) = start_upstream().await;
    let (broken, _b) = start_broken_upstream().await;
    let gw = gateway(&up, &broken);
    let client = Client::http1();
    for (path, want) in [
        ("/html", HTML),
        ("/json", TEXT),
        ("/png", "image/png"),
        ("/gzip", "application/x-gzip"),
        ("/typed", "application/vnd.custom"),
    ] {
        let r = client.get(&gw.url(path), "on.test", &[]).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(want), "{path}");
        assert_eq!(r.header("x-upstream"), Some("sniff"), "{path}");
    }
    let r = client.get(&gw.url("/png"), "on.test", &[]).await;
    assert_eq!(
        &r.body[..],
        PNG,
        "the peeked body reaches the client intact"
    );

    let r = client.get(&gw.url("/empty"), "on.test", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), None, "no type for an empty body");
    assert!(r.body.is_empty());

    for path in ["/html", "/png"] {
        let r = client.get(&gw.url(path), "off.test", &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), None, "autoDetect: false, {path}");
    }

    let head = Request::builder()
        .method(Method::HEAD)
        .uri(gw.url("/html"))
        .header("host", "on.test")
        .body(empty())
        .expect("request");
    let r = client.send(head).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), None, "HEAD: no body, no sniffing");
    assert!(r.body.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peeked_10_mib_body_streams_through_intact() {
    let (up, _u) = start_upstream().await;
    let (broken, _b) = start_broken_upstream().await;
    let gw = gateway(&up, &broken);
    let r = Client::http1()
        .get(&gw.url("/big"), "hooks.test", &[])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), BIG);
    let want = Sha256::digest((0..BIG).map(big_byte).collect::<Vec<u8>>());
    assert_eq!(Sha256::digest(&r.body), want, "same bytes, same order");
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        r.header("x-on-response-body-cap"),
        Some("65536:false"),
        "a peek is capped at 64 KiB"
    );
    assert_eq!(r.header("x-on-response-body-16"), Some("16:false"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_split_over_many_frames_is_sniffed_on_the_joined_prefix() {
    let (up, _u) = start_upstream().await;
    let (broken, _b) = start_broken_upstream().await;
    let gw = gateway(&up, &broken);
    let whole: String = SPLIT.concat();
    for host in ["on.test", "hooks.test"] {
        let r = Client::http1().get(&gw.url("/split"), host, &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), whole, "{host}");
        assert_eq!(r.header("content-type"), Some(HTML), "{host}");
    }
    let r = Client::http1()
        .get(&gw.url("/split"), "hooks.test", &[])
        .await;
    let complete = format!("{}:true", whole.len());
    assert_eq!(r.header("x-on-response-body-cap"), Some(complete.as_str()));
    assert_eq!(r.header("x-on-response-body-16"), Some("16:false"));
    assert_eq!(r.header("x-body-start-16"), Some(&whole[..16]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_middleware_that_opted_out_of_on_response_is_not_called() {
    let (up, _u) = start_upstream().await;
    let (broken, _b) = start_broken_upstream().await;
    let gw = gateway(&up, &broken);
    for n in 1..=3 {
        let r = Client::http1()
            .get(&gw.url("/json"), "hooks.test", &[])
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-on-response-out"), None, "request {n}");
        assert_eq!(r.header("x-on-response-body-out"), None, "request {n}");
        assert!(
            r.header("x-on-response-in").is_some(),
            "the same fixture, opted in, is called (request {n})"
        );
        assert_eq!(r.header("x-on-response-body-in"), None, "no peek declared");
        assert_eq!(r.header("content-type"), Some(TEXT));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_middleware_world_component_loads_and_gets_both_hooks() {
    let (up, _u) = start_upstream().await;
    let (broken, _b) = start_broken_upstream().await;
    let gw = gateway(&up, &broken);
    let r = Client::http1()
        .get(&gw.url("/html"), "plain.test", &[])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-plain-world"),
        Some("on-request ran|on-response"),
        "on-request ran, its state reached on-response"
    );
    assert_eq!(
        r.header("content-type"),
        Some(HTML),
        "next to a peeking middleware"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_body_failing_during_the_peek_is_a_502() {
    let (up, _u) = start_upstream().await;
    let (broken, _b) = start_broken_upstream().await;
    let gw = gateway(&up, &broken);
    let r = Client::http1().get(&gw.url("/"), "broken.test", &[]).await;
    assert_eq!(r.status, 502);
    let r = Client::http1().get(&gw.url("/html"), "on.test", &[]).await;
    assert_eq!(r.status, 200, "the gateway keeps serving");
}
