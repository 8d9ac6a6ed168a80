//! A real HTTP plugin store for `plugins.store`: answers `GET /plugins/<sha256>.wasm` with the
//! bytes the test put there (404 otherwise), and counts the requests per path, so a test can
//! wait for the gateway to have asked.

use std::collections::HashMap;
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

#[derive(Default)]
struct State {
    files: HashMap<String, Bytes>,
    asked: HashMap<String, usize>,
}

pub struct PluginStore {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl PluginStore {
    /// An empty store on a loopback port.
    pub async fn start() -> PluginStore {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind plugin store");
        let addr = listener.local_addr().expect("plugin store addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
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
        PluginStore { addr, state, task }
    }

    /// The `plugins.store.url` of this store.
    pub fn url(&self) -> String {
        format!("http://{}/plugins", self.addr)
    }

    /// Serves `bytes` as the file of `sha256` (whatever their own hash is).
    pub fn put(&self, sha256: &str, bytes: &[u8]) {
        let path = format!("/plugins/{sha256}.wasm");
        let mut state = self.state.lock().unwrap();
        state.files.insert(path, Bytes::copy_from_slice(bytes));
    }

    /// How many times the file of `sha256` was asked for.
    pub fn asked(&self, sha256: &str) -> usize {
        let path = format!("/plugins/{sha256}.wasm");
        let state = self.state.lock().unwrap();
        state.asked.get(&path).copied().unwrap_or(0)
    }
}

impl Drop for PluginStore {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(state: &Mutex<State>, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let mut state = state.lock().unwrap();
    *state.asked.entry(path.clone()).or_default() += 1;
    match state.files.get(&path) {
        Some(bytes) => Response::new(Full::new(bytes.clone())),
        None => {
            let mut resp = Response::new(Full::new(Bytes::from_static(b"not here\n")));
            *resp.status_mut() = StatusCode::NOT_FOUND;
            resp
        }
    }
}
