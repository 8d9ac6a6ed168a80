//! Services and load balancing over real sockets: smooth weighted round robin, sticky cookies,
//! active and passive health, retry, weighted services, mirroring, failover.
//!
//! The backends are local (`load_balancing/backend.rs`): they can fail their health check,
//! hang, stop and come back on the same port. Assertions are on what the backends received
//! and what the client got; waits are bounded polls (hang guards), never timing thresholds.

mod backend;
mod balancing;
mod health;
mod mirroring;

use std::time::{Duration, Instant};

use http::{Method, Request};
use http_body_util::BodyExt;

use crate::support::client::{Body, Client, Reply, empty};
use crate::support::{Config, Gateway};

/// A gateway whose single router sends everything to service `app`; `services` is the YAML
/// of `http.services` (indented by 4 spaces).
fn gateway(services: &str) -> Gateway {
    Gateway::start(
        &Config::new()
            .route("r", "PathPrefix(`/`)", "app")
            .services(services)
            .yaml(),
        &[],
    )
}

/// A request that may fail (connection error, timeout) without failing the test.
async fn try_send(client: &Client, req: Request<Body>) -> Result<Reply, String> {
    let exchange = async {
        let resp = client.raw().request(req).await.map_err(|e| e.to_string())?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .unwrap_or_else(|_| Err("no answer within 10 s".to_string()))
}

async fn try_get(client: &Client, url: &str, cookie: Option<&str>) -> Result<Reply, String> {
    let mut req = Request::builder()
        .method(Method::GET)
        .uri(url)
        .header("host", "lb.test");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    try_send(client, req.body(empty()).unwrap()).await
}

/// Which backend answered (`x-upstream`), or why there was no good answer.
async fn who(client: &Client, url: &str, cookie: Option<&str>) -> Result<String, String> {
    let r = try_get(client, url, cookie).await?;
    if r.status != 200 {
        return Err(format!("status {}", r.status));
    }
    Ok(r.header("x-upstream").unwrap_or_default().to_owned())
}

/// Polls `probe` until it returns true; panics (naming `what`) after 15 s — a hang guard.
async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < until {
        if probe().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: not reached within 15 s");
}

/// How many of `names` equal each of `of`.
fn count(names: &[String], of: &[&str]) -> Vec<usize> {
    of.iter()
        .map(|o| names.iter().filter(|n| n.as_str() == *o).count())
        .collect()
}
