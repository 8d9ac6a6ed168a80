//! Response framing of the gateway's own HTTP/1.1 upstream client (body-less requests to
//! `http://` servers): every way a body can be delimited reaches the client whole and leaves
//! the upstream connection reusable; a broken or malformed answer is never relayed as a
//! complete response.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::Ordering;

use http::Request;

use crate::support::canned_upstream::keep_alive_upstream;
use crate::support::client::{Client, empty};
use crate::support::{Config, Gateway, h1_raw};

/// An upstream answering every connection with `response`, then closing it.
fn closing_upstream(response: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response);
        }
    });
    addr
}

fn framed(method: &str, path: &str) -> &'static [u8] {
    match (method, path) {
        ("HEAD", _) => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        (_, "/length") => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        (_, "/chunked") => {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: t\r\n\r\n"
        }
        (_, "/204") => b"HTTP/1.1 204 No Content\r\n\r\n",
        (_, "/304") => b"HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\nContent-Length: 5\r\n\r\n",
        (_, "/early-hints") => {
            b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_framed_every_way_reach_the_client_whole_over_one_upstream_connection() {
    let (addr, accepted) = keep_alive_upstream(framed);
    // One worker: idle upstream connections are per worker, and the client may open a second
    // connection to the gateway that another worker would serve.
    let gw = Gateway::start_with_env(
        &Config::new()
            .route("all", "PathPrefix(`/`)", "app")
            .service("app", &format!("http://{addr}"))
            .yaml(),
        &[("WASMGATE_WORKER_THREADS", "1")],
    );
    let c = Client::http1();
    for (path, status, body) in [
        ("/length", 200, "hello"),
        ("/chunked", 200, "hello world"),
        ("/204", 204, ""),
        ("/304", 304, ""),
        ("/early-hints", 200, "ok"),
        ("/length", 200, "hello"),
    ] {
        let r = c.get(&gw.url(path), "x.test", &[]).await;
        assert_eq!(
            (r.status.as_u16(), r.text().as_str()),
            (status, body),
            "{path}"
        );
    }
    let head = Request::builder()
        .method("HEAD")
        .uri(gw.url("/length"))
        .header("host", "x.test")
        .body(empty())
        .unwrap();
    let r = c.send(head).await;
    assert_eq!((r.status.as_u16(), r.body.len()), (200, 0), "HEAD");
    assert_eq!(r.header("content-length"), Some("5"));
    let r = c.get(&gw.url("/chunked"), "x.test", &[]).await;
    assert_eq!(r.text(), "hello world", "after HEAD");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "each response was read to its exact end, so one upstream connection served all"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_delimited_upstream_body_reaches_the_client_whole() {
    let up =
        closing_upstream(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close");
    let gw = Gateway::single_route(&format!("http://{up}"), "");
    let c = Client::http1();
    for _ in 0..2 {
        let r = c.get(&gw.url("/"), "x.test", &[]).await;
        assert_eq!(
            (r.status.as_u16(), r.text().as_str()),
            (200, "until the close")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_upstream_head_gets_502() {
    for response in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nok"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
    ] {
        let up = closing_upstream(response);
        let gw = Gateway::single_route(&format!("http://{up}"), "");
        let r = Client::http1().get(&gw.url("/"), "x.test", &[]).await;
        assert_eq!(
            r.status.as_u16(),
            502,
            "{}: {}",
            String::from_utf8_lossy(response),
            r.text()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_upstream_body_cut_mid_chunk_aborts_the_client_stream() {
    let up = closing_upstream(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    let gw = Gateway::single_route(&format!("http://{up}"), "");
    let addr = gw.addr;
    let (text, closed) = tokio::task::spawn_blocking(move || h1_raw::get_until_closed(addr))
        .await
        .unwrap();
    assert!(
        !text.contains("0\r\n\r\n"),
        "the client must not get a terminated chunked body: {text:?}"
    );
    assert!(
        closed,
        "a cut body must close the client connection: {text:?}"
    );
}
