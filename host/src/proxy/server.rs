//! Entrypoint listeners: accept TCP connections, shed those over the limit, and hand each to
//! its own task (`connection`: TLS when the snapshot has TLS routers for the entrypoint, then
//! HTTP/1.1 and HTTP/2 with hyper).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::connection::{ConnectionTask, ProxyProtocolTrust};
use super::connection_limits::ConnectionLimits;
use super::handler::{Connection, RequestTimeouts};
use super::headers::ForwardedValues;
use super::snapshot::SharedSnapshot;

/// Whom an entrypoint believes about the client: `forwardedHeaders` (whose `X-Forwarded-*`
/// are kept) and `proxyProtocol` (who may send a PROXY header; `None`: headers are not read).
#[derive(Debug, Clone, Default)]
pub struct TrustedSenders {
    pub forwarded: crate::config::ForwardedHeadersConfig,
    pub proxy_protocol: Option<crate::config::ForwardedHeadersConfig>,
}

/// The accept queue length of an entrypoint's socket (what tokio's `TcpListener::bind` uses).
const LISTEN_BACKLOG: u32 = 1024;

/// A bound entrypoint, ready to serve.
pub struct Entrypoint {
    pub name: Arc<str>,
    pub listener: TcpListener,
    /// `transparent`: connections redirected by iptables (original destination, detection).
    pub transparent: Option<Arc<crate::config::TransparentConfig>>,
    /// `observability`: the signals of requests that no router with its own `observability`
    /// claims (every signal on by default).
    pub observability: crate::config::ObservabilityFlags,
    /// The entrypoint's connection slots (`maxConnections`) when several listeners share them
    /// (per-core workers, `app::per_core`); `None`: this listener has its own.
    pub slots: Option<Arc<Semaphore>>,
}

impl Entrypoint {
    /// Listens on `addr` (`SO_REUSEADDR` as tokio's own bind sets it; with `reuse_port`, also
    /// `SO_REUSEPORT`, so that several processes can listen on one port and the kernel spreads
    /// the connections: Traefik's `reusePort`, for upgrades without a gap). Runs once per
    /// entrypoint at start-up.
    ///
    /// With `ip_transparent` (a `transparent` entrypoint's `tproxy`), the socket gets
    /// `IP_TRANSPARENT` before it binds, so iptables `TPROXY` can hand it connections
    /// addressed elsewhere (needs `CAP_NET_ADMIN`).
    pub async fn bind(
        name: &str,
        addr: SocketAddr,
        reuse_port: bool,
        ip_transparent: bool,
    ) -> std::io::Result<Self> {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        if reuse_port {
            socket.set_reuseport(true)?;
        }
        if ip_transparent {
            crate::tcp::set_ip_transparent(&socket, addr.is_ipv6())?;
        }
        socket.bind(addr)?;
        let listener = socket.listen(LISTEN_BACKLOG)?;
        Ok(Entrypoint::on(name, listener))
    }

    /// An entrypoint on a listener bound elsewhere: a per-core worker takes its listener over
    /// from the thread that bound it (`TcpListener::from_std`, which needs the worker's own
    /// runtime: call it there). Runs once per worker and entrypoint at start-up.
    pub fn on(name: &str, listener: TcpListener) -> Self {
        Entrypoint {
            name: Arc::from(name),
            listener,
            transparent: None,
            observability: Default::default(),
            slots: None,
        }
    }

    /// Shares `slots` (`maxConnections`) with the entrypoint's other listeners.
    pub fn with_slots(mut self, slots: Arc<Semaphore>) -> Self {
        self.slots = Some(slots);
        self
    }

    /// Makes this a `transparent` entrypoint (see [`crate::config::TransparentConfig`]).
    pub fn with_transparent(mut self, config: Option<crate::config::TransparentConfig>) -> Self {
        self.transparent = config.map(Arc::new);
        self
    }

    /// Gives this entrypoint its `observability` defaults.
    pub fn with_observability(mut self, flags: crate::config::ObservabilityFlags) -> Self {
        self.observability = flags;
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// [`serve`](Self::serve) with the settings of the entrypoint's static config `ep`
    /// (grace period, limits, trusted senders, path policy). Runs once per listener.
    pub async fn serve_as(
        self,
        ep: &crate::config::EntryPointConfig,
        snapshot: SharedSnapshot,
        shutdown: watch::Receiver<bool>,
    ) {
        let senders = TrustedSenders {
            forwarded: ep.forwarded.clone(),
            proxy_protocol: ep.proxy_protocol.clone(),
        };
        let path_policy = crate::router::path::PathPolicy {
            allowed: crate::router::path::Encoded::from(&ep.encoded_characters),
            merge_slashes: true,
        };
        let limits = ConnectionLimits::from(&ep.limits);
        self.serve(
            snapshot,
            shutdown,
            ep.grace_timeout,
            limits,
            senders,
            path_policy,
        )
        .await;
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
        senders: TrustedSenders,
        path_policy: crate::router::path::PathPolicy,
    ) {
        let TrustedSenders {
            forwarded,
            proxy_protocol,
        } = senders;
        let local = match self.listener.local_addr() {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(entrypoint = &*self.name, "cannot read local address: {e}");
                return;
            }
        };
        let max_connections = limits.max_connections.clamp(1, u32::MAX as usize);
        let connections = self
            .slots
            .clone()
            .unwrap_or_else(|| Arc::new(Semaphore::new(max_connections)));
        crate::admin::watch_connections(&self.name, &connections, max_connections);
        let timeouts = RequestTimeouts::from(&limits);
        // One for all the plain connections of this entrypoint (`ConnectionTask` makes its
        // own for a connection with client certificates or an original destination).
        let facts = Arc::new(crate::plugins::ConnectionFacts::at(local));
        let proxy_protocol = proxy_protocol.map(|senders| {
            Arc::new(ProxyProtocolTrust {
                senders,
                forwarded: forwarded.clone(),
            })
        });
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
            let conn = Connection {
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
                original_dst: None,
                facts: facts.clone(),
                observability: self.observability,
            };
            // The TLS side of the snapshot current at accept: certificates renewed by a reload
            // reach the connections accepted after it.
            // Its TCP routers likewise (none: the connection takes the HTTP path).
            let (tls, tcp) = {
                let current = snapshot.load();
                (
                    current.tls.get(&*self.name).cloned(),
                    current.tcp.get(&*self.name).cloned(),
                )
            };
            let task = ConnectionTask {
                conn,
                snapshot: snapshot.clone(),
                limits: limits.clone(),
                shutdown: shutdown.clone(),
                permit,
                proxy_protocol: proxy_protocol.clone(),
                transparent: self.transparent.clone(),
            };
            tokio::spawn(task.run(stream, tls, tcp));
        }
        drop(self.listener);
        let open = max_connections - connections.available_permits();
        tracing::info!(
            entrypoint = &*self.name,
            open,
            ?grace,
            "draining connections"
        );
        // Every connection task holds one permit until its connection has ended (with shared
        // slots: every listener's connections, so each worker waits for all of them).
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
