//! A real HTTP upstream (hyper, on the test's runtime) that records what it receives.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path_and_query: String,
    pub headers: http::HeaderMap,
    pub body_len: usize,
    /// The body's first bytes (at most [`RECORDED_BODY_HEAD`]).
    pub body_head: Vec<u8>,
}

/// How many leading body bytes a [`Recorded`] keeps.
pub const RECORDED_BODY_HEAD: usize = 256;

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How the upstream answers.
#[derive(Debug, Clone)]
pub enum UpstreamBehavior {
    /// 200 with body `name` and header `x-upstream: name`.
    Named,
    /// Waits this long before sending the response head.
    Slow(Duration),
    /// Streams a body of this many bytes in 64 KiB chunks, generated on the fly.
    BigBody(usize),
}

pub struct Upstream {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    count: Arc<AtomicUsize>,
    /// Highest number of requests being handled at the same time.
    peak_in_flight: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub async fn start(name: &str) -> Upstream {
        Self::start_with(name, UpstreamBehavior::Named).await
    }

    pub async fn start_with(name: &str, behavior: UpstreamBehavior) -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = listener.local_addr().expect("upstream addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let (reqs, cnt, nm) = (requests.clone(), count.clone(), name.to_owned());
        let peak_in_flight = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let (peak, now) = (peak_in_flight.clone(), in_flight.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let (reqs, cnt, nm, behavior) =
                    (reqs.clone(), cnt.clone(), nm.clone(), behavior.clone());
                let (peak, now) = (peak.clone(), now.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let (reqs, cnt, nm, behavior) =
                            (reqs.clone(), cnt.clone(), nm.clone(), behavior.clone());
                        let (peak, now) = (peak.clone(), now.clone());
                        async move {
                            let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(current, Ordering::SeqCst);
                            let (parts, body) = req.into_parts();
                            // Count the body while streaming it (never held in memory).
                            let mut body = body;
                            let mut body_len = 0usize;
                            let mut body_head = Vec::new();
                            let mut aborted = false;
                            while let Some(frame) = body.frame().await {
                                match frame {
                                    Ok(f) => {
                                        let data = f.data_ref().map(|d| &d[..]).unwrap_or_default();
                                        let room =
                                            RECORDED_BODY_HEAD.saturating_sub(body_head.len());
                                        body_head.extend_from_slice(&data[..room.min(data.len())]);
                                        body_len += data.len();
                                    }
                                    Err(_) => {
                                        aborted = true;
                                        break;
                                    }
                                }
                            }
                            if aborted {
                                // Not a request: the sender broke it off. Not counted.
                                now.fetch_sub(1, Ordering::SeqCst);
                                let mut resp = Response::new(Full::new(Bytes::new()).boxed());
                                *resp.status_mut() = http::StatusCode::BAD_REQUEST;
                                return Ok::<_, Infallible>(resp);
                            }
                            cnt.fetch_add(1, Ordering::SeqCst);
                            reqs.lock().unwrap().push(Recorded {
                                method: parts.method.to_string(),
                                path_and_query: parts
                                    .uri
                                    .path_and_query()
                                    .map(|p| p.to_string())
                                    .unwrap_or_default(),
                                headers: parts.headers.clone(),
                                body_len,
                                body_head,
                            });
                            let resp = respond(&nm, &behavior, body_len).await;
                            now.fetch_sub(1, Ordering::SeqCst);
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Upstream {
            addr,
            requests,
            count,
            peak_in_flight,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests fully received so far (a request whose body broke off is not counted).
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// The most requests this upstream was handling at once.
    pub fn peak_in_flight(&self) -> usize {
        self.peak_in_flight.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests()
            .pop()
            .expect("the upstream received no request")
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Body = BoxBody<Bytes, Infallible>;

async fn respond(name: &str, behavior: &UpstreamBehavior, received: usize) -> Response<Body> {
    let body: Body = match behavior {
        UpstreamBehavior::Named => Full::new(Bytes::from(name.to_owned())).boxed(),
        UpstreamBehavior::Slow(delay) => {
            tokio::time::sleep(*delay).await;
            Full::new(Bytes::from(name.to_owned())).boxed()
        }
        UpstreamBehavior::BigBody(size) => {
            let chunk = Bytes::from(vec![b'x'; 64 << 10]);
            let size = *size;
            ChunkBody { left: size, chunk }.boxed()
        }
    };
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert("x-upstream", http::HeaderValue::from_str(name).unwrap());
    resp.headers_mut()
        .insert("x-received-bytes", http::HeaderValue::from(received));
    resp
}

/// A body of `size` bytes in `chunk`-sized frames, produced lazily (never held in memory).
struct ChunkBody {
    left: usize,
    chunk: Bytes,
}

impl hyper::body::Body for ChunkBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        let n = self.left.min(self.chunk.len());
        self.left -= n;
        let data = self.chunk.slice(..n);
        std::task::Poll::Ready(Some(Ok(Frame::data(data))))
    }
}
