//! A real HTTP control-plane endpoint for `providers.http`: serves the current config body
//! with an ETag, answers `If-None-Match` with 304, counts what it answered, and can be
//! stopped (connections refused) and started again on the same port.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::task::JoinSet;

#[derive(Default)]
struct State {
    body: String,
    version: u64,
    /// 200 answers (full bodies) and 304 answers so far.
    full: usize,
    not_modified: usize,
}

pub struct ControlPlane {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    tasks: Option<JoinSet<()>>,
}

impl ControlPlane {
    /// Serves `body` on a loopback port.
    pub async fn start(body: &str) -> ControlPlane {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind control plane");
        let addr = listener.local_addr().expect("control plane addr");
        let state = Arc::new(Mutex::new(State {
            body: body.to_string(),
            version: 1,
            ..State::default()
        }));
        let mut cp = ControlPlane {
            addr,
            state,
            tasks: None,
        };
        cp.serve(listener);
        cp
    }

    pub fn url(&self) -> String {
        format!("http://{}/config", self.addr)
    }

    /// Replaces the body (and its ETag).
    pub fn set(&self, body: &str) {
        let mut state = self.state.lock().unwrap();
        state.body = body.to_string();
        state.version += 1;
    }

    /// (200 answers, 304 answers) so far.
    pub fn answers(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap();
        (state.full, state.not_modified)
    }

    /// Stops listening and closes every connection: polls are refused.
    pub fn stop(&mut self) {
        if let Some(mut tasks) = self.tasks.take() {
            tasks.abort_all();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("rebind control plane");
        self.serve(listener);
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let state = self.state.clone();
        let mut tasks = JoinSet::new();
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let held = connections.clone();
        tasks.spawn(async move {
            // Keeps the connection tasks owned by this task: aborting it drops them all.
            let _held = held;
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let state = state.clone();
                connections.lock().unwrap().spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(answer(&state, &req)) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        self.tasks = Some(tasks);
    }
}

fn answer(state: &Mutex<State>, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let mut state = state.lock().unwrap();
    let etag = format!("\"v{}\"", state.version);
    let matches = req
        .headers()
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str());
    if matches {
        state.not_modified += 1;
        let mut resp = Response::new(Full::new(Bytes::new()));
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        return resp;
    }
    state.full += 1;
    let mut resp = Response::new(Full::new(Bytes::from(state.body.clone())));
    resp.headers_mut()
        .insert(http::header::ETAG, etag.parse().expect("etag"));
    resp
}
