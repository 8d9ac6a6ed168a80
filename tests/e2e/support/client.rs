//! A real HTTP client (hyper) for the suites: HTTP/1.1 with keep-alive, or HTTP/2 prior knowledge.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type Body = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// What the client got.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Clone)]
pub struct Client {
    inner: HyperClient<HttpConnector, Body>,
}

impl Default for Client {
    fn default() -> Self {
        Self::http1()
    }
}

impl Client {
    pub fn http1() -> Self {
        Client {
            inner: HyperClient::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub fn http2() -> Self {
        Client {
            inner: HyperClient::builder(TokioExecutor::new())
                .http2_only(true)
                .build_http(),
        }
    }

    /// GET `url` with a Host header and extra headers; the whole exchange is bounded by 30 s
    /// so a hang fails the test instead of stalling the suite.
    pub async fn get(&self, url: &str, host: &str, headers: &[(&str, &str)]) -> Reply {
        let mut b = Request::builder().method(Method::GET).uri(url);
        if !host.is_empty() {
            b = b.header("host", host);
        }
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        self.send(b.body(empty()).unwrap()).await
    }

    /// GETs `url` (no Host override) until `done` holds for its status and text, the event a
    /// test awaits; panics when `within` passes first. Returns the answer that satisfied it.
    pub async fn get_until(
        &self,
        url: &str,
        within: Duration,
        done: impl Fn(u16, &str) -> bool,
    ) -> (u16, String) {
        let started = std::time::Instant::now();
        loop {
            let reply = self.get(url, "", &[]).await;
            let (status, text) = (reply.status.as_u16(), reply.text());
            if done(status, &text) {
                return (status, text);
            }
            assert!(
                started.elapsed() < within,
                "{url} never gave the awaited answer; last {status} {text}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let fut = async {
            let resp = self.inner.request(req).await.expect("request failed");
            let (parts, body) = resp.into_parts();
            let body = body.collect().await.expect("body failed").to_bytes();
            Reply {
                status: parts.status,
                headers: parts.headers,
                body,
            }
        };
        tokio::time::timeout(Duration::from_secs(30), fut)
            .await
            .expect("request timed out after 30 s")
    }

    /// The raw hyper client, for streaming tests.
    pub fn raw(&self) -> &HyperClient<HttpConnector, Body> {
        &self.inner
    }
}

pub fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

/// The entry of the plugin `name` in `/api/plugins` of a gateway whose API (`traefik`
/// entrypoint) listens on `api_port`. Panics when the API does not answer 200 or does not list
/// the plugin.
pub async fn listed_plugin(client: &Client, api_port: u16, name: &str) -> serde_json::Value {
    let url = format!("http://127.0.0.1:{api_port}/api/plugins");
    let api = client.get(&url, "gw.test", &[]).await;
    assert_eq!(api.status, 200, "{url}");
    let plugins: serde_json::Value = serde_json::from_slice(&api.body).expect("JSON");
    plugins
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("{name} in {plugins}"))
}
