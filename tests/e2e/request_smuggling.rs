//! HTTP/1 framing attacks over raw TCP (the client writes exact bytes): every ambiguous or
//! malformed request gets its status and a closed connection, and nothing is smuggled through
//! (the upstream's request count equals the number of legitimate requests).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::support::h1_raw::{Answer, RawH1};
use crate::support::{Gateway, Upstream};

/// Sends `raw`, returns the status line and whether the gateway closed the connection after
/// its answer.
fn exchange(addr: SocketAddr, raw: &[u8]) -> (String, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The request may be refused before it is fully written; that is fine.
    let _ = s.write_all(raw);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let closed = loop {
        match s.read(&mut chunk) {
            Ok(0) => break true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => break false, // timed out: still open
        }
    };
    let text = String::from_utf8_lossy(&buf);
    (text.lines().next().unwrap_or("").to_owned(), closed)
}

fn gateway(up: &Upstream) -> Gateway {
    Gateway::single_route(&up.url(), "")
}

const ATTACKS: &[(&str, &[u8], &str)] = &[
    // hyper reads these as chunked (Content-Length dropped) and closes the connection after the
    // response: the trailing request is never read. One request reaches the upstream each.
    ("cl_te", b"POST /cl-te HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", "200"),
    ("te_cl", b"POST /te-cl HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", "200"),
    ("te_chunked_twice_in_one_header", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", "400"),
    ("te_repeated_header", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"),
    // Trailing whitespace is optional whitespace around the field value (RFC 9110 §5.5), not
    // part of it: this is plain `chunked`, answered normally (and `Connection: close` here so
    // the exchange ends). One request reaches the upstream.
    ("te_trailing_tab", b"POST /te-tab HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n", "200"),
    ("te_space_before_colon", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", "400"),
    ("te_non_chunked_final_coding", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", "400"),
    ("te_in_http_1_0", b"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"),
    ("cl_with_plus_sign", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", "400"),
    ("cl_list", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,2\r\n\r\nhello", "400"),
    ("cl_duplicate_differing", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "400"),
    ("nul_in_header_value", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n", "400"),
    ("invalid_header_name", b"GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n", "400"),
    ("duplicate_host", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"),
    ("host_disagrees_with_absolute_target", b"GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n", "400"),
    ("h2c_upgrade_on_cleartext", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", "400"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framing_attacks_are_refused_and_nothing_is_smuggled() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up);
    let addr = gw.addr;
    let results = tokio::task::spawn_blocking(move || {
        ATTACKS
            .iter()
            .map(|(name, raw, _)| (*name, exchange(addr, raw)))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for ((name, (status, closed)), (_, _, want)) in results.iter().zip(ATTACKS) {
        assert!(
            status.starts_with(&format!("HTTP/1.1 {want}")),
            "{name}: got {status:?}, want {want}"
        );
        assert!(
            closed,
            "{name}: the connection must be closed after the refusal"
        );
    }
    let seen: Vec<String> = up
        .requests()
        .into_iter()
        .map(|r| r.path_and_query)
        .collect();
    assert_eq!(
        seen,
        ["/cl-te", "/te-cl", "/te-tab"],
        "only the three chunked requests, nothing smuggled"
    );

    // A legitimate request on a fresh connection still works: exactly one reaches the upstream.
    let (status, _) = tokio::task::spawn_blocking(move || {
        exchange(
            addr,
            b"POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        )
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(up.count(), 4);
    assert_eq!(up.last().path_and_query, "/ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_lines_and_heads_are_refused() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up);
    let addr = gw.addr;
    let (uri, head, count) = tokio::task::spawn_blocking(move || {
        let mut long_uri = b"GET /".to_vec();
        long_uri.extend(std::iter::repeat_n(b'a', 10_000));
        long_uri.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
        let mut big_head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ".to_vec();
        big_head.extend(std::iter::repeat_n(b'b', 70_000));
        big_head.extend_from_slice(b"\r\n\r\n");
        let mut many_headers = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 0..150 {
            many_headers.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        many_headers.extend_from_slice(b"\r\n");
        (
            exchange(addr, &long_uri),
            exchange(addr, &big_head),
            exchange(addr, &many_headers),
        )
    })
    .await
    .unwrap();
    assert!(
        count.0.starts_with("HTTP/1.1 431"),
        "more than 100 header fields: {count:?}"
    );
    assert!(
        uri.0.starts_with("HTTP/1.1 414"),
        "long request line: {uri:?}"
    );
    assert!(
        head.0.starts_with("HTTP/1.1 431"),
        "oversized head: {head:?}"
    );
    assert_eq!(up.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_chunked_bodies_get_400_and_never_reach_the_upstream_whole() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up);
    let addr = gw.addr;
    let cases: [(&str, &[u8]); 5] = [
        ("chunk_size_bare_lf", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"),
        ("chunk_data_bare_lf", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n"),
        ("chunk_size_overflow", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n"),
        ("chunk_size_not_hex", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
        ("chunk_missing_crlf", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"),
    ];
    let results = tokio::task::spawn_blocking(move || {
        cases
            .iter()
            .map(|(name, raw)| (*name, exchange(addr, raw)))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (name, (status, closed)) in results {
        assert!(status.starts_with("HTTP/1.1 400"), "{name}: {status:?}");
        assert!(closed, "{name}: connection must be closed");
    }
    assert_eq!(
        up.count(),
        0,
        "no malformed body reached the upstream as a complete request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_entrypoint_limit_get_413_declared_or_chunked() {
    let up = Upstream::start("app").await;
    let gw = Gateway::single_route(&up.url(), "transport: { limits: { maxBodyBytes: 1KiB } }");
    let addr = gw.addr;
    let (declared, chunked, small) = tokio::task::spawn_blocking(move || {
        let mut declared = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2048\r\n\r\n".to_vec();
        declared.extend(std::iter::repeat_n(b'x', 2048));
        let mut chunked =
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..4 {
            chunked.extend_from_slice(b"200\r\n");
            chunked.extend(std::iter::repeat_n(b'y', 512));
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let small =
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
                .to_vec();
        (
            exchange(addr, &declared),
            exchange(addr, &chunked),
            exchange(addr, &small),
        )
    })
    .await
    .unwrap();
    assert!(
        declared.0.starts_with("HTTP/1.1 413"),
        "declared: {declared:?}"
    );
    assert!(
        chunked.0.starts_with("HTTP/1.1 413"),
        "chunked: {chunked:?}"
    );
    assert!(small.0.starts_with("HTTP/1.1 200"), "small: {small:?}");
    assert_eq!(
        up.count(),
        1,
        "only the small body reached the upstream whole"
    );
}

/// `http2.h2cUpgrade: ignore`: the request is served over HTTP/1.1 (as nginx and Envoy do), the
/// connection is never upgraded, and neither `Upgrade` nor `HTTP2-Settings` reaches the upstream
/// (h2c smuggling needs a proxy that relays the upgrade).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignored_h2c_upgrade_is_served_over_http1_and_never_relayed() {
    let up = Upstream::start("app").await;
    let gw = Gateway::single_route(
        &up.url(),
        "http2: { h2cUpgrade: ignore, maxConcurrentStreams: 50 }",
    );
    let addr = gw.addr;
    // The connection stays open (keep-alive): read the one response, not until a close.
    let answer = tokio::task::spawn_blocking(move || {
        let mut c = RawH1::connect(addr, Duration::from_secs(10)).expect("connect");
        c.send(b"GET /h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
            .expect("send");
        c.read_response()
    })
    .await
    .unwrap();
    let Answer::Response(response) = answer else {
        panic!("no response: {answer:?}");
    };
    assert_eq!(response.status, 200, "{}", response.head);
    assert_eq!(up.count(), 1);
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/h2c");
    assert_eq!(seen.header("upgrade"), None);
    assert_eq!(seen.header("http2-settings"), None);
}
