//! What sits around a TCP route: middlewares (`ipAllowList`, `inFlightConn`), servers
//! transports (TLS to servers), the idle timeout, an unreachable server, and the open-connections
//! metric.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{VISIBLE_WITHIN, banner, lb, yaml};
use crate::support::tcp_backend::TcpBackend;
use crate::support::tls::{TestCa, TlsUpstream};
use crate::support::{Client, Gateway};

/// Whether the gateway closed `addr`'s new connection without a byte from a backend.
async fn closed_without_a_byte(addr: std::net::SocketAddr) -> bool {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(VISIBLE_WITHIN, stream.read(&mut buf))
        .await
        .expect("closed in time");
    matches!(read, Ok(0) | Err(_))
}

#[tokio::test]
async fn tcp_ip_allow_list_closes_a_refused_client_before_it_reaches_the_server() {
    let backend = TcpBackend::start(Some("hello"), false).await;
    let tcp = |range: &str| {
        format!(
            "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: s, middlewares: [only] }}\n\
             \x20 middlewares:\n    only: {{ ipAllowList: {{ sourceRange: [\"{range}\"] }} }}\n\
             \x20 services:\n{}",
            lb("s", &backend)
        )
    };
    let gw = Gateway::start(&yaml("", "", &tcp("10.0.0.0/8"), ""), &[]);
    assert!(closed_without_a_byte(gw.addr).await);
    assert_eq!(backend.accepted(), 0, "no connection reached the server");
    let gw = Gateway::start(&yaml("", "", &tcp("127.0.0.1"), ""), &[]);
    assert_eq!(banner(gw.addr).await, "hello");
}

#[tokio::test]
async fn tcp_in_flight_conn_caps_open_connections_per_client() {
    let backend = TcpBackend::start(Some("hello"), false).await;
    let tcp = format!(
        "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: s, middlewares: [two] }}\n\
         \x20 middlewares:\n    two: {{ inFlightConn: {{ amount: 2 }} }}\n\
         \x20 services:\n{}",
        lb("s", &backend)
    );
    let gw = Gateway::start(&yaml("", "", &tcp, ""), &[]);
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut reader = BufReader::new(TcpStream::connect(gw.addr).await.unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        assert_eq!(line, "hello\n");
        open.push(reader);
    }
    assert!(closed_without_a_byte(gw.addr).await, "a third is refused");
    assert_eq!(backend.accepted(), 2);
    // Once one ends, its slot is free again.
    drop(open.pop());
    let start = Instant::now();
    loop {
        let mut reader = BufReader::new(TcpStream::connect(gw.addr).await.unwrap());
        let mut line = String::new();
        let read = tokio::time::timeout(VISIBLE_WITHIN, reader.read_line(&mut line)).await;
        if matches!(read, Ok(Ok(n)) if n > 0) {
            assert_eq!(line, "hello\n");
            break;
        }
        assert!(start.elapsed() < VISIBLE_WITHIN, "the slot never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_idle_tcp_connection_is_closed_after_the_entrypoints_idle_timeout() {
    let backend = TcpBackend::start(Some("hello"), false).await;
    let tcp = format!(
        "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: s }}\n  services:\n{}",
        lb("s", &backend)
    );
    let entrypoint = "transport: { respondingTimeouts: { idleTimeout: 1s } }";
    let gw = Gateway::start(&yaml(entrypoint, "", &tcp, ""), &[]);
    let mut reader = BufReader::new(TcpStream::connect(gw.addr).await.unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    assert_eq!(line, "hello\n");
    // Nothing moves either way: the gateway closes the connection.
    let mut rest = Vec::new();
    let read = tokio::time::timeout(VISIBLE_WITHIN, reader.read_to_end(&mut rest)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
}

#[tokio::test]
async fn a_server_that_cannot_be_reached_closes_the_client_connection() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let tcp = format!(
        "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: gone }}\n\
         \x20 services:\n    gone: {{ loadBalancer: {{ servers: [{{ address: \"{address}\" }}] }} }}\n"
    );
    let gw = Gateway::start(&yaml("", "", &tcp, ""), &[]);
    assert!(closed_without_a_byte(gw.addr).await);
    assert!(
        gw.wait_for_log("cannot connect to the TCP server"),
        "{}",
        gw.log()
    );
}

/// `traefik_open_connections` of entrypoint `web` on the metrics page at `url`.
async fn open_connections(client: &Client, url: &str) -> Option<u64> {
    let page = client.get(url, "metrics.test", &[]).await.text();
    page.lines()
        .find_map(|l| {
            l.strip_prefix("traefik_open_connections{entrypoint=\"web\",protocol=\"TCP\"} ")
        })
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn forwarded_tcp_connections_are_counted_as_open_connections_until_they_end() {
    let backend = TcpBackend::start(Some("hello"), false).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tcp = format!(
        "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: s, entryPoints: [web] }}\n  services:\n{}",
        lb("s", &backend)
    );
    let mut config = yaml("", "", &tcp, "").replacen(
        "entryPoints:\n",
        &format!("entryPoints:\n  traefik:\n    address: \"127.0.0.1:{port}\"\n"),
        1,
    );
    config.push_str("metrics:\n  prometheus: {}\n");
    let gw = Gateway::start(&config, &[]);
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut reader = BufReader::new(TcpStream::connect(gw.addr).await.unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        open.push(reader);
    }
    let client = Client::http1();
    let url = format!("http://127.0.0.1:{port}/metrics");
    assert_eq!(open_connections(&client, &url).await, Some(2));
    drop(open);
    let start = Instant::now();
    while open_connections(&client, &url).await != Some(0) {
        assert!(start.elapsed() < VISIBLE_WITHIN, "connections never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn servers_with_tls_are_reached_over_tls_verified_by_the_transports_root_cas() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, other) = (TestCa::new("ca"), TestCa::new("other"));
    let backend = TlsUpstream::start(&ca.leaf(&["db.internal"]), None).await;
    let (ca_file, other_file) = (dir.path().join("ca.pem"), dir.path().join("other.pem"));
    std::fs::write(&ca_file, ca.pem()).unwrap();
    std::fs::write(&other_file, other.pem()).unwrap();
    let tcp = |roots: &std::path::Path| {
        format!(
            "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: db }}\n\
             \x20 services:\n    db: {{ loadBalancer: {{ servers: [{{ address: \"{}\", tls: true }}], serversTransport: t }} }}\n\
             \x20 serversTransports:\n    t: {{ dialTimeout: 5s, tls: {{ serverName: db.internal, rootCAs: [\"{}\"] }} }}\n",
            backend.addr,
            roots.display()
        )
    };
    let request = b"GET / HTTP/1.1\r\nhost: db.internal\r\nconnection: close\r\n\r\n";
    let gw = Gateway::start(&yaml("", "", &tcp(&ca_file), ""), &[]);
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(VISIBLE_WITHIN, stream.read_to_end(&mut answer))
        .await
        .expect("answer in time")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("https HTTP/1.1"), "{answer}");

    // A server certificate from a CA the transport does not trust: the client is closed.
    let gw = Gateway::start(&yaml("", "", &tcp(&other_file), ""), &[]);
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(VISIBLE_WITHIN, stream.read_to_end(&mut answer)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    assert!(
        gw.wait_for_log("TLS to the TCP server failed"),
        "{}",
        gw.log()
    );
}

#[tokio::test]
async fn dial_keep_alive_sets_tcp_keep_alive_on_the_connection_to_the_server() {
    let backend = TcpBackend::start(None, false).await;
    let tcp = format!(
        "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: db }}\n\
         \x20 services:\n    db: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}], serversTransport: t }} }}\n\
         \x20 serversTransports:\n    t: {{ dialKeepAlive: 7s }}\n",
        backend.addr
    );
    let gw = Gateway::start(&yaml("", "", &tcp, ""), &[]);
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    stream.write_all(b"ping\n").await.unwrap();
    let mut echo = [0u8; 5];
    tokio::time::timeout(VISIBLE_WITHIN, stream.read_exact(&mut echo))
        .await
        .expect("echo in time")
        .unwrap();
    // The kernel's view of the gateway's socket to the server: `ss -o` shows its keep-alive
    // timer (never more than the configured 7 s).
    let out = std::process::Command::new("ss")
        .args(["-Htno", "state", "established", "dst"])
        .arg(backend.addr.to_string())
        .output()
        .expect("ss (iproute2, installed by scripts/setup.sh)");
    let sockets = String::from_utf8_lossy(&out.stdout);
    let timer = sockets
        .lines()
        .find_map(|l| l.split("timer:(").nth(1))
        .unwrap_or_else(|| panic!("no socket to the server: {sockets}"));
    assert!(timer.starts_with("keepalive,"), "{sockets}");
    let secs: u64 = timer
        .trim_start_matches("keepalive,")
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    assert!(secs <= 7, "keep-alive timer {timer} exceeds dialKeepAlive");
}
