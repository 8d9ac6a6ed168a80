//! Bodies stream through the gateway (never buffered whole), in both directions, even with a
//! plugin chain on the route.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::BodyExt;
use hyper::body::Frame;

use crate::support::client::Body;
use crate::support::proc_memory::anon_rss_bytes;
use crate::support::{Client, Config, Gateway, Upstream, UpstreamBehavior};

const BODY: usize = 10 << 20;
/// Peak growth of anonymous resident memory (where a buffered body would live) allowed while
/// 10 MiB pass through: far below the body size. Total RSS is not the measure: the gateway
/// unmaps clean code pages after configuring, and the upload path maps some back.
const MAX_GROWTH: u64 = 3 << 20;

/// Samples a process's anonymous RSS every 2 ms until stopped; returns the peak.
fn sample_peak_rss(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(anon_rss_bytes(pid));
            std::thread::sleep(Duration::from_millis(2));
        }
        peak
    })
}

/// A request body of `size` bytes, produced in 64 KiB frames by a task (never in memory whole).
struct Upload {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for Upload {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

fn upload(size: usize) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(2);
    tokio::spawn(async move {
        let chunk = Bytes::from(vec![b'u'; 64 << 10]);
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len());
            if tx.send(chunk.slice(..n)).await.is_err() {
                break;
            }
            left -= n;
        }
    });
    Upload { rx }.boxed()
}

fn config(upstream: &Upstream) -> String {
    Config::new()
        .route_through("r", "PathPrefix(`/`)", "app", "hdrs")
        .service("app", &upstream.url())
        .middlewares(
            "    hdrs:\n      headers:\n        customResponseHeaders: { X-Through-Plugin: \"1\" }\n",
        )
        .yaml()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_mib_bodies_stream_both_ways_without_buffering() {
    let up = Upstream::start_with("big", UpstreamBehavior::BigBody(BODY)).await;
    let gw = Gateway::start(&config(&up), &[]);
    let pid = gw.pid();
    let c = Client::http1();
    // Warm up: the first request instantiates the plugin and opens the upstream connection.
    let warm = c.get(&gw.url("/warm"), "s.test", &[]).await;
    assert_eq!(warm.status, 200);
    let baseline = anon_rss_bytes(pid);

    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_peak_rss(pid, stop.clone());

    // Upload 10 MiB and download 10 MiB in the same exchange, counting bytes as they arrive.
    let req = Request::post(gw.url("/upload"))
        .header("host", "s.test")
        .body(upload(BODY))
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(60), c.raw().request(req))
        .await
        .expect("no response head within 60 s")
        .expect("request failed");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers().get("x-through-plugin").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    assert_eq!(
        resp.headers()
            .get("x-received-bytes")
            .and_then(|v| v.to_str().ok()),
        Some(BODY.to_string().as_str()),
        "the upstream received the whole upload"
    );
    let mut body = resp.into_body();
    let mut received = 0usize;
    while let Some(frame) = body.frame().await {
        received += frame
            .expect("body frame")
            .data_ref()
            .map(|d| d.len())
            .unwrap_or(0);
    }
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    assert_eq!(received, BODY, "the client received the whole download");
    let seen = up.last();
    assert_eq!(
        (seen.method.as_str(), seen.body_len),
        ("POST", BODY),
        "the upstream received the whole upload"
    );
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "gateway anonymous RSS: baseline {baseline} B, peak {peak} B, growth {growth} B for 2 x {BODY} B"
    );
    assert!(
        growth < MAX_GROWTH,
        "anonymous RSS grew by {growth} bytes while streaming 2 x 10 MiB"
    );
}
