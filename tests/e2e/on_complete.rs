//! The `on-complete` hook (`completion` in the contract): called once per request after the
//! response body went out, the client went away or the upstream failed, with status, bytes and
//! ending; a trap in it fails nothing; a middleware that declines it is not called; and
//! `inFlightReq`, which asks for it, holds its slot until the response body has ended.
//!
//! The `on-complete` fixture logs each outcome; the tests await those lines in the gateway's
//! log. A paused upstream (raw TCP, below) sends a head and a first chunk, then waits for the
//! test's word before it ends the body, so "the body is still streaming" is a state the test
//! holds, not a time it guesses.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use crate::support::{Client, Config, Gateway, Upstream, UpstreamBehavior, fixture_wasm};

/// An HTTP/1.1 upstream that answers each request with a chunked 200 whose first chunk is
/// `first`, then holds the body open until the test sends on the request's `finish` channel,
/// and ends it with `last`.
struct PausedUpstream {
    url: String,
    /// One `finish` sender per request, in arrival order, sent once its head and first chunk
    /// are written.
    started: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
}

impl PausedUpstream {
    async fn start() -> PausedUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, started) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_paused(stream, tx.clone()));
            }
        });
        PausedUpstream { url, started }
    }

    /// Awaits the next request's head and first chunk being sent; the sender ends its body.
    async fn next(&mut self) -> oneshot::Sender<()> {
        tokio::time::timeout(Duration::from_secs(20), self.started.recv())
            .await
            .expect("a request reached the upstream")
            .expect("upstream running")
    }
}

async fn serve_paused(mut stream: TcpStream, started: mpsc::UnboundedSender<oneshot::Sender<()>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let first = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n";
    if stream.write_all(first).await.is_err() {
        return;
    }
    let (finish, finished) = oneshot::channel();
    if started.send(finish).is_err() {
        return;
    }
    // Ended by the test, or dropped with the test's sender: end the body either way.
    let _ = finished.await;
    let _ = stream.write_all(b"4\r\nlast\r\n0\r\n\r\n").await;
    let _ = stream.flush().await;
}

/// A client that sends `GET path` on a raw connection and reads until the first chunk of the
/// body has arrived; the connection stays open (dropping it is the client going away).
async fn get_until_first_chunk(gw: &Gateway, path: &str) -> TcpStream {
    let mut conn = TcpStream::connect(gw.addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nhost: app.test\r\n\r\n");
    conn.write_all(req.as_bytes()).await.expect("send");
    let seen = read_until(&mut conn, b"first").await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    conn
}

/// Reads from `conn` until `needle` has arrived; what was read.
async fn read_until(conn: &mut TcpStream, needle: &[u8]) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(needle.len()).any(|w| w == needle) {
        let n = tokio::time::timeout(Duration::from_secs(20), conn.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read");
        let text = String::from_utf8_lossy(&seen);
        assert!(
            n > 0,
            "closed before {:?}: {text:?}",
            String::from_utf8_lossy(needle)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

fn gateway(upstream_url: &str, middlewares: &str, chain: &str) -> Gateway {
    // A 2 s plugin deadline instead of 50 ms: a call starved of CPU on a loaded machine must
    // not turn into a failure these tests would misread.
    let yaml = Config::new()
        .plugin_dir()
        .route_through("r", "PathPrefix(`/`)", "app", chain)
        .service("app", upstream_url)
        .middlewares(middlewares)
        .yaml()
        .replace(
            "plugins:\n  directory: plugins\n",
            "plugins:\n  directory: plugins\n  defaults:\n    deadline: 2s\n",
        );
    Gateway::start(
        &yaml,
        &[("on-complete", fixture_wasm("fixture_on_complete"))],
    )
}

const LOGGING: &str = "    done:\n      plugin: { name: on-complete, config: log }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_complete_reports_the_status_bytes_and_ending_once_the_body_went_out() {
    let up = Upstream::start_with("app", UpstreamBehavior::BigBody(300_000)).await;
    let gw = gateway(&up.url(), LOGGING, "done");
    let reply = Client::http1().get(&gw.url("/big"), "", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), 300_000);
    assert!(
        gw.wait_for_log("on-complete path=/big status=200 bytes=300000 ending=complete"),
        "{}",
        gw.log()
    );
    assert_eq!(gw.log_count("on-complete path=/big "), 1, "{}", gw.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_complete_reports_a_dead_upstream_and_a_client_gone_mid_body() {
    // Nothing listens on a port just released: the gateway answers 502 itself.
    let dead = format!("http://127.0.0.1:{}", crate::support::free_port());
    let gw = gateway(&dead, LOGGING, "done");
    let reply = Client::http1().get(&gw.url("/dead"), "", &[]).await;
    assert_eq!(reply.status, 502);
    let line = format!(
        "on-complete path=/dead status=502 bytes={} ending=upstream-failed",
        reply.body.len()
    );
    assert!(gw.wait_for_log(&line), "{}", gw.log());
    drop(gw);

    let mut up = PausedUpstream::start().await;
    let gw = gateway(&up.url, LOGGING, "done");
    let conn = get_until_first_chunk(&gw, "/gone").await;
    let finish = up.next().await;
    drop(conn);
    assert!(
        gw.wait_for_log("on-complete path=/gone status=200 bytes=5 ending=client-gone"),
        "{}",
        gw.log()
    );
    drop(finish);
    assert_eq!(gw.log_count("on-complete path=/gone "), 1, "{}", gw.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_in_on_complete_fails_nothing_and_a_declining_middleware_is_not_called() {
    let up = Upstream::start("app").await;
    let middlewares = "    trapping:\n      plugin: { name: on-complete, config: trap }\n    \
                       quiet:\n      plugin: { name: on-complete, config: \"off\" }\n";
    let gw = gateway(&up.url(), middlewares, "quiet, trapping");
    let client = Client::http1();
    for _ in 0..3 {
        let reply = client.get(&gw.url("/t"), "", &[]).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.text(), "app");
    }
    // Each request's on-complete trapped (and was logged as a plugin failure) after its
    // response had gone out whole.
    assert!(gw.wait_for_log("on-complete trap"), "{}", gw.log());
    let deadline = Instant::now() + Duration::from_secs(20);
    while gw.log_count("on-complete trap") < 3 {
        assert!(Instant::now() < deadline, "{}", gw.log());
        assert!(gw.wait_for_log("plugin failed"), "{}", gw.log());
    }
    // `quiet` declined the hook: it never logs an outcome.
    assert_eq!(gw.log_count("on-complete path="), 0, "{}", gw.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_req_holds_its_slot_until_the_response_body_has_ended() {
    let mut up = PausedUpstream::start().await;
    let gw = gateway(
        &up.url,
        "    one:\n      inFlightReq:\n        amount: 1\n",
        "one",
    );
    let client = Client::http1();

    // Every request comes from one source (inFlightReq counts per host by default).
    // The first request's body is streaming (head and first chunk out, the rest held back by
    // the upstream): its slot is still taken.
    let mut first = get_until_first_chunk(&gw, "/slow").await;
    let finish = up.next().await;
    let (refused, _) = status_line(&gw).await;
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    let refused = client.get(&gw.url("/other"), "app.test", &[]).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.text(), "max connections reached: 1");

    // The body ends: the slot comes back (released right after on-complete, on its own task).
    finish.send(()).expect("upstream waiting");
    let rest = read_until(&mut first, b"0\r\n\r\n").await;
    assert!(rest.contains("last"), "{rest}");
    let (second, conn) = admitted_once_freed(&gw, &mut up).await;
    finish_and_read_to_end(second, conn).await;

    // A client that goes away mid-body frees its slot too (the upstream still holds the body
    // open).
    let (held, gone) = admitted_once_freed(&gw, &mut up).await;
    let (refused, _) = status_line(&gw).await;
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    drop(gone);
    let (third, conn) = admitted_once_freed(&gw, &mut up).await;
    finish_and_read_to_end(third, conn).await;
    drop(held);
}

/// Lets the upstream end an admitted request's body and reads it to its last chunk.
async fn finish_and_read_to_end(finish: oneshot::Sender<()>, mut conn: TcpStream) {
    finish.send(()).expect("upstream waiting");
    read_until(&mut conn, b"0\r\n\r\n").await;
}

/// Sends requests until one is admitted (the slot is freed by a task of the gateway's, right
/// after the previous exchange ended: a refusal or two may come first); returns the admitted
/// request's `finish` and its connection, its body still open at the upstream.
async fn admitted_once_freed(
    gw: &Gateway,
    up: &mut PausedUpstream,
) -> (oneshot::Sender<()>, TcpStream) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, conn) = status_line(gw).await;
        if status.starts_with("HTTP/1.1 200") {
            return (up.next().await, conn);
        }
        assert!(status.starts_with("HTTP/1.1 429"), "{status}");
        assert!(Instant::now() < deadline, "the slot was never freed");
    }
}

/// Sends `GET /next` (host `app.test`) on a new connection and reads the first bytes of the
/// answer (its status line); the connection stays open with the caller.
async fn status_line(gw: &Gateway) -> (String, TcpStream) {
    let mut conn = TcpStream::connect(gw.addr).await.expect("connect");
    conn.write_all(b"GET /next HTTP/1.1\r\nhost: app.test\r\n\r\n")
        .await
        .expect("send");
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(20), conn.read(&mut buf))
        .await
        .expect("an answer in time")
        .expect("read");
    (String::from_utf8_lossy(&buf[..n]).into_owned(), conn)
}
