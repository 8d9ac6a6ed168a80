//! A tiny upstream for the quickstart (`wasmgate demo-upstream`): echoes what it received as
//! JSON. Part of the binary only, not the library or the proxy.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

/// Serves until the process ends. Each response is `{"method", "path", "query", "headers"}`.
pub async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("demo upstream listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let svc = service_fn(|req: Request<hyper::body::Incoming>| async move {
                let (parts, body) = req.into_parts();
                // Drain the body so keep-alive works; its size is reported, not its content.
                let size = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes().len())
                    .unwrap_or(0);
                let headers: serde_json::Map<String, serde_json::Value> = parts
                    .headers
                    .iter()
                    .map(|(n, v)| {
                        (
                            n.as_str().to_owned(),
                            String::from_utf8_lossy(v.as_bytes()).into(),
                        )
                    })
                    .collect();
                let echo = serde_json::json!({
                    "method": parts.method.as_str(),
                    "path": parts.uri.path(),
                    "query": parts.uri.query(),
                    "headers": headers,
                    "bodyBytes": size,
                });
                let mut text = serde_json::to_string_pretty(&echo).unwrap_or_default();
                text.push('\n');
                let mut resp = Response::new(Full::new(Bytes::from(text)));
                resp.headers_mut().insert(
                    "content-type",
                    http::HeaderValue::from_static("application/json"),
                );
                Ok::<_, Infallible>(resp)
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
