//! UDP routers and services over real sockets: sessions per client address against a real
//! echo server (replies to the right client, one gateway socket per session, datagrams up to
//! the UDP maximum), a DNS query and answer through the gateway, a weighted service 3:1 over
//! 400 sessions, a session closed after the entry point's `udp.timeout` (awaited by watching
//! its socket go away), a hot reload that sends new sessions to the new service while a
//! session in flight keeps its server, and Traefik's rule for several routers on one entry
//! point. `checks`: `wasmgate check` errors.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use crate::support::Gateway;
use crate::support::udp_backend::{
    DnsServer, UdpEcho, dns_query, dns_response, free_udp_port, parse_echo,
};

mod checks;

/// Bound for an awaited event (a reply, a reload, an expiry): a hang guard, not a
/// performance assertion.
const WITHIN: Duration = Duration::from_secs(10);

/// A gateway with the entry points `web` (TCP) and `dns` (UDP, `dns_yaml` beside its
/// address), the `udp:` body `udp` (2 spaces in); returns it with the UDP address, once the
/// UDP entry point listens.
fn start(dns_yaml: &str, udp: &str) -> (Gateway, SocketAddr) {
    let port = free_udp_port();
    let yaml = format!(
        "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n  dns:\n    address: \
         \"127.0.0.1:{port}/udp\"\n{dns_yaml}udp:\n{udp}"
    );
    let gw = Gateway::start(&yaml, &[]);
    assert!(
        gw.wait_for_log("listening (UDP) entrypoint=\"dns\""),
        "UDP entry point not listening:\n{}",
        gw.log()
    );
    (gw, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// `udp.services` entries: a load balancer per (name, servers).
fn services(list: &[(&str, &[SocketAddr])]) -> String {
    let mut out = String::from("  services:\n");
    for (name, servers) in list {
        let servers: Vec<String> = servers
            .iter()
            .map(|a| format!("{{ address: \"{a}\" }}"))
            .collect();
        out.push_str(&format!(
            "    {name}: {{ loadBalancer: {{ servers: [{}] }} }}\n",
            servers.join(", ")
        ));
    }
    out
}

async fn client() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.expect("bind client")
}

/// Sends `payload` to `to` and returns the reply.
async fn exchange(socket: &UdpSocket, to: SocketAddr, payload: &[u8]) -> Vec<u8> {
    socket.send_to(payload, to).await.expect("send");
    let mut buf = vec![0u8; 65_536];
    let (n, from) = tokio::time::timeout(WITHIN, socket.recv_from(&mut buf))
        .await
        .expect("a reply in time")
        .expect("receive");
    assert_eq!(from, to, "the reply comes from the gateway's entry point");
    buf.truncate(n);
    buf
}

/// Whether `/proc/net/udp` lists a socket with local port `port`, in one read of it. The
/// kernel serves the table in pages, resuming by position in a hash bucket, so a read taken
/// while other tests open and close sockets can skip a line: one read is a hint, never proof.
fn udp_port_listed(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/udp").expect("read /proc/net/udp");
    let suffix = format!(":{port:04X}");
    table.lines().skip(1).any(|line| {
        line.split_whitespace()
            .nth(1)
            .is_some_and(|local| local.ends_with(&suffix))
    })
}

/// Reads of `/proc/net/udp` in a row that must all miss a port before it counts as closed.
const MISSES_FOR_CLOSED: u32 = 5;

/// Waits until `port` is listed (one sighting is enough: a line is skipped, never invented).
async fn udp_port_seen(port: u16) -> bool {
    let start = Instant::now();
    while start.elapsed() < WITHIN {
        if udp_port_listed(port) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

/// Waits until `port` has been missing from [`MISSES_FOR_CLOSED`] reads in a row.
async fn udp_port_gone(port: u16) -> bool {
    let (start, mut misses) = (Instant::now(), 0);
    while start.elapsed() < WITHIN {
        misses = if udp_port_listed(port) { 0 } else { misses + 1 };
        if misses == MISSES_FOR_CLOSED {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn each_client_has_its_own_session_and_gets_its_own_replies() {
    let echo = UdpEcho::start("echo").await;
    let udp = format!(
        "  routers:\n    r: {{ entryPoints: [dns], service: s }}\n{}",
        services(&[("s", &[echo.addr])])
    );
    let (_gw, addr) = start("", &udp);
    let (a, b) = (client().await, client().await);
    let (tag, a_port, payload) = parse_echo(&exchange(&a, addr, b"a1").await);
    assert_eq!((tag.as_str(), payload.as_slice()), ("echo", &b"a1"[..]));
    let (_, b_port, payload) = parse_echo(&exchange(&b, addr, b"b1").await);
    assert_eq!(payload, b"b1");
    let (_, a_again, payload) = parse_echo(&exchange(&a, addr, b"a2").await);
    assert_eq!(payload, b"a2");
    assert_eq!(
        a_port, a_again,
        "a client's datagrams share one gateway socket"
    );
    assert_ne!(
        a_port, b_port,
        "each client has a gateway socket of its own"
    );
    // A datagram near the UDP maximum goes through whole, both ways.
    let big: Vec<u8> = (0..60_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let (_, _, payload) = parse_echo(&exchange(&a, addr, &big).await);
    assert_eq!(payload, big);
    assert_eq!(echo.received(), 4);
}

#[tokio::test]
async fn a_dns_query_through_the_gateway_gets_the_servers_answer() {
    let dns = DnsServer::start(&[("db.example.test", Ipv4Addr::new(10, 0, 0, 7))]).await;
    // No `entryPoints`: the router takes every UDP entry point, as in Traefik.
    let udp = format!(
        "  routers:\n    resolver: {{ service: dns }}\n{}",
        services(&[("dns", &[dns.addr])])
    );
    let (_gw, addr) = start("", &udp);
    let socket = client().await;
    let answer = exchange(&socket, addr, &dns_query(0x1234, "db.example.test")).await;
    assert_eq!(
        dns_response(&answer),
        (0x1234, 0, Some(Ipv4Addr::new(10, 0, 0, 7)))
    );
    let answer = exchange(&socket, addr, &dns_query(0x4321, "nope.example.test")).await;
    assert_eq!(dns_response(&answer), (0x4321, 3, None), "NXDOMAIN");
}

#[tokio::test]
async fn a_weighted_service_splits_400_sessions_3_to_1() {
    let (heavy, light) = (UdpEcho::start("heavy").await, UdpEcho::start("light").await);
    let udp = format!(
        "  routers:\n    r: {{ entryPoints: [dns], service: w }}\n{}\
         \x20   w: {{ weighted: {{ services: [{{ name: h, weight: 3 }}, {{ name: l, weight: 1 }}] }} }}\n",
        services(&[("h", &[heavy.addr]), ("l", &[light.addr])])
    );
    let (_gw, addr) = start("", &udp);
    let mut heavy_sessions = 0;
    // Every client kept open, so no address is used twice: each is a new session, picked anew.
    let mut clients = Vec::new();
    for i in 0..400u32 {
        let socket = client().await;
        let (tag, _, payload) = parse_echo(&exchange(&socket, addr, &i.to_be_bytes()).await);
        assert_eq!(payload, i.to_be_bytes());
        heavy_sessions += usize::from(tag == "heavy");
        clients.push(socket);
    }
    assert_eq!(heavy_sessions, 300);
    assert_eq!((heavy.received(), light.received()), (300, 100));
}

#[tokio::test]
async fn an_idle_session_is_closed_after_the_timeout_and_the_next_datagram_opens_a_new_one() {
    let echo = UdpEcho::start("echo").await;
    let udp = format!(
        "  routers:\n    r: {{ entryPoints: [dns], service: s }}\n{}",
        services(&[("s", &[echo.addr])])
    );
    let (_gw, addr) = start("    udp: { timeout: 2s }\n", &udp);
    let socket = client().await;
    let (_, first, _) = parse_echo(&exchange(&socket, addr, b"1").await);
    assert!(udp_port_seen(first).await, "the session's socket is open");
    // The session's socket goes away once it has been idle for the timeout.
    assert!(
        udp_port_gone(first).await,
        "the idle session was not closed"
    );
    let (_, second, payload) = parse_echo(&exchange(&socket, addr, b"2").await);
    assert_eq!(payload, b"2");
    assert_ne!(second, first, "a new session, with a new socket");
    assert_eq!(echo.received(), 2);
}

#[tokio::test]
async fn a_reload_sends_new_sessions_to_the_new_service_and_a_session_in_flight_keeps_its_server() {
    let (old, new) = (UdpEcho::start("old").await, UdpEcho::start("new").await);
    let config = |echo: &UdpEcho| {
        format!(
            "  routers:\n    r: {{ entryPoints: [dns], service: s }}\n{}",
            services(&[("s", &[echo.addr])])
        )
    };
    // A long timeout: the session in flight must outlive the reload.
    let (gw, addr) = start("    udp: { timeout: 60s }\n", &config(&old));
    let in_flight = client().await;
    let (tag, port, _) = parse_echo(&exchange(&in_flight, addr, b"before").await);
    assert_eq!(tag, "old");

    let text = std::fs::read_to_string(gw.config_path()).expect("read config");
    let (head, _) = text.split_once("udp:\n").expect("udp section");
    std::fs::write(gw.config_path(), format!("{head}udp:\n{}", config(&new))).expect("rewrite");
    let start = Instant::now();
    loop {
        let probe = client().await;
        let (tag, _, _) = parse_echo(&exchange(&probe, addr, b"probe").await);
        if tag == "new" {
            break;
        }
        assert!(
            start.elapsed() < WITHIN,
            "reload not visible:\n{}",
            gw.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (tag, same_port, payload) = parse_echo(&exchange(&in_flight, addr, b"after").await);
    assert_eq!(
        (tag.as_str(), same_port, payload.as_slice()),
        ("old", port, &b"after"[..]),
        "the session opened before the reload keeps its server and socket"
    );
}

#[tokio::test]
async fn of_several_routers_on_one_entry_point_the_last_name_serves_as_in_traefik() {
    let (first, second) = (UdpEcho::start("alpha").await, UdpEcho::start("beta").await);
    let udp = format!(
        "  routers:\n    alpha: {{ entryPoints: [dns], service: a }}\n\
         \x20   beta: {{ entryPoints: [dns], service: b }}\n{}",
        services(&[("a", &[first.addr]), ("b", &[second.addr])])
    );
    let (gw, addr) = start("", &udp);
    for _ in 0..4 {
        let socket = client().await;
        let (tag, _, _) = parse_echo(&exchange(&socket, addr, b"x").await);
        assert_eq!(tag, "beta");
    }
    assert_eq!(first.received(), 0);
    assert!(
        gw.wait_for_log("more than one UDP router on this entrypoint"),
        "{}",
        gw.log()
    );
}
