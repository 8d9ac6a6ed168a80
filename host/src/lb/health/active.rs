//! Active health checks: one background task per server probes it every `interval`
//! (`unhealthyInterval` while it is down) with the configured request, and sets its `up` flag:
//! a probe passes when the response head arrives within `timeout` with the expected status
//! (default 200-399). The first probe runs as soon as the service is built.
//!
//! The tasks belong to the service: [`HealthTasks`] is held by the load balancer and aborts
//! them when dropped, so a runtime replaced by a reload (or rejected while being built) leaves
//! no probe running. The tasks hold only the shared health flags and a transport handle.

use std::sync::Arc;

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderName, HeaderValue, Method, Request, header};
use http_body_util::BodyExt;
use tokio::task::AbortHandle;

use super::ServerHealth;
use crate::config::HealthCheckConfig;
use crate::upstream::body::empty;
use crate::upstream::transport::{UpstreamProtocol, UpstreamTransport};

/// Where one server is probed (scheme and port overrides already applied).
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    pub scheme: Scheme,
    pub authority: Authority,
    pub protocol: UpstreamProtocol,
    /// The server's URL as configured, for logs.
    pub label: Arc<str>,
}

/// The probe request and verdict, shared by a service's probe tasks.
#[derive(Debug)]
struct Probe {
    service: Arc<str>,
    path: PathAndQuery,
    method: Method,
    hostname: Option<HeaderValue>,
    headers: Vec<(HeaderName, HeaderValue)>,
    interval: std::time::Duration,
    unhealthy_interval: std::time::Duration,
    timeout: std::time::Duration,
    status: Option<u16>,
    follow_redirects: bool,
}

/// Redirects a probe follows at most (Go's client stops after 10).
const MAX_REDIRECTS: usize = 10;

/// The running probe tasks of one service; dropping this stops them.
#[derive(Debug)]
pub struct HealthTasks {
    handles: Vec<AbortHandle>,
}

impl Drop for HealthTasks {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

/// Starts one probe task per target (`health[i]` belongs to `targets[i]`). Must run inside the
/// tokio runtime.
pub fn start(
    service: Arc<str>,
    config: &HealthCheckConfig,
    targets: Vec<ProbeTarget>,
    health: Arc<[ServerHealth]>,
    transport: UpstreamTransport,
) -> HealthTasks {
    let probe = Arc::new(Probe {
        service,
        // Checked at config time; "/" is the fallback should it ever not parse.
        path: config
            .path
            .parse()
            .unwrap_or_else(|_| PathAndQuery::from_static("/")),
        method: config.method.clone(),
        hostname: config.hostname.clone(),
        headers: config.headers.clone(),
        interval: config.interval,
        unhealthy_interval: config.unhealthy_interval,
        timeout: config.timeout,
        status: config.status,
        follow_redirects: config.follow_redirects,
    });
    let handles = targets
        .into_iter()
        .enumerate()
        .map(|(index, target)| {
            let (probe, health, transport) = (probe.clone(), health.clone(), transport.clone());
            tokio::spawn(async move {
                loop {
                    let verdict = probe.run(&transport, &target).await;
                    let up = verdict.is_ok();
                    let was_up = health.get(index).map(|h| h.set_up(up)).unwrap_or(up);
                    match (was_up, verdict) {
                        (true, Err(reason)) => tracing::warn!(
                            service = &*probe.service,
                            server = &*target.label,
                            "health check failed, server leaves the rotation: {reason}"
                        ),
                        (false, Ok(())) => tracing::info!(
                            service = &*probe.service,
                            server = &*target.label,
                            "health check passed, server rejoins the rotation"
                        ),
                        _ => {}
                    }
                    let pause = if up {
                        probe.interval
                    } else {
                        probe.unhealthy_interval
                    };
                    tokio::time::sleep(pause).await;
                }
            })
            .abort_handle()
        })
        .collect();
    HealthTasks { handles }
}

impl Probe {
    /// One probe: `Ok` when it passed, else why not.
    async fn run(&self, transport: &UpstreamTransport, target: &ProbeTarget) -> Result<(), String> {
        let exchange = async {
            let mut at = super::probe_redirect::Hop {
                scheme: target.scheme.clone(),
                authority: target.authority.clone(),
                protocol: target.protocol,
                path: self.path.clone(),
                method: self.method.clone(),
            };
            let mut hops = 0;
            let status = loop {
                let mut req = Request::new(empty());
                *req.method_mut() = at.method.clone();
                *req.uri_mut() = http::Uri::from(at.path.clone());
                for (name, value) in &self.headers {
                    req.headers_mut().insert(name, value.clone());
                }
                let pass_host = match &self.hostname {
                    Some(host) => {
                        req.headers_mut().insert(header::HOST, host.clone());
                        true
                    }
                    None => false,
                };
                let resp = transport
                    .send(&at.scheme, &at.authority, at.protocol, pass_host, req)
                    .await
                    .map_err(|e| e.to_string())?;
                let status = resp.status().as_u16();
                let next = self
                    .follow_redirects
                    .then(|| at.follow(status, resp.headers().get(header::LOCATION)))
                    .flatten();
                // Read the (small) body so that the connection can be reused.
                let _ = resp.into_body().collect().await;
                match next {
                    Some(_) if hops == MAX_REDIRECTS => {
                        return Err(format!("stopped after {MAX_REDIRECTS} redirects"));
                    }
                    Some(next) => {
                        at = next;
                        hops += 1;
                    }
                    None => break status,
                }
            };
            let expected = match self.status {
                Some(s) => status == s,
                None => (200..400).contains(&status),
            };
            if expected {
                Ok(())
            } else {
                Err(format!("unexpected status {status}"))
            }
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(verdict) => verdict,
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto;

    use super::*;
    use crate::config::ServersTransportConfig;
    use crate::upstream::transport::TransportSettings;

    /// A server answering `/health` with 200 or 503 per `healthy`, counting probes.
    async fn health_server(healthy: Arc<AtomicBool>, probes: Arc<AtomicUsize>) -> Authority {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (healthy, probes) = (healthy.clone(), probes.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                        assert_eq!(req.uri().path(), "/health");
                        assert_eq!(req.headers().get("x-probe").unwrap(), "1");
                        probes.fetch_add(1, Ordering::SeqCst);
                        let mut resp = http::Response::new(Full::new(Bytes::new()));
                        if !healthy.load(Ordering::SeqCst) {
                            *resp.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
                        }
                        async move { Ok::<_, std::convert::Infallible>(resp) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        addr.to_string().parse().unwrap()
    }

    async fn until(what: &str, cond: impl Fn() -> bool) {
        let guard = async {
            while !cond() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), guard)
            .await
            .is_err()
        {
            panic!("{what}: not within 10 s");
        }
    }

    #[tokio::test]
    async fn probes_follow_the_server_and_stop_when_the_tasks_are_dropped() {
        let (healthy, probes) = (
            Arc::new(AtomicBool::new(true)),
            Arc::new(AtomicUsize::new(0)),
        );
        let authority = health_server(healthy.clone(), probes.clone()).await;
        let d = ServersTransportConfig::default();
        let transport = UpstreamTransport::new(&TransportSettings {
            dial_timeout: d.dial_timeout,
            response_header_timeout: None,
            idle_conn_timeout: d.idle_conn_timeout,
            max_idle_conns_per_host: d.max_idle_conns_per_host,
            max_conns_per_host: None,
            tls: None,
            http2: Default::default(),
        });
        let config = HealthCheckConfig {
            path: "/health".into(),
            method: Method::GET,
            scheme: None,
            port: None,
            hostname: None,
            headers: vec![(
                HeaderName::from_static("x-probe"),
                HeaderValue::from_static("1"),
            )],
            interval: Duration::from_millis(10),
            unhealthy_interval: Duration::from_millis(10),
            timeout: Duration::from_secs(1),
            status: None,
            follow_redirects: true,
        };
        let target = ProbeTarget {
            scheme: Scheme::HTTP,
            authority,
            protocol: UpstreamProtocol::Http1,
            label: Arc::from("test"),
        };
        let health: Arc<[ServerHealth]> = Arc::from(vec![ServerHealth::default()]);
        let tasks = start(
            Arc::from("svc"),
            &config,
            vec![target],
            health.clone(),
            transport,
        );

        healthy.store(false, Ordering::SeqCst);
        until("the server is probed down", || !health[0].is_up()).await;
        healthy.store(true, Ordering::SeqCst);
        until("the server is probed up again", || health[0].is_up()).await;

        drop(tasks);
        // The aborted tasks drop their handle on the health flags: nothing keeps probing.
        until("the probe task ended", || Arc::strong_count(&health) == 1).await;
        let after = probes.load(Ordering::SeqCst);
        assert!(after >= 2);
    }
}
