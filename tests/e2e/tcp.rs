//! TCP routers and services over real sockets: TLS passthrough by server name beside an HTTPS
//! router on one entrypoint, TLS terminated by a TCP router, plain TCP with `HostSNI(`*`)`
//! (half-close both ways, bytes in = bytes out), a weighted service, `ClientIP`, `ALPN` and
//! priority, a server that speaks first, the PROXY protocol to servers, and a hot reload that
//! leaves established connections on their route. `services`: middlewares, transports, idle
//! and unreachable servers, metrics; `checks`: `wasmgate check` errors.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::support::tcp_backend::{ProxyHeader, TcpBackend};
use crate::support::tls::{Hello, TestCa, TlsUpstream, connect, get, served_cert};
use crate::support::{Client, Config, Gateway, Upstream};

mod checks;
mod plugins;
mod services;

/// Bound for "the reload is visible": a hang guard, not a performance assertion.
pub(crate) const VISIBLE_WITHIN: Duration = Duration::from_secs(10);

/// A config: entrypoint `web` (with `entrypoint` YAML), `http` keys (2 spaces in), then the
/// `tcp:` and `tls:` bodies (2 spaces in).
pub(crate) fn yaml(entrypoint: &str, http: &str, tcp: &str, tls: &str) -> String {
    let mut out = Config::new().entrypoint(entrypoint).http(http).yaml();
    if !tcp.is_empty() {
        out.push_str("tcp:\n");
        out.push_str(tcp);
    }
    if !tls.is_empty() {
        out.push_str("tls:\n");
        out.push_str(tls);
    }
    out
}

pub(crate) fn lb(name: &str, backend: &TcpBackend) -> String {
    format!(
        "    {name}: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n",
        backend.addr
    )
}

/// Reads the banner line a backend speaks first, without sending anything.
pub(crate) async fn banner(addr: std::net::SocketAddr) -> String {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let mut line = String::new();
    let mut reader = BufReader::new(stream);
    tokio::time::timeout(VISIBLE_WITHIN, reader.read_line(&mut line))
        .await
        .expect("banner in time")
        .expect("read banner");
    line.trim_end().to_string()
}

#[tokio::test]
async fn passthrough_goes_to_each_backend_by_server_name_beside_an_https_router() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("ca");
    let (leaf_a, leaf_b, own) = (
        ca.leaf(&["a.test"]),
        ca.leaf(&["b.test"]),
        ca.leaf(&["web.test", "db.test"]),
    );
    let (backend_a, backend_b) = (
        TlsUpstream::start(&leaf_a, None).await,
        TlsUpstream::start(&leaf_b, None).await,
    );
    let echo = TcpBackend::start(None, false).await;
    let app = Upstream::start("app").await;
    let http = format!(
        "  routers:\n    web: {{ rule: \"Host(`web.test`)\", service: app, tls: {{}} }}\n\
         \x20   plain: {{ rule: \"Host(`plain.test`)\", service: app }}\n\
         \x20 services:\n    app: {{ loadBalancer: {{ servers: [{{ url: \"{}\" }}] }} }}\n",
        app.url()
    );
    let tcp = format!(
        "  routers:\n\
         \x20   a: {{ rule: \"HostSNI(`a.test`)\", service: a, tls: {{ passthrough: true }} }}\n\
         \x20   b: {{ rule: \"HostSNI(`b.test`)\", service: b, tls: {{ passthrough: true }} }}\n\
         \x20   db: {{ rule: \"HostSNI(`db.test`)\", service: echo, tls: {{}} }}\n\
         \x20 services:\n\
         \x20   a: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n\
         \x20   b: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n{}",
        backend_a.addr,
        backend_b.addr,
        lb("echo", &echo)
    );
    let tls = format!("  certificates:\n{}", own.entry(dir.path(), "own"));
    let gw = Gateway::start(&yaml("", &http, &tcp, &tls), &[]);

    // Passthrough: each client sees its backend's own certificate, and its HTTP goes there.
    for (sni, leaf) in [("a.test", &leaf_a), ("b.test", &leaf_b)] {
        let served = served_cert(gw.addr, sni).await.expect("handshake");
        assert!(served == leaf.der, "{sni} got another certificate");
        let conn = connect(gw.addr, &Hello::sni(sni)).await.unwrap();
        let (status, body) = get(conn, sni, "/").await.unwrap();
        assert_eq!(
            (status, body.starts_with("https")),
            (200, true),
            "{sni}: {body}"
        );
    }
    // The HTTPS router of the same entrypoint still answers, with the gateway's certificate.
    let conn = connect(gw.addr, &Hello::sni("web.test")).await.unwrap();
    assert!(conn.served == own.der);
    assert_eq!(get(conn, "web.test", "/x").await.unwrap().0, 200);
    assert_eq!(app.count(), 1);
    // Plain HTTP on the same entrypoint too (its first bytes were read to route it).
    let plain = Client::http1().get(&gw.url("/p"), "plain.test", &[]).await;
    assert_eq!(plain.status, 200);
    assert_eq!(app.count(), 2);

    // Terminated by the TCP router: the gateway's certificate, the backend gets plain bytes.
    let mut conn = connect(gw.addr, &Hello::sni("db.test")).await.unwrap();
    assert!(conn.served == own.der);
    conn.stream.write_all(b"select 1").await.unwrap();
    let mut back = [0u8; 8];
    conn.stream.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"select 1");
}

#[tokio::test]
async fn plain_tcp_echo_propagates_half_close_and_every_byte() {
    let echo = TcpBackend::start(None, false).await;
    let tcp = format!(
        "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: echo }}\n\
         \x20 services:\n    echo: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}], terminationDelay: 30000 }} }}\n",
        echo.addr
    );
    let gw = Gateway::start(&yaml("", "", &tcp, ""), &[]);
    let sent: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
    let stream = TcpStream::connect(gw.addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let to_send = sent.clone();
    let writer = tokio::spawn(async move {
        write.write_all(&to_send).await.unwrap();
        // Half-close: the client is done sending but still reads.
        write.shutdown().await.unwrap();
        write
    });
    let mut received = Vec::new();
    tokio::time::timeout(VISIBLE_WITHIN, read.read_to_end(&mut received))
        .await
        .expect("echo ends in time")
        .unwrap();
    let _write = writer.await.unwrap();
    assert_eq!(received.len(), sent.len(), "bytes in = bytes out");
    assert!(received == sent);
}

#[tokio::test]
async fn a_weighted_tcp_service_splits_400_connections_3_to_1() {
    let (heavy, light) = (
        TcpBackend::start(Some("heavy"), false).await,
        TcpBackend::start(Some("light"), false).await,
    );
    let tcp = format!(
        "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: split }}\n\
         \x20 services:\n    split: {{ weighted: {{ services: [{{ name: heavy, weight: 3 }}, {{ name: light, weight: 1 }}] }} }}\n{}{}",
        lb("heavy", &heavy),
        lb("light", &light)
    );
    let gw = Gateway::start(&yaml("", "", &tcp, ""), &[]);
    let mut heavy_seen = 0;
    for _ in 0..400 {
        // The server speaks first: the client sends nothing and reads its banner.
        if banner(gw.addr).await == "heavy" {
            heavy_seen += 1;
        }
    }
    assert!(
        (285..=315).contains(&heavy_seen),
        "heavy got {heavy_seen} of 400"
    );
    assert_eq!(heavy.accepted() + light.accepted(), 400);
}

#[tokio::test]
async fn client_ip_alpn_and_priority_choose_the_router() {
    let (low, high, ten) = (
        TcpBackend::start(Some("low"), false).await,
        TcpBackend::start(Some("high"), false).await,
        TcpBackend::start(Some("ten"), false).await,
    );
    let tcp = format!(
        "  routers:\n\
         \x20   low: {{ rule: \"ClientIP(`127.0.0.0/8`)\", service: low }}\n\
         \x20   high: {{ rule: \"HostSNI(`*`) && !ClientIP(`10.0.0.0/8`)\", service: high, priority: 100 }}\n\
         \x20   ten: {{ rule: \"ClientIP(`10.0.0.0/8`)\", service: ten, priority: 200 }}\n\
         \x20 services:\n{}{}{}",
        lb("low", &low),
        lb("high", &high),
        lb("ten", &ten)
    );
    let gw = Gateway::start(&yaml("", "", &tcp, ""), &[]);
    assert_eq!(banner(gw.addr).await, "high");

    // With the explicit priority gone, the longer rule (default priority = length) wins.
    let tcp = tcp.replace(", priority: 100", "");
    let gw = Gateway::start(&yaml("", "", &tcp, ""), &[]);
    assert_eq!(banner(gw.addr).await, "high");
    let tcp = tcp.replace("&& !ClientIP(`10.0.0.0/8`)", "");
    let gw = Gateway::start(&yaml("", "", &tcp, ""), &[]);
    assert_eq!(banner(gw.addr).await, "low");

    // ALPN: the protocol offered picks the passthrough backend.
    let ca = TestCa::new("ca");
    let (leaf_db, leaf_web) = (ca.leaf(&["x.test"]), ca.leaf(&["x.test"]));
    let (db, web) = (
        TlsUpstream::start(&leaf_db, None).await,
        TlsUpstream::start(&leaf_web, None).await,
    );
    let tcp = format!(
        "  routers:\n\
         \x20   db: {{ rule: \"HostSNI(`x.test`) && ALPN(`x-db`)\", service: db, tls: {{ passthrough: true }} }}\n\
         \x20   web: {{ rule: \"HostSNI(`*`)\", service: web, tls: {{ passthrough: true }} }}\n\
         \x20 services:\n\
         \x20   db: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n\
         \x20   web: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n",
        db.addr, web.addr
    );
    let gw = Gateway::start(&yaml("", "", &tcp, ""), &[]);
    let offer = |alpn: Vec<&'static str>| Hello {
        sni: Some("x.test".into()),
        alpn,
        ..Hello::default()
    };
    let conn = connect(gw.addr, &offer(vec!["x-db", "http/1.1"]))
        .await
        .unwrap();
    assert!(conn.served == leaf_db.der, "ALPN x-db goes to db");
    let conn = connect(gw.addr, &offer(vec!["http/1.1"])).await.unwrap();
    assert!(
        conn.served == leaf_web.der,
        "other protocols fall to the catch-all"
    );
}

#[tokio::test]
async fn a_server_that_speaks_first_is_reached_beside_tls_routers() {
    let dir = tempfile::tempdir().unwrap();
    let own = TestCa::new("ca").leaf(&["web.test"]);
    let smtp = TcpBackend::start(Some("220 smtp ready"), false).await;
    let app = Upstream::start("app").await;
    let http = format!(
        "  routers:\n    web: {{ rule: \"Host(`web.test`)\", service: app, tls: {{}} }}\n\
         \x20 services:\n    app: {{ loadBalancer: {{ servers: [{{ url: \"{}\" }}] }} }}\n",
        app.url()
    );
    let tcp = format!(
        "  routers:\n    mail: {{ rule: \"HostSNI(`*`)\", service: smtp }}\n  services:\n{}",
        lb("smtp", &smtp)
    );
    let tls = format!("  certificates:\n{}", own.entry(dir.path(), "own"));
    // The wait for the client's first byte is the entrypoint's headerReadTimeout.
    let entrypoint = "transport: { limits: { headerReadTimeout: 2s } }";
    let gw = Gateway::start(&yaml(entrypoint, &http, &tcp, &tls), &[]);
    assert_eq!(banner(gw.addr).await, "220 smtp ready");
    let conn = connect(gw.addr, &Hello::sni("web.test")).await.unwrap();
    assert_eq!(get(conn, "web.test", "/").await.unwrap().0, 200);
}

#[tokio::test]
async fn proxy_protocol_v1_and_v2_tell_the_server_the_client_address() {
    for version in [1u8, 2] {
        let backend = TcpBackend::start(None, true).await;
        let tcp = format!(
            "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: pp }}\n\
             \x20 services:\n    pp: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}], proxyProtocol: {{ version: {version} }} }} }}\n",
            backend.addr
        );
        let gw = Gateway::start(&yaml("", "", &tcp, ""), &[]);
        let mut stream = TcpStream::connect(gw.addr).await.unwrap();
        let client = stream.local_addr().unwrap();
        stream.write_all(b"hi").await.unwrap();
        let mut back = [0u8; 2];
        tokio::time::timeout(VISIBLE_WITHIN, stream.read_exact(&mut back))
            .await
            .expect("echo in time")
            .unwrap();
        assert_eq!(&back, b"hi");
        assert_eq!(
            backend.headers(),
            vec![ProxyHeader {
                version,
                source: client
            }]
        );
    }
}

#[tokio::test]
async fn a_reloaded_tcp_route_takes_new_connections_and_established_ones_keep_theirs() {
    let (old, new) = (
        TcpBackend::start(Some("old"), false).await,
        TcpBackend::start(Some("new"), false).await,
    );
    let config = |backend: &TcpBackend| {
        yaml(
            "",
            "",
            &format!(
                "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: s }}\n  services:\n{}",
                lb("s", backend)
            ),
            "",
        )
    };
    let gw = Gateway::start(&config(&old), &[]);
    let established = TcpStream::connect(gw.addr).await.unwrap();
    let mut established = BufReader::new(established);
    let mut line = String::new();
    established.read_line(&mut line).await.unwrap();
    assert_eq!(line, "old\n");

    std::fs::write(gw.config_path(), config(&new)).unwrap();
    let start = Instant::now();
    while banner(gw.addr).await != "new" {
        assert!(
            start.elapsed() < VISIBLE_WITHIN,
            "reload not visible; log:\n{}",
            gw.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The connection made before the reload still goes to the old backend.
    established.write_all(b"still here").await.unwrap();
    let mut back = [0u8; 10];
    established.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"still here");
    assert!(new.accepted() >= 1);
}
