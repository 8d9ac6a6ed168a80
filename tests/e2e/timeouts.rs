//! Client-side timeouts of an entrypoint: idle keep-alive connections are closed
//! (`respondingTimeouts.idleTimeout`) without cutting a request in flight; a request body that
//! stalls (`limits.bodyReadTimeout`) or takes too long overall (`respondingTimeouts.readTimeout`)
//! gets 408 and never reaches the upstream as a complete request; the overall request deadline
//! (`respondingTimeouts.writeTimeout`) answers 504 before the response head and aborts a body
//! still streaming after it.
//!
//! Every wait below is a generous guard against a hung test, never an assertion on time.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{Config, Gateway, Upstream, UpstreamBehavior};

/// Longest any single wait in these tests may take before the test gives up.
const GUARD: Duration = Duration::from_secs(20);

fn gateway(upstream: &str, transport: &str) -> Gateway {
    Gateway::single_route(upstream, &format!("transport: {transport}"))
}

/// Reads one HTTP/1.1 response with a `Content-Length` body from `s`; returns the status line
/// and the body. Panics (test failure) if the connection closes before the response is complete.
async fn read_response(s: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = tokio::time::timeout(GUARD, s.read(&mut chunk))
                    .await
                    .expect("body in time")
                    .expect("read");
                assert!(n > 0, "connection closed mid-body");
                buf.extend_from_slice(&chunk[..n]);
            }
            let status = head.lines().next().unwrap_or("").to_owned();
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return (status, body);
        }
        let n = tokio::time::timeout(GUARD, s.read(&mut chunk))
            .await
            .expect("response in time")
            .expect("read");
        assert!(n > 0, "connection closed before a response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads until the peer closes the connection (EOF or reset); returns everything read. Fails
/// the test if the connection is still open after [`GUARD`].
async fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout(GUARD, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&chunk[..n]),
            Err(_) => panic!(
                "the gateway kept the connection open; read so far: {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up.url(), "{ respondingTimeouts: { idleTimeout: 300ms } }");
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let (status, body) = read_response(&mut s).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(body, b"app");
    // Then nothing: the gateway closes the idle connection by itself, sending nothing more.
    let rest = read_until_closed(&mut s).await;
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    assert_eq!(up.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_keep_alive_connection_is_not_closed_by_the_idle_timeout() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up.url(), "{ respondingTimeouts: { idleTimeout: 5s } }");
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    for i in 0..8 {
        s.write_all(format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let (status, _) = read_response(&mut s).await;
        assert!(status.starts_with("HTTP/1.1 200"), "request {i}: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(up.count(), 8, "all eight on one connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_lets_a_slow_request_in_flight_finish() {
    let up =
        Upstream::start_with("slow", UpstreamBehavior::Slow(Duration::from_millis(1500))).await;
    let gw = gateway(&up.url(), "{ respondingTimeouts: { idleTimeout: 200ms } }");
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    // No bytes move for 1.5 s while the upstream thinks: the idle timer fires, but the
    // shutdown is graceful: the response still arrives whole, then the connection closes.
    let (status, body) = read_response(&mut s).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(body, b"slow");
    assert!(read_until_closed(&mut s).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_body_gets_408_and_never_reaches_the_upstream() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up.url(), "{ limits: { bodyReadTimeout: 300ms } }");
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .unwrap();
    // ... and then the client sends nothing more.
    let reply = read_until_closed(&mut s).await;
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert_eq!(
        up.count(),
        0,
        "an incomplete body is never a request upstream"
    );
    // The gateway still serves others.
    let mut other = TcpStream::connect(gw.addr).await.unwrap();
    other
        .write_all(b"POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
        .await
        .unwrap();
    let (status, _) = read_response(&mut other).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(up.count(), 1);
    assert_eq!(up.last().body_len, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_trickled_past_the_read_timeout_gets_408() {
    let up = Upstream::start("app").await;
    // The inactivity timeout is off; each byte comes well within any pause limit, but the
    // whole body takes far longer than readTimeout.
    let gw = gateway(
        &up.url(),
        "{ respondingTimeouts: { readTimeout: 1s }, limits: { bodyReadTimeout: 0 } }",
    );
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
        .await
        .unwrap();
    let (mut rd, mut wr) = s.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if wr.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(GUARD, rd.read_to_end(&mut reply)).await;
    trickle.abort();
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert_eq!(
        up.count(),
        0,
        "an incomplete body is never a request upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_deadline_answers_504_when_the_upstream_is_too_slow() {
    let up = Upstream::start_with("slow", UpstreamBehavior::Slow(Duration::from_secs(30))).await;
    let gw = gateway(&up.url(), "{ respondingTimeouts: { writeTimeout: 500ms } }");
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let (status, _) = read_response(&mut s).await;
    assert!(status.starts_with("HTTP/1.1 504"), "{status}");
}

/// An upstream that sends a response head and 10 of the 1000 promised bytes, then holds the
/// connection open without sending more.
async fn stalling_upstream() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
                    .await;
                tokio::time::sleep(Duration::from_secs(60)).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_deadline_aborts_a_response_body_still_streaming() {
    let up = stalling_upstream().await;
    let gw = gateway(
        &format!("http://{up}"),
        "{ respondingTimeouts: { writeTimeout: 800ms } }",
    );
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let reply = read_until_closed(&mut s).await;
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    assert!(
        body.len() < 1000,
        "the client must see an aborted body, not a complete one: {} bytes",
        body.len()
    );
}

#[test]
fn responding_timeouts_are_checked_at_load() {
    let (ok, _, stderr) = crate::support::check_config(
        &Config::new()
            .entrypoint(
                r#"
    transport:
      respondingTimeouts: { readTimeout: 5s, writeTimeout: 0, idleTimeout: 1m }
      limits: { bodyReadTimeout: "soon" }
"#,
            )
            .yaml(),
        &[],
    );
    assert!(!ok, "an unparsable duration is a config error");
    assert!(stderr.contains("bodyReadTimeout"), "{stderr}");
    let (ok, _, stderr) = crate::support::check_config(
        &Config::new()
            .entrypoint("transport: { respondingTimeouts: { readTimout: 5s } }")
            .yaml(),
        &[],
    );
    assert!(!ok, "a misspelt key is a config error");
    assert!(stderr.contains("readTimout"), "{stderr}");
    // Key case does not matter, as in Traefik: `readTimeOut` is `readTimeout`.
    let (ok, _, stderr) = crate::support::check_config(
        &Config::new()
            .entrypoint("transport: { respondingTimeouts: { readTimeOut: 5s } }")
            .yaml(),
        &[],
    );
    assert!(ok, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http2_connection_gets_goaway_and_is_closed_at_the_idle_timeout() {
    use crate::support::h2_raw::{GOAWAY, RawH2};
    let up = Upstream::start("app").await;
    let gw = gateway(&up.url(), "{ respondingTimeouts: { idleTimeout: 300ms } }");
    let addr = gw.addr;
    let (frames, closed) = tokio::task::spawn_blocking(move || {
        let (mut conn, _) = RawH2::handshake(addr).expect("h2 handshake");
        conn.read_until_closed(GUARD).expect("read")
    })
    .await
    .unwrap();
    assert!(
        closed,
        "the idle HTTP/2 connection was left open: {frames:?}"
    );
    assert!(
        frames.iter().any(|f| f.kind == GOAWAY),
        "an HTTP/2 client is told with GOAWAY: {frames:?}"
    );
}
