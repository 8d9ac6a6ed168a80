//! Serving one connection a TCP router took: terminate TLS if the router says so, pick a
//! server, dial it (a failure closes the client connection, logged), send the PROXY protocol
//! header if the service asks for it, then forward both ways (`forward`). Runs on the
//! connection's task until both sides are done.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::dispatch::{TcpTarget, TcpTls};
use super::forward::{Forwarded, forward};
use super::proxy_protocol;

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
}

/// Serves `io` (bytes read to route it included) with `target`.
pub async fn serve<IO>(target: &TcpTarget, io: IO, conn: TcpConnection)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send,
{
    // Held until the connection ends.
    let mut leases = Vec::new();
    for middleware in target.middlewares.iter() {
        if let Err(why) = middleware.admit(conn.client.ip(), &mut leases) {
            tracing::debug!(router = &*target.router, client = %conn.client, "{why}; closing");
            return;
        }
    }
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
    let Some((lb, server)) = target.service.pick() else {
        tracing::warn!(
            router,
            "TCP service has no server; closing the client connection"
        );
        return;
    };
    let address = &*server.address;
    let settings = &lb.settings;
    let dialled = tokio::time::timeout(settings.dial_timeout, TcpStream::connect(address)).await;
    let mut backend = match dialled {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::warn!(router, service = &*lb.name, server = address, client = %conn.client,
                "cannot connect to the TCP server: {e}; closing the client connection");
            return;
        }
        Err(_) => {
            tracing::warn!(router, service = &*lb.name, server = address, client = %conn.client,
                "connecting to the TCP server timed out; closing the client connection");
            return;
        }
    };
    let _ = backend.set_nodelay(true);
    if let Some(version) = settings.proxy_protocol {
        let header = proxy_protocol::header(version, conn.client, conn.local);
        if let Err(e) = backend.write_all(&header).await {
            tracing::warn!(
                router,
                server = address,
                "cannot send the PROXY protocol header: {e}"
            );
            return;
        }
    }
    let done: Forwarded = match (server.tls, &settings.tls) {
        (true, Some(tls)) => {
            let Some(name) = tls.server_name.clone().or_else(|| host_name(address)) else {
                tracing::warn!(
                    router,
                    server = address,
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
                        service = &*lb.name,
                        server = address,
                        "TLS to the TCP server failed: {e}; closing the client connection"
                    );
                    return;
                }
                Err(_) => {
                    tracing::warn!(
                        router,
                        service = &*lb.name,
                        server = address,
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
        server = address,
        client = %conn.client,
        bytes_in = done.client_to_backend,
        bytes_out = done.backend_to_client,
        cut = done.cut,
        "TCP connection ended"
    );
}

/// The host part of `host:port` as a TLS server name (brackets of an IPv6 literal dropped).
fn host_name(address: &str) -> Option<rustls::pki_types::ServerName<'static>> {
    let (host, _) = address.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    rustls::pki_types::ServerName::try_from(host.to_string()).ok()
}
