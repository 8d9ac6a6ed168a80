//! Which handler gets a connection on an entrypoint with TCP routers: a TCP router (plain,
//! TLS passthrough or TLS terminated), the HTTP server, or the HTTPS server. Traefik v3's
//! order (`pkg/server/router/tcp/router.go`):
//!
//! 1. With plain TCP routers and neither TLS TCP routers nor HTTPS routers, a matching plain
//!    router takes the connection at once, before any byte is read (so a protocol where the
//!    server speaks first works).
//! 2. Otherwise the first bytes are read (the entrypoint's `headerReadTimeout` bounds the wait).
//!    Silence until then: a matching plain TCP router gets the connection (a server-speaks-first
//!    protocol beside TLS routers; Traefik closes it instead), else it is closed.
//! 3. Not TLS: a matching plain TCP router, else HTTP.
//! 4. TLS, with the ClientHello's server name and ALPN: an HTTPS router naming the host, then a
//!    TLS TCP router that is not the catch-all, then HTTPS (any HTTPS router), then the TLS
//!    catch-all (`HostSNI(`*`)`), then HTTPS with the default options (404), else closed.
//!
//! Runs once per connection; the route tables were built at config time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::AsyncRead;

use super::client_hello::{FirstBytes, HelloInfo, read_first_bytes};
use super::prefixed::Prefixed;
use super::rule::ConnFacts;
use super::service::TcpService;
use super::table::TcpRoutes;

/// What a TCP router does with TLS.
#[derive(Debug)]
pub enum TcpTls {
    /// A router without `tls`: plain connections.
    None,
    /// `passthrough: true`: the TLS bytes go to the backend untouched.
    Passthrough,
    /// Terminated with these options; the backend gets the decrypted stream.
    Terminate(Arc<ServerConfig>),
}

/// What a matched TCP router leads to.
#[derive(Debug)]
pub struct TcpTarget {
    pub router: Arc<str>,
    /// The router's middlewares, in order; each may refuse the connection.
    pub middlewares: Box<[Arc<super::middleware::TcpMiddleware>]>,
    pub service: Arc<TcpService>,
    pub tls: TcpTls,
}

/// The TCP side of one entrypoint in one snapshot.
#[derive(Debug, Default)]
pub struct TcpEntrypoint {
    /// Routers without `tls`.
    pub plain: TcpRoutes<TcpTarget>,
    /// Routers with `tls` (passthrough or terminated).
    pub tls: TcpRoutes<TcpTarget>,
    /// The entrypoint has HTTP routers with TLS.
    pub https_routers: bool,
}

/// Where a connection goes; the bytes read to decide are replayed by the `Prefixed` stream.
pub enum Verdict<IO> {
    Tcp(Arc<TcpTarget>, Prefixed<IO>),
    Http(Prefixed<IO>),
    Https(Prefixed<IO>),
    Close,
}

impl TcpEntrypoint {
    /// Decides where `io` from `client` goes (see the module docs). `serves_host` tells whether
    /// an HTTPS router of this entrypoint names a host; `https` whether the entrypoint has a
    /// TLS side at all.
    pub async fn route<IO: AsyncRead + Unpin>(
        &self,
        mut io: IO,
        client: SocketAddr,
        https: Option<&(dyn Fn(&str) -> bool + Sync)>,
        first_byte: Duration,
    ) -> Verdict<IO> {
        let plain_facts = ConnFacts {
            server_name: None,
            alpn: &[],
            client_ip: client.ip(),
        };
        if !self.plain.is_empty()
            && self.tls.is_empty()
            && !self.https_routers
            && let Some((target, _)) = self.plain.find(&plain_facts)
        {
            return Verdict::Tcp(target.clone(), Prefixed::new(Vec::new(), io));
        }
        let (bytes, hello) = match read_first_bytes(&mut io, first_byte).await {
            FirstBytes::Silent => {
                return match self.plain.find(&plain_facts) {
                    Some((target, _)) => {
                        Verdict::Tcp(target.clone(), Prefixed::new(Vec::new(), io))
                    }
                    None => {
                        tracing::debug!(%client, "closing a connection that sent nothing");
                        Verdict::Close
                    }
                };
            }
            FirstBytes::Gone => return Verdict::Close,
            FirstBytes::Plain(bytes) => {
                let io = Prefixed::new(bytes, io);
                return match self.plain.find(&plain_facts) {
                    Some((target, _)) => Verdict::Tcp(target.clone(), io),
                    None => Verdict::Http(io),
                };
            }
            FirstBytes::Tls(bytes, hello) => (bytes, hello),
        };
        let io = Prefixed::new(bytes, io);
        let HelloInfo { server_name, alpn } = &hello;
        let facts = ConnFacts {
            server_name: server_name.as_deref(),
            alpn,
            client_ip: client.ip(),
        };
        let names_host = match (https, server_name) {
            (Some(serves), Some(name)) => serves(name),
            _ => false,
        };
        if names_host {
            return Verdict::Https(io);
        }
        let tcp = self.tls.find(&facts);
        match tcp {
            Some((target, false)) => Verdict::Tcp(target.clone(), io),
            _ if self.https_routers && https.is_some() => Verdict::Https(io),
            Some((target, true)) => Verdict::Tcp(target.clone(), io),
            None if https.is_some() => Verdict::Https(io),
            None => Verdict::Close,
        }
    }
}
