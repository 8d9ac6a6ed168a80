//! The own HTTP/1.1 server (`proxy::h1_server`) on the wire: what it newly decides itself —
//! pipelining, HTTP/1.0, HEAD, framing of the answer, keep-alive and close — and the hand-over
//! to hyper on the same connection for a request it leaves to hyper (a body, a malformed head).

use std::io::Read;
use std::net::SocketAddr;
use std::time::Duration;

use crate::support::canned_upstream::keep_alive_upstream;
use crate::support::h1_raw::{Answer, RawH1, RawResponse};
use crate::support::{Gateway, Upstream};

/// The path as the body (Content-Length), the chunked path's body in two chunks, and HEAD's
/// head alone.
fn by_path(method: &str, path: &str) -> Vec<u8> {
    match (method, path) {
        ("HEAD", _) => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n".to_vec(),
        (_, "/chunked") => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
            5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            .to_vec(),
        _ => format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{path}",
            path.len()
        )
        .into_bytes(),
    }
}

fn gateway_to(addr: SocketAddr) -> Gateway {
    Gateway::single_route(&format!("http://{addr}"), "")
}

/// Runs `talk` with a raw connection to `addr` on a blocking thread.
async fn raw<T: Send + 'static>(addr: SocketAddr, talk: fn(&mut RawH1) -> T) -> T {
    tokio::task::spawn_blocking(move || {
        let mut c = RawH1::connect(addr, Duration::from_secs(10)).expect("connect");
        talk(&mut c)
    })
    .await
    .unwrap()
}

fn response(c: &mut RawH1) -> RawResponse {
    match c.read_response() {
        Answer::Response(r) => r,
        other => panic!("no whole response: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order_on_one_connection() {
    let gw = gateway_to(keep_alive_upstream(by_path).0);
    let bodies = raw(gw.addr, |c| {
        c.send(
            b"GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n\
              GET /three HTTP/1.1\r\nHost: a\r\n\r\n",
        )
        .unwrap();
        (0..3)
            .map(|_| String::from_utf8(response(c).body).unwrap())
            .collect::<Vec<_>>()
    })
    .await;
    assert_eq!(bodies, ["/one", "/two", "/three"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_1_0_client_gets_http_1_0_answers_and_keep_alive_only_when_it_asks() {
    let gw = gateway_to(keep_alive_upstream(by_path).0);
    let (first, second, closed) = raw(gw.addr, |c| {
        c.send(b"GET /ka HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let first = response(c);
        c.send(b"GET /last HTTP/1.0\r\nHost: a\r\n\r\n").unwrap();
        let second = response(c);
        (first, second, c.closed_by_peer())
    })
    .await;
    assert!(first.head.starts_with("HTTP/1.0 200 OK"), "{}", first.head);
    assert_eq!(first.header("connection"), Some("keep-alive"));
    assert_eq!(first.body, b"/ka");
    assert!(
        second.head.starts_with("HTTP/1.0 200 OK"),
        "{}",
        second.head
    );
    assert_eq!(second.body, b"/last");
    assert!(
        closed,
        "a 1.0 request without keep-alive closes the connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_answer_has_the_length_and_no_body_and_the_connection_goes_on() {
    let gw = gateway_to(keep_alive_upstream(by_path).0);
    let (head, next) = raw(gw.addr, |c| {
        c.send(b"HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        // `read_response` would wait for the 5 bytes: read the head alone.
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            let n = c.stream_mut().read(&mut byte).unwrap();
            assert_eq!(n, 1, "the connection stays open after HEAD");
            buf.push(byte[0]);
        }
        c.send(b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        (String::from_utf8(buf).unwrap(), response(c))
    })
    .await;
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("content-length: 5"),
        "{head}"
    );
    assert_eq!(
        next.body, b"/after",
        "no body bytes came between the two answers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_upstream_body_is_chunked_to_a_1_1_client_and_close_delimited_to_1_0() {
    let gw = gateway_to(keep_alive_upstream(by_path).0);
    let (chunked, next) = raw(gw.addr, |c| {
        c.send(b"GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        let chunked = response(c);
        c.send(b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        (chunked, response(c))
    })
    .await;
    assert_eq!(chunked.header("transfer-encoding"), Some("chunked"));
    assert_eq!(chunked.body, b"hello world");
    assert_eq!(next.body, b"/next");
    let text = raw(gw.addr, |c| {
        c.send(b"GET /chunked HTTP/1.0\r\nHost: a\r\n\r\n").unwrap();
        let mut text = Vec::new();
        let _ = c.stream_mut().read_to_end(&mut text);
        String::from_utf8(text).unwrap()
    })
    .await;
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    assert!(
        !text.to_ascii_lowercase().contains("transfer-encoding"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nhello world"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_request_after_a_fast_path_one_is_served_by_hyper_on_the_same_connection() {
    let up = Upstream::start("app").await;
    let gw = Gateway::single_route(&up.url(), "");
    let statuses = raw(gw.addr, |c| {
        let mut statuses = Vec::new();
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        statuses.push(response(c).status);
        c.send(b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap();
        statuses.push(response(c).status);
        c.send(b"GET /g HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        statuses.push(response(c).status);
        statuses
    })
    .await;
    assert_eq!(statuses, [200, 200, 200]);
    let seen: Vec<_> = up
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.body_len))
        .collect();
    assert_eq!(
        seen,
        [("GET".into(), 0), ("POST".into(), 5), ("GET".into(), 0)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_head_after_a_fast_path_request_gets_400() {
    let up = Upstream::start("app").await;
    let gw = Gateway::single_route(&up.url(), "");
    let (first, bad) = raw(gw.addr, |c| {
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        let first = response(c);
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n")
            .unwrap();
        (first, response(c))
    })
    .await;
    assert_eq!(first.status, 200);
    assert_eq!(bad.status, 400, "{}", bad.head);
    assert_eq!(up.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_connection_close_gets_connection_close_and_the_connection_ends() {
    let up = Upstream::start("app").await;
    let gw = Gateway::single_route(&up.url(), "");
    let (resp, closed) = raw(gw.addr, |c| {
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .unwrap();
        (response(c), c.closed_by_peer())
    })
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(
        resp.header("date").is_some(),
        "a Date is added: {}",
        resp.head
    );
    assert!(closed);
}

/// The request's header map is recycled after its head went upstream (`upstream::spares`):
/// the next request on the connection carries none of the previous one's fields, even after
/// a head with many fields grew the map, and the forwarding headers are set once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_of_one_request_never_reach_the_upstream_with_the_next() {
    let up = Upstream::start("app").await;
    let gw = Gateway::single_route(&up.url(), "");
    let statuses = raw(gw.addr, |c| {
        let mut many = String::from("GET /first HTTP/1.1\r\nHost: a\r\nX-Only-First: 1\r\n");
        for i in 0..30 {
            many.push_str(&format!("X-Extra-{i}: {i}\r\n"));
        }
        many.push_str("\r\n");
        c.send(many.as_bytes()).unwrap();
        let first = response(c).status;
        c.send(b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        (first, response(c).status)
    })
    .await;
    assert_eq!(statuses, (200, 200));
    let seen = up.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("x-only-first"), Some("1"));
    assert_eq!(seen[0].header("x-extra-29"), Some("29"));
    assert_eq!(seen[1].path_and_query, "/second");
    assert!(
        !seen[1]
            .headers
            .keys()
            .any(|name| name.as_str().starts_with("x-extra") || name == "x-only-first"),
        "{:?}",
        seen[1].headers
    );
    for request in &seen {
        assert_eq!(request.headers.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(request.headers.get_all("host").iter().count(), 1);
    }
}

/// The upstream response's header map is recycled after its head went to the client: the
/// next response on the connection carries none of the previous one's fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_of_one_response_never_reach_the_client_with_the_next() {
    fn answer(_method: &str, path: &str) -> Vec<u8> {
        match path {
            "/first" => b"HTTP/1.1 200 OK\r\nX-Only-First: 1\r\nX-Also-First: 2\r\n\
                Content-Length: 5\r\n\r\nfirst"
                .to_vec(),
            _ => b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond".to_vec(),
        }
    }
    let gw = gateway_to(keep_alive_upstream(answer).0);
    let (first, second) = raw(gw.addr, |c| {
        c.send(b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        let first = response(c);
        c.send(b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        (first, response(c))
    })
    .await;
    assert_eq!(first.header("x-only-first"), Some("1"), "{}", first.head);
    assert_eq!(second.body, b"second");
    assert_eq!(second.header("x-only-first"), None, "{}", second.head);
    assert_eq!(second.header("x-also-first"), None, "{}", second.head);
}

/// A client that hangs up while its request waits for the upstream's answer abandons the
/// request: the client watch sees the EOF (it is looked at only after the socket wakes it,
/// `h1_stream`), the request's future is dropped, and with it the gateway's connection to the
/// upstream, which sees it close without having answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_while_its_request_waits_gets_the_request_abandoned_upstream() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = listener.local_addr().unwrap();
    let (seen, events) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let (mut head, mut chunk) = (Vec::new(), [0u8; 1024]);
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = seen.send("head");
        // Never answers: waits for the gateway to close the connection.
        let closed = matches!(stream.read(&mut chunk), Ok(0) | Err(_));
        let _ = seen.send(if closed { "closed" } else { "more bytes" });
    });
    let gw = gateway_to(upstream);
    let addr = gw.addr;
    let outcome = tokio::task::spawn_blocking(move || {
        let mut c = RawH1::connect(addr, Duration::from_secs(10)).expect("connect");
        c.send(b"GET /never HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        // Hang guards only: each wait ends at the event.
        let head = events.recv_timeout(Duration::from_secs(20));
        drop(c);
        (head, events.recv_timeout(Duration::from_secs(20)))
    })
    .await
    .unwrap();
    assert_eq!(outcome, (Ok("head"), Ok("closed")));
}
