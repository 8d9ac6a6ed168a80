//! Opening a new connection to an upstream server: the `maxConnsPerHost` permit, TCP (dial
//! timeout, `TCP_NODELAY`), TLS for `https://` (ALPN `h2` / `http/1.1`), the HTTP/1.1 or
//! HTTP/2 handshake, and the connection's task.
//!
//! Runs once per new connection, never for a pooled one. The permit lives inside the
//! connection's I/O object, so it returns when the connection closes — also after a protocol
//! upgrade (WebSocket), when the I/O object moves to the upgraded stream.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use super::body::ProxyBody;
use super::error::UpstreamError;
use super::idle::{Checkout, ConnShared, H1Sender, IdleList};
use super::permitted::Permitted;
use super::settings::Http2Settings;

pub(super) type H2Sender = http2::SendRequest<ProxyBody>;

/// How to reach one server, fixed when its pool is built.
pub(super) struct Dialer {
    pub host: String,
    pub port: u16,
    pub dial_timeout: Duration,
    /// `https://`: the config with ALPN set, and the name to send and verify (or why the URL's
    /// host is no TLS server name: every dial then fails with it).
    pub tls: Option<Result<(tokio_rustls::TlsConnector, ServerName<'static>), String>>,
    /// `h2c://`: HTTP/2 with prior knowledge.
    pub h2c: bool,
    pub http2: Http2Settings,
}

/// A new connection, handshaken, its task running.
pub(super) enum Fresh {
    H1(H1Sender, Arc<ConnShared>),
    H2(H2Sender),
}

impl Dialer {
    /// `tls`: the servers transport's rustls config and `serverName` (`None` for `http://`
    /// servers). Runs when the pool is built.
    pub fn new(
        host: &str,
        port: u16,
        dial_timeout: Duration,
        tls: Option<(&ClientConfig, Option<&ServerName<'static>>)>,
        h2c: bool,
        http2: Http2Settings,
    ) -> Self {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = match tls {
            Some((config, name)) => {
                let mut config = config.clone();
                config.alpn_protocols = if http2.disabled {
                    vec![b"http/1.1".to_vec()]
                } else {
                    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
                };
                let name = match name {
                    Some(n) => Ok(n.clone()),
                    None => ServerName::try_from(host.clone())
                        .map_err(|e| format!("invalid TLS server name {host}: {e}")),
                };
                let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
                Some(name.map(|name| (connector, name)))
            }
            None => None,
        };
        Dialer {
            host,
            port,
            dial_timeout,
            tls,
            h2c,
            http2,
        }
    }

    /// Dials, handshakes and spawns the connection task. `permit`: the server's
    /// `maxConnsPerHost` permit, held for the connection's life.
    pub async fn connect(
        &self,
        permit: Option<OwnedSemaphorePermit>,
        idle: &Arc<IdleList<Checkout>>,
    ) -> Result<Fresh, UpstreamError> {
        let tcp = self.tcp_timed().await?;
        match &self.tls {
            None => {
                let io = Permitted {
                    io: TokioIo::new(tcp),
                    _permit: permit,
                };
                self.handshake(io, self.h2c, idle).await
            }
            Some(Err(reason)) => Err(unreachable(reason.clone())),
            Some(Ok((connector, name))) => {
                let tls =
                    tokio::time::timeout(self.dial_timeout, connector.connect(name.clone(), tcp))
                        .await
                        .map_err(|_| {
                            unreachable(format!("TLS handshake with {}: timed out", self.host))
                        })?
                        .map_err(|e| {
                            unreachable(format!("TLS handshake with {}: {e}", self.host))
                        })?;
                let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                let io = Permitted {
                    io: TokioIo::new(tls),
                    _permit: permit,
                };
                self.handshake(io, h2, idle).await
            }
        }
    }

    /// Whether this server's connections are plain-text HTTP/1.1 (`http://`), which the
    /// gateway's own client (`h1_conn`) can speak.
    pub fn plain_h1(&self) -> bool {
        self.tls.is_none() && !self.h2c
    }

    /// A TCP connection to the server (`TCP_NODELAY`), within the dial timeout.
    pub async fn tcp_timed(&self) -> Result<TcpStream, UpstreamError> {
        match tokio::time::timeout(self.dial_timeout, self.tcp()).await {
            Ok(r) => r,
            Err(_) => Err(unreachable(format!(
                "dial {}:{}: timed out after {:?}",
                self.host, self.port, self.dial_timeout
            ))),
        }
    }

    async fn tcp(&self) -> Result<TcpStream, UpstreamError> {
        let addrs = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| unreachable(format!("resolve {}: {e}", self.host)))?;
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(tcp) => {
                    let _ = tcp.set_nodelay(true);
                    return Ok(tcp);
                }
                Err(e) => last = Some(format!("dial {addr}: {e}")),
            }
        }
        Err(unreachable(last.unwrap_or_else(|| {
            format!("resolve {}: no address", self.host)
        })))
    }

    async fn handshake<T>(
        &self,
        io: Permitted<T>,
        h2: bool,
        idle: &Arc<IdleList<Checkout>>,
    ) -> Result<Fresh, UpstreamError>
    where
        T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        if h2 {
            let mut builder = http2::Builder::new(TokioExecutor::new());
            builder.timer(TokioTimer::new());
            if let Some(interval) = self.http2.read_idle_timeout {
                // hyper pings when nothing was read for `interval` (Go's ReadIdleTimeout).
                builder
                    .keep_alive_interval(interval)
                    .keep_alive_timeout(self.http2.ping_timeout)
                    .keep_alive_while_idle(true);
            }
            let (sender, conn) = builder
                .handshake(io)
                .await
                .map_err(|e| unreachable(format!("HTTP/2 handshake: {}", error_chain(&e))))?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!("upstream HTTP/2 connection: {e}");
                }
            });
            Ok(Fresh::H2(sender))
        } else {
            let (sender, conn) = http1::Builder::new()
                .handshake(io)
                .await
                .map_err(|e| unreachable(format!("HTTP/1.1 handshake: {}", error_chain(&e))))?;
            let shared = ConnShared::new(idle);
            tokio::spawn(H1Driver {
                conn: conn.with_upgrades(),
                shared: shared.clone(),
            });
            Ok(Fresh::H1(sender, shared))
        }
    }
}

fn unreachable(reason: String) -> UpstreamError {
    UpstreamError::Unreachable(reason)
}

/// An error and its sources, one line.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

/// The task of one HTTP/1.1 connection: hyper's dispatcher, and after each of its polls the
/// return of a parked sender to the idle list (`idle::ConnShared`).
struct H1Driver<C> {
    conn: C,
    shared: Arc<ConnShared>,
}

impl<C> Future for H1Driver<C>
where
    C: Future<Output = hyper::Result<()>> + Unpin,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match Pin::new(&mut self.conn).poll(cx) {
            Poll::Pending => {
                self.shared.unpark_if_ready();
                Poll::Pending
            }
            Poll::Ready(result) => {
                if let Err(e) = result {
                    tracing::debug!("upstream connection: {e}");
                }
                self.shared.closed();
                Poll::Ready(())
            }
        }
    }
}
