//! Accounting under mixed good and bad traffic: several raw-TCP clients and hyper clients
//! (HTTP/1.1 keep-alive and HTTP/2) at once, sending good GETs and POSTs, keep-alive and
//! pipelined sequences, smuggling attempts (CL+TE, duplicate Content-Length, bad chunked),
//! oversized heads, encoded-slash paths, requests a plugin denies, requests for an unknown host,
//! and clients hanging up mid-body. Every request carries a unique id in its path. Every
//! request is either answered with the status its kind calls for or received by the upstream
//! exactly once: none lost, none duplicated, none smuggled.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::support::h1_raw::{Answer, RawH1};
use crate::support::{Client, Config, Gateway, Upstream, fixture_wasm};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Must be forwarded exactly once and answered 200; the upstream gets `body` bytes.
    Good { body: usize },
    /// CL together with TE: hyper drops the Content-Length and reads the body as chunked (then
    /// closes); the framing policy may instead refuse it. Either 200 and forwarded once, or 400
    /// and never forwarded.
    Ambiguous,
    /// Hidden inside another request's body: never answered, never forwarded.
    Smuggled,
    /// Answered by the gateway with this status, never forwarded.
    Refused(u16),
    /// The client hung up mid-body: no answer can arrive, and nothing may be forwarded whole.
    HungUp,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Status(u16),
    /// No response: the client hung up, or the request was never read as one.
    NoAnswer,
}

/// One request: its kind, its path, and what came of it (once known).
type Entry = (Kind, String, Option<Outcome>);

/// Every request the test sends, by id.
#[derive(Default)]
struct Ledger {
    next: AtomicUsize,
    sent: Mutex<BTreeMap<usize, Entry>>,
}

impl Ledger {
    /// Registers a request of `kind`; returns its id and its path (`/<prefix>/<id>`).
    fn open(&self, kind: Kind, prefix: &str) -> (usize, String) {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let path = format!("/{prefix}/{id}");
        self.sent
            .lock()
            .unwrap()
            .insert(id, (kind, path.clone(), None));
        (id, path)
    }

    fn close(&self, id: usize, outcome: Outcome) {
        let mut sent = self.sent.lock().unwrap();
        let entry = sent.get_mut(&id).expect("registered id");
        assert!(entry.2.is_none(), "request {id} answered twice");
        entry.2 = Some(outcome);
    }
}

fn gateway(up: &Upstream) -> Gateway {
    Gateway::start(
        &Config::new()
            .plugin_dir()
            .route_through(
                "admin",
                "(Host(`app.test`) || Host(`127.0.0.1`)) && PathPrefix(`/admin`)",
                "app",
                "deny",
            )
            .route("app", "Host(`app.test`) || Host(`127.0.0.1`)", "app")
            .service("app", &up.url())
            .middlewares("    deny:\n      plugin: { name: deny, config: { status: 403 } }\n")
            .yaml(),
        &[("deny", fixture_wasm("fixture_deny"))],
    )
}

fn connect(addr: SocketAddr) -> RawH1 {
    RawH1::connect(addr, Duration::from_secs(30)).expect("connect")
}

/// Reads one answer and records it for `id`.
fn answer(c: &mut RawH1, ledger: &Ledger, id: usize) {
    let outcome = match c.read_response() {
        Answer::Response(r) => Outcome::Status(r.status),
        Answer::Closed | Answer::TimedOut => Outcome::NoAnswer,
    };
    ledger.close(id, outcome);
}

fn good_get(ledger: &Ledger) -> (usize, Vec<u8>) {
    let (id, path) = ledger.open(Kind::Good { body: 0 }, "good");
    (
        id,
        format!("GET {path} HTTP/1.1\r\nHost: app.test\r\n\r\n").into_bytes(),
    )
}

fn good_post(ledger: &Ledger, len: usize) -> (usize, Vec<u8>) {
    let (id, path) = ledger.open(Kind::Good { body: len }, "good");
    let mut req =
        format!("POST {path} HTTP/1.1\r\nHost: app.test\r\nContent-Length: {len}\r\n\r\n")
            .into_bytes();
    req.extend(std::iter::repeat_n(b'p', len));
    (id, req)
}

/// One round of raw-TCP traffic: a keep-alive sequence (with pipelining) that ends in a
/// smuggling attempt, then one connection per attack.
fn raw_round(addr: SocketAddr, ledger: &Ledger) {
    // Keep-alive: three GETs one by one, a POST, a pipelined pair, then a duplicate
    // Content-Length carrying a smuggled request: 400 and the connection closes.
    let mut c = connect(addr);
    for _ in 0..3 {
        let (id, req) = good_get(ledger);
        c.send(&req).expect("send");
        answer(&mut c, ledger, id);
    }
    let (id, req) = good_post(ledger, 3_000);
    c.send(&req).expect("send");
    answer(&mut c, ledger, id);
    let (a, mut pair) = good_get(ledger);
    let (b, second) = good_get(ledger);
    pair.extend(second);
    c.send(&pair).expect("send");
    answer(&mut c, ledger, a);
    answer(&mut c, ledger, b);
    let (bad, bad_path) = ledger.open(Kind::Refused(400), "bad");
    let (hidden, hidden_path) = ledger.open(Kind::Smuggled, "smuggled");
    let inner = format!("GET {hidden_path} HTTP/1.1\r\nHost: app.test\r\n\r\n");
    let req = format!(
        "POST {bad_path} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nContent-Length: {}\r\n\r\nhello{inner}",
        5 + inner.len()
    );
    c.send(req.as_bytes()).expect("send");
    answer(&mut c, ledger, bad);
    assert!(c.closed_by_peer(), "the connection closes after the 400");
    ledger.close(hidden, Outcome::NoAnswer);

    // CL+TE with a smuggled request after the chunked body.
    let mut c = connect(addr);
    let (outer, outer_path) = ledger.open(Kind::Ambiguous, "good");
    let (hidden, hidden_path) = ledger.open(Kind::Smuggled, "smuggled");
    let req = format!(
        "POST {outer_path} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET {hidden_path} HTTP/1.1\r\nHost: app.test\r\n\r\n"
    );
    c.send(req.as_bytes()).expect("send");
    answer(&mut c, ledger, outer);
    // The bytes after the body are never read as a request: no second answer, closed.
    match c.read_response() {
        Answer::Closed => ledger.close(hidden, Outcome::NoAnswer),
        Answer::Response(r) => ledger.close(hidden, Outcome::Status(r.status)),
        Answer::TimedOut => panic!("CL+TE connection left open"),
    }

    // Malformed chunk size.
    let mut c = connect(addr);
    let (id, path) = ledger.open(Kind::Refused(400), "bad");
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
    );
    let _ = c.send(req.as_bytes());
    answer(&mut c, ledger, id);

    // Oversized head.
    let mut c = connect(addr);
    let (id, path) = ledger.open(Kind::Refused(431), "bad");
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: app.test\r\nX-Big: ").into_bytes();
    req.extend(std::iter::repeat_n(b'b', 70_000));
    req.extend_from_slice(b"\r\n\r\n");
    // Refused before it is fully written: a failed write is fine.
    let _ = c.send(&req);
    answer(&mut c, ledger, id);

    // Encoded slash (400), a path the deny plugin guards (403), an unknown host (404) on one
    // keep-alive connection: the 400 closes it, so it goes last.
    let mut c = connect(addr);
    let (denied, denied_path) = ledger.open(Kind::Refused(403), "admin");
    let (nohost, nohost_path) = ledger.open(Kind::Refused(404), "bad");
    let (slash, slash_path) = ledger.open(Kind::Refused(400), "bad");
    let slash_path = slash_path.replacen("/bad/", "/%2Fadmin/", 1);
    for (id, req) in [
        (
            denied,
            format!("GET {denied_path} HTTP/1.1\r\nHost: app.test\r\n\r\n"),
        ),
        (
            nohost,
            format!("GET {nohost_path} HTTP/1.1\r\nHost: nowhere.test\r\n\r\n"),
        ),
        (
            slash,
            format!("GET {slash_path} HTTP/1.1\r\nHost: app.test\r\n\r\n"),
        ),
    ] {
        c.send(req.as_bytes()).expect("send");
        answer(&mut c, ledger, id);
    }

    // Hang up mid-body: 100 of 1000 declared bytes, then gone.
    let mut c = connect(addr);
    let (id, path) = ledger.open(Kind::HungUp, "hang");
    let mut req = format!("POST {path} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1000\r\n\r\n")
        .into_bytes();
    req.extend(std::iter::repeat_n(b'h', 100));
    c.send(&req).expect("send");
    c.hang_up();
    ledger.close(id, Outcome::NoAnswer);
}

/// Good GETs and POSTs and unknown-host GETs over a hyper client (pooled keep-alive).
async fn hyper_round(c: Client, base: String, host: &'static str, ledger: Arc<Ledger>) {
    for i in 0..10 {
        let (id, path) = ledger.open(Kind::Good { body: 0 }, "good");
        let r = c.get(&format!("{base}{path}"), host, &[]).await;
        ledger.close(id, Outcome::Status(r.status.as_u16()));

        let len = 1_000 + i * 700;
        let (id, path) = ledger.open(Kind::Good { body: len }, "good");
        let mut req = http::Request::post(format!("{base}{path}"));
        if !host.is_empty() {
            req = req.header("host", host);
        }
        let body = Full::new(Bytes::from(vec![b'q'; len]))
            .map_err(|never| match never {})
            .boxed();
        let r = c.send(req.body(body).expect("request")).await;
        ledger.close(id, Outcome::Status(r.status.as_u16()));
    }
    let (id, path) = ledger.open(Kind::Refused(403), "admin");
    let r = c.get(&format!("{base}{path}"), host, &[]).await;
    ledger.close(id, Outcome::Status(r.status.as_u16()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_answered_or_forwarded_exactly_once_under_mixed_traffic() {
    const RAW_CLIENTS: usize = 3;
    const RAW_ROUNDS: usize = 4;
    const HYPER_CLIENTS: usize = 3;
    let up = Upstream::start("app").await;
    let gw = gateway(&up);
    let addr = gw.addr;
    let ledger = Arc::new(Ledger::default());

    let mut raw = Vec::new();
    for _ in 0..RAW_CLIENTS {
        let ledger = ledger.clone();
        raw.push(tokio::task::spawn_blocking(move || {
            for _ in 0..RAW_ROUNDS {
                raw_round(addr, &ledger);
            }
        }));
    }
    let mut hyper = Vec::new();
    for i in 0..HYPER_CLIENTS {
        // HTTP/1.1 clients name the host; the HTTP/2 one uses the address as :authority.
        let (c, host) = if i == 0 {
            (Client::http2(), "")
        } else {
            (Client::http1(), "app.test")
        };
        hyper.push(tokio::spawn(hyper_round(
            c,
            gw.url(""),
            host,
            ledger.clone(),
        )));
    }
    for t in raw {
        t.await.expect("raw client");
    }
    for t in hyper {
        t.await.expect("hyper client");
    }

    let sent = ledger.sent.lock().unwrap().clone();
    let mut seen: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for r in up.requests() {
        seen.entry(r.path_and_query.clone())
            .or_default()
            .push(r.body_len);
    }
    let mut expected_upstream = 0;
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for (id, (kind, path, outcome)) in &sent {
        let outcome = outcome.unwrap_or_else(|| panic!("request {id} ({path}) has no outcome"));
        let forwarded = seen.get(path).map(Vec::as_slice).unwrap_or(&[]);
        let label = match kind {
            Kind::Good { .. } => "Good".to_owned(),
            other => format!("{other:?}"),
        };
        *tally.entry(format!("{label} -> {outcome:?}")).or_default() += 1;
        match kind {
            Kind::Good { body } => {
                assert_eq!(outcome, Outcome::Status(200), "good request {path}");
                assert_eq!(
                    forwarded,
                    [*body],
                    "good request {path}: forwarded once, whole"
                );
                expected_upstream += 1;
            }
            Kind::Ambiguous => match outcome {
                Outcome::Status(200) => {
                    assert_eq!(forwarded, [0], "{path}: the chunked reading, once");
                    expected_upstream += 1;
                }
                Outcome::Status(400) => assert!(forwarded.is_empty(), "{path}"),
                other => panic!("CL+TE {path}: {other:?}"),
            },
            Kind::Smuggled | Kind::HungUp => {
                assert_eq!(outcome, Outcome::NoAnswer, "{kind:?} {path}");
                assert!(forwarded.is_empty(), "{kind:?} {path} reached the upstream");
            }
            Kind::Refused(status) => {
                assert_eq!(outcome, Outcome::Status(*status), "{path}");
                assert!(forwarded.is_empty(), "refused {path} reached the upstream");
            }
        }
    }
    // Nothing reached the upstream that the test did not send as a forwardable request.
    let known: std::collections::BTreeSet<&String> = sent.values().map(|(_, p, _)| p).collect();
    for path in seen.keys() {
        assert!(
            known.contains(path),
            "the upstream saw an unknown request {path}"
        );
    }
    assert_eq!(up.count(), expected_upstream, "upstream count");
    eprintln!(
        "accounting: {} requests sent, {} forwarded; {tally:#?}",
        sent.len(),
        expected_upstream
    );
    let per_round = RAW_CLIENTS * RAW_ROUNDS;
    assert_eq!(
        sent.len(),
        per_round * 16 + HYPER_CLIENTS * 21,
        "every request was registered"
    );
}
