//! Protocols that need more than request/response: a WebSocket session through the gateway
//! (real client and server, tokio-tungstenite: frames both ways, close propagated) and
//! gRPC-style HTTP/2 streaming to an `h2c://` upstream (length-prefixed messages echoed while
//! the request still streams, `grpc-status` trailers intact).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::support::client::Client;
use crate::support::{Config, Gateway};

/// Bounds every step of these tests (a hang guard, not a timing assertion).
async fn guard<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no progress within 10 s"))
}

fn gateway_to(url: &str) -> Gateway {
    Gateway::start(
        &Config::new()
            .route("r", "PathPrefix(`/`)", "app")
            // The same upstream behind a plugin chain: the upgrade must survive the middlewares.
            .route_through("chained", "PathPrefix(`/chained`)", "app", "hdrs")
            .service("app", url)
            .middlewares(
                "    hdrs:\n      headers:\n        customRequestHeaders: { X-Through-Chain: \"1\" }\n",
            )
            .yaml(),
        &[],
    )
}

/// What the WebSocket server observed.
#[derive(Default)]
struct WsLog {
    path: String,
    close: Option<(u16, String)>,
}

/// Echoes every text and binary message; after the text "push", also sends "pushed" on its
/// own; records the close frame the client sent.
async fn websocket_server(log: Arc<Mutex<WsLog>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let log2 = log.clone();
        #[allow(clippy::result_large_err, reason = "tungstenite's callback signature")]
        let callback = move |req: &tokio_tungstenite::tungstenite::handshake::server::Request,
                             resp| {
            log2.lock().unwrap().path = req.uri().path().to_owned();
            Ok(resp)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(stream, callback)
            .await
            .unwrap();
        while let Some(Ok(msg)) = ws.next().await {
            match msg {
                Message::Text(t) => {
                    let push = t.as_str() == "push";
                    ws.send(Message::Text(t)).await.unwrap();
                    if push {
                        ws.send(Message::text("pushed")).await.unwrap();
                    }
                }
                Message::Binary(b) => ws.send(Message::Binary(b)).await.unwrap(),
                Message::Close(frame) => {
                    log.lock().unwrap().close =
                        frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                }
                _ => {}
            }
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_session_echoes_both_ways_through_the_gateway_and_close_propagates() {
    let log = Arc::new(Mutex::new(WsLog::default()));
    let upstream = websocket_server(log.clone()).await;
    let gw = gateway_to(&upstream);
    let (mut ws, resp) = guard(
        "handshake",
        tokio_tungstenite::connect_async(format!("ws://{}/chat", gw.addr)),
    )
    .await
    .expect("the upgrade passes through the gateway");
    assert_eq!(resp.status(), 101);

    ws.send(Message::text("hello")).await.unwrap();
    let echo = guard("text echo", ws.next()).await.unwrap().unwrap();
    assert_eq!(echo, Message::text("hello"));
    ws.send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    let echo = guard("binary echo", ws.next()).await.unwrap().unwrap();
    assert_eq!(echo, Message::binary(vec![0u8, 1, 2, 255]));
    ws.send(Message::text("push")).await.unwrap();
    assert_eq!(
        guard("echo", ws.next()).await.unwrap().unwrap(),
        Message::text("push")
    );
    let pushed = guard("server push", ws.next()).await.unwrap().unwrap();
    assert_eq!(pushed, Message::text("pushed"));

    let close = CloseFrame {
        code: CloseCode::Normal,
        reason: "done".into(),
    };
    ws.close(Some(close)).await.unwrap();
    // The server's close reply comes back, then the stream ends.
    loop {
        match guard("close reply", ws.next()).await {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    guard("server saw the close", async {
        while log.lock().unwrap().close.is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let log = log.lock().unwrap();
    assert_eq!(log.close, Some((1000, "done".to_string())));
    assert_eq!(log.path, "/chat");
}

/// A body fed frame by frame from a channel (both directions of the gRPC-style tests).
struct ChannelBody(mpsc::Receiver<Frame<Bytes>>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|f| f.map(Ok))
    }
}

/// A gRPC message: compression flag 0, big-endian length, payload.
fn grpc_message(payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + payload.len());
    b.put_u8(0);
    b.put_u32(payload.len() as u32);
    b.put_slice(payload);
    b.freeze()
}

/// An HTTP/2 (prior knowledge) server that answers at once and echoes each request data
/// frame as it arrives, then ends with `grpc-status: 0` and a count of the echoed frames in
/// the trailers. Records the request headers.
async fn grpc_echo_server(seen: Arc<Mutex<Option<HeaderMap>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    *seen.lock().unwrap() = Some(req.headers().clone());
                    let (tx, rx) = mpsc::channel(16);
                    tokio::spawn(async move {
                        let mut body = req.into_body();
                        let mut echoed = 0u32;
                        while let Some(Ok(frame)) = body.frame().await {
                            // An empty DATA frame may carry END_STREAM: not a message.
                            if let Ok(data) = frame.into_data()
                                && !data.is_empty()
                            {
                                echoed += 1;
                                let _ = tx.send(Frame::data(data)).await;
                            }
                        }
                        let mut trailers = HeaderMap::new();
                        trailers.insert("grpc-status", HeaderValue::from_static("0"));
                        trailers.insert("grpc-message", HeaderValue::from_static("ok"));
                        trailers.insert("x-echoed", HeaderValue::from(echoed));
                        let _ = tx.send(Frame::trailers(trailers)).await;
                    });
                    let mut resp = Response::new(ChannelBody(rx));
                    resp.headers_mut()
                        .insert("content-type", HeaderValue::from_static("application/grpc"));
                    async move { Ok::<_, Infallible>(resp) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("h2c://{addr}")
}

fn grpc_request(
    gw: &Gateway,
    rx: mpsc::Receiver<Frame<Bytes>>,
) -> Request<crate::support::client::Body> {
    Request::builder()
        .method("POST")
        .uri(gw.url("/echo.Echo/Chat"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(ChannelBody(rx).map_err(|never| match never {}).boxed())
        .unwrap()
}

/// The next data frame of `body`, skipping nothing else.
async fn next_data(body: &mut Incoming) -> Bytes {
    let frame = guard("a response frame", body.frame())
        .await
        .unwrap()
        .unwrap();
    frame.into_data().expect("a data frame")
}

/// The trailers that end `body`.
async fn trailers(body: &mut Incoming) -> HeaderMap {
    loop {
        let frame = guard("the trailers", body.frame())
            .await
            .expect("trailers")
            .unwrap();
        if let Ok(t) = frame.into_trailers() {
            return t;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_style_bidirectional_stream_flows_through_an_h2c_upstream_with_trailers_intact() {
    let seen = Arc::new(Mutex::new(None));
    let gw = gateway_to(&grpc_echo_server(seen.clone()).await);
    let client = Client::http2();
    let (tx, rx) = mpsc::channel(4);
    tx.send(Frame::data(grpc_message(b"one"))).await.unwrap();
    let resp = guard("response head", client.raw().request(grpc_request(&gw, rx)))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let mut body = resp.into_body();
    // Each reply arrives while the request is still open: streaming both ways.
    assert_eq!(next_data(&mut body).await, grpc_message(b"one"));
    tx.send(Frame::data(grpc_message(b"two"))).await.unwrap();
    assert_eq!(next_data(&mut body).await, grpc_message(b"two"));
    drop(tx);
    let t = trailers(&mut body).await;
    assert_eq!(t.get("grpc-status").unwrap(), "0");
    assert_eq!(t.get("grpc-message").unwrap(), "ok");
    assert_eq!(t.get("x-echoed").unwrap(), "2");
    let headers = seen.lock().unwrap().clone().unwrap();
    assert_eq!(headers.get("te").unwrap(), "trailers");
    assert_eq!(headers.get("content-type").unwrap(), "application/grpc");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_style_unary_call_keeps_its_status_trailers() {
    let seen = Arc::new(Mutex::new(None));
    let gw = gateway_to(&grpc_echo_server(seen).await);
    let (tx, rx) = mpsc::channel(1);
    tx.send(Frame::data(grpc_message(b"ping"))).await.unwrap();
    drop(tx);
    let resp = guard(
        "unary call",
        Client::http2().raw().request(grpc_request(&gw, rx)),
    )
    .await
    .unwrap();
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/grpc"
    );
    let mut body = resp.into_body();
    assert_eq!(next_data(&mut body).await, grpc_message(b"ping"));
    let t = trailers(&mut body).await;
    assert_eq!(t.get("grpc-status").unwrap(), "0");
    assert_eq!(t.get("x-echoed").unwrap(), "1");
}

/// Regression: on a route with middlewares the request head went upstream as a copy without
/// the client's upgrade handle, so the 101 could not be spliced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_upgrade_passes_through_a_plugin_chain() {
    let log = Arc::new(Mutex::new(WsLog::default()));
    let upstream = websocket_server(log.clone()).await;
    let gw = gateway_to(&upstream);
    let (mut ws, resp) = guard(
        "handshake",
        tokio_tungstenite::connect_async(format!("ws://{}/chained", gw.addr)),
    )
    .await
    .expect("the upgrade passes through the chain");
    assert_eq!(resp.status(), 101);
    ws.send(Message::text("through the chain")).await.unwrap();
    let echo = guard("echo", ws.next()).await.unwrap().unwrap();
    assert_eq!(echo, Message::text("through the chain"));
    assert_eq!(log.lock().unwrap().path, "/chained");
}
