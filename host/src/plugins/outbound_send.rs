//! Sending a recorded subrequest: on the request's own task, after the hook that recorded it
//! returned and its instance went back to the pool, so the wait holds neither a gateway thread
//! nor a plugin instance (the task is parked on the socket like any proxied request).
//!
//! URL destinations go through the grant's upstream transport (pooled connections, TLS),
//! service destinations through the service's load balancer. Redirects are never followed. The
//! whole exchange, head and body, runs under the subrequest's timeout; the body is read up to
//! the subrequest's cap and the rest left unread (the connection is then not reused).

use http::Request;
use http_body_util::BodyExt;

use super::outbound::{Subrequest, Target, scheme_and_authority};
use crate::admin::trace::{AttemptSpan, TraceParent};
use crate::lb::ServiceError;
use crate::upstream::UpstreamProtocol;
use crate::upstream::body::full;

/// The answer to a subrequest, as handed to `on-*-subresponse`.
#[derive(Debug)]
pub struct Subresponse {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub body_truncated: bool,
}

/// Why a subrequest brought no response.
#[derive(Debug)]
pub enum SubrequestFailure {
    Unreachable(String),
    Timeout,
    NoServer,
}

pub type SubrequestResult = Result<Subresponse, SubrequestFailure>;

impl Subrequest {
    /// Sends the subrequest and reads its response (bounded by the timeout and the body cap).
    /// With tracing on (`trace` set), the exchange has its own client span under the
    /// middleware's, whose context the destination receives as `traceparent`.
    pub async fn send(mut self) -> SubrequestResult {
        let span = self.start_span();
        let timeout = self.timeout;
        let result = match tokio::time::timeout(timeout, self.exchange()).await {
            Ok(result) => result,
            Err(_) => Err(SubrequestFailure::Timeout),
        };
        if let Some(span) = span {
            span.finish(match &result {
                Ok(answer) => Ok(answer.status),
                Err(SubrequestFailure::Timeout) => Err("timeout"),
                Err(SubrequestFailure::NoServer) => Err("no_server"),
                Err(SubrequestFailure::Unreachable(_)) => Err("unreachable"),
            });
        }
        result
    }

    /// Opens the subrequest's span and injects its context into the headers; a service's load
    /// balancer then hangs its attempt span under it (`trace` is left for `lb`).
    fn start_span(&mut self) -> Option<AttemptSpan> {
        let parent = self.trace.take()?;
        let (server, uri) = match &self.target {
            Target::Url(uri) => {
                let server = scheme_and_authority(uri)
                    .map(|(scheme, authority)| format!("{scheme}://{authority}"))
                    .unwrap_or_default();
                (server, uri.clone())
            }
            Target::Service(_, pq) => (String::new(), http::Uri::from(pq.clone())),
        };
        let span = parent.subrequest(&server, &self.method, &uri, &mut self.headers);
        if matches!(self.target, Target::Service(..)) {
            self.trace = Some(span.as_ref().map_or(parent, TraceParent::child_parent));
        }
        span
    }

    async fn exchange(self) -> SubrequestResult {
        let mut req = Request::new(full(self.body));
        *req.method_mut() = self.method;
        *req.headers_mut() = self.headers;
        let resp = match self.target {
            Target::Url(uri) => {
                let (scheme, authority) = scheme_and_authority(&uri).ok_or_else(|| {
                    SubrequestFailure::Unreachable(format!("{uri} has no authority"))
                })?;
                *req.uri_mut() = uri;
                self.grant
                    .transport
                    .send(&scheme, &authority, UpstreamProtocol::Http1, true, req)
                    .await
                    .map_err(|e| SubrequestFailure::Unreachable(e.to_string()))?
            }
            Target::Service(service, pq) => {
                *req.uri_mut() = http::Uri::from(pq);
                if let Some(trace) = self.trace {
                    req.extensions_mut().insert(trace);
                }
                service.forward(req).await.map_err(|e| match e {
                    ServiceError::NoServer => SubrequestFailure::NoServer,
                    other => SubrequestFailure::Unreachable(other.to_string()),
                })?
            }
        };
        let (parts, mut body) = resp.into_parts();
        let mut bytes = Vec::new();
        let mut truncated = false;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                SubrequestFailure::Unreachable(format!("response body broke off: {e}"))
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let room = self.max_body.saturating_sub(bytes.len());
            if data.len() > room {
                bytes.extend_from_slice(&data[..room]);
                truncated = true;
                break;
            }
            bytes.extend_from_slice(&data);
        }
        let mut headers = Vec::with_capacity(parts.headers.len());
        for (name, value) in &parts.headers {
            if !matches!(
                name.as_str(),
                "connection" | "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade"
            ) {
                headers.push((name.as_str().to_owned(), value.as_bytes().to_vec()));
            }
        }
        Ok(Subresponse {
            status: parts.status.as_u16(),
            headers,
            body: bytes,
            body_truncated: truncated,
        })
    }
}
