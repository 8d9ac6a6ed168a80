//! `forwardingTimeouts.readIdleTimeout` / `pingTimeout` (Go's HTTP/2 health pings, as Traefik
//! has them): an upstream HTTP/2 connection that received nothing for `readIdleTimeout` is sent
//! a PING, and one whose PING goes unanswered for `pingTimeout` is closed.
//!
//! The upstream is a raw HTTP/2 server (`support::h2_raw`) that answers one request and then
//! reads frames without ever answering a PING, so what the gateway sends is seen frame by frame.

use std::net::TcpListener;
use std::time::Duration;

use crate::support::h2_raw::{
    self, ACK, END_HEADERS, END_STREAM, HEADERS, PING, RawH2, Read2, SETTINGS,
};
use crate::support::{Client, Config, Gateway};

/// Hang guard for the gateway's PING and close (a loaded machine may be slow); not a timing
/// assertion.
const WITHIN: Duration = Duration::from_secs(30);

/// What the raw upstream saw after its one answer: PING frames, and whether the gateway then
/// closed the connection.
struct AfterAnswer {
    pings: usize,
    closed: bool,
}

/// Accepts one connection, answers its first request with 200 (HPACK static index 8), then
/// reads until the connection closes or `WITHIN` passes, acknowledging SETTINGS only.
fn silent_upstream(listener: TcpListener) -> std::io::Result<AfterAnswer> {
    let (stream, _) = listener.accept()?;
    let mut conn = RawH2::accept(stream)?;
    let mut answered = false;
    let mut pings = 0;
    let until = std::time::Instant::now() + WITHIN;
    while std::time::Instant::now() < until {
        match conn.read_frame(Duration::from_millis(200))? {
            Read2::Frame(f) if f.kind == SETTINGS && f.flags & ACK == 0 => {
                conn.send(&h2_raw::settings_ack())?;
            }
            Read2::Frame(f) if f.kind == HEADERS && !answered => {
                conn.send(&h2_raw::headers(
                    f.stream,
                    END_HEADERS | END_STREAM,
                    &[0x88],
                ))?;
                answered = true;
            }
            Read2::Frame(f) if f.kind == PING && f.flags & ACK == 0 => pings += 1,
            Read2::Frame(_) | Read2::Idle => {}
            Read2::Closed => {
                return Ok(AfterAnswer {
                    pings,
                    closed: true,
                });
            }
        }
    }
    Ok(AfterAnswer {
        pings,
        closed: false,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_h2_upstream_is_pinged_and_closed_when_the_ping_goes_unanswered() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let upstream = tokio::task::spawn_blocking(move || silent_upstream(listener));
    let yaml = Config::new()
        .route("all", "PathPrefix(`/`)", "app")
        .services(&format!(
            "    app:\n      loadBalancer:\n        serversTransport: pinged\n        servers: [{{ url: \"h2c://{addr}\" }}]\n"
        ))
        .http(
            "  serversTransports:\n    pinged:\n      forwardingTimeouts:\n        readIdleTimeout: 300ms\n        pingTimeout: 300ms\n",
        )
        .yaml();
    let gw = Gateway::start(&yaml, &[]);
    let reply = Client::http1().get(&gw.url("/"), "a.test", &[]).await;
    assert_eq!(reply.status, 200, "{}", gw.log());
    let seen = upstream
        .await
        .expect("upstream task")
        .expect("upstream I/O");
    assert!(seen.pings >= 1, "no PING after the connection went idle");
    assert!(
        seen.closed,
        "the connection with an unanswered PING was not closed ({} pings)",
        seen.pings
    );
}

#[test]
fn the_h2_health_keys_are_durations() {
    let yaml = Config::new()
        .route("all", "PathPrefix(`/`)", "app")
        .services(
            "    app:\n      loadBalancer:\n        serversTransport: t\n        servers: [{ url: \"h2c://127.0.0.1:1\" }]\n",
        )
        .http("  serversTransports:\n    t:\n      forwardingTimeouts:\n        readIdleTimeout: soon\n")
        .yaml();
    let (ok, _, stderr) = crate::support::check_config(&yaml, &[]);
    assert!(!ok);
    assert!(
        stderr.contains("serversTransports.t.forwardingTimeouts.readIdleTimeout"),
        "{stderr}"
    );
}
