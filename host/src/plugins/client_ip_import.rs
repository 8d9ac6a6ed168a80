//! The host side of the `client-ip` import: the request's client (TCP peer) address as a typed
//! value, for middlewares keyed by the client's IP (the bundled `rate-limit` and
//! `in-flight-req` with the peer's address as their source). Needs no grant.
//!
//! When it runs: inside a hook call that lends a request; outside one it traps (no request).
//! Cost: one host call that copies 5 or 17 bytes into the guest's return area: no text is
//! formatted here and the guest allocates nothing (`request.client-addr` formats the address
//! and has the guest allocate room for it, a second call into the guest).

use std::net::IpAddr;

use super::bindings::wasmgate::plugin::client_ip::{self, IpAddress};
use super::host_state::HostState;

impl client_ip::Host for HostState {
    fn client_ip(&mut self) -> wasmtime::Result<IpAddress> {
        Ok(typed(self.heads.current_request()?.client_addr.ip()))
    }
}

/// `ip` as the contract's variant: octets and groups in network order.
fn typed(ip: IpAddr) -> IpAddress {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            IpAddress::Ipv4((a, b, c, d))
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            IpAddress::Ipv6((a, b, c, d, e, f, g, h))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_typed_client_ip_keeps_network_order() {
        let v4: IpAddr = "10.20.30.40".parse().expect("valid");
        assert!(matches!(typed(v4), IpAddress::Ipv4((10, 20, 30, 40))));
        let v6: IpAddr = "2001:db8::ffff:1".parse().expect("valid");
        assert!(matches!(
            typed(v6),
            IpAddress::Ipv6((0x2001, 0xdb8, 0, 0, 0, 0, 0xffff, 1))
        ));
        // A dual-stack listener's IPv4 client stays the mapped IPv6 address the socket gave.
        let mapped: IpAddr = "::ffff:1.2.3.4".parse().expect("valid");
        assert!(matches!(
            typed(mapped),
            IpAddress::Ipv6((0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304))
        ));
    }
}
