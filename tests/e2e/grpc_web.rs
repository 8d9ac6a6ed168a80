//! Traefik's `grpcWeb` middleware: a gRPC-Web call built by hand (length-prefixed frames, sent
//! over HTTP/1.1 with hyper) goes through a real gateway to a real gRPC upstream (hyper over
//! h2c, answering with `grpc-status` trailers); the trailers come back inside the body as a
//! gRPC-Web trailer frame. Binary and text (base64) encodings, and CORS for `allowOrigins`.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response, Version};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::support::client::Reply;
use crate::support::{Client, Config, Gateway, check_config, located_errors};

/// What the gRPC upstream saw of one call.
#[derive(Debug, Clone)]
struct Seen {
    version: Version,
    headers: HeaderMap,
    body: Bytes,
}

/// A gRPC server over h2c (HTTP/2 prior knowledge only): reads the whole request, answers
/// with each request message echoed with a `re:` prefix, then trailers `grpc-status: 0`,
/// `grpc-message: echoed 1`.
async fn grpc_upstream(seen: Arc<Mutex<Vec<Seen>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let messages = grpc_messages(&body);
                        seen.lock().unwrap().push(Seen {
                            version: parts.version,
                            headers: parts.headers,
                            body: body.clone(),
                        });
                        let mut frames: Vec<Result<Frame<Bytes>, Infallible>> = messages
                            .iter()
                            .map(|(_, m)| {
                                Ok(Frame::data(grpc_frame(0, &[b"re:", &m[..]].concat())))
                            })
                            .collect();
                        let mut trailers = HeaderMap::new();
                        trailers.insert("grpc-status", HeaderValue::from_static("0"));
                        let message = format!("echoed {}", messages.len());
                        trailers.insert("grpc-message", HeaderValue::from_str(&message).unwrap());
                        frames.push(Ok(Frame::trailers(trailers)));
                        let mut resp =
                            Response::new(StreamBody::new(futures_util::stream::iter(frames)));
                        resp.headers_mut().insert(
                            "content-type",
                            HeaderValue::from_static("application/grpc+proto"),
                        );
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("h2c://{addr}")
}

/// A gRPC(-Web) frame: flag byte, big-endian length, payload.
fn grpc_frame(flag: u8, payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + payload.len());
    b.put_u8(flag);
    b.put_u32(payload.len() as u32);
    b.put_slice(payload);
    b.freeze()
}

/// Splits a body into its frames: (flag, payload).
fn grpc_messages(body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = body;
    while rest.len() >= 5 {
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        assert!(rest.len() >= 5 + len, "a truncated frame in {body:?}");
        out.push((rest[0], rest[5..5 + len].to_vec()));
        rest = &rest[5 + len..];
    }
    assert!(rest.is_empty(), "trailing bytes after the frames: {rest:?}");
    out
}

/// Asserts that `frame` is a gRPC-Web trailer frame (flag 0x80) whose header block holds every
/// one of `lines`.
fn assert_trailer_frame(frame: &(u8, Vec<u8>), lines: &[&str]) {
    assert_eq!(frame.0, 0x80, "a trailer frame");
    let block = String::from_utf8(frame.1.clone()).unwrap();
    for line in lines {
        assert!(block.contains(line), "{line:?} in {block:?}");
    }
}

/// Decodes base64 made of padded segments one after another (each frame encoded alone).
fn decode_segments(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut start = 0;
    for quantum in (0..text.len()).step_by(4) {
        let end = (quantum + 4).min(text.len());
        if text[quantum..end].contains(&b'=') || end == text.len() {
            out.extend(STANDARD.decode(&text[start..end]).expect("valid base64"));
            start = end;
        }
    }
    out
}

fn gateway(upstream: &str) -> Gateway {
    Gateway::start(
        &Config::new()
            .route_through("grpc", "PathPrefix(`/`)", "app", "web")
            .service("app", upstream)
            .middlewares(
                r#"    web:
      grpcWeb:
        allowOrigins: ["https://app.example"]
"#,
            )
            .yaml(),
        &[],
    )
}

async fn call(gw: &Gateway, content_type: &str, origin: &str, body: Bytes) -> Reply {
    let req = Request::builder()
        .method("POST")
        .uri(gw.url("/echo.Echo/Say"))
        .header("content-type", content_type)
        .header("x-grpc-web", "1")
        .header("origin", origin)
        .body(Full::new(body).map_err(|never| match never {}).boxed())
        .unwrap();
    Client::http1().send(req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_web_call_reaches_an_h2c_grpc_upstream_and_its_trailers_come_back_in_the_body() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let gw = gateway(&grpc_upstream(seen.clone()).await);
    let reply = call(
        &gw,
        "application/grpc-web+proto",
        "https://app.example",
        grpc_frame(0, b"hello"),
    )
    .await;

    // The upstream got gRPC over HTTP/2, the message unchanged.
    let upstream = seen.lock().unwrap()[0].clone();
    assert_eq!(upstream.version, Version::HTTP_2);
    assert_eq!(
        upstream.headers.get("content-type").unwrap(),
        "application/grpc+proto"
    );
    assert_eq!(upstream.headers.get("te").unwrap(), "trailers");
    assert_eq!(grpc_messages(&upstream.body), vec![(0, b"hello".to_vec())]);

    // The client got gRPC-Web: the echoed message, then the trailers as a 0x80 frame.
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/grpc-web+proto")
    );
    let frames = grpc_messages(&reply.body);
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(frames[0], (0, b"re:hello".to_vec()));
    assert_trailer_frame(
        &frames[1],
        &["grpc-status: 0\r\n", "grpc-message: echoed 1\r\n"],
    );

    // CORS for the allowed origin.
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let exposed = reply.header("access-control-expose-headers").unwrap_or("");
    assert!(exposed.contains("grpc-status"), "{exposed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_web_text_call_is_decoded_for_the_upstream_and_its_answer_encoded() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let gw = gateway(&grpc_upstream(seen.clone()).await);
    // Two messages, each base64-encoded on its own (padded segments back to back).
    let body = format!(
        "{}{}",
        STANDARD.encode(grpc_frame(0, b"one")),
        STANDARD.encode(grpc_frame(0, b"two!"))
    );
    // Not an allowed origin: the call still goes through, without CORS headers.
    let reply = call(
        &gw,
        "application/grpc-web-text",
        "https://elsewhere.example",
        Bytes::from(body),
    )
    .await;

    let upstream = seen.lock().unwrap()[0].clone();
    assert_eq!(
        upstream.headers.get("content-type").unwrap(),
        "application/grpc"
    );
    assert_eq!(
        grpc_messages(&upstream.body),
        vec![(0, b"one".to_vec()), (0, b"two!".to_vec())]
    );

    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/grpc-web-text+proto")
    );
    assert_eq!(reply.header("access-control-allow-origin"), None);
    let frames = grpc_messages(&decode_segments(&reply.body));
    assert_eq!(frames[0], (0, b"re:one".to_vec()));
    assert_eq!(frames[1], (0, b"re:two!".to_vec()));
    assert_trailer_frame(&frames[2], &["grpc-message: echoed 2\r\n"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cors_preflight_is_answered_for_allowed_origins_only() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let gw = gateway(&grpc_upstream(seen.clone()).await);
    let preflight = |origin: &'static str| {
        Request::builder()
            .method("OPTIONS")
            .uri(gw.url("/echo.Echo/Say"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-grpc-web")
            .body(crate::support::client::empty())
            .unwrap()
    };
    let client = Client::http1();
    let allowed = client.send(preflight("https://app.example")).await;
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(
        allowed.header("access-control-allow-headers"),
        Some("content-type,x-grpc-web")
    );
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    let refused = client.send(preflight("https://evil.example")).await;
    assert_eq!(refused.status, 200);
    assert_eq!(refused.header("access-control-allow-origin"), None);
    assert!(
        seen.lock().unwrap().is_empty(),
        "preflights never reach the upstream"
    );
}

#[test]
fn grpc_web_config_errors_are_located() {
    let yaml = Config::new()
        .route_through("r", "PathPrefix(`/`)", "app", "web")
        .service("app", "h2c://127.0.0.1:9")
        .middlewares("    web:\n      grpcWeb:\n        allowOrigin: [\"*\"]\n")
        .yaml();
    let (ok, _, stderr) = check_config(&yaml, &[]);
    assert!(!ok, "{stderr}");
    let line = yaml
        .lines()
        .position(|l| l.contains("allowOrigin:"))
        .unwrap()
        + 1;
    let errors = located_errors(&stderr);
    assert!(
        errors.iter().any(
            |e| e.starts_with(&format!("{line}: http.middlewares.web.grpcWeb"))
                && e.contains("allowOrigin")
        ),
        "{errors:?}"
    );
}

/// A streaming gRPC server over h2c: answers at once, then echoes each request message as it
/// arrives (`re:` prefix), and sends the trailers (`grpc-message: echoed N`) when the request
/// body ends.
async fn streaming_upstream() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| async move {
                    let (tx, rx) = tokio::sync::mpsc::channel::<Frame<Bytes>>(4);
                    tokio::spawn(async move {
                        let mut body = req.into_body();
                        let (mut pending, mut echoed) = (Vec::new(), 0);
                        while let Some(Ok(frame)) = body.frame().await {
                            let Ok(data) = frame.into_data() else {
                                continue;
                            };
                            pending.extend_from_slice(&data);
                            while pending.len() >= 5 {
                                let len = u32::from_be_bytes([
                                    pending[1], pending[2], pending[3], pending[4],
                                ]) as usize;
                                if pending.len() < 5 + len {
                                    break;
                                }
                                let message: Vec<u8> = pending.drain(..5 + len).skip(5).collect();
                                let echo = grpc_frame(0, &[b"re:", &message[..]].concat());
                                echoed += 1;
                                if tx.send(Frame::data(echo)).await.is_err() {
                                    return;
                                }
                            }
                        }
                        let mut trailers = HeaderMap::new();
                        trailers.insert("grpc-status", HeaderValue::from_static("0"));
                        let message = format!("echoed {echoed}");
                        trailers.insert("grpc-message", HeaderValue::from_str(&message).unwrap());
                        let _ = tx.send(Frame::trailers(trailers)).await;
                    });
                    let frames = futures_util::stream::unfold(rx, |mut rx| async move {
                        rx.recv()
                            .await
                            .map(|frame| (Ok::<_, Infallible>(frame), rx))
                    });
                    let mut resp = Response::new(StreamBody::new(frames));
                    resp.headers_mut().insert(
                        "content-type",
                        HeaderValue::from_static("application/grpc+proto"),
                    );
                    Ok::<_, Infallible>(resp)
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("h2c://{addr}")
}

/// Reads the response body until `want` bytes have arrived (or it ends).
async fn read_at_least(body: &mut Incoming, got: &mut Vec<u8>, want: usize) {
    while got.len() < want {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    got.extend_from_slice(&data);
                }
            }
            _ => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_web_stream_is_translated_message_by_message_both_ways_without_being_held() {
    let gw = gateway(&streaming_upstream().await);
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(2);
    let frames = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|data| {
            (
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Frame::data(data)),
                rx,
            )
        })
    });
    let req = Request::builder()
        .method("POST")
        .uri(gw.url("/echo.Echo/Chat"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(StreamBody::new(frames).boxed())
        .unwrap();
    tx.send(grpc_frame(0, b"one")).await.unwrap();
    let client = Client::http1();
    let resp = client.raw().request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/grpc-web+proto"
    );
    let mut body = resp.into_body();
    let mut got = Vec::new();
    // The first echo arrives while the request body is still open: nothing waits for its end.
    let first = grpc_frame(0, b"re:one");
    read_at_least(&mut body, &mut got, first.len()).await;
    assert_eq!(&got[..], &first[..]);

    tx.send(grpc_frame(0, b"two")).await.unwrap();
    let second = grpc_frame(0, b"re:two");
    read_at_least(&mut body, &mut got, first.len() + second.len()).await;
    assert_eq!(&got[first.len()..], &second[..]);

    // The request ends; the trailers come back as the body's last frame.
    drop(tx);
    read_at_least(&mut body, &mut got, usize::MAX).await;
    let frames = grpc_messages(&got);
    assert_eq!(frames.len(), 3, "{frames:?}");
    assert_trailer_frame(&frames[2], &["grpc-message: echoed 2\r\n"]);
}

/// The `grpc-web` import through a user plugin built with the SDK (`tests/plugins/grpc-web-binary`),
/// with a policy of its own: a binary call is translated by the gateway's codec as with the
/// bundled plugin, a text call is refused before the upstream sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_plugin_picks_the_grpc_web_codec_with_a_policy_of_its_own() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let gw = Gateway::start(
        &Config::new()
            .plugin_dir()
            .route_through("grpc", "PathPrefix(`/`)", "app", "mine")
            .service("app", &grpc_upstream(seen.clone()).await)
            .middlewares("    mine:\n      plugin: { name: grpc-web-binary }\n")
            .yaml(),
        &[(
            "grpc-web-binary",
            crate::support::fixture_wasm("fixture_grpc_web_binary"),
        )],
    );
    let reply = call(&gw, "application/grpc-web+proto", "", grpc_frame(0, b"hi")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/grpc-web+proto")
    );
    let frames = grpc_messages(&reply.body);
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(frames[0], (0, b"re:hi".to_vec()));
    assert_eq!(
        frames[1].0, 0x80,
        "the trailers as the gRPC-Web trailer frame"
    );
    assert_eq!(reply.header("access-control-allow-origin"), None);
    {
        let upstream = seen.lock().unwrap();
        assert_eq!(upstream.len(), 1);
        assert_eq!(
            upstream[0].headers.get("content-type").unwrap(),
            "application/grpc+proto"
        );
    }

    let text = STANDARD.encode(grpc_frame(0, b"no"));
    let reply = call(&gw, "application/grpc-web-text", "", Bytes::from(text)).await;
    assert_eq!(reply.status, 415);
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "the text call never reached the upstream"
    );
}
