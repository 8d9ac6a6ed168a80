//! The PROXY protocol header (HAProxy's spec, v1 text and v2 binary) a TCP load balancer with
//! `proxyProtocol` sends to its server before the client's bytes, so the server learns the
//! client's address. Built once per upstream connection (a few dozen bytes).

use std::net::{IpAddr, SocketAddr};

/// The v2 signature: `\r\n\r\n\0\r\nQUIT\n`.
pub const V2_SIGNATURE: [u8; 12] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
];

/// The header for a connection from `client` to `local` (the gateway's listening address),
/// in `version` 1 or 2 (anything else is taken as 2, Traefik's default).
pub fn header(version: u8, client: SocketAddr, local: SocketAddr) -> Vec<u8> {
    let (src, dst) = same_family(client, local);
    if version == 1 {
        let family = if src.is_ipv4() { "TCP4" } else { "TCP6" };
        return format!(
            "PROXY {family} {} {} {} {}\r\n",
            src.ip(),
            dst.ip(),
            src.port(),
            dst.port()
        )
        .into_bytes();
    }
    let mut out = Vec::with_capacity(16 + 36);
    out.extend_from_slice(&V2_SIGNATURE);
    // Version 2, command PROXY.
    out.push(0x21);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            // TCP over IPv4, 12 bytes of addresses.
            out.push(0x11);
            out.extend_from_slice(&12u16.to_be_bytes());
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
        }
        (s, d) => {
            // TCP over IPv6, 36 bytes of addresses.
            out.push(0x21);
            out.extend_from_slice(&36u16.to_be_bytes());
            out.extend_from_slice(&v6(s).octets());
            out.extend_from_slice(&v6(d).octets());
        }
    }
    out.extend_from_slice(&src.port().to_be_bytes());
    out.extend_from_slice(&dst.port().to_be_bytes());
    out
}

fn v6(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Both addresses in one family: IPv4 when both are (or map to) IPv4, else IPv6.
fn same_family(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    let v4 = |s: SocketAddr| match s.ip() {
        IpAddr::V4(_) => Some(s),
        IpAddr::V6(ip) => ip
            .to_ipv4_mapped()
            .map(|v4| SocketAddr::new(IpAddr::V4(v4), s.port())),
    };
    match (v4(a), v4(b)) {
        (Some(a), Some(b)) => (a, b),
        _ => (
            SocketAddr::new(IpAddr::V6(v6(a.ip())), a.port()),
            SocketAddr::new(IpAddr::V6(v6(b.ip())), b.port()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_is_one_text_line() {
        let h = header(
            1,
            "10.1.2.3:4567".parse().unwrap(),
            "127.0.0.1:80".parse().unwrap(),
        );
        assert_eq!(h, b"PROXY TCP4 10.1.2.3 127.0.0.1 4567 80\r\n");
        let h = header(
            1,
            "[2001:db8::1]:5".parse().unwrap(),
            "127.0.0.1:80".parse().unwrap(),
        );
        assert_eq!(h, b"PROXY TCP6 2001:db8::1 ::ffff:127.0.0.1 5 80\r\n");
    }

    #[test]
    fn v2_carries_addresses_and_ports_in_binary() {
        let h = header(
            2,
            "10.1.2.3:4567".parse().unwrap(),
            "127.0.0.1:80".parse().unwrap(),
        );
        assert_eq!(&h[..12], &V2_SIGNATURE);
        assert_eq!(&h[12..16], &[0x21, 0x11, 0, 12]);
        assert_eq!(&h[16..20], &[10, 1, 2, 3]);
        assert_eq!(&h[20..24], &[127, 0, 0, 1]);
        assert_eq!(&h[24..], &[0x11, 0xD7, 0, 80]);
    }
}
