//! A TCP router's middlewares (Traefik's `tcp.middlewares`: `ipAllowList`, `inFlightConn`, and
//! any connection-level plugin): run once per connection, in the router's order, before the
//! service is dialled. Each is a `connection-middleware` component (`plugins::connection`);
//! the first that rejects (or fails: trap, deadline, memory cap) closes the connection, so
//! no byte reaches a server. Runs on the connection's task; a router without middlewares pays
//! one slice-length test.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::plugins::counters::InFlightLease;
use crate::plugins::{Connection, ConnectionVerdict, MAX_FIRST_BYTES, PluginMiddleware};

use super::client_hello::parse_hello;

/// In-flight counts a connection holds until it closes (dropped: released).
pub type ConnectionLeases = Vec<InFlightLease>;

/// Runs `middlewares` for a connection from `client` to `local`, taken by `router`, whose
/// first bytes (read to route it; empty when it was taken before any) are `first_bytes`.
/// `Some(leases)` admits it (hold them while it is open); `None` closes it.
pub fn admit(
    middlewares: &[Arc<PluginMiddleware>],
    router: &str,
    client: SocketAddr,
    local: SocketAddr,
    first_bytes: &[u8],
) -> Option<ConnectionLeases> {
    let mut leases = Vec::new();
    if middlewares.is_empty() {
        return Some(leases);
    }
    let conn = facts(router, client, local, first_bytes);
    for middleware in middlewares {
        match middleware.on_connect(&conn, &mut leases) {
            Ok(ConnectionVerdict::Accept) => {}
            Ok(ConnectionVerdict::Reject(why)) => {
                tracing::debug!(router, client = %client, middleware = middleware.name(),
                    "connection rejected: {why}; closing");
                return None;
            }
            // Logged and counted by the plugin runtime.
            Err(_) => return None,
        }
    }
    Some(leases)
}

/// The record `on-connect` receives. The client reads as IPv4 when it is an IPv4-mapped
/// address (a dual-stack listener), as `ClientIP` rules see it.
fn facts(router: &str, client: SocketAddr, local: SocketAddr, first_bytes: &[u8]) -> Connection {
    let client = match client.ip() {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), client.port()),
            None => client,
        },
        _ => client,
    };
    let hello = parse_hello(first_bytes);
    let (server_name, alpn) = match &hello {
        Some(h) => (
            h.server_name.clone(),
            h.alpn
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect(),
        ),
        None => (None, Vec::new()),
    };
    Connection {
        client_addr: client.to_string(),
        local_addr: local.to_string(),
        router_name: router.to_string(),
        is_tls: hello.is_some(),
        server_name,
        alpn,
        first_bytes: first_bytes[..first_bytes.len().min(MAX_FIRST_BYTES)].to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_read_mapped_clients_as_ipv4_and_cap_the_first_bytes() {
        let client: SocketAddr = "[::ffff:10.0.0.1]:4000".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let conn = facts("r", client, local, &[b'x'; 4096]);
        assert_eq!(conn.client_addr, "10.0.0.1:4000");
        assert_eq!(conn.first_bytes.len(), MAX_FIRST_BYTES);
        assert!(!conn.is_tls);
        assert_eq!(conn.server_name, None);
    }
}
