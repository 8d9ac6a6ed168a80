//! One accepted client connection, from its first byte to its end: on an entrypoint that
//! terminates TLS the first byte tells a TLS handshake from plain HTTP (Traefik serves both on
//! one entrypoint: TLS routers on TLS connections, the others on plain ones), the handshake
//! runs with the options of the ClientHello's server name (`tls`), and then the own HTTP/1.1
//! server (`h1_server`, the common requests) or hyper (the rest, and HTTP/2: ALPN `h2` over TLS,
//! prior knowledge in clear) serves it with the idle, shutdown and rapid-reset guards
//! (`guards`).
//!
//! Runs on its own task per connection; the TLS decision costs one `peek` and one snapshot
//! load per connection, nothing per request.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};

use super::connection_limits::ConnectionLimits;
use super::guards::{Drive, Guards};
use super::h1_server::{H1Context, H1End};
use super::handler::{Connection, handle};
use super::headers::ForwardedValues;
use super::request_body::RequestBody;
use super::reset_guard::ConnectionResets;
use super::snapshot::SharedSnapshot;
use crate::config::ForwardedHeadersConfig;
use crate::config::TransparentConfig;
use crate::plugins::ConnectionFacts;
use crate::tcp::{
    Activity, ActivityIo, Arrival, Prefixed, TcpConnection, TcpEntrypoint, Verdict, is_own,
    original_dst as original_dst_of, read_proxy_header, tproxy_destination,
};
use crate::tls::{EntrypointTls, is_tls_client_hello};

/// What serving one connection needs; the task owns it until the connection ends.
pub(super) struct ConnectionTask {
    pub(super) conn: Connection,
    pub(super) snapshot: SharedSnapshot,
    pub(super) limits: ConnectionLimits,
    pub(super) shutdown: watch::Receiver<bool>,
    /// The entrypoint's connection slot, released when the connection ends.
    pub(super) permit: OwnedSemaphorePermit,
    /// The entrypoint's `proxyProtocol`, if it has one.
    pub(super) proxy_protocol: Option<Arc<ProxyProtocolTrust>>,
    /// The entrypoint's `transparent` settings, if it is one.
    pub(super) transparent: Option<Arc<TransparentConfig>>,
}

/// A connection on a `transparent` entrypoint that is the gateway's own dial, redirected back.
struct RedirectedBack;

/// An entrypoint's `proxyProtocol`: who may send a PROXY header, and its `forwardedHeaders`
/// trust, decided again for the client a header names.
pub(super) struct ProxyProtocolTrust {
    pub(super) senders: ForwardedHeadersConfig,
    pub(super) forwarded: ForwardedHeadersConfig,
}

impl ConnectionTask {
    /// Serves `stream`. On a `transparent` entrypoint its original destination is read first
    /// and its protocol detected (`tcp::TcpEntrypoint::route`, with or without TCP routers).
    /// With `tcp` (the entrypoint has TCP routers) the TCP side decides first
    /// where the connection goes (`tcp::TcpEntrypoint::route`). With `tls` (the entrypoint has
    /// TLS routers in the current snapshot) a connection whose first byte starts a TLS record is
    /// handshaken first; the client has `headerReadTimeout` for its first byte and again for the
    /// handshake.
    pub(super) async fn run(
        mut self,
        mut stream: TcpStream,
        tls: Option<Arc<EntrypointTls>>,
        tcp: Option<Arc<TcpEntrypoint>>,
    ) {
        let mut original_dst = None;
        if self.transparent.is_some() {
            let Ok(dst) = self.original_destination(&stream) else {
                return;
            };
            original_dst = dst;
        }
        if let Some(trust) = self.proxy_protocol.clone() {
            let peer = self.conn.client;
            let trusted = trust.senders.trusts(peer.ip());
            let limit = self.limits.header_read_timeout;
            match read_proxy_header(&mut stream, peer, trusted, limit).await {
                Ok(Some(client)) => {
                    self.conn.client = client;
                    self.conn.trusted_forwarder = trust.forwarded.trusts(client.ip());
                    self.conn.forwarded_values =
                        ForwardedValues::new(client, self.conn.local.port(), false);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(%peer, "closing a connection: {e}");
                    return;
                }
            }
        }
        if let Some(transparent) = self.transparent.clone() {
            // Protocol detection needs the TCP side even without TCP routers.
            let tcp = tcp.unwrap_or_default();
            let detect = Some(&*transparent);
            return Box::pin(self.run_with_tcp(stream, tls, &tcp, original_dst, detect)).await;
        }
        if let Some(tcp) = tcp {
            // Boxed: the TCP path's future (ClientHello reading, forwarding) must not grow the
            // task of every plain HTTP connection.
            return Box::pin(self.run_with_tcp(stream, tls, &tcp, None, None)).await;
        }
        let Some(tls) = tls else {
            return self.serve(stream, true).await;
        };
        let client = self.conn.client;
        let limit = self.limits.header_read_timeout;
        let mut first = [0u8; 1];
        match tokio::time::timeout(limit, stream.peek(&mut first)).await {
            Ok(Ok(1..)) if is_tls_client_hello(first[0]) => {}
            Ok(Ok(1..)) => return self.serve(stream, true).await,
            Ok(Ok(_)) | Ok(Err(_)) => return,
            Err(_) => {
                tracing::debug!(%client, "closing a connection that sent nothing");
                return;
            }
        }
        self.handshake_and_serve(stream, &tls).await;
    }

    /// On a `transparent` entrypoint, before anything is read: where the connection was going
    /// before iptables redirected it (kept in `conn` for HTTP rules; `None` when it was not
    /// redirected), or the gateway's own dial come back (refused, logged). Two system calls.
    fn original_destination(
        &mut self,
        stream: &TcpStream,
    ) -> Result<Option<std::net::SocketAddr>, RedirectedBack> {
        let peer = self.conn.client;
        let tproxy = self.transparent.as_ref().is_some_and(|t| t.tproxy);
        let found = match stream.local_addr() {
            // TPROXY rewrote nothing: the connection's own address is where it was going.
            Ok(local) if tproxy => Ok(tproxy_destination(local, self.conn.local)),
            Ok(local) => original_dst_of(stream, local),
            Err(e) => Err(e),
        };
        let dst = match found {
            Ok(dst) => dst,
            Err(e) => {
                tracing::debug!(%peer, "no original destination: {e}");
                None
            }
        };
        if let Some(dst) = dst
            && is_own(peer, dst)
        {
            tracing::warn!(%peer, original_dst = %dst,
                "refusing the gateway's own connection redirected back to it (a loop): \
                 exempt the gateway's user or group from the iptables REDIRECT rule \
                 (-m owner --uid-owner/--gid-owner ... -j RETURN)");
            return Err(RedirectedBack);
        }
        self.conn.original_dst = dst;
        if dst.is_some() {
            self.conn.facts = Arc::new(ConnectionFacts {
                original_dst: dst,
                ..ConnectionFacts::clone(&self.conn.facts)
            });
        }
        Ok(dst)
    }

    /// Routes a connection on an entrypoint with TCP routers or a `transparent` one (with its
    /// original destination and detection settings): to a TCP router (served here until both
    /// sides are done), to HTTP, or to HTTPS.
    async fn run_with_tcp(
        self,
        stream: TcpStream,
        tls: Option<Arc<EntrypointTls>>,
        tcp: &TcpEntrypoint,
        original_dst: Option<std::net::SocketAddr>,
        transparent: Option<&TransparentConfig>,
    ) {
        let client = self.conn.client;
        let limit = self.limits.header_read_timeout;
        let serves_host = |name: &str| tls.as_ref().is_some_and(|t| t.serves_host(name));
        let https: Option<&(dyn Fn(&str) -> bool + Sync)> = tls.as_ref().map(|_| &serves_host as _);
        let arrival = Arrival {
            client,
            original_dst,
            transparent,
        };
        match tcp.route(stream, arrival, https, limit).await {
            Verdict::Tcp(target, io) => {
                let conn = TcpConnection {
                    client,
                    local: self.conn.local,
                    idle: self.limits.idle_timeout,
                    handshake: limit,
                    original_dst,
                };
                crate::tcp::serve(&target, io, conn).await;
                drop(self.permit);
            }
            Verdict::Http(io) => self.serve(io, true).await,
            Verdict::Https(io) => {
                if let Some(tls) = &tls {
                    self.handshake_and_serve(io, tls).await;
                }
            }
            Verdict::Close => {}
        }
    }

    /// Handshakes `stream` with the entrypoint's TLS side (within `headerReadTimeout`), then
    /// serves HTTP over it.
    async fn handshake_and_serve<IO>(mut self, stream: IO, tls: &EntrypointTls)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let client = self.conn.client;
        let limit = self.limits.header_read_timeout;
        match tokio::time::timeout(limit, tls.accept(stream)).await {
            Ok(Ok(stream)) => {
                self.conn.tls = true;
                let session = stream.get_ref().1;
                let chain = session.peer_certificates().unwrap_or_default();
                self.conn.facts = Arc::new(ConnectionFacts {
                    client_certificates: chain.to_vec(),
                    tls: Some(Arc::new(crate::tls::session_facts(session))),
                    ..ConnectionFacts::clone(&self.conn.facts)
                });
                self.conn.forwarded_values =
                    ForwardedValues::new(client, self.conn.local.port(), true);
                let h2 = stream.get_ref().1.alpn_protocol() == Some(&b"h2"[..]);
                self.serve(stream, !h2).await;
            }
            Ok(Err(e)) => tracing::debug!(%client, "{e}"),
            Err(_) => tracing::debug!(%client, "TLS handshake timed out"),
        }
    }

    /// Runs the connection to its end under the guards (`guards`: shutdown, idle, rapid
    /// reset). HTTP/1 connections (`may_be_h1`: not TLS with ALPN `h2`) start on the own
    /// HTTP/1.1 server (`h1_server`) unless `WASMGATE_H1_SERVER=hyper`; hyper serves the rest
    /// of a connection from the first request the own server leaves to it, and every other
    /// connection (HTTP/1.1 and HTTP/2 prior knowledge, ALPN).
    async fn serve<IO>(self, io: IO, may_be_h1: bool)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let ConnectionTask {
            conn,
            snapshot,
            limits,
            shutdown,
            permit,
            proxy_protocol: _,
            transparent: _,
        } = self;
        let client = conn.client;
        let conn = Arc::new(conn);
        let resets = ConnectionResets::new(limits.h2_max_premature_resets);
        let activity = Activity::new();
        let mut guards = Guards {
            client,
            shutdown,
            resets: resets.clone(),
            activity: activity.clone(),
            idle_timeout: limits.idle_timeout,
        };
        let io = ActivityIo::new(io, activity);
        let io = if may_be_h1 && super::h1_server::enabled() {
            let closing = AtomicBool::new(false);
            let context = H1Context {
                conn: &conn,
                snapshot: &snapshot,
                resets: &resets,
                header_timeout: limits.header_read_timeout,
                max_head_bytes: limits.max_head_bytes,
                closing: &closing,
            };
            let own = super::h1_server::serve(io, context);
            let mut own = std::pin::pin!(own);
            let ended = guards
                .run(|drive| match drive {
                    Drive::Poll(cx) => own.as_mut().poll(cx),
                    Drive::Shutdown => {
                        closing.store(true, Ordering::Relaxed);
                        Poll::Pending
                    }
                })
                .await;
            match ended {
                Some(H1End::Hyper(prefixed)) => prefixed,
                Some(H1End::Closed) | None => {
                    drop(permit);
                    return;
                }
            }
        } else {
            Prefixed::new(Vec::new(), io)
        };
        let accounting = resets.clone();
        let service = service_fn(move |req: Request<Incoming>| {
            let conn = conn.clone();
            // One snapshot per request: a reload between two requests of a keep-alive
            // connection takes effect on the next request.
            let current = snapshot.load_full();
            let guard = accounting.start();
            // Boxed: the request's future is large (routing, plugin chain, upstream call)
            // and hyper moves it into its dispatcher; a pointer moves cheaper than its bytes.
            Box::pin(async move {
                let resp = handle(current, &conn, req.map(RequestBody::Hyper)).await;
                guard.answered();
                Ok::<_, Infallible>(resp)
            })
        });
        let builder = limits.builder();
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        let mut connection = std::pin::pin!(connection);
        let ended = guards
            .run(|drive| match drive {
                Drive::Poll(cx) => connection.as_mut().poll(cx),
                Drive::Shutdown => {
                    connection.as_mut().graceful_shutdown();
                    Poll::Pending
                }
            })
            .await;
        if let Some(Err(e)) = ended {
            tracing::debug!(%client, "connection ended with error: {e}");
        }
        drop(permit);
    }
}
