//! A real authentication server for the forwardAuth suites (hyper, on the test's runtime). It
//! records every request (with its body) and answers by path:
//!
//! - `/allow`: 200, `x-auth-user: alice`, `x-auth-group: dev`, `set-cookie: session=from-auth`,
//!   body `ok`;
//! - `/deny`: 401, `www-authenticate: Basic realm="auth"`, body `denied by auth`;
//! - `/redirect`: 302, `location: /login?from=auth` (relative), body `see /login`;
//! - `/hang`: never answers until [`AuthServer::release`] (then 200 as `/allow`); while held,
//!   counted by [`AuthServer::hanging`];
//! - `/unavailable`: 503, body `upstream down` (an upstream for the `errors` suite);
//! - `/{code}.html`: 200, `content-type: text/html`, body `<h1>error {code}</h1>` (an error-page
//!   service).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::sync::watch;

use super::upstream::Recorded;

pub struct AuthServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    hanging: Arc<AtomicUsize>,
    release: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl AuthServer {
    pub async fn start() -> AuthServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind auth server");
        let addr = listener.local_addr().expect("auth server addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let hanging = Arc::new(AtomicUsize::new(0));
        let (release, released) = watch::channel(false);
        let (reqs, held) = (requests.clone(), hanging.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (reqs, held, released) = (reqs.clone(), held.clone(), released.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let (reqs, held, released) = (reqs.clone(), held.clone(), released.clone());
                        async move { Ok::<_, Infallible>(answer(req, &reqs, &held, released).await) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        AuthServer {
            addr,
            requests,
            hanging,
            release,
            task,
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests()
            .pop()
            .expect("the auth server got no request")
    }

    /// Requests held at `/hang` right now.
    pub fn hanging(&self) -> usize {
        self.hanging.load(Ordering::SeqCst)
    }

    /// Waits (up to 30 s, then panics) until `n` requests are held at `/hang`.
    pub async fn wait_hanging(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.hanging() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} requests reached /hang",
                self.hanging()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Lets every request held at `/hang` (and later ones) be answered.
    pub fn release(&self) {
        let _ = self.release.send(true);
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    req: Request<Incoming>,
    requests: &Mutex<Vec<Recorded>>,
    hanging: &AtomicUsize,
    mut released: watch::Receiver<bool>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let path = parts.uri.path().to_string();
    requests.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path_and_query: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts.headers,
        body_len: body.len(),
        body_head: body[..body.len().min(super::upstream::RECORDED_BODY_HEAD)].to_vec(),
    });
    let reply = |status: u16, headers: &[(&str, &str)], body: &'static str| {
        let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
        for (name, value) in headers {
            resp.headers_mut().append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        resp
    };
    let allow = || {
        reply(
            200,
            &[
                ("x-auth-user", "alice"),
                ("x-auth-group", "dev"),
                ("set-cookie", "session=from-auth"),
            ],
            "ok",
        )
    };
    match path.as_str() {
        "/allow" => allow(),
        "/deny" => reply(
            401,
            &[("www-authenticate", "Basic realm=\"auth\"")],
            "denied by auth",
        ),
        "/redirect" => reply(302, &[("location", "/login?from=auth")], "see /login"),
        "/hang" => {
            // Counted while held, also when the gateway gives up and drops the connection.
            struct Held<'a>(&'a AtomicUsize);
            impl Drop for Held<'_> {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            hanging.fetch_add(1, Ordering::SeqCst);
            let _held = Held(hanging);
            let _ = released.wait_for(|r| *r).await;
            allow()
        }
        "/unavailable" => reply(503, &[], "upstream down"),
        page => match page
            .strip_prefix('/')
            .and_then(|p| p.strip_suffix(".html"))
            .and_then(|code| code.parse::<u16>().ok())
        {
            Some(code) => {
                let mut resp =
                    Response::new(Full::new(Bytes::from(format!("<h1>error {code}</h1>"))));
                resp.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("text/html"),
                );
                resp
            }
            None => reply(404, &[], "no such auth path"),
        },
    }
}
