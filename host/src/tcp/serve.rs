//! Serving one connection a TCP router took: run its middlewares (`admission`; a rejection
//! closes it before any server is dialled), terminate TLS if the router says so, pick a
//! server, dial it (a failure closes the client connection, logged), send the PROXY protocol
//! header if the service asks for it, then forward both ways (`forward`). Runs on the
//! connection's task until both sides are done.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::admission::admit;
use super::dispatch::{TcpTarget, TcpTls};
use super::forward::{Forwarded, forward};
use super::own_dials::{DialLease, register};
use super::prefixed::Prefixed;
use super::proxy_protocol;
use super::service::TcpPick;

/// Per-connection settings from the entrypoint.
#[derive(Debug, Clone, Copy)]
pub struct TcpConnection {
    pub client: SocketAddr,
    /// The entrypoint's address this connection came in on.
    pub local: SocketAddr,
    /// No byte either way for this long closes the connection.
    pub idle: Option<Duration>,
    /// Bound on a terminated TLS handshake.
    pub handshake: Duration,
    /// Where the client was going before iptables redirected it (`transparent` entrypoints);
    /// `None` otherwise, or when it dialled the gateway itself.
    pub original_dst: Option<SocketAddr>,
}

/// Serves `io` (bytes read to route it included) with `target`.
pub async fn serve<IO>(target: &TcpTarget, io: Prefixed<IO>, conn: TcpConnection)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send,
{
    // Held until the connection ends.
    let Some(_leases) = admit(
        &target.middlewares,
        &target.router,
        conn.client,
        conn.local,
        io.pending(),
    ) else {
        return;
    };
    match &target.tls {
        TcpTls::Terminate(config) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(config.clone());
            match tokio::time::timeout(conn.handshake, acceptor.accept(io)).await {
                Ok(Ok(tls)) => dial_and_forward(target, tls, conn).await,
                Ok(Err(e)) => tracing::debug!(client = %conn.client, "TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(client = %conn.client, "TLS handshake timed out"),
            }
        }
        TcpTls::None | TcpTls::Passthrough => dial_and_forward(target, io, conn).await,
    }
}

async fn dial_and_forward<IO>(target: &TcpTarget, io: IO, conn: TcpConnection)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send,
{
    let router = &*target.router;
    let (service, address, settings, server_tls) = match target.service.pick() {
        Some(TcpPick::Server(lb, server)) => (
            &*lb.name,
            Dial::Named(&server.address),
            &lb.settings,
            server.tls,
        ),
        Some(TcpPick::OriginalDst(name, settings)) => {
            let Some(dst) = conn.original_dst else {
                // Not redirected: the original destination is the gateway itself.
                tracing::warn!(router, service = name, client = %conn.client,
                    "passthrough refused: the connection was not redirected here (it is addressed \
                     to the gateway itself; forwarding it would loop); closing it");
                return;
            };
            (name, Dial::Original(dst), settings, false)
        }
        None => {
            tracing::warn!(
                router,
                "TCP service has no server; closing the client connection"
            );
            return;
        }
    };
    let dialled = tokio::time::timeout(settings.dial_timeout, dial(address)).await;
    let (mut backend, _lease) = match dialled {
        Ok(Ok(dialled)) => dialled,
        Ok(Err(e)) => {
            tracing::warn!(router, service, server = %address, client = %conn.client,
                "cannot connect to the TCP server: {e}; closing the client connection");
            return;
        }
        Err(_) => {
            tracing::warn!(router, service, server = %address, client = %conn.client,
                "connecting to the TCP server timed out; closing the client connection");
            return;
        }
    };
    let _ = backend.set_nodelay(true);
    let keep_alive = socket2::TcpKeepalive::new()
        .with_time(settings.keep_alive)
        .with_interval(settings.keep_alive);
    if let Err(e) = socket2::SockRef::from(&backend).set_tcp_keepalive(&keep_alive) {
        tracing::debug!(router, server = %address, "cannot set TCP keep-alive: {e}");
    }
    if let Some(version) = settings.proxy_protocol {
        let header = proxy_protocol::header(version, conn.client, conn.local);
        if let Err(e) = backend.write_all(&header).await {
            tracing::warn!(
                router,
                server = %address,
                "cannot send the PROXY protocol header: {e}"
            );
            return;
        }
    }
    let done: Forwarded = match (server_tls, &settings.tls) {
        (true, Some(tls)) => {
            let Some(name) = tls
                .server_name
                .clone()
                .or_else(|| host_name(&address.to_string()))
            else {
                tracing::warn!(
                    router,
                    server = %address,
                    "no server name for TLS to the server"
                );
                return;
            };
            let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
            let handshake = connector.connect(name, backend);
            match tokio::time::timeout(settings.dial_timeout, handshake).await {
                Ok(Ok(backend)) => {
                    forward(io, backend, conn.idle, settings.termination_delay).await
                }
                Ok(Err(e)) => {
                    tracing::warn!(
                        router,
                        service,
                        server = %address,
                        "TLS to the TCP server failed: {e}; closing the client connection"
                    );
                    return;
                }
                Err(_) => {
                    tracing::warn!(
                        router,
                        service,
                        server = %address,
                        "TLS to the TCP server timed out; closing the client connection"
                    );
                    return;
                }
            }
        }
        _ => forward(io, backend, conn.idle, settings.termination_delay).await,
    };
    tracing::debug!(
        router,
        server = %address,
        client = %conn.client,
        bytes_in = done.client_to_backend,
        bytes_out = done.backend_to_client,
        cut = done.cut,
        "TCP connection ended"
    );
}

/// A server to dial: a configured `host:port` (resolved when dialled) or an original destination.
#[derive(Debug, Clone, Copy)]
enum Dial<'a> {
    Named(&'a str),
    Original(SocketAddr),
}

impl std::fmt::Display for Dial<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dial::Named(name) => f.write_str(name),
            Dial::Original(addr) => addr.fmt(f),
        }
    }
}

/// Connects to `address`. An original destination is dialled from a port registered first
/// (`own_dials`), so that the connection, should iptables redirect it back to a transparent
/// entrypoint, is recognised there and refused rather than dialled again.
async fn dial(address: Dial<'_>) -> std::io::Result<(TcpStream, Option<DialLease>)> {
    match address {
        Dial::Named(name) => Ok((TcpStream::connect(name).await?, None)),
        Dial::Original(dst) => {
            let socket = match dst {
                SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
                SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
            };
            let any: SocketAddr = match dst {
                SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
                SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
            };
            socket.bind(any)?;
            let lease = register(socket.local_addr()?.port(), dst);
            Ok((socket.connect(dst).await?, Some(lease)))
        }
    }
}

/// The host part of `host:port` as a TLS server name (brackets of an IPv6 literal dropped).
fn host_name(address: &str) -> Option<rustls::pki_types::ServerName<'static>> {
    let (host, _) = address.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    rustls::pki_types::ServerName::try_from(host.to_string()).ok()
}
