//! A real OTLP/HTTP trace receiver (hyper, on the test's runtime): it takes the gateway's
//! `POST /v1/traces` exports, decodes each body as the protobuf `ExportTraceServiceRequest`
//! with the `opentelemetry-proto` types, and keeps every span it holds.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;

/// One exported span, flattened: ids in hex, attributes as text.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a trace's root.
    pub parent_span_id: String,
    pub name: String,
    /// OTLP's `SpanKind`: 1 internal, 2 server, 3 client.
    pub kind: i32,
    pub attributes: BTreeMap<String, String>,
    /// OTLP's status code: 0 unset, 1 ok, 2 error.
    pub status_code: i32,
    /// The resource's `service.name`.
    pub service_name: String,
}

impl ReceivedSpan {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

#[derive(Default)]
struct Received {
    spans: Vec<ReceivedSpan>,
    /// Export requests received, and what was wrong with any (path, content type, body).
    exports: usize,
    /// Of those, over gRPC, and the request headers (metadata) they came with.
    grpc_exports: usize,
    metadata: Vec<(String, String)>,
    problems: Vec<String>,
}

pub struct OtlpReceiver {
    pub addr: SocketAddr,
    received: Arc<Mutex<Received>>,
    arrived: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl OtlpReceiver {
    pub async fn start() -> OtlpReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind OTLP receiver");
        let addr = listener.local_addr().expect("receiver address");
        let received = Arc::new(Mutex::new(Received::default()));
        let arrived = Arc::new(tokio::sync::Notify::new());
        let (store, notify) = (received.clone(), arrived.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, notify) = (store.clone(), notify.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let (store, notify) = (store.clone(), notify.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let bytes = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let grpc = is_grpc(&parts);
                            record(&store, &parts, &bytes);
                            notify.notify_waiters();
                            Ok::<_, Infallible>(if grpc {
                                grpc_ok()
                            } else {
                                let mut resp = Response::new(Reply::plain());
                                resp.headers_mut().insert(
                                    http::header::CONTENT_TYPE,
                                    http::HeaderValue::from_static("application/x-protobuf"),
                                );
                                resp
                            })
                        }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        OtlpReceiver {
            addr,
            received,
            arrived,
            task,
        }
    }

    /// The endpoint to configure as `tracing.otlp.http.endpoint` (the path is the default).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.received.lock().unwrap().spans.clone()
    }

    pub fn exports(&self) -> usize {
        self.received.lock().unwrap().exports
    }

    /// Exports received over gRPC.
    pub fn grpc_exports(&self) -> usize {
        self.received.lock().unwrap().grpc_exports
    }

    /// The value of metadata (request header) `name` on a gRPC export, if any came with it.
    pub fn metadata(&self, name: &str) -> Option<String> {
        let received = self.received.lock().unwrap();
        received
            .metadata
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// What was wrong with the exports received (must be empty).
    pub fn problems(&self) -> Vec<String> {
        self.received.lock().unwrap().problems.clone()
    }

    /// Waits until `done` holds for the spans received, for at most `limit` (then returns the
    /// spans anyway, for the caller's assertions to explain).
    pub async fn wait_for(
        &self,
        limit: Duration,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.arrived.notified();
            let spans = self.spans();
            if done(&spans) {
                return spans;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.spans();
            }
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The gRPC method an OTLP/gRPC exporter calls.
const GRPC_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

fn is_grpc(parts: &http::request::Parts) -> bool {
    parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// A unary gRPC success: an empty `ExportTraceServiceResponse` (a zero-length message) and
/// `grpc-status: 0` in the trailers.
fn grpc_ok() -> Response<Reply> {
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let mut resp = Response::new(Reply {
        data: Some(Bytes::from_static(&[0, 0, 0, 0, 0])),
        trailers: Some(trailers),
    });
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    resp
}

/// The receiver's answer body: data, then trailers (gRPC), each optional.
pub struct Reply {
    data: Option<Bytes>,
    trailers: Option<http::HeaderMap>,
}

impl Reply {
    fn plain() -> Reply {
        Reply {
            data: None,
            trailers: None,
        }
    }
}

impl http_body::Body for Reply {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        let frame = match (self.data.take(), self.trailers.take()) {
            (Some(data), trailers) => {
                self.trailers = trailers;
                Some(Ok(http_body::Frame::data(data)))
            }
            (None, Some(trailers)) => Some(Ok(http_body::Frame::trailers(trailers))),
            (None, None) => None,
        };
        std::task::Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }
}

fn record(store: &Mutex<Received>, parts: &http::request::Parts, body: &[u8]) {
    let mut received = store.lock().unwrap();
    received.exports += 1;
    let grpc = is_grpc(parts);
    let path = if grpc { GRPC_EXPORT } else { "/v1/traces" };
    if parts.method != http::Method::POST || parts.uri.path() != path {
        let problem = format!("{} {}", parts.method, parts.uri);
        received.problems.push(problem);
    }
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !grpc && content_type != "application/x-protobuf" {
        received
            .problems
            .push(format!("content-type {content_type:?}"));
    }
    if grpc {
        received.grpc_exports += 1;
        received.metadata.extend(
            parts
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string()))),
        );
    }
    // A gRPC message: 1 byte "compressed" (0), 4 bytes big-endian length, the message.
    let body = match grpc {
        false => body,
        true => match body {
            [0, a, b, c, d, rest @ ..]
                if u32::from_be_bytes([*a, *b, *c, *d]) as usize == rest.len() =>
            {
                rest
            }
            _ => {
                received
                    .problems
                    .push("not one uncompressed gRPC message".to_string());
                return;
            }
        },
    };
    let request = match ExportTraceServiceRequest::decode(body) {
        Ok(r) => r,
        Err(e) => {
            received
                .problems
                .push(format!("not a protobuf export: {e}"));
            return;
        }
    };
    for resource_spans in request.resource_spans {
        let service_name = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref())
            .map(|v| text(v.value.as_ref()))
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                received.spans.push(ReceivedSpan {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name,
                    kind: span.kind,
                    attributes: span
                        .attributes
                        .iter()
                        .map(|kv| {
                            let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
                            (kv.key.clone(), text(value))
                        })
                        .collect(),
                    status_code: span.status.map(|s| s.code).unwrap_or(0),
                    service_name: service_name.clone(),
                });
            }
        }
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::ArrayValue(a)) => a
            .values
            .iter()
            .map(|v| text(v.value.as_ref()))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
