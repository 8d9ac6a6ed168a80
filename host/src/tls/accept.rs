//! The TLS handshake of one downstream connection: the ClientHello is read first
//! (`LazyConfigAcceptor`), the `ServerConfig` of its server name's options is picked, and the
//! handshake completes with it. Runs once per TLS connection; the choice is one hash lookup.

use std::collections::HashMap;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::server::Acceptor;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;

/// The first byte of a TLS record carrying a handshake message (a ClientHello starts with it;
/// no HTTP/1 method or HTTP/2 preface does).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Whether a connection whose first byte is `first` starts a TLS handshake.
pub fn is_tls_client_hello(first: u8) -> bool {
    first == TLS_HANDSHAKE_RECORD
}

/// Why a handshake did not complete. Only logged: the client gets a TLS alert (or nothing).
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("TLS handshake failed: {0}")]
    Failed(#[source] std::io::Error),
}

/// The TLS side of one entrypoint in one snapshot: the options' `ServerConfig`s by the server
/// names the entrypoint's TLS routers name, and the `default` options for every other name.
#[derive(Debug)]
pub struct EntrypointTls {
    pub(crate) by_host: HashMap<String, Arc<ServerConfig>>,
    pub(crate) default: Arc<ServerConfig>,
}

impl EntrypointTls {
    /// The `ServerConfig` for a handshake naming `server_name` (any case, optional trailing
    /// dot): the options of the routers whose `Host` is that name, else `default`.
    pub fn config_for(&self, server_name: Option<&str>) -> &Arc<ServerConfig> {
        let Some(name) = server_name else {
            return &self.default;
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        let found = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_host.get(&name.to_ascii_lowercase())
        } else {
            self.by_host.get(name)
        };
        found.unwrap_or(&self.default)
    }

    /// Whether a TLS router of this entrypoint names `server_name` in a `Host` matcher (the
    /// HTTPS side then takes the connection before TCP routers, as in Traefik).
    pub fn serves_host(&self, server_name: &str) -> bool {
        let name = server_name.strip_suffix('.').unwrap_or(server_name);
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_host.contains_key(&name.to_ascii_lowercase())
        } else {
            self.by_host.contains_key(name)
        }
    }

    /// Reads the ClientHello from `io`, picks the options of its server name, and completes the
    /// handshake. The caller bounds how long this may take.
    ///
    /// # Errors
    /// Not TLS, no protocol version or suite in common, no certificate (`sniStrict`), a client
    /// certificate refused, or the connection failing mid-handshake.
    pub async fn accept<IO>(&self, io: IO) -> Result<TlsStream<IO>, HandshakeError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let start = LazyConfigAcceptor::new(Acceptor::default(), io)
            .await
            .map_err(HandshakeError::Failed)?;
        let hello = start.client_hello();
        // A CA validating a TLS-ALPN-01 challenge gets the challenge certificate.
        let config = match super::acme::tls_alpn01_config(&hello) {
            Some(challenge) => challenge,
            None => self.config_for(hello.server_name()).clone(),
        };
        start
            .into_stream(config)
            .await
            .map_err(HandshakeError::Failed)
    }
}
