//! One request's recording: started when the request arrives, told where it was routed, and
//! finished when its response body has gone out (or was dropped), which is when the duration
//! and the bytes sent are known. Built only when a recorder is active.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};

use super::access_log::AccessRecord;
use super::access_record::{OriginHeaders, ResponseHeaders, logged_headers};
use super::metrics::{HeadFacts, Observation, Protocol, SeriesSet, TlsLabels, method_label};
pub use super::origin_bytes::data_len;
use super::{Recorder, RouteHandles};
use crate::config::ObservabilityFlags;

/// The recording of one request in flight.
#[derive(Debug)]
pub struct Exchange {
    recorder: &'static Recorder,
    started: Instant,
    method: &'static str,
    protocol: Protocol,
    request_bytes: u64,
    entrypoint: Option<&'static SeriesSet>,
    route: Option<Arc<RouteHandles>>,
    forwarded: bool,
    record: Option<AccessRecord>,
    /// The upstream's body size where the body sent is another (`None`: the same bytes).
    origin_bytes: Option<super::OriginBytes>,
    /// The `headerLabels` headers' values (empty without `headerLabels`: no allocation).
    header_values: Box<[http::HeaderValue]>,
    /// The entrypoint's `observability`: what is recorded when no router claims the request.
    unrouted: ObservabilityFlags,
    /// [`Exchange::finish`] ran.
    finished: bool,
    /// The TLS session's labels for `*_requests_tls_total`; `None` over plain TCP.
    tls: Option<TlsLabels>,
}

/// What the request pipeline tells about the client side, before routing.
pub struct Arrival<'a> {
    pub entrypoint: &'a Arc<str>,
    pub client: std::net::SocketAddr,
    pub tls: bool,
    pub method: &'a http::Method,
    pub uri: &'a http::Uri,
    pub version: http::Version,
    pub headers: &'a http::HeaderMap,
    /// The entrypoint's `observability` defaults.
    pub signals: ObservabilityFlags,
    /// When the request arrived (the one clock reading the recording needs at the start).
    pub started: Instant,
    /// The TLS session's facts for the access log; `None` on a plain connection.
    pub tls_facts: Option<&'a Arc<super::TlsFacts>>,
    /// Whether the client is a trusted forwarder (`forwardedHeaders.trustedIPs` or
    /// `insecure`): its `X-Forwarded-For` names the client in the access log.
    pub trusted_forwarder: bool,
}

impl Exchange {
    /// Starts recording a request; reads no clock. One allocation (the exchange itself, built
    /// in place on the heap: the request's future holds a pointer, not the few hundred bytes
    /// of its access record, and it is not copied again into the response body).
    pub fn start(recorder: &'static Recorder, a: Arrival<'_>) -> Box<Exchange> {
        let head = HeadFacts::of(a.headers);
        let request_bytes = head
            .content_length
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let record = recorder.access_log.as_ref().map(|log| {
            // Traefik's default (no header logged): no scan of the request's headers.
            let headers = logged_headers(&log.config.fields, a.headers).unwrap_or_default();
            let path = a
                .uri
                .path_and_query()
                .map_or_else(|| a.uri.path(), |pq| pq.as_str());
            let host = a
                .uri
                .authority()
                .map(|h| h.as_str())
                .or_else(|| head.host.and_then(|h| h.to_str().ok()));
            let (target, host_len) = AccessRecord::target(host, path);
            AccessRecord {
                started: a.started,
                client: a.client,
                method: a.method.clone(),
                target,
                host_len,
                version: a.version,
                headers,
                entrypoint: a.entrypoint.clone(),
                tls: a.tls,
                status: 0,
                origin_status: None,
                request_bytes,
                response_bytes: 0,
                origin_bytes: None,
                duration: Default::default(),
                router: None,
                service: None,
                service_url: None,
                retry_attempts: 0,
                user: None,
                request_count: log.next_request(),
                tls_facts: a.tls_facts.cloned(),
                forwarded_at: None,
                forwarded_for: match a.trusted_forwarder {
                    true => a.headers.get("x-forwarded-for").cloned(),
                    false => None,
                },
                response_headers: None,
            }
        });
        let header_values = recorder
            .metrics
            .as_ref()
            .map(|m| {
                m.header_labels()
                    .iter()
                    .map(|(_, header)| {
                        a.headers
                            .get(header)
                            .cloned()
                            .unwrap_or_else(|| http::HeaderValue::from_static(""))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Box::new(Exchange {
            header_values,
            recorder,
            started: a.started,
            method: method_label(a.method),
            protocol: head.protocol(),
            request_bytes,
            entrypoint: recorder.entrypoint_set(a.entrypoint),
            route: None,
            forwarded: false,
            record,
            origin_bytes: None,
            unrouted: a.signals,
            finished: false,
            tls: a.tls_facts.map(|f| TlsLabels {
                version: f.version,
                cipher: f.cipher,
            }),
        })
    }

    /// The request matched `router`; `forwarded`: it went to the service (`origin`: the
    /// upstream's status, when one answered).
    pub fn routed(
        &mut self,
        router: Arc<str>,
        handles: Arc<RouteHandles>,
        forwarded: bool,
        forwarded_at: Option<Instant>,
        origin: Option<u16>,
    ) {
        self.forwarded = forwarded;
        if let Some(r) = &mut self.record {
            r.router = Some(handles.router_name.clone().unwrap_or(router));
            r.service = handles.service_name.clone();
            r.origin_status = origin;
            r.forwarded_at = forwarded_at;
        }
        self.route = Some(handles);
    }

    /// The server that answered (`ServiceURL`) and the retries it took (`RetryAttempts`).
    pub fn served(&mut self, served: Option<super::ServedBy>) {
        if let (Some(r), Some(s)) = (&mut self.record, served) {
            r.retry_attempts = s.retries;
            r.service_url = Some(s.url);
        }
    }

    /// The upstream's body size, when a middleware sent the client another body (the access
    /// log's `OriginContentSize` and `GzipRatio`).
    pub fn origin_bytes(&mut self, origin: super::OriginBytes) {
        if self.record.is_some() {
            self.origin_bytes = Some(origin);
        }
    }

    /// The response's headers for the log's `origin_` and `downstream_` fields: `origin`, the
    /// upstream's as they came (`None`: no upstream answered), and `sent`, the client's. Does
    /// nothing unless the log logs some header (Traefik's default logs none).
    pub fn response_headers(&mut self, origin: Option<OriginHeaders>, sent: &http::HeaderMap) {
        let (Some(r), Some(log)) = (&mut self.record, &self.recorder.access_log) else {
            return;
        };
        let Some(downstream) = logged_headers(&log.config.fields, sent) else {
            return;
        };
        r.response_headers = Some(Box::new(ResponseHeaders {
            origin: origin.map(|o| o.0).unwrap_or_default(),
            downstream,
        }));
    }

    /// The request's headers as the middlewares left them (`logged_request_headers`), in
    /// place of those it arrived with.
    pub fn request_headers(&mut self, headers: super::HeaderList) {
        if let Some(r) = &mut self.record {
            r.headers = headers;
        }
    }

    /// The authenticated user a plugin named (`ClientUsername`).
    pub fn user(&mut self, user: std::sync::Arc<str>) {
        if let Some(r) = &mut self.record {
            r.user = Some(user);
        }
    }

    /// Records the finished exchange; a second call records nothing. Takes `&mut self`: the
    /// exchange (with its access record, a few hundred bytes) is not moved out of its body to
    /// be finished, and the record is moved once, into the log's inbox.
    pub fn finish(&mut self, status: u16, response_bytes: u64) {
        if self.finished {
            return;
        }
        self.finished = true;
        let duration = self.started.elapsed();
        // One bucket search for the entrypoint's, router's and service's histograms.
        let bucket = self
            .recorder
            .metrics
            .as_ref()
            .map(|m| m.bucket_of(duration));
        let obs = Observation {
            bucket,
            code: status,
            method: self.method,
            protocol: self.protocol,
            duration,
            request_bytes: self.request_bytes,
            response_bytes,
            header_values: &self.header_values,
            tls: self.tls,
        };
        let signals = self.route.as_ref().map_or(self.unrouted, |r| r.signals);
        if signals.metrics
            && let Some(ep) = self.entrypoint
        {
            ep.record(&obs);
        }
        // A router with `metrics: false` resolved no router or service series.
        if let Some(route) = &self.route {
            if let Some(router) = &route.router {
                router.record(&obs);
            }
            if self.forwarded
                && let Some(service) = &route.service
            {
                service.record(&obs);
            }
        }
        if let (Some(log), Some(record)) = (&self.recorder.access_log, &mut self.record)
            && signals.access_logs
            && log.keeps(status, record.retry_attempts, duration)
        {
            record.status = status;
            record.response_bytes = response_bytes;
            record.origin_bytes = self.origin_bytes.as_ref().map(super::OriginBytes::get);
            record.duration = duration;
            log.send(&mut self.record);
        }
    }
}

/// A response body that finishes its [`Exchange`] when it ends or is dropped, counting the
/// bytes that went out.
pub struct RecordedBody<B> {
    inner: B,
    status: u16,
    sent: u64,
    exchange: Box<Exchange>,
}

impl<B> RecordedBody<B> {
    pub fn new(inner: B, status: u16, exchange: Box<Exchange>) -> Self {
        RecordedBody {
            inner,
            status,
            sent: 0,
            exchange,
        }
    }
}

impl<B> Drop for RecordedBody<B> {
    fn drop(&mut self) {
        self.exchange.finish(self.status, self.sent);
    }
}

impl<B> Body for RecordedBody<B>
where
    B: Body + Unpin,
    B::Data: Buf,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        this.sent += data_len(&polled);
        if matches!(polled, Poll::Ready(None)) && this.inner.is_end_stream() {
            this.exchange.finish(this.status, this.sent);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
