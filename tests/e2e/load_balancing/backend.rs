//! A controllable upstream for the load-balancing suites: answers with its name, serves
//! `/health` as 200 or 503 on demand, can hang (never answer), and can be stopped (listener and
//! every open connection closed) and restarted on the same port.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::task::JoinSet;

/// One request as the backend saw it (health probes excluded).
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub body_len: usize,
    pub headers: http::HeaderMap,
}

#[derive(Default)]
struct Shared {
    healthy: AtomicBool,
    hang: AtomicBool,
    hits: AtomicUsize,
    probes: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
}

pub struct Backend {
    pub name: String,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Backend {
    pub async fn start(name: &str) -> Backend {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let shared = Arc::new(Shared::default());
        shared.healthy.store(true, Ordering::SeqCst);
        let addr = listener.local_addr().unwrap();
        let mut backend = Backend {
            name: name.to_owned(),
            addr,
            shared,
            task: None,
        };
        backend.serve(listener);
        backend
    }

    /// A backend that reads requests and never answers them.
    pub async fn start_hanging(name: &str) -> Backend {
        let b = Self::start(name).await;
        b.shared.hang.store(true, Ordering::SeqCst);
        b
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received, health probes excluded.
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// Health probes received.
    pub fn probes(&self) -> usize {
        self.shared.probes.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// What `/health` answers from now on: 200 or 503.
    pub fn set_healthy(&self, healthy: bool) {
        self.shared.healthy.store(healthy, Ordering::SeqCst);
    }

    /// Closes the listener and every open connection; returns once they are gone.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens on the same address again (after [`Backend::stop`]).
    pub async fn restart(&mut self) {
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let _ = e;
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
            }
        };
        self.serve(listener);
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (shared, name) = (self.shared.clone(), self.name.clone());
        self.task = Some(tokio::spawn(async move {
            // Connections live in this set: aborting the accept task drops them all.
            let mut connections = JoinSet::new();
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                };
                let Ok((stream, _)) = accepted else { break };
                let (shared, name) = (shared.clone(), name.clone());
                connections.spawn(async move {
                    let svc = service_fn(move |req| handle(shared.clone(), name.clone(), req));
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }));
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    name: String,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body_len = body
        .collect()
        .await
        .map(|b| b.to_bytes().len())
        .unwrap_or(0);
    if parts.uri.path() == "/health" {
        shared.probes.fetch_add(1, Ordering::SeqCst);
        let status = if shared.healthy.load(Ordering::SeqCst) {
            200
        } else {
            503
        };
        let mut resp = Response::new(Full::new(Bytes::from_static(b"health")));
        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
        return Ok(resp);
    }
    shared.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        body_len,
        headers: parts.headers.clone(),
    });
    shared.hits.fetch_add(1, Ordering::SeqCst);
    if shared.hang.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let mut resp = Response::new(Full::new(Bytes::from(name.clone())));
    resp.headers_mut()
        .insert("x-upstream", http::HeaderValue::from_str(&name).unwrap());
    resp.headers_mut()
        .insert("x-received-bytes", http::HeaderValue::from(body_len));
    Ok(resp)
}
