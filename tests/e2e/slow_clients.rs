//! Slow and excessive clients: slowloris connections are cut at the header-read timeout while
//! normal clients keep being served; connections beyond the limit get 503 at once.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::h1_raw::{Answer, RawH1};
use crate::support::{Client, Config, Gateway, Upstream};

fn gateway(up: &Upstream, limits: &str) -> Gateway {
    Gateway::single_route(&up.url(), &format!("transport: {{ limits: {limits} }}"))
}

/// Trickles a request head one byte per second (the slowloris rate) until the gateway
/// closes the connection; returns true if it did (false if the whole head could be sent).
async fn trickle(addr: std::net::SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return true;
    };
    let head = b"GET / HTTP/1.1\r\nHost: slow.test\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut buf = [0u8; 256];
    for byte in head {
        if s.write_all(&[*byte]).await.is_err() {
            return true;
        }
        // A closed connection shows up as EOF (or a reset) on read.
        match tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => {}
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_cut_at_the_header_timeout_while_others_are_served() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up, "{ headerReadTimeout: 1s }");
    let slow: Vec<_> = (0..200).map(|_| tokio::spawn(trickle(gw.addr))).collect();
    // A normal client keeps getting answers while the 200 slow ones hang on.
    let c = Client::http1();
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let sent = Instant::now();
        assert_eq!(c.get(&gw.url("/"), "ok.test", &[]).await.status, 200);
        slowest = slowest.max(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Reported, not asserted (shared machine): the normal client's worst latency meanwhile.
    eprintln!("slowloris: normal client's slowest of 20 requests: {slowest:?}");
    let started = Instant::now();
    for t in slow {
        assert!(
            tokio::time::timeout(Duration::from_secs(30), t)
                .await
                .expect("hang guard")
                .unwrap(),
            "a slowloris connection was allowed to send its whole head"
        );
    }
    eprintln!(
        "slowloris: all 200 connections closed; waited {:?} after the normal client",
        started.elapsed()
    );
    assert_eq!(up.count(), 20, "no slow request reached the upstream");
}

/// The header timeout covers every request head of a keep-alive connection, not only the
/// first: after a few answered requests, a later head sent in half is cut like a first one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_that_sends_half_a_later_head_is_closed_at_the_header_timeout() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up, "{ headerReadTimeout: 1s }");
    let addr = gw.addr;
    let closed = tokio::task::spawn_blocking(move || {
        let mut c = RawH1::connect(addr, Duration::from_secs(30)).expect("connect");
        for _ in 0..3 {
            c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").expect("send");
            match c.read_response() {
                Answer::Response(r) => assert_eq!(r.status, 200, "{}", r.head),
                other => panic!("a whole head is answered: {other:?}"),
            }
        }
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\nX-Half")
            .expect("send");
        c.closed_by_peer()
    })
    .await
    .unwrap();
    assert!(closed, "the half head's connection was closed");
    assert_eq!(up.count(), 3, "the half head never reached the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_get_503_with_retry_after() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up, "{ maxConnections: 5, headerReadTimeout: 30s }");
    // Five idle connections take every slot.
    let mut idle = Vec::new();
    for _ in 0..5 {
        idle.push(TcpStream::connect(gw.addr).await.unwrap());
    }
    tokio::task::block_in_place(|| gw.wait_for_client_connections(5));
    let mut extra = TcpStream::connect(gw.addr).await.unwrap();
    let _ = extra.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), extra.read_to_string(&mut answer))
        .await
        .expect("the shed answer comes at once")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    // Freeing the slots lets clients in again.
    drop(idle);
    let c = Client::http1();
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = TcpStream::connect(gw.addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut text = String::new();
        let _ = s.read_to_string(&mut text).await;
        if text.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < until, "slots were not freed: {text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(c.get(&gw.url("/"), "a", &[]).await.status, 200);
    assert_eq!(up.count(), 2, "the shed request never reached the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_at_its_in_flight_limit_sheds_with_503_and_other_routers_are_unaffected() {
    let slow = Upstream::start_with(
        "slow",
        crate::support::UpstreamBehavior::Slow(Duration::from_millis(800)),
    )
    .await;
    let fast = Upstream::start("fast").await;
    let gw = Gateway::start(
        &Config::new()
            .routers("    slow: { rule: \"PathPrefix(`/slow`)\", service: slow, maxInFlight: 2 }\n")
            .route("fast", "PathPrefix(`/fast`)", "fast")
            .service("slow", &slow.url())
            .service("fast", &fast.url())
            .yaml(),
        &[],
    );
    let c = Client::http1();
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let (c, url) = (c.clone(), gw.url("/slow"));
            tokio::spawn(async move { c.get(&url, "s.test", &[]).await.status.as_u16() })
        })
        .collect();
    // Wait until both occupy the router (the upstream has them).
    let until = Instant::now() + Duration::from_secs(10);
    while slow.peak_in_flight() < 2 {
        assert!(
            Instant::now() < until,
            "the two slow requests never arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let shed = c.get(&gw.url("/slow"), "s.test", &[]).await;
    assert_eq!(shed.status, 503);
    assert_eq!(shed.header("retry-after"), Some("1"));
    assert_eq!(
        c.get(&gw.url("/fast"), "s.test", &[]).await.status,
        200,
        "other routers are unaffected"
    );
    for b in busy {
        assert_eq!(b.await.unwrap(), 200);
    }
    assert_eq!(
        c.get(&gw.url("/slow"), "s.test", &[]).await.status,
        200,
        "capacity comes back"
    );
    assert_eq!(
        slow.count(),
        3,
        "the shed request never reached the upstream"
    );
}

/// Sends one GET on a fresh connection and returns the status line (empty if the connection
/// closed without an answer).
async fn one_shot(addr: std::net::SocketAddr, path: &str) -> String {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return String::new();
    };
    let req = format!("GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let _ = s.write_all(req.as_bytes()).await;
    let mut text = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut text)).await;
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

/// An upstream that counts requests and answers none until released.
struct HoldingUpstream {
    addr: std::net::SocketAddr,
    arrived: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    release: tokio::sync::watch::Sender<bool>,
}

async fn holding_upstream() -> HoldingUpstream {
    use std::sync::atomic::Ordering;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let arrived = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (release, released) = tokio::sync::watch::channel(false);
    let counter = arrived.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let (counter, mut released) = (counter.clone(), released.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                if matches!(s.read(&mut buf).await, Ok(n) if n > 0) {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = released.wait_for(|r| *r).await;
                    let _ = s
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .await;
                }
            });
        }
    });
    HoldingUpstream {
        addr,
        arrived,
        release,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_beyond_the_connection_and_in_flight_limits_are_shed_with_bounded_memory() {
    use std::sync::atomic::Ordering;
    let hold = holding_upstream().await;
    let fast = Upstream::start("fast").await;
    let gw = Gateway::start(
        &Config::new()
            .entrypoint("transport: { limits: { maxConnections: 40, headerReadTimeout: 30s } }")
            .routers("    held: { rule: \"PathPrefix(`/held`)\", service: held, maxInFlight: 4 }\n")
            .route("fast", "PathPrefix(`/fast`)", "fast")
            .service("held", &format!("http://{}", hold.addr))
            .service("fast", &fast.url())
            .yaml(),
        &[],
    );
    assert!(one_shot(gw.addr, "/fast").await.starts_with("HTTP/1.1 200"));
    let (baseline_kib, _) = gw.memory_kib();
    gw.reset_peak_memory();
    // Four requests fill the router (the upstream holds them).
    let busy: Vec<_> = (0..4)
        .map(|_| tokio::spawn(one_shot(gw.addr, "/held")))
        .collect();
    let until = Instant::now() + Duration::from_secs(20);
    while hold.arrived.load(Ordering::SeqCst) < 4 {
        assert!(Instant::now() < until, "the held requests never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Router full: every further request to it is shed with 503.
    let mut router_shed = 0;
    for _ in 0..5 {
        let wave: Vec<_> = (0..30)
            .map(|_| tokio::spawn(one_shot(gw.addr, "/held")))
            .collect();
        for t in wave {
            if t.await.unwrap().starts_with("HTTP/1.1 503") {
                router_shed += 1;
            }
        }
    }
    assert_eq!(router_shed, 150, "a full router sheds every request");
    // 36 idle connections + the 4 held ones fill the entrypoint: 2000 more connections, 100 at
    // a time, are each answered 503 at once and never queued. First the gateway lets go of the
    // shed connections (else an idle one could find no slot), then it takes all 36 in.
    let wait = |open| tokio::task::block_in_place(|| gw.wait_for_client_connections(open));
    wait(4);
    let mut idle = Vec::new();
    for _ in 0..36 {
        idle.push(TcpStream::connect(gw.addr).await.unwrap());
    }
    wait(40);
    let mut statuses = std::collections::HashMap::<String, usize>::new();
    for _ in 0..20 {
        let wave: Vec<_> = (0..100)
            .map(|_| tokio::spawn(one_shot(gw.addr, "/fast")))
            .collect();
        for t in wave {
            *statuses.entry(t.await.unwrap()).or_default() += 1;
        }
    }
    assert_eq!(
        statuses.get("HTTP/1.1 503 Service Unavailable").copied(),
        Some(2000),
        "{statuses:?}"
    );
    let (_, peak_kib) = gw.memory_kib();
    hold.release.send_replace(true);
    for b in busy {
        assert!(b.await.unwrap().starts_with("HTTP/1.1 200"));
    }
    drop(idle);
    eprintln!("flood: baseline {baseline_kib} KiB, peak {peak_kib} KiB");
    assert_eq!(
        hold.arrived.load(Ordering::SeqCst),
        4,
        "only admitted requests reach the upstream"
    );
    assert_eq!(fast.count(), 1, "no shed connection reached the upstream");
    assert!(
        peak_kib < baseline_kib + 32 * 1024,
        "memory must stay bounded under a connection flood: {baseline_kib} -> {peak_kib} KiB"
    );
}
