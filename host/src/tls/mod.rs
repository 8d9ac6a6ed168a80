//! TLS termination with rustls (the *ring* provider): certificates by server name, Traefik's
//! TLS options per host, client certificates, and the handshake of a downstream connection.
//!
//! When things run:
//! - [`TlsSetup::build`] when a snapshot is built (start-up, every reload, `wasmgate check`):
//!   reads every certificate, key and CA file, checks each key against its certificate, and
//!   builds one rustls `ServerConfig` per `tls.options` entry. A renewed certificate file is
//!   therefore served to new connections after the reload its change triggers; connections in
//!   flight keep the one they were handshaken with.
//! - [`EntrypointTls::accept`] once per TLS connection: reads the ClientHello, picks the
//!   options of its server name (from the routers whose `Host` names it), and completes the
//!   handshake with them; the certificate is picked by [`CertStore`] (exact name, then
//!   wildcard, then the default certificate unless `sniStrict`).

mod accept;
pub mod acme;
mod build;
mod certs;
mod client_auth;
mod default_cert;
mod served_certificates;
mod server_config;
mod session_facts;
mod store;
mod upstream;
mod upstream_verify;

pub use accept::{EntrypointTls, HandshakeError, is_tls_client_hello};
pub use build::{TlsRouter, TlsSetup};
pub use certs::read_pem;
pub use session_facts::session_facts;
pub use store::CertStore;
pub use upstream::upstream_tls;
