//! Entrypoint listeners: accept TCP connections and serve HTTP/1.1 and HTTP/2 (h2c prior
//! knowledge) on them with hyper, handing each request to the handler with the current snapshot.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::connection_limits::ConnectionLimits;
use super::handler::{Connection, RequestTimeouts, handle};
use super::headers::ForwardedValues;
use super::idle::{Activity, ActivityIo};
use super::reset_guard::ConnectionResets;
use super::snapshot::SharedSnapshot;

/// A bound entrypoint, ready to serve.
pub struct Entrypoint {
    pub name: Arc<str>,
    pub listener: TcpListener,
}

impl Entrypoint {
    pub async fn bind(name: &str, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Entrypoint {
            name: Arc::from(name),
            listener,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until `shutdown` flips to true; each connection is served on its own
    /// task. Accept errors (e.g. too many open files) are logged and retried after a pause.
    ///
    /// On shutdown the listener closes at once (new connections are refused), idle keep-alive
    /// connections are closed, and requests in flight get up to `grace` to finish; then the
    /// remaining connections are dropped.
    pub async fn serve(
        self,
        snapshot: SharedSnapshot,
        mut shutdown: watch::Receiver<bool>,
        grace: Duration,
        limits: ConnectionLimits,
        forwarded: crate::config::ForwardedHeadersConfig,
        path_policy: crate::router::path::PathPolicy,
    ) {
        let local = match self.listener.local_addr() {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(entrypoint = &*self.name, "cannot read local address: {e}");
                return;
            }
        };
        let max_connections = limits.max_connections.clamp(1, u32::MAX as usize);
        let connections = Arc::new(Semaphore::new(max_connections));
        let timeouts = RequestTimeouts::from(&limits);
        loop {
            let accepted = tokio::select! {
                r = self.listener.accept() => r,
                _ = shutdown.changed() => break,
            };
            let (stream, client) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(entrypoint = &*self.name, "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let Ok(permit) = connections.clone().try_acquire_owned() else {
                shed(stream, &self.name);
                continue;
            };
            let conn = Arc::new(Connection {
                entrypoint: self.name.clone(),
                client,
                local,
                tls: false,
                trusted_forwarder: forwarded.trusts(client.ip()),
                max_body_bytes: limits.max_body_bytes,
                timeouts,
                h2c_upgrade: limits.h2c_upgrade,
                path_policy,
                forwarded_values: ForwardedValues::new(client, local.port(), false),
            });
            let snapshot = snapshot.clone();
            let resets = ConnectionResets::new(limits.h2_max_premature_resets);
            let accounting = resets.clone();
            let service = service_fn(move |req| {
                let conn = conn.clone();
                // One snapshot per request: a reload between two requests of a keep-alive
                // connection takes effect on the next request.
                let current = snapshot.load_full();
                let guard = accounting.start();
                // Boxed: the request's future is large (routing, plugin chain, upstream call)
                // and hyper moves it into its dispatcher; a pointer moves cheaper than its bytes.
                Box::pin(async move {
                    let resp = handle(current, &conn, req).await;
                    guard.answered();
                    Ok::<_, Infallible>(resp)
                })
            });
            let activity = Activity::new();
            let io = TokioIo::new(ActivityIo::new(stream, activity.clone()));
            let connection = limits
                .builder()
                .serve_connection_with_upgrades(io, service)
                .into_owned();
            let mut shutdown = shutdown.clone();
            let idle_timeout = limits.idle_timeout;
            // Runs the connection to its end. On shutdown, once no bytes have moved for
            // `idle_timeout`, or after too many premature resets, it is shut down gracefully:
            // an idle keep-alive connection closes at once, requests in flight finish first
            // (HTTP/2: GOAWAY, open streams finish). A connection that then stays idle for
            // another `idle_timeout` with no request in flight is dropped (an HTTP/2 client
            // that never acknowledges the GOAWAY's PING would otherwise stay forever), as is
            // a rapid-reset connection [`RESET_DRAIN`] after its GOAWAY.
            tokio::spawn(async move {
                let mut connection = std::pin::pin!(connection);
                let mut idle_wait = std::pin::pin!(idle(&activity, idle_timeout, false));
                let mut drain_limit = std::pin::pin!(deadline(None));
                let mut closing = false;
                if *shutdown.borrow_and_update() {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
                let result = loop {
                    tokio::select! {
                        result = connection.as_mut() => break result,
                        // A dropped sender (the gateway is exiting) counts as shutdown too.
                        _ = shutdown.changed(), if !closing => {
                            connection.as_mut().graceful_shutdown();
                            closing = true;
                        }
                        () = resets.tripped(), if !closing => {
                            tracing::warn!(
                                %client,
                                "closing a connection that reset most of its requests \
                                 after they were forwarded (rapid reset)"
                            );
                            connection.as_mut().graceful_shutdown();
                            closing = true;
                            drain_limit.set(deadline(Some(RESET_DRAIN)));
                        }
                        () = &mut idle_wait => {
                            if !closing {
                                tracing::debug!(%client, "closing an idle client connection");
                                connection.as_mut().graceful_shutdown();
                                closing = true;
                            } else if resets.in_flight() == 0 {
                                tracing::debug!(%client, "dropping a connection idle while closing");
                                break Ok(());
                            }
                            idle_wait.set(idle(&activity, idle_timeout, true));
                        }
                        () = &mut drain_limit => break Ok(()),
                    }
                };
                if let Err(e) = result {
                    tracing::debug!(%client, "connection ended with error: {e}");
                }
                drop(permit);
            });
        }
        drop(self.listener);
        let open = max_connections - connections.available_permits();
        tracing::info!(
            entrypoint = &*self.name,
            open,
            ?grace,
            "draining connections"
        );
        // Every connection task holds one permit until its connection has ended.
        let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout(grace, connections.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!(
                entrypoint = &*self.name,
                ?grace,
                "grace period over; dropping connections still open"
            );
        }
    }
}

/// Resolves once the connection has moved no bytes for `idle_timeout`; never without one.
/// With `from_now`, the idle period starts now (the next period of a connection already
/// closing) rather than at the last byte moved.
async fn idle(activity: &Activity, idle_timeout: Option<Duration>, from_now: bool) {
    if from_now {
        activity.touch();
    }
    match idle_timeout {
        Some(idle) => activity.idle_for(idle).await,
        None => std::future::pending().await,
    }
}

/// Resolves after `after`; never with `None`.
async fn deadline(after: Option<Duration>) {
    match after {
        Some(after) => tokio::time::sleep(after).await,
        None => std::future::pending().await,
    }
}

/// How long a connection closed for rapid reset may take to finish after its GOAWAY.
const RESET_DRAIN: Duration = Duration::from_secs(1);

/// Answers a connection over the limit with 503 and closes it, without reading its request.
fn shed(mut stream: tokio::net::TcpStream, entrypoint: &str) {
    tracing::warn!(
        entrypoint,
        "connection limit reached: shedding a connection with 503"
    );
    tokio::spawn(async move {
        let _ = stream
            .write_all(b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
            .await;
        let _ = stream.shutdown().await;
    });
}
