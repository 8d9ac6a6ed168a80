//! PROXY protocol on an entrypoint (`entryPoints.<ep>.proxyProtocol`): a v1 or v2 header from
//! a trusted sender sets the client address that `ipAllowList`, `X-Forwarded-For` and TCP
//! routers' `ClientIP` see; a header from an untrusted sender closes the connection; a
//! connection without a header is served as the peer it is. Real sockets, headers written by
//! hand as an L4 balancer would send them.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::tcp_backend::TcpBackend;
use crate::support::{Config, Gateway, Upstream};

const WITHIN: Duration = Duration::from_secs(10);

fn v1(client: &str, port: u16) -> Vec<u8> {
    format!("PROXY TCP4 {client} 127.0.0.1 {port} 80\r\n").into_bytes()
}

fn v2(client: [u8; 4], port: u16) -> Vec<u8> {
    let mut h = vec![
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0, 12,
    ];
    h.extend_from_slice(&client);
    h.extend_from_slice(&[127, 0, 0, 1]);
    h.extend_from_slice(&port.to_be_bytes());
    h.extend_from_slice(&80u16.to_be_bytes());
    h
}

/// Sends `header` then a GET for `path`; the status, or `None` when the gateway closed the
/// connection without answering.
async fn get_after(addr: SocketAddr, header: &[u8], path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut bytes = header.to_vec();
    bytes.extend_from_slice(
        format!("GET {path} HTTP/1.1\r\nhost: app.test\r\nconnection: close\r\n\r\n").as_bytes(),
    );
    // The gateway may close before reading everything (refused); that is an answer too.
    let _ = stream.write_all(&bytes).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WITHIN, stream.read_to_end(&mut answer))
        .await
        .expect("answer or close in time");
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn gateway(up: &Upstream, trusted: &str) -> Gateway {
    let yaml = Config::new()
        .entrypoint(&format!("proxyProtocol: {{ trustedIPs: [\"{trusted}\"] }}"))
        .route("open", "PathPrefix(`/open`)", "app")
        .route_through("guarded", "PathPrefix(`/guarded`)", "app", "docs-net")
        .service("app", &up.url())
        .middlewares("    docs-net:\n      ipAllowList: { sourceRange: [\"203.0.113.0/24\"] }\n")
        .yaml();
    Gateway::start(&yaml, &[])
}

#[tokio::test]
async fn a_trusted_senders_v1_and_v2_headers_set_the_client_address() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up, "127.0.0.0/8");

    assert_eq!(
        get_after(gw.addr, &v1("203.0.113.7", 4000), "/guarded").await,
        Some(200)
    );
    assert_eq!(up.last().header("x-forwarded-for"), Some("203.0.113.7"));
    assert_eq!(
        get_after(gw.addr, &v2([203, 0, 113, 8], 4001), "/guarded").await,
        Some(200)
    );
    assert_eq!(up.last().header("x-forwarded-for"), Some("203.0.113.8"));
    // A client outside the allowed range, named by the header, is refused by ipAllowList.
    assert_eq!(
        get_after(gw.addr, &v2([198, 51, 100, 9], 4002), "/guarded").await,
        Some(403)
    );
    // Without a header the peer is the client.
    assert_eq!(get_after(gw.addr, b"", "/open").await, Some(200));
    assert_eq!(up.last().header("x-forwarded-for"), Some("127.0.0.1"));
}

#[tokio::test]
async fn a_header_from_an_untrusted_sender_closes_the_connection() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up, "10.0.0.0/8");
    assert_eq!(
        get_after(gw.addr, &v1("203.0.113.7", 4000), "/open").await,
        None
    );
    assert_eq!(
        get_after(gw.addr, &v2([203, 0, 113, 7], 4000), "/open").await,
        None
    );
    assert_eq!(up.count(), 0, "nothing reached the upstream");
    // The same sender without a header is served.
    assert_eq!(get_after(gw.addr, b"", "/open").await, Some(200));
}

#[tokio::test]
async fn tcp_routers_match_client_ip_on_the_address_the_header_names() {
    let (docs, other) = (
        TcpBackend::start(Some("docs"), false).await,
        TcpBackend::start(Some("other"), false).await,
    );
    let mut yaml = Config::new()
        .entrypoint("proxyProtocol: { insecure: true }")
        .yaml();
    yaml.push_str(&format!(
        "tcp:\n  routers:\n\
         \x20   docs: {{ rule: \"ClientIP(`203.0.113.0/24`)\", service: docs }}\n\
         \x20   other: {{ rule: \"HostSNI(`*`)\", service: other }}\n\
         \x20 services:\n\
         \x20   docs: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n\
         \x20   other: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n",
        docs.addr, other.addr
    ));
    let gw = Gateway::start(&yaml, &[]);
    for (header, want) in [
        (v1("203.0.113.7", 4000), "docs\n"),
        (v2([198, 51, 100, 9], 4001), "other\n"),
    ] {
        let mut stream = TcpStream::connect(gw.addr).await.unwrap();
        stream.write_all(&header).await.unwrap();
        let mut banner = vec![0u8; want.len()];
        tokio::time::timeout(WITHIN, stream.read_exact(&mut banner))
            .await
            .expect("banner in time")
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&banner), want);
    }
}
