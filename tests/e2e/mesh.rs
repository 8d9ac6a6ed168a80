//! Transparent mode, for real: each test makes a network namespace (`mesh::netns`) where
//! iptables `REDIRECT`s the namespace's outbound TCP to a gateway process running inside it,
//! as a mesh sidecar's capture does. Clients dial service addresses that exist nowhere (or the
//! namespace's own address for `passthrough`); the gateway reads each connection's original
//! destination, detects its protocol (TLS by SNI, HTTP/1.1, h2c, opaque TCP, a server that
//! speaks first), and routes it. Needs root, `ip` and `iptables` (scripts/setup.sh).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::tcp_backend::TcpBackend;
use crate::support::tls::{TestCa, TlsUpstream, served_cert};
use crate::support::{Client, Config, Gateway, Upstream, check_config, fixture_wasm};
use crate::tcp::banner;

mod netns;
mod virtual_services;

use netns::{GATEWAY_GID, Netns, POD_IP};

/// Hang guard for one exchange, not a performance assertion.
const EXCHANGE: Duration = Duration::from_secs(20);

/// A gateway whose entrypoint `web` is transparent, with `http` and `tcp` bodies (2 spaces in).
fn transparent_gateway(http: &str, tcp: &str) -> Gateway {
    let mut yaml = Config::new()
        .entrypoint("transparent: { detectTimeout: 300ms, opaquePorts: [3306] }")
        .http(http)
        .yaml();
    yaml.push_str("tcp:\n");
    yaml.push_str(tcp);
    Gateway::start_in_group(&yaml, GATEWAY_GID)
}

/// Sends `bytes`, half-closes, and returns everything the other side sent back.
async fn echo(addr: &str, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    stream.shutdown().await.expect("half-close");
    let mut back = Vec::new();
    tokio::time::timeout(EXCHANGE, stream.read_to_end(&mut back))
        .await
        .expect("echo in time")
        .expect("read echo");
    back
}

/// One HTTP/2 request with prior knowledge (no upgrade) over a connection to `addr`, whose
/// `:authority` names the service rather than the address dialled.
async fn h2c_get(addr: &str, uri: &str) -> (u16, String) {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let exchange = async {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let (mut send, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
                .await
                .expect("h2 handshake");
        tokio::spawn(connection);
        let request = http::Request::get(uri)
            .body(Empty::<bytes::Bytes>::new())
            .expect("request");
        let resp = send.send_request(request).await.expect("h2 request");
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    tokio::time::timeout(EXCHANGE, exchange)
        .await
        .expect("h2c exchange in time")
}

#[test]
fn redirected_connections_reach_their_service_by_detected_protocol() {
    let ns = Netns::create();
    ns.run(|| async {
        let reviews = Upstream::start("reviews").await;
        let echo_backend = TcpBackend::start(None, false).await;
        let smtp = TcpBackend::start(Some("220 smtp.test ESMTP"), false).await;
        let mysql = TcpBackend::start(Some("mysql 8.0"), false).await;
        let ca = TestCa::new("ca");
        let leaf = ca.leaf(&["db.test"]);
        let db = TlsUpstream::start(&leaf, None).await;
        let http = format!(
            "  routers:\n    reviews: {{ rule: \"Host(`reviews.default.svc`)\", service: reviews }}\n\
             \x20 services:\n    reviews: {{ loadBalancer: {{ servers: [{{ url: \"{}\" }}] }} }}\n",
            reviews.url()
        );
        let server = |addr: std::net::SocketAddr| {
            format!("{{ loadBalancer: {{ servers: [{{ address: \"{addr}\" }}] }} }}")
        };
        let tcp = format!(
            "  routers:\n\
             \x20   echo: {{ rule: \"OriginalDst(`10.96.0.11:7`)\", service: echo }}\n\
             \x20   smtp: {{ rule: \"OriginalDstPort(`25`)\", service: smtp }}\n\
             \x20   mysql: {{ rule: \"OriginalDstPort(`3306`)\", service: mysql }}\n\
             \x20   db: {{ rule: \"HostSNI(`db.test`)\", service: db, tls: {{ passthrough: true }} }}\n\
             \x20 services:\n    echo: {}\n    smtp: {}\n    mysql: {}\n    db: {}\n",
            server(echo_backend.addr),
            server(smtp.addr),
            server(mysql.addr),
            server(db.addr),
        );
        let gw = transparent_gateway(&http, &tcp);
        ns.redirect_outbound(gw.addr.port(), true);

        // HTTP/1.1 and HTTP/2 with prior knowledge, to a service IP nothing listens on.
        let reply = Client::http1()
            .get("http://10.96.0.10:9080/reviews/1?x=1", "reviews.default.svc:9080", &[])
            .await;
        assert_eq!(
            (reply.status.as_u16(), reply.text()),
            (200, "reviews".into()),
            "{}",
            gw.log()
        );
        assert_eq!(reviews.last().path_and_query, "/reviews/1?x=1");
        let reply = h2c_get("10.96.0.10:9080", "http://reviews.default.svc:9080/h2").await;
        assert_eq!(reply, (200, "reviews".into()));
        assert_eq!(reviews.count(), 2);

        // TLS passed through by SNI: the client sees the backend's own certificate.
        let served = served_cert("10.96.0.12:443".parse().unwrap(), "db.test")
            .await
            .expect("handshake through the gateway");
        assert!(served == leaf.der, "db.test got another certificate");

        // Opaque bytes (not HTTP, not TLS) come back unchanged from the echo server.
        let payload: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        let mut opaque = b"\x00\x01mesh".to_vec();
        opaque.extend_from_slice(&payload);
        assert!(echo("10.96.0.11:7", &opaque).await == opaque, "echo changed the bytes");

        // Server speaks first: the client sends nothing; after detectTimeout it is opaque.
        let smtp_ip = "10.96.0.13:25".parse().unwrap();
        assert_eq!(banner(smtp_ip).await, "220 smtp.test ESMTP");
        // An opaque port skips detection altogether.
        assert_eq!(banner("10.96.0.14:3306".parse().unwrap()).await, "mysql 8.0");
        assert_eq!(echo_backend.accepted(), 1);
    });
}

#[test]
fn plugins_read_the_original_destination_of_a_redirected_connection() {
    let ns = Netns::create();
    ns.run(|| async {
        let reviews = Upstream::start("reviews").await;
        let http = format!(
            "  routers:\n    reviews: {{ rule: \"Host(`reviews.default.svc`)\", service: reviews, middlewares: [conn] }}\n\
             \x20 middlewares:\n    conn:\n      plugin: {{ name: conn-info }}\n\
             \x20 services:\n    reviews: {{ loadBalancer: {{ servers: [{{ url: \"{}\" }}] }} }}\n",
            reviews.url()
        );
        let yaml = Config::new()
            .entrypoint("transparent: { detectTimeout: 300ms }")
            .plugin_dir()
            .http(&http)
            .yaml();
        let plugins = [("conn-info", fixture_wasm("fixture_conn_info"))];
        let gw = Gateway::start_in_group_with_plugins(&yaml, GATEWAY_GID, &plugins);
        ns.redirect_outbound(gw.addr.port(), true);

        let reply = Client::http1()
            .get("http://10.96.0.10:9080/r", "reviews.default.svc:9080", &[])
            .await;
        assert_eq!(reply.status.as_u16(), 200, "{}", gw.log());
        let seen = reviews.last();
        // The service address the client dialled, which nothing listens on; the gateway's
        // own socket is another address.
        assert_eq!(seen.header("x-original-dst"), Some("10.96.0.10:9080"));
        let local = gw.addr.to_string();
        assert_eq!(seen.header("x-local-addr"), Some(local.as_str()));
        assert_eq!(seen.header("x-client-certs"), Some("0"));
    });
}

#[test]
fn tproxy_connections_keep_their_destination_for_routing_and_plugins() {
    let ns = Netns::create();
    ns.run(|| async {
        let reviews = Upstream::start("reviews").await;
        let echo_backend = TcpBackend::start(None, false).await;
        let http = format!(
            "  routers:\n    reviews: {{ rule: \"Host(`reviews.default.svc`)\", service: reviews, middlewares: [conn] }}\n\
             \x20 middlewares:\n    conn:\n      plugin: {{ name: conn-info }}\n\
             \x20 services:\n    reviews: {{ loadBalancer: {{ servers: [{{ url: \"{}\" }}] }} }}\n",
            reviews.url()
        );
        let mut yaml = Config::new()
            .entrypoint("transparent: { detectTimeout: 300ms, tproxy: true }")
            .plugin_dir()
            .http(&http)
            .yaml();
        yaml.push_str(&format!(
            "tcp:\n  routers:\n    echo: {{ rule: \"OriginalDst(`10.96.0.11:7`)\", service: echo }}\n\
             \x20 services:\n    echo: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n",
            echo_backend.addr
        ));
        let plugins = [("conn-info", fixture_wasm("fixture_conn_info"))];
        let gw = Gateway::start_in_group_with_plugins(&yaml, GATEWAY_GID, &plugins);
        ns.tproxy_outbound(gw.addr.port());

        let reply = Client::http1()
            .get("http://10.96.0.10:9080/t", "reviews.default.svc:9080", &[])
            .await;
        assert_eq!(reply.status.as_u16(), 200, "{}", gw.log());
        let seen = reviews.last();
        assert_eq!(seen.header("x-original-dst"), Some("10.96.0.10:9080"));
        let listener = gw.addr.to_string();
        assert_eq!(seen.header("x-local-addr"), Some(listener.as_str()));
        // The TCP side routes on the same destination.
        let bytes = b"\x00\x01tproxy bytes".to_vec();
        assert!(echo("10.96.0.11:7", &bytes).await == bytes, "{}", gw.log());
        assert_eq!(echo_backend.accepted(), 1);
    });
}

/// A server on the namespace's own address (as another pod's port would be), and a gateway
/// whose every connection goes to `passthrough`, behind the outbound capture (with or without
/// the owner-match exemption of the gateway's group).
async fn passthrough_setup(ns: &Netns, exempt_gateway: bool) -> (TcpBackend, Gateway) {
    let backend = TcpBackend::start_on(&format!("{POD_IP}:0"), None, false).await;
    let tcp = "  routers:\n    out: { rule: \"HostSNI(`*`)\", service: out }\n\
               \x20 services:\n    out: { passthrough: {} }\n";
    let gw = transparent_gateway("", tcp);
    ns.redirect_outbound(gw.addr.port(), exempt_gateway);
    (backend, gw)
}

#[test]
fn passthrough_forwards_to_the_original_destination_and_its_own_dial_is_not_redirected() {
    let ns = Netns::create();
    ns.run(|| async {
        let (backend, gw) = passthrough_setup(&ns, true).await;
        let bytes = b"\x01\x02opaque bytes for the original destination".to_vec();
        assert!(echo(&backend.addr.to_string(), &bytes).await == bytes);
        assert_eq!(backend.accepted(), 1);

        // Dialled directly (not redirected), passthrough has nowhere to go but the gateway
        // itself: refused with a log line instead of a loop.
        let back = echo(&gw.addr.to_string(), b"\x01direct").await;
        assert!(back.is_empty());
        assert!(gw.wait_for_log("passthrough refused"), "{}", gw.log());
        assert_eq!(backend.accepted(), 1);
    });
}

#[test]
fn the_gateways_own_dial_redirected_back_to_it_is_refused_instead_of_looping() {
    let ns = Netns::create();
    ns.run(|| async {
        // No owner-match exemption: the gateway's dial to the original destination is
        // redirected back to the gateway.
        let (backend, gw) = passthrough_setup(&ns, false).await;
        let back = echo(&backend.addr.to_string(), b"\x01loop?").await;
        assert!(back.is_empty());
        assert!(
            gw.wait_for_log("redirected back to it (a loop)"),
            "{}",
            gw.log()
        );
        assert_eq!(backend.accepted(), 0);
    });
}

#[test]
fn ipv6_connections_keep_their_original_destination() {
    let ns = Netns::create();
    ns.run(|| async {
        let reviews = Upstream::start("reviews").await;
        let echo_backend = TcpBackend::start(None, false).await;
        let yaml = format!(
            "entryPoints:\n  web:\n    address: \"[::1]:0\"\n    transparent: {{ detectTimeout: 300ms }}\n\
             http:\n  routers:\n    reviews: {{ rule: \"Host(`reviews.default.svc`)\", service: reviews }}\n\
             \x20 services:\n    reviews: {{ loadBalancer: {{ servers: [{{ url: \"{}\" }}] }} }}\n\
             tcp:\n  routers:\n    echo: {{ rule: \"OriginalDst(`[fd00:96::11]:7`)\", service: echo }}\n\
             \x20 services:\n    echo: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n",
            reviews.url(),
            echo_backend.addr
        );
        let gw = Gateway::start_in_group(&yaml, GATEWAY_GID);
        ns.redirect_outbound_v6(gw.addr.port());

        let reply = Client::http1()
            .get("http://[fd00:96::10]:9080/v6", "reviews.default.svc", &[])
            .await;
        assert_eq!((reply.status.as_u16(), reply.text()), (200, "reviews".into()));
        let bytes = b"\x00v6 opaque".to_vec();
        assert!(echo("[fd00:96::11]:7", &bytes).await == bytes);
        assert_eq!(echo_backend.accepted(), 1);
    });
}

#[test]
fn a_passthrough_service_on_no_transparent_entrypoint_is_a_config_error() {
    let yaml = Config::new().yaml()
        + "tcp:\n  routers:\n    out: { rule: \"HostSNI(`*`)\", service: out }\n\
           \x20 services:\n    out: { passthrough: {} }\n";
    let (ok, _, stderr) = check_config(&yaml, &[]);
    assert!(!ok);
    let want = "tcp.routers.out.service: a passthrough service forwards to the original \
                destination, which only a transparent entrypoint has";
    assert!(stderr.contains(want), "{stderr}");
}
