//! The gateway's own connections to original destinations (`passthrough` services), so that a
//! connection iptables redirects back to the gateway (the owner-match `RETURN` rule is missing)
//! is recognised and refused instead of dialling itself again and again.
//!
//! A dial registers its local port and target before connecting and removes them when the
//! connection ends ([`DialLease`]); a transparent entrypoint asks [`is_own`] once per redirected
//! connection. One short mutex hold each; nothing on the HTTP request path.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};

/// Local port of an open dial → where it goes.
fn dials() -> &'static Mutex<HashMap<u16, SocketAddr>> {
    static DIALS: OnceLock<Mutex<HashMap<u16, SocketAddr>>> = OnceLock::new();
    DIALS.get_or_init(Mutex::default)
}

/// An open dial to an original destination, known until dropped.
#[derive(Debug)]
pub struct DialLease(u16);

/// Records the dial from local `port` to `target`, before it connects.
pub fn register(port: u16, target: SocketAddr) -> DialLease {
    if let Ok(mut map) = dials().lock() {
        map.insert(port, target);
    }
    DialLease(port)
}

impl Drop for DialLease {
    fn drop(&mut self) {
        if let Ok(mut map) = dials().lock() {
            map.remove(&self.0);
        }
    }
}

/// Whether a connection from `peer`, originally to `original_dst`, is one of the gateway's own
/// dials redirected back to it.
pub fn is_own(peer: SocketAddr, original_dst: SocketAddr) -> bool {
    dials()
        .lock()
        .is_ok_and(|map| map.get(&peer.port()) == Some(&original_dst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dial_is_known_until_its_lease_is_dropped() {
        let target: SocketAddr = "10.96.0.1:80".parse().unwrap();
        let peer: SocketAddr = "10.0.0.1:40001".parse().unwrap();
        let lease = register(40001, target);
        assert!(is_own(peer, target));
        assert!(!is_own(peer, "10.96.0.2:80".parse().unwrap()));
        drop(lease);
        assert!(!is_own(peer, target));
    }
}
