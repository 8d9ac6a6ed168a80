//! HTTP/2 floods over h2c prior knowledge, written frame by frame (support/h2_raw.rs): rapid
//! reset (CVE-2023-44487), CONTINUATION flood (CVE-2024-27316 family), PING / SETTINGS /
//! WINDOW_UPDATE floods and the concurrent-stream limit. Each runs against a gateway with a
//! recording upstream and pins what hyper + h2 (0.4) do with the limits
//! `ConnectionLimits::builder()` sets: the connection is ended (GOAWAY) or back-pressured, the
//! upstream sees a bounded number of requests, the gateway's peak memory stays bounded, and a
//! normal client on another connection keeps getting 200s.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::support::h2_raw::{self, Frame, RawH2, Read2};
use crate::support::{Client, Gateway, Upstream, UpstreamBehavior};

/// `h2MaxConcurrentStreams` for these gateways.
const MAX_STREAMS: u32 = 8;
/// h2's limit on streams reset by the client before the server accepted them, as
/// `ConnectionLimits` sets it (`h2_max_pending_accept_reset_streams`; not a config key).
const MAX_PENDING_ACCEPT_RESETS: usize = 20;
/// The header list limit the gateway advertises (`h2_max_header_list_size`, 64 KiB).
const MAX_HEADER_LIST: u32 = 64 << 10;
/// Growth of the gateway's peak resident set a flood may cause. Generous: one flood of the
/// size sent here, if buffered, would exceed it several times over.
const MEMORY_CAP_KIB: u64 = 48 << 10;

fn gateway(up: &Upstream, max_streams: u32) -> Gateway {
    Gateway::single_route(
        &up.url(),
        &format!("transport: {{ limits: {{ h2MaxConcurrentStreams: {max_streams} }} }}"),
    )
}

/// A normal HTTP/2 client on its own connection, sending GET /ok until `stop`; returns the
/// statuses it got.
fn normal_client(gw: &Gateway, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<u16>> {
    let url = gw.url("/ok");
    tokio::spawn(async move {
        let c = Client::http2();
        let mut statuses = Vec::new();
        // At least a few requests, even if the attack is over at once.
        while statuses.len() < 5 || !stop.load(Ordering::SeqCst) {
            statuses.push(c.get(&url, "", &[]).await.status.as_u16());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        statuses
    })
}

fn goaway(frames: &[Frame]) -> Option<&Frame> {
    frames.iter().find(|f| f.kind == h2_raw::GOAWAY)
}

fn count_paths(up: &Upstream, prefix: &str) -> usize {
    up.requests()
        .iter()
        .filter(|r| r.path_and_query.starts_with(prefix))
        .count()
}

/// The outcome of one raw connection: server settings, frames read, whether it closed, and how
/// many units (frames or batches) the writer got out before it stopped.
struct Attack {
    settings: Vec<(u16, u32)>,
    frames: Vec<Frame>,
    closed: bool,
    written: usize,
    /// The writer stopped because a write blocked (the gateway stopped reading), not because
    /// the connection broke or the cap was reached.
    blocked: bool,
}

/// Opens a raw connection (acknowledging the server's SETTINGS when `ack`), sends `first`,
/// then writes `unit(i)` for i in 0..cap from a writer thread (stopping at the first failed
/// or blocked write) while this thread reads the server's frames until it closes. When
/// `read` is false nothing is read until the writer has stopped (a client that never reads).
fn attack(
    addr: SocketAddr,
    ack: bool,
    read: bool,
    first: Vec<u8>,
    cap: usize,
    unit: impl Fn(usize) -> Vec<u8> + Send + 'static,
) -> Attack {
    let (mut conn, settings) = if ack {
        RawH2::handshake(addr).expect("h2 handshake")
    } else {
        (RawH2::connect(addr).expect("connect"), Vec::new())
    };
    conn.send(&first).expect("first frames");
    let mut w = conn.writer().expect("clone socket");
    // A write that cannot progress for this long means the gateway stopped reading.
    w.set_write_timeout(Some(Duration::from_secs(5)))
        .expect("write timeout");
    let writer = std::thread::spawn(move || {
        for i in 0..cap {
            match w.write_all(&unit(i)) {
                Ok(()) => {}
                Err(e) => {
                    let blocked = matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    );
                    return (i, blocked);
                }
            }
        }
        (cap, false)
    });
    let (frames, closed) = if read {
        conn.read_until_closed(Duration::from_secs(60))
            .expect("read frames")
    } else {
        (Vec::new(), false)
    };
    let (written, blocked) = writer.join().expect("writer thread");
    Attack {
        settings,
        frames,
        closed,
        written,
        blocked,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_reset_ends_the_connection_and_only_a_bounded_number_of_requests_go_upstream() {
    const PAIRS: usize = 5_000;
    const BATCH: usize = 50;
    let up = Upstream::start("app").await;
    let gw = gateway(&up, MAX_STREAMS);
    let stop = Arc::new(AtomicBool::new(false));
    let normal = normal_client(&gw, stop.clone());
    let addr = gw.addr;
    let a = tokio::task::spawn_blocking(move || {
        attack(addr, true, true, Vec::new(), PAIRS / BATCH, |batch| {
            let mut out = Vec::new();
            for i in batch * BATCH..(batch + 1) * BATCH {
                let id = 2 * i as u32 + 1;
                let block = h2_raw::request_block("GET", &format!("/rr/{i}"), "a.test", &[]);
                out.extend(h2_raw::headers(
                    id,
                    h2_raw::END_STREAM | h2_raw::END_HEADERS,
                    &block,
                ));
                out.extend(h2_raw::rst_stream(id, h2_raw::CANCEL));
            }
            out
        })
    })
    .await
    .unwrap();
    stop.store(true, Ordering::SeqCst);
    let statuses = normal.await.unwrap();

    let g = goaway(&a.frames).expect("the gateway sends GOAWAY");
    assert_eq!(g.error_code(), Some(h2_raw::ENHANCE_YOUR_CALM), "{g:?}");
    assert_eq!(g.debug_data(), "too_many_resets");
    assert!(a.closed, "the connection is closed after the GOAWAY");
    let last = g.last_stream_id().expect("last stream id");
    let processed = last.div_ceil(2) as usize;
    let through = count_paths(&up, "/rr/");
    eprintln!(
        "rapid reset: {PAIRS} pairs offered, {} batches written, GOAWAY last stream {last} \
         ({processed} streams), {through} requests reached the upstream",
        a.written
    );
    assert!(
        processed < PAIRS,
        "the gateway stopped before the end of the flood: {processed}"
    );
    // Every request that reached the upstream came from a stream the server accepted before
    // its reset arrived; h2 ends the connection once more than MAX_PENDING_ACCEPT_RESETS
    // streams are reset while waiting, and at most MAX_STREAMS are open at once.
    let bound = MAX_PENDING_ACCEPT_RESETS + MAX_STREAMS as usize;
    assert!(
        through <= bound,
        "{through} requests of a reset flood reached the upstream (bound {bound})"
    );
    assert!(
        statuses.iter().all(|s| *s == 200),
        "the normal client got {statuses:?}"
    );
    assert_eq!(count_paths(&up, "/ok"), statuses.len());
}

/// Rapid reset where each RST_STREAM comes only after the gateway accepted the stream and
/// forwarded its request (the upstream has it): h2's pending-accept limit never sees these
/// resets, and a reset stream frees its concurrency slot at once. The gateway must still end
/// such a connection after a bounded number of premature resets (as Envoy's
/// premature-reset limit and Go's handler accounting do); otherwise one connection limited to
/// MAX_STREAMS streams sends the upstream any number of requests it abandons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_reset_after_accept_ends_the_connection_after_a_bounded_number() {
    const STREAMS: usize = 100;
    // The upstream holds each request, so a reset always comes before the response.
    let up = Arc::new(
        Upstream::start_with("app", UpstreamBehavior::Slow(Duration::from_secs(30))).await,
    );
    let gw = gateway(&up, MAX_STREAMS);
    let addr = gw.addr;
    let seen = up.clone();
    let (sent, frames, closed) = tokio::task::spawn_blocking(move || {
        let (mut conn, _) = RawH2::handshake(addr).expect("h2 handshake");
        let mut frames = Vec::new();
        for i in 0..STREAMS {
            let id = 2 * i as u32 + 1;
            let block = h2_raw::request_block("GET", &format!("/pr/{i}"), "a.test", &[]);
            let before = seen.count();
            let flags = h2_raw::END_STREAM | h2_raw::END_HEADERS;
            if conn.send(&h2_raw::headers(id, flags, &block)).is_err() {
                return (i, frames, true);
            }
            // Wait (hang guard 30 s) until the upstream has the request, or the gateway ends
            // the connection.
            let until = std::time::Instant::now() + Duration::from_secs(30);
            while seen.count() == before {
                match conn.read_frame(Duration::from_millis(5)).expect("read") {
                    Read2::Frame(f) if f.kind == h2_raw::GOAWAY => {
                        frames.push(f);
                        let (rest, _) = conn
                            .read_until_closed(Duration::from_secs(30))
                            .expect("read");
                        frames.extend(rest);
                        return (i + 1, frames, true);
                    }
                    Read2::Frame(f) => frames.push(f),
                    Read2::Closed => return (i + 1, frames, true),
                    Read2::Idle => {}
                }
                assert!(
                    std::time::Instant::now() < until,
                    "stream {i} never forwarded"
                );
            }
            if conn.send(&h2_raw::rst_stream(id, h2_raw::CANCEL)).is_err() {
                return (i + 1, frames, true);
            }
        }
        (STREAMS, frames, false)
    })
    .await
    .unwrap();
    let through = count_paths(&up, "/pr/");
    eprintln!(
        "rapid reset after accept: {sent} streams opened and reset, {through} forwarded, \
         upstream peak in flight {}, closed={closed}, GOAWAY={:?}",
        up.peak_in_flight(),
        goaway(&frames).map(|g| (g.error_code(), g.debug_data()))
    );
    let bound = MAX_PENDING_ACCEPT_RESETS + MAX_STREAMS as usize;
    assert!(
        closed && goaway(&frames).is_some(),
        "the gateway never ended a connection that reset {sent} streams after accepting them"
    );
    assert!(
        through <= bound,
        "{through} abandoned requests reached the upstream from one connection (bound {bound})"
    );
}

/// One CONTINUATION frame of ~16 KB of literal header fields (no END_HEADERS).
fn continuation_unit(i: usize) -> Vec<u8> {
    let mut block = Vec::new();
    let value = vec![b'a'; 4_000];
    for j in 0..4 {
        h2_raw::literal(&mut block, &format!("x-flood-{i}-{j}"), &value);
    }
    h2_raw::continuation(1, 0, &block)
}

fn continuation_first() -> Vec<u8> {
    let block = h2_raw::request_block("GET", "/cont", "a.test", &[]);
    h2_raw::headers(1, h2_raw::END_STREAM, &block)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuation_flood_is_cut_with_goaway_and_memory_stays_bounded() {
    // 4096 frames of ~16 KB: 64 MiB offered.
    const CAP: usize = 4_096;
    let up = Upstream::start("app").await;
    let gw = gateway(&up, MAX_STREAMS);
    let stop = Arc::new(AtomicBool::new(false));
    let normal = normal_client(&gw, stop.clone());
    gw.reset_peak_memory();
    let (rss_before, _) = gw.memory_kib();
    let addr = gw.addr;
    let a = tokio::task::spawn_blocking(move || {
        attack(
            addr,
            true,
            true,
            continuation_first(),
            CAP,
            continuation_unit,
        )
    })
    .await
    .unwrap();
    let (_, peak) = gw.memory_kib();
    stop.store(true, Ordering::SeqCst);
    let statuses = normal.await.unwrap();
    eprintln!(
        "continuation flood (settings acknowledged): {} frames written, peak RSS +{} KiB, \
         frames read {:?}",
        a.written,
        peak.saturating_sub(rss_before),
        a.frames
            .iter()
            .map(|f| (f.kind, f.error_code(), f.debug_data()))
            .collect::<Vec<_>>()
    );
    assert!(
        a.settings
            .contains(&(h2_raw::SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST)),
        "the gateway advertises its header list limit: {:?}",
        a.settings
    );
    let g = goaway(&a.frames).expect("the gateway sends GOAWAY");
    assert_eq!(g.error_code(), Some(h2_raw::ENHANCE_YOUR_CALM), "{g:?}");
    assert_eq!(g.debug_data(), "too_many_continuations");
    assert!(a.closed, "the connection is closed");
    assert!(
        a.written < CAP && !a.blocked,
        "the writer was stopped by the closed connection, not the cap: {} frames",
        a.written
    );
    assert!(
        peak.saturating_sub(rss_before) < MEMORY_CAP_KIB,
        "peak RSS grew by {} KiB",
        peak - rss_before
    );
    assert_eq!(count_paths(&up, "/cont"), 0);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuation_flood_before_the_settings_ack_is_cut_too() {
    const CAP: usize = 4_096;
    let up = Upstream::start("app").await;
    let gw = gateway(&up, MAX_STREAMS);
    gw.reset_peak_memory();
    let (rss_before, _) = gw.memory_kib();
    let addr = gw.addr;
    let a = tokio::task::spawn_blocking(move || {
        attack(
            addr,
            false,
            true,
            continuation_first(),
            CAP,
            continuation_unit,
        )
    })
    .await
    .unwrap();
    let (_, peak) = gw.memory_kib();
    eprintln!(
        "continuation flood (settings never acknowledged): {} frames written, peak RSS +{} KiB, \
         frames read {:?}",
        a.written,
        peak.saturating_sub(rss_before),
        a.frames
            .iter()
            .map(|f| (f.kind, f.error_code(), f.debug_data()))
            .collect::<Vec<_>>()
    );
    let g = goaway(&a.frames).expect("the gateway sends GOAWAY");
    assert_eq!(g.error_code(), Some(h2_raw::ENHANCE_YOUR_CALM), "{g:?}");
    assert!(a.closed, "the connection is closed");
    assert!(a.written < CAP && !a.blocked, "{} frames", a.written);
    assert!(
        peak.saturating_sub(rss_before) < MEMORY_CAP_KIB,
        "peak RSS grew by {} KiB",
        peak - rss_before
    );
    assert_eq!(count_paths(&up, "/cont"), 0);
}

/// A control-frame flood from a client that never reads: `unit` is one batch of frames.
async fn control_flood(name: &str, unit: fn(usize) -> Vec<u8>, batch_bytes: usize) {
    // 256 MiB offered: far beyond what the socket buffers on both sides can hold.
    let cap = (256 << 20) / batch_bytes;
    let up = Upstream::start("app").await;
    let gw = gateway(&up, MAX_STREAMS);
    let stop = Arc::new(AtomicBool::new(false));
    let normal = normal_client(&gw, stop.clone());
    gw.reset_peak_memory();
    let (rss_before, _) = gw.memory_kib();
    let addr = gw.addr;
    let (a, after) = tokio::task::spawn_blocking(move || {
        let (mut conn, settings) = RawH2::handshake(addr).expect("h2 handshake");
        let mut w = conn.writer().expect("clone socket");
        w.set_write_timeout(Some(Duration::from_secs(5)))
            .expect("write timeout");
        let mut written = 0;
        let mut blocked = false;
        for i in 0..cap {
            if let Err(e) = w.write_all(&unit(i)) {
                blocked = matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
                break;
            }
            written += 1;
        }
        // Now read: the connection is still usable and answers what it accepted.
        let mut acks = 0usize;
        let mut closed = false;
        let mut frames = Vec::new();
        for _ in 0..200_000 {
            match conn.read_frame(Duration::from_secs(2)).expect("read") {
                Read2::Frame(f) => {
                    if f.flags & h2_raw::ACK != 0 {
                        acks += 1;
                    } else if f.kind == h2_raw::GOAWAY {
                        frames.push(f);
                    }
                }
                Read2::Closed => {
                    closed = true;
                    break;
                }
                Read2::Idle => break,
            }
        }
        (
            Attack {
                settings,
                frames,
                closed,
                written,
                blocked,
            },
            acks,
        )
    })
    .await
    .unwrap();
    let (_, peak) = gw.memory_kib();
    stop.store(true, Ordering::SeqCst);
    let statuses = normal.await.unwrap();
    eprintln!(
        "{name} flood: {} of {cap} batches ({} KiB) written before the write blocked={}, \
         {after} ACKs read back, closed={}, GOAWAY={:?}, peak RSS +{} KiB",
        a.written,
        (a.written * batch_bytes) >> 10,
        a.blocked,
        a.closed,
        a.frames.first().map(|g| (g.error_code(), g.debug_data())),
        peak.saturating_sub(rss_before)
    );
    assert!(!a.settings.is_empty(), "handshake");
    assert!(
        a.blocked && a.written < cap,
        "{name}: the gateway stops reading once its answers back up (writes block)"
    );
    assert!(
        peak.saturating_sub(rss_before) < MEMORY_CAP_KIB,
        "{name}: peak RSS grew by {} KiB",
        peak - rss_before
    );
    assert!(
        statuses.iter().all(|s| *s == 200),
        "{name}: the normal client got {statuses:?}"
    );
    assert_eq!(up.count(), statuses.len());
}

const PINGS_PER_BATCH: usize = 1_000;

fn ping_batch(i: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(PINGS_PER_BATCH * 17);
    for j in 0..PINGS_PER_BATCH {
        out.extend(h2_raw::ping(
            ((i * PINGS_PER_BATCH + j) as u64).to_be_bytes(),
        ));
    }
    out
}

fn settings_batch(i: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(PINGS_PER_BATCH * 15);
    for j in 0..PINGS_PER_BATCH {
        // A harmless setting, changing each time.
        let window = 65_535 + ((i + j) % 2) as u32;
        out.extend(h2_raw::settings(&[(
            h2_raw::SETTINGS_INITIAL_WINDOW_SIZE,
            window,
        )]));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_flood_from_a_client_that_never_reads_is_back_pressured() {
    control_flood("PING", ping_batch, PINGS_PER_BATCH * 17).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_flood_from_a_client_that_never_reads_is_back_pressured() {
    control_flood("SETTINGS", settings_batch, PINGS_PER_BATCH * 15).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_update_overflow_ends_the_connection() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up, MAX_STREAMS);
    let addr = gw.addr;
    // A flood of connection-level WINDOW_UPDATEs: h2 answers nothing to them (no backlog to
    // buffer) and the window overflows 2^31-1 at the first increment past it.
    let a = tokio::task::spawn_blocking(move || {
        attack(addr, true, true, Vec::new(), 1_000, |_| {
            h2_raw::window_update(0, 0x7fff_ffff)
        })
    })
    .await
    .unwrap();
    let g = goaway(&a.frames).expect("GOAWAY");
    assert_eq!(g.error_code(), Some(0x3), "FLOW_CONTROL_ERROR: {g:?}");
    assert!(a.closed);
    assert_eq!(up.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_beyond_the_concurrency_limit_are_refused() {
    const LIMIT: u32 = 4;
    const OPENED: u32 = 10;
    // Each admitted request is held long enough for all ten HEADERS to arrive meanwhile.
    let up = Upstream::start_with("app", UpstreamBehavior::Slow(Duration::from_secs(3))).await;
    let gw = gateway(&up, LIMIT);
    let addr = gw.addr;
    let (settings, outcome) = tokio::task::spawn_blocking(move || {
        let (mut conn, settings) = RawH2::handshake(addr).expect("h2 handshake");
        let mut burst = Vec::new();
        for i in 0..OPENED {
            let block = h2_raw::request_block("GET", &format!("/cc/{i}"), "a.test", &[]);
            burst.extend(h2_raw::headers(
                2 * i + 1,
                h2_raw::END_STREAM | h2_raw::END_HEADERS,
                &block,
            ));
        }
        conn.send(&burst).expect("send burst");
        // stream id -> "refused" | status code; done when every stream has ended.
        let mut outcome = std::collections::BTreeMap::new();
        let mut ended = std::collections::BTreeSet::new();
        let until = std::time::Instant::now() + Duration::from_secs(60);
        while ended.len() < OPENED as usize && std::time::Instant::now() < until {
            match conn.read_frame(Duration::from_millis(200)).expect("read") {
                Read2::Frame(f) if f.kind == h2_raw::RST_STREAM => {
                    outcome.insert(f.stream, format!("reset {:?}", f.error_code()));
                    ended.insert(f.stream);
                }
                Read2::Frame(f) if f.kind == h2_raw::HEADERS => {
                    outcome.insert(f.stream, format!("status {:?}", f.static_status()));
                    if f.flags & h2_raw::END_STREAM != 0 {
                        ended.insert(f.stream);
                    }
                }
                Read2::Frame(f) if f.kind == h2_raw::DATA && f.flags & h2_raw::END_STREAM != 0 => {
                    ended.insert(f.stream);
                }
                Read2::Frame(_) | Read2::Idle => {}
                Read2::Closed => break,
            }
        }
        (settings, outcome)
    })
    .await
    .unwrap();
    assert!(
        settings.contains(&(h2_raw::SETTINGS_MAX_CONCURRENT_STREAMS, LIMIT)),
        "the limit is advertised: {settings:?}"
    );
    let refused = outcome
        .values()
        .filter(|o| **o == format!("reset {:?}", Some(h2_raw::REFUSED_STREAM)))
        .count();
    let ok = outcome
        .values()
        .filter(|o| o.as_str() == "status Some(200)")
        .count();
    assert_eq!(
        outcome.len(),
        OPENED as usize,
        "every stream ended: {outcome:?}"
    );
    assert_eq!(ok, LIMIT as usize, "{outcome:?}");
    assert_eq!(refused, (OPENED - LIMIT) as usize, "{outcome:?}");
    assert!(
        up.peak_in_flight() <= LIMIT as usize,
        "{}",
        up.peak_in_flight()
    );
    assert_eq!(up.count(), LIMIT as usize);
}
