//! Connection-level (L4) middlewares: Traefik's `tcp.middlewares`, called once per TCP
//! connection a TCP router took, before the gateway dials the service (`interface connection`
//! and world `connection-middleware` in the WIT).
//!
//! A plugin implements [`ConnectionMiddleware`] and exports it with
//! [`export_connection_middleware!`](crate::export_connection_middleware). The same lifecycle as
//! an HTTP middleware: `validate-config` and `init` call
//! [`ConnectionMiddleware::from_config`]; [`ConnectionMiddleware::on_connect`] runs per
//! connection on a pooled instance that is checked out for that call only.
//!
//! ```
//! use plugin_sdk::connection::{Connection, ConnectionMiddleware, Verdict};
//!
//! /// Refuses TLS connections without a server name.
//! pub struct RequireSni;
//!
//! impl ConnectionMiddleware for RequireSni {
//!     fn from_config(_config: &str) -> Result<Self, String> {
//!         Ok(RequireSni)
//!     }
//!
//!     fn on_connect(&self, conn: &Connection) -> Verdict {
//!         match (conn.is_tls, &conn.server_name) {
//!             (true, None) => Verdict::Reject("TLS without SNI".into()),
//!             _ => Verdict::Accept,
//!         }
//!     }
//! }
//!
//! plugin_sdk::export_connection_middleware!(RequireSni);
//! # fn main() -> Result<(), String> {
//! use plugin_sdk::testing;
//! let mw = testing::connection_instance::<RequireSni>("{}")?;
//! let conn = testing::TestConnection::from("10.0.0.1:40000").tls(None);
//! assert!(matches!(testing::on_connect(&mw, &conn), Verdict::Reject(_)));
//! # Ok(())
//! # }
//! ```

use std::net::IpAddr;

/// What the host knows about a connection when [`ConnectionMiddleware::on_connect`] runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    /// The client as `ip:port` (after a trusted PROXY protocol header: the real client).
    pub client_addr: String,
    /// The gateway's address the connection came in on.
    pub local_addr: String,
    /// The TCP router that took the connection.
    pub router_name: String,
    /// Whether the connection starts with a TLS ClientHello.
    pub is_tls: bool,
    /// The ClientHello's server name, if any.
    pub server_name: Option<String>,
    /// The ALPN protocols the ClientHello offered.
    pub alpn: Vec<String>,
    /// The first bytes the client sent (at most 1024), as read to route the connection; empty
    /// when the router took it before the client sent anything.
    pub first_bytes: Vec<u8>,
}

impl Connection {
    /// The client's IP address (`None` only if the host sent an address it cannot parse).
    pub fn client_ip(&self) -> Option<IpAddr> {
        ip_of(&self.client_addr)
    }
}

/// The IP of `ip:port` or `[v6]:port`.
fn ip_of(addr: &str) -> Option<IpAddr> {
    if let Ok(sock) = addr.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    addr.parse().ok()
}

/// What the host does with the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go on to the next middleware, then the service.
    Accept,
    /// Close the connection; the reason is logged by the host (debug).
    Reject(String),
}

/// A connection-level middleware: one value per instance, built by `init` from the config.
pub trait ConnectionMiddleware: Sized + 'static {
    /// Parse and check the config (JSON text). Called by `validate-config` (value dropped) and
    /// `init` (value kept for the instance's life).
    fn from_config(config: &str) -> Result<Self, String>;

    /// Called once per connection, in the router's middleware order. Per-connection state
    /// that must outlive the call goes through the host: [`acquire_in_flight`] counts the
    /// connection until it closes.
    fn on_connect(&self, conn: &Connection) -> Verdict;
}

/// Counts the connection being handled as one of at most `limit` open connections under `key`:
/// `true` (counted) if fewer than `limit` were, else `false` (nothing counted). The host
/// releases the count when the connection closes, however it ends; call it once per key per
/// connection, from [`ConnectionMiddleware::on_connect`]. Needs the `counters` grant.
/// Natively the count is released by [`testing::close`](crate::testing::close).
pub fn acquire_in_flight(conn: &Connection, key: &str, limit: u32) -> bool {
    imp::acquire_in_flight(conn, key, limit)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Connection;

    pub(super) fn acquire_in_flight(_conn: &Connection, key: &str, limit: u32) -> bool {
        crate::guest::connection::counters_acquire(key, limit)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::Connection;

    pub(super) fn acquire_in_flight(conn: &Connection, key: &str, limit: u32) -> bool {
        crate::testing::connection::acquire(conn, key, limit)
    }
}
