//! What a request's plugins may learn about its client connection (the `connection`
//! interface): the client certificate chain of a TLS connection and the address the client
//! dialled.
//!
//! Built once per connection by the proxy (at accept; again after a TLS handshake that
//! received client certificates or on a `transparent` entrypoint) and shared by every request
//! on it through an `Arc` in the request head: a request pays one reference-count increment,
//! and copies only what a plugin asks for (`connection_import`).

use std::net::SocketAddr;

use rustls_pki_types::CertificateDer;

/// The facts of one client connection.
#[derive(Debug, Clone)]
pub struct ConnectionFacts {
    /// The gateway's socket address the connection arrived on.
    pub local: SocketAddr,
    /// Where the client was going before iptables redirected it (`transparent` entrypoints);
    /// `None` when it was not redirected.
    pub original_dst: Option<SocketAddr>,
    /// The certificates the client presented in the TLS handshake, leaf first (empty: not
    /// TLS, or none presented).
    pub client_certificates: Vec<CertificateDer<'static>>,
    /// What the access log says about the TLS session (`None`: not TLS).
    pub tls: Option<std::sync::Arc<crate::admin::TlsFacts>>,
}

impl ConnectionFacts {
    /// A connection arrived on `local`, not redirected, without client certificates (what an
    /// entrypoint shares among all its plain connections).
    pub fn at(local: SocketAddr) -> Self {
        ConnectionFacts {
            local,
            original_dst: None,
            client_certificates: Vec::new(),
            tls: None,
        }
    }

    /// The address the client dialled: the original destination, else the local address.
    pub fn dialled(&self) -> SocketAddr {
        self.original_dst.unwrap_or(self.local)
    }
}
