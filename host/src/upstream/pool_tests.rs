//! The pool against real loopback servers: reuse of a returned connection, a request sent
//! again when its pooled connection turns out closed, `maxIdleConnsPerHost` and `maxConnsPerHost`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::body::empty;
use super::settings::{TransportSettings, UpstreamProtocol};
use super::transport::{UpstreamTarget, UpstreamTransport};

fn transport(max_idle: usize, max_conns: Option<usize>) -> UpstreamTransport {
    UpstreamTransport::new(&TransportSettings {
        dial_timeout: Duration::from_secs(10),
        response_header_timeout: None,
        idle_conn_timeout: Duration::from_secs(90),
        max_idle_conns_per_host: max_idle,
        max_conns_per_host: max_conns,
        tls: None,
        http2: Default::default(),
    })
}

fn target(t: &UpstreamTransport, authority: &Authority) -> UpstreamTarget {
    t.target(&Scheme::HTTP, authority, UpstreamProtocol::Http1)
}

/// A keep-alive HTTP/1.1 server answering `ok`, counting the connections it accepted.
async fn counting_server(accepted: Arc<AtomicUsize>) -> Authority {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let svc = service_fn(|_req: Request<hyper::body::Incoming>| async {
                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                        Bytes::from_static(b"ok"),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr.to_string().parse().unwrap()
}

async fn get(t: &UpstreamTransport, target: &UpstreamTarget) -> (StatusCode, Bytes) {
    let req = Request::builder().uri("/x").body(empty()).unwrap();
    let resp = t.send_to(target, false, req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

/// Yields to the runtime until `cond` holds (each connection task gets to run).
async fn until(what: &str, cond: impl Fn() -> bool) {
    let wait = async {
        while !cond() {
            tokio::task::yield_now().await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .is_err()
    {
        panic!("{what}: not within 10 s");
    }
}

#[tokio::test]
async fn a_connection_comes_back_idle_after_its_response_and_is_reused() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let authority = counting_server(accepted.clone()).await;
    let t = transport(8, None);
    let target = target(&t, &authority);
    for _ in 0..3 {
        assert_eq!(
            get(&t, &target).await,
            (StatusCode::OK, Bytes::from_static(b"ok"))
        );
        until("the connection is idle again", || {
            target.idle_connections() == 1
        })
        .await;
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one connection for all requests"
    );
}

#[tokio::test]
async fn at_most_max_idle_connections_are_kept() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let authority = counting_server(accepted.clone()).await;
    let t = transport(1, None);
    let target = target(&t, &authority);
    let (a, b) = tokio::join!(get(&t, &target), get(&t, &target));
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK));
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    until("one connection is idle", || target.idle_connections() == 1).await;
    assert_eq!(target.idle_connections(), 1);
}

/// A server that answers each connection's first request with keep-alive, then closes it.
async fn one_shot_server(
    accepted: Arc<AtomicUsize>,
    closed: Arc<tokio::sync::Notify>,
) -> Authority {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::SeqCst);
            let closed = closed.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
                drop(stream);
                closed.notify_one();
            });
        }
    });
    addr.to_string().parse().unwrap()
}

#[tokio::test]
async fn a_request_on_a_pooled_connection_the_server_closed_is_sent_on_a_new_one() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(tokio::sync::Notify::new());
    let authority = one_shot_server(accepted.clone(), closed.clone()).await;
    let t = transport(8, None);
    let target = target(&t, &authority);
    for round in 1..=3 {
        assert_eq!(
            get(&t, &target).await,
            (StatusCode::OK, Bytes::from_static(b"ok"))
        );
        closed.notified().await;
        assert_eq!(accepted.load(Ordering::SeqCst), round);
    }
}

/// A server that answers each connection's first request with keep-alive, then reads the
/// second one whole and closes without answering: the race of an upstream closing an idle
/// connection just as a request goes out on it, made certain.
async fn closes_on_the_second_request_server(accepted: Arc<AtomicUsize>) -> Authority {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                for answer in [true, false] {
                    let mut head = Vec::new();
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    if answer {
                        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        let _ = stream.write_all(ok).await;
                    }
                }
            });
        }
    });
    addr.to_string().parse().unwrap()
}

#[tokio::test]
async fn a_get_on_a_pooled_connection_the_server_closes_without_answering_is_sent_on_a_new_one() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let authority = closes_on_the_second_request_server(accepted.clone()).await;
    let t = transport(8, None);
    let target = target(&t, &authority);
    let ok = (StatusCode::OK, Bytes::from_static(b"ok"));
    assert_eq!(get(&t, &target).await, ok);
    until("the connection back idle", || {
        target.idle_connections() == 1
    })
    .await;
    // Sent on the pooled connection, which the server closes unanswered: sent again, once, on
    // a new connection.
    assert_eq!(get(&t, &target).await, ok);
    assert_eq!(accepted.load(Ordering::SeqCst), 2);

    // A POST is not sent twice: the server may have acted on it.
    until("the new connection back idle", || {
        target.idle_connections() == 1
    })
    .await;
    let post = Request::builder()
        .method("POST")
        .uri("/x")
        .body(empty())
        .unwrap();
    assert!(t.send_to(&target, false, post).await.is_err());
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn max_conns_per_host_queues_requests_until_a_connection_comes_back() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let authority = counting_server(accepted.clone()).await;
    let t = transport(8, Some(1));
    let target = target(&t, &authority);
    let results = futures_util::future::join_all((0..4).map(|_| get(&t, &target))).await;
    for r in results {
        assert_eq!(r, (StatusCode::OK, Bytes::from_static(b"ok")));
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one connection at the cap of 1"
    );
}

/// An h2c server answering with the request's HTTP version, counting connections.
async fn h2c_server(accepted: Arc<AtomicUsize>) -> Authority {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let svc = service_fn(|req: Request<hyper::body::Incoming>| async move {
                    let body = format!("{:?}", req.version());
                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(
                        body,
                    ))))
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr.to_string().parse().unwrap()
}

#[tokio::test]
async fn h2c_requests_share_one_connection() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let authority = h2c_server(accepted.clone()).await;
    let t = transport(8, None);
    let target = t.target(&Scheme::HTTP, &authority, UpstreamProtocol::H2c);
    let (a, b) = tokio::join!(get(&t, &target), get(&t, &target));
    assert_eq!(a, (StatusCode::OK, Bytes::from_static(b"HTTP/2.0")));
    assert_eq!(b.0, StatusCode::OK);
    let c = get(&t, &target).await;
    assert_eq!(c.0, StatusCode::OK);
    assert!(
        accepted.load(Ordering::SeqCst) <= 2,
        "the connection is shared"
    );
}

#[tokio::test]
async fn h2c_requests_waiting_at_max_conns_share_the_connection_once_it_is_up() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let authority = h2c_server(accepted.clone()).await;
    let t = transport(8, Some(1));
    let target = t.target(&Scheme::HTTP, &authority, UpstreamProtocol::H2c);
    let results = futures_util::future::join_all((0..4).map(|_| get(&t, &target))).await;
    for r in results {
        assert_eq!(r, (StatusCode::OK, Bytes::from_static(b"HTTP/2.0")));
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let svc = service_fn(|_req: Request<hyper::body::Incoming>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from_static(
                b"ok",
            ))))
        });
        // Ends when the client closes the connection.
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), svc)
            .await;
        let _ = closed_tx.send(());
    });
    let t = UpstreamTransport::new(&TransportSettings {
        dial_timeout: Duration::from_secs(10),
        response_header_timeout: None,
        idle_conn_timeout: Duration::from_millis(50),
        max_idle_conns_per_host: 8,
        max_conns_per_host: None,
        tls: None,
        http2: Default::default(),
    });
    let authority: Authority = addr.to_string().parse().unwrap();
    let target = target(&t, &authority);
    assert_eq!(get(&t, &target).await.0, StatusCode::OK);
    tokio::time::timeout(Duration::from_secs(10), closed_rx)
        .await
        .expect("the reaper closes the idle connection")
        .unwrap();
    assert_eq!(target.idle_connections(), 0);
}

#[tokio::test]
async fn a_reloaded_transport_with_the_same_settings_keeps_the_idle_connections() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let authority = counting_server(accepted.clone()).await;
    let before = transport(8, None);
    let old = target(&before, &authority);
    assert_eq!(get(&before, &old).await.0, StatusCode::OK);
    until("the connection is idle", || old.idle_connections() == 1).await;
    // What a reload does: new transports from the same settings.
    let after = transport(8, None);
    let new = target(&after, &authority);
    assert_eq!(new.idle_connections(), 1, "the pool is the same");
    assert_eq!(get(&after, &new).await.0, StatusCode::OK);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "no new connection after the reload"
    );
    // Other settings: another pool.
    let other = transport(4, None);
    assert_eq!(target(&other, &authority).idle_connections(), 0);
}

#[test]
fn a_request_future_stays_small_whatever_dialling_needs() {
    let t = transport(8, None);
    let authority: Authority = "127.0.0.1:9".parse().unwrap();
    let target = target(&t, &authority);
    let fut = t.send_to(&target, false, Request::new(empty()));
    // Dialling is boxed: the per-request future holds the send, not the TLS handshake.
    assert!(
        std::mem::size_of_val(&fut) < 2048,
        "{} bytes",
        std::mem::size_of_val(&fut)
    );
}
