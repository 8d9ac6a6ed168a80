//! Upstreams that misbehave: the client must never get a truncated response that looks
//! complete, nor anything ambiguous relayed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use crate::support::Gateway;
use crate::support::h1_raw::{self, Answer, RawH1};

/// A raw upstream answering every connection with `response` (then closing).
fn raw_upstream(response: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response);
            // Dropping the stream closes the connection.
        }
    });
    addr
}

fn gateway_to(addr: SocketAddr) -> Gateway {
    Gateway::single_route(&format!("http://{addr}"), "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_closing_mid_body_aborts_the_client_stream() {
    let up = raw_upstream(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
    let gw = gateway_to(up);
    let addr = gw.addr;
    let (text, closed) = tokio::task::spawn_blocking(move || h1_raw::get_until_closed(addr))
        .await
        .unwrap();
    // Either nothing was sent yet (hyper aborts before flushing the head) or a head and part of
    // the body: in both cases the connection is closed, never left open as if complete.
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 200"),
        "{text}"
    );
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    assert!(
        body.len() < 100,
        "the client must not receive a complete body: {body:?}"
    );
    assert!(
        closed,
        "a truncated response must not leave the connection open as if complete"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_sending_both_content_length_and_transfer_encoding_gets_502() {
    for response in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"[..],
        &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"[..],
        &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"[..],
    ] {
        let up = raw_upstream(response);
        let gw = gateway_to(up);
        let addr = gw.addr;
        // Reads the one response the gateway sends (the connection may stay open).
        let answer = tokio::task::spawn_blocking(move || {
            let mut c = RawH1::connect(addr, Duration::from_secs(10)).expect("connect");
            c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").expect("send");
            c.read_response()
        })
        .await
        .unwrap();
        let Answer::Response(r) = answer else {
            panic!("an ambiguously framed upstream response must become 502, got {answer:?}");
        };
        let text = format!("{}{}", r.head, String::from_utf8_lossy(&r.body));
        assert_eq!(
            r.status, 502,
            "an ambiguously framed upstream response must become 502, got: {text}"
        );
        assert!(!text.contains("hello"), "nothing of it is relayed: {text}");
    }
}
