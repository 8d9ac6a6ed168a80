//! Connection-level (L4) plugins on TCP routers: a looping and a trapping plugin are stopped
//! (deadline, trap) and close only their own connection while others go on; the plugin file is
//! hot-reloaded; the plugin sees the ClientHello's server name and ALPN offer; `ipAllowList`
//! sees the client a trusted PROXY header names; `inFlightConn` counts survive a reload; worlds
//! are checked both ways. (Traefik's `ipAllowList` / `inFlightConn` basics, on their bundled
//! plugins, are in `services`.)

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::VISIBLE_WITHIN;
use crate::support::tcp_backend::TcpBackend;
use crate::support::tls::{Hello, TestCa, TlsUpstream, connect};
use crate::support::{Config, Gateway, check_config, fixture_wasm};

/// A config with the plugin directory, entrypoint `web`, and `tcp` (2 spaces in).
fn with_plugins(tcp: &str) -> String {
    let mut out = Config::new().plugin_dir().yaml();
    out.push_str("tcp:\n");
    out.push_str(tcp);
    out
}

/// Connects to `gw` from the loopback address `from` (e.g. `127.0.0.2`).
async fn connect_from(from: &str, gw: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(gw).await.expect("connect")
}

/// Writes `msg` and reads it back (the echo backend); `None` if the connection was closed.
async fn echo(stream: &mut TcpStream, msg: &[u8]) -> Option<Vec<u8>> {
    stream.write_all(msg).await.ok()?;
    let mut back = vec![0u8; msg.len()];
    match tokio::time::timeout(VISIBLE_WITHIN, stream.read_exact(&mut back)).await {
        Ok(Ok(_)) => Some(back),
        _ => None,
    }
}

/// Whether the gateway closes `stream` without a byte (after the client sent `msg`).
async fn closed(stream: &mut TcpStream, msg: &[u8]) -> bool {
    let _ = stream.write_all(msg).await;
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(VISIBLE_WITHIN, stream.read(&mut buf))
        .await
        .expect("closed in time");
    matches!(read, Ok(0) | Err(_))
}

/// Waits until the gateway logs a reload beyond the `before` it had logged.
async fn reloaded(gw: &Gateway, before: usize) {
    let until = Instant::now() + VISIBLE_WITHIN;
    while gw.log_count("configuration reloaded") == before {
        assert!(Instant::now() < until, "no reload:\n{}", gw.log());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Clients from 127.0.0.2 go through the probe in `mode`; the others through no middleware.
async fn misbehaving_plugin_closes_only_its_connection(mode: &str, logged: &str) {
    let backend = TcpBackend::start(None, false).await;
    let tcp = format!(
        "  routers:\n\
         \x20   bad: {{ rule: \"ClientIP(`127.0.0.2`)\", service: s, middlewares: [probe] }}\n\
         \x20   all: {{ rule: \"HostSNI(`*`)\", service: s }}\n\
         \x20 middlewares:\n\
         \x20   probe: {{ plugin: {{ name: probe, config: {{ mode: {mode} }} }} }}\n\
         \x20 services:\n    s: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n",
        backend.addr
    );
    let gw = Gateway::start(
        &with_plugins(&tcp),
        &[("probe", fixture_wasm("fixture_connection_probe"))],
    );
    // A connection opened before the fault, on another route.
    let mut before = TcpStream::connect(gw.addr).await.unwrap();
    assert_eq!(
        echo(&mut before, b"one").await.as_deref(),
        Some(&b"one"[..])
    );
    for _ in 0..2 {
        let mut faulty = connect_from("127.0.0.2", gw.addr).await;
        assert!(
            closed(&mut faulty, b"x").await,
            "{mode}: the connection is closed"
        );
    }
    assert!(
        gw.wait_for_log(logged),
        "{mode}: {logged:?} not logged:\n{}",
        gw.log()
    );
    assert_eq!(
        backend.accepted(),
        1,
        "{mode}: no faulty connection reached the server"
    );
    // The connection opened before still works, and new ones too.
    assert_eq!(
        echo(&mut before, b"two").await.as_deref(),
        Some(&b"two"[..])
    );
    let mut after = TcpStream::connect(gw.addr).await.unwrap();
    assert_eq!(
        echo(&mut after, b"three").await.as_deref(),
        Some(&b"three"[..])
    );
    assert!(gw.log().contains("on-connect"), "the failed hook is named");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_connection_plugin_is_stopped_by_its_deadline_and_only_its_connection_closes() {
    misbehaving_plugin_closes_only_its_connection("loop", "exceeded its deadline").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_connection_plugin_closes_only_its_connection() {
    misbehaving_plugin_closes_only_its_connection("trap", "plugin trapped").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_plugin_file_is_hot_reloaded() {
    let backend = TcpBackend::start(None, false).await;
    let tcp = format!(
        "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: s, middlewares: [gate] }}\n\
         \x20 middlewares:\n\
         \x20   gate: {{ plugin: {{ name: gate, config: {{ sourceRange: [\"10.9.9.9\"] }} }} }}\n\
         \x20 services:\n    s: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n",
        backend.addr
    );
    // First the bundled allow-list's component as the file `gate.wasm`: loopback is refused.
    let gw = Gateway::start(
        &with_plugins(&tcp),
        &[("gate", fixture_wasm("wasmgate_plugin_tcp_ip_allow_list"))],
    );
    let mut refused = TcpStream::connect(gw.addr).await.unwrap();
    assert!(closed(&mut refused, b"x").await);
    assert_eq!(backend.accepted(), 0);
    // Replaced on disk by the probe, which accepts every connection.
    let reloads = gw.log_count("configuration reloaded");
    let bytes = std::fs::read(fixture_wasm("fixture_connection_probe")).unwrap();
    let tmp = gw.plugin_dir().join(".gate.wasm.tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, gw.plugin_dir().join("gate.wasm")).unwrap();
    reloaded(&gw, reloads).await;
    let mut admitted = TcpStream::connect(gw.addr).await.unwrap();
    assert_eq!(
        echo(&mut admitted, b"in").await.as_deref(),
        Some(&b"in"[..])
    );
    assert_eq!(backend.accepted(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_plugin_sees_the_client_hellos_server_name_and_alpn() {
    let ca = TestCa::new("ca");
    let leaf = ca.leaf(&["db.test"]);
    let server = TlsUpstream::start(&leaf, None).await;
    let tcp = format!(
        "  routers:\n\
         \x20   db: {{ rule: \"HostSNI(`db.test`)\", service: db, tls: {{ passthrough: true }}, \
         middlewares: [probe] }}\n\
         \x20 middlewares:\n\
         \x20   probe: {{ plugin: {{ name: probe, config: {{ mode: sni, sni: db.test, alpn: x-db }} }} }}\n\
         \x20 services:\n    db: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n",
        server.addr
    );
    let gw = Gateway::start(
        &with_plugins(&tcp),
        &[("probe", fixture_wasm("fixture_connection_probe"))],
    );
    let offer = |alpn: Vec<&'static str>| Hello {
        alpn,
        ..Hello::sni("db.test")
    };
    // The right offer passes through to the server (its certificate comes back).
    let conn = connect(gw.addr, &offer(vec!["h2", "x-db"]))
        .await
        .expect("handshake");
    assert!(conn.served == leaf.der);
    // Another ALPN offer is rejected by the plugin: closed before the handshake.
    assert!(connect(gw.addr, &offer(vec!["h2"])).await.is_err());
}

#[test]
fn check_refuses_a_connection_plugin_under_http_and_an_http_plugin_under_tcp() {
    let head = "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n\
                plugins:\n  directory: plugins\n";
    let http = "http:\n  middlewares:\n    l4: { plugin: { name: probe } }\n\
                \x20 routers:\n    r: { rule: \"PathPrefix(`/`)\", service: s, middlewares: [l4] }\n\
                \x20 services:\n    s: { loadBalancer: { servers: [{ url: \"http://127.0.0.1:9\" }] } }\n";
    let tcp = "tcp:\n  middlewares:\n    h: { plugin: { name: headers } }\n\
               \x20 routers:\n    t: { rule: \"HostSNI(`*`)\", service: ts, middlewares: [h] }\n\
               \x20 services:\n    ts: { loadBalancer: { servers: [{ address: \"127.0.0.1:9\" }] } }\n";
    let plugins = [("probe", fixture_wasm("fixture_connection_probe"))];
    for (yaml, needle) in [
        (
            format!("{head}{http}"),
            ":8: http.middlewares.l4.plugin: middleware \"l4\": plugin \"probe\" is a \
             connection middleware (connection-middleware); use it under tcp.middlewares",
        ),
        (
            format!("{head}{tcp}"),
            ":8: tcp.middlewares.h.plugin: plugin \"headers\" is an HTTP middleware \
             (middleware-with-capabilities); a TCP middleware needs a connection-middleware \
             component",
        ),
    ] {
        let (ok, _, stderr) = check_config(&yaml, &plugins);
        assert!(!ok);
        assert!(stderr.contains(needle), "want {needle:?} in:\n{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tcp_ip_allow_list_plugin_sees_the_client_a_trusted_proxy_header_names() {
    let backend = TcpBackend::start(None, false).await;
    let tcp = format!(
        "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: s, middlewares: [only] }}\n\
         \x20 middlewares:\n    only: {{ ipAllowList: {{ sourceRange: [\"203.0.113.0/24\"] }} }}\n\
         \x20 services:\n    s: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n",
        backend.addr
    );
    let yaml = super::yaml(
        "proxyProtocol: { trustedIPs: [\"127.0.0.1\"] }",
        "",
        &tcp,
        "",
    );
    let gw = Gateway::start(&yaml, &[]);
    // The loopback sender itself is outside the range: refused.
    let mut direct = TcpStream::connect(gw.addr).await.unwrap();
    assert!(
        closed(
            &mut direct,
            b"PROXY TCP4 198.51.100.1 127.0.0.1 5000 80\r\nx"
        )
        .await
    );
    assert_eq!(backend.accepted(), 0);
    // The client the header names is inside: admitted, and its bytes reach the server.
    let mut proxied = TcpStream::connect(gw.addr).await.unwrap();
    proxied
        .write_all(b"PROXY TCP4 203.0.113.7 127.0.0.1 5000 80\r\n")
        .await
        .unwrap();
    assert_eq!(echo(&mut proxied, b"hi").await.as_deref(), Some(&b"hi"[..]));
    assert_eq!(backend.accepted(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_conn_counts_open_connections_across_a_reload() {
    let backend = TcpBackend::start(None, false).await;
    let tcp = |extra: &str| {
        format!(
            "  routers:\n    all: {{ rule: \"HostSNI(`*`)\", service: s, middlewares: [one] }}\n{extra}\
             \x20 middlewares:\n    one: {{ inFlightConn: {{ amount: 1 }} }}\n\
             \x20 services:\n    s: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n",
            backend.addr
        )
    };
    let gw = Gateway::start(&super::yaml("", "", &tcp(""), ""), &[]);
    let mut open = TcpStream::connect(gw.addr).await.unwrap();
    assert_eq!(echo(&mut open, b"a").await.as_deref(), Some(&b"a"[..]));
    // A reload (another router added) builds the middleware again; the open connection
    // still counts.
    let reloads = gw.log_count("configuration reloaded");
    let extra = "    other: { rule: \"ClientIP(`10.0.0.1`)\", service: s }\n";
    std::fs::write(gw.config_path(), super::yaml("", "", &tcp(extra), "")).unwrap();
    reloaded(&gw, reloads).await;
    let mut second = TcpStream::connect(gw.addr).await.unwrap();
    assert!(
        closed(&mut second, b"b").await,
        "the count survived the reload"
    );
    assert_eq!(backend.accepted(), 1);
    assert_eq!(echo(&mut open, b"c").await.as_deref(), Some(&b"c"[..]));
}
