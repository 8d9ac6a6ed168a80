//! An HTTP/1.1 upstream that breaks connections on demand: while it is "down", or for its
//! first N connections, it accepts and closes at once (the gateway sees a network error before
//! any response head); otherwise it answers 200 `ok`. Counts both, and keeps the bodies of the
//! requests it answered.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Response;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

#[derive(Default)]
struct State {
    down: AtomicBool,
    close_next: AtomicUsize,
    closed: AtomicUsize,
    served: AtomicUsize,
    /// The body of each request answered, in order.
    bodies: std::sync::Mutex<Vec<Bytes>>,
}

pub struct FlakyUpstream {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl FlakyUpstream {
    /// Starts healthy, closing the first `close_first` connections.
    pub async fn start(close_first: usize) -> FlakyUpstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State::default());
        state.close_next.store(close_first, Ordering::SeqCst);
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let closing = shared.down.load(Ordering::SeqCst)
                    || shared
                        .close_next
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                if closing {
                    shared.closed.fetch_add(1, Ordering::SeqCst);
                    drop(stream);
                    continue;
                }
                let served = shared.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let served = served.clone();
                        async move {
                            let body = match req.into_body().collect().await {
                                Ok(collected) => collected.to_bytes(),
                                Err(_) => Bytes::new(),
                            };
                            served.bodies.lock().unwrap().push(body);
                            served.served.fetch_add(1, Ordering::SeqCst);
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        FlakyUpstream { addr, state, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// While down, every new connection is closed at once.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    /// Connections closed without an answer so far.
    pub fn closed(&self) -> usize {
        self.state.closed.load(Ordering::SeqCst)
    }

    /// The bodies of the requests answered so far, in order.
    pub fn bodies(&self) -> Vec<Bytes> {
        self.state.bodies.lock().unwrap().clone()
    }

    /// Requests answered 200 so far.
    pub fn served(&self) -> usize {
        self.state.served.load(Ordering::SeqCst)
    }
}

impl Drop for FlakyUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}
