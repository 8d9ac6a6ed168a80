//! The PROXY protocol header (HAProxy's spec, v1 text and v2 binary): built for a TCP load
//! balancer with `proxyProtocol`, sent to its server before the client's bytes (once per
//! upstream connection, a few dozen bytes); and parsed ([`parse`]) at the start of connections
//! to an entrypoint with `proxyProtocol`, so routers see the client behind an L4 balancer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The v1 preamble.
const V1_PREFIX: &[u8] = b"PROXY ";
/// Longest v1 header, CRLF included (the spec's bound).
const V1_MAX: usize = 107;

/// What the first bytes of a connection hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// They do not start a PROXY header.
    NotProxy,
    /// They start one that has not fully arrived.
    Incomplete,
    /// A header that breaks the spec.
    Invalid(&'static str),
    /// A complete header of `len` bytes; `source` is the client it names (`None`: `UNKNOWN`,
    /// `LOCAL`, or a family without an address, e.g. a health check from the balancer).
    Header {
        len: usize,
        source: Option<SocketAddr>,
    },
}

/// Reads a PROXY header (v1 or v2) at the start of `bytes`. Pure; per connection on a
/// `proxyProtocol` entrypoint.
pub fn parse(bytes: &[u8]) -> Parsed {
    let starts = |prefix: &[u8]| {
        let n = bytes.len().min(prefix.len());
        bytes[..n] == prefix[..n]
    };
    if starts(V1_PREFIX) {
        if bytes.len() < V1_PREFIX.len() {
            return Parsed::Incomplete;
        }
        return parse_v1(bytes);
    }
    if starts(&V2_SIGNATURE) {
        if bytes.len() < 16 {
            return Parsed::Incomplete;
        }
        return parse_v2(bytes);
    }
    Parsed::NotProxy
}

fn parse_v1(bytes: &[u8]) -> Parsed {
    let window = &bytes[..bytes.len().min(V1_MAX)];
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        return if bytes.len() >= V1_MAX {
            Parsed::Invalid("v1 header without CRLF within 107 bytes")
        } else {
            Parsed::Incomplete
        };
    };
    let Ok(line) = std::str::from_utf8(&bytes[..end]) else {
        return Parsed::Invalid("v1 header is not ASCII");
    };
    let fields: Vec<&str> = line.split(' ').collect();
    let len = end + 2;
    match fields[..] {
        ["PROXY", "UNKNOWN", ..] => Parsed::Header { len, source: None },
        [
            "PROXY",
            family @ ("TCP4" | "TCP6"),
            src,
            _dst,
            sport,
            _dport,
        ] => {
            let ip: Option<IpAddr> = src.parse().ok();
            let port: Option<u16> = sport.parse().ok();
            match (ip, port) {
                (Some(ip), Some(port)) if ip.is_ipv4() == (family == "TCP4") => Parsed::Header {
                    len,
                    source: Some(SocketAddr::new(ip, port)),
                },
                _ => Parsed::Invalid("v1 header with a bad address or port"),
            }
        }
        _ => Parsed::Invalid("v1 header with an unknown protocol or missing fields"),
    }
}

fn parse_v2(bytes: &[u8]) -> Parsed {
    let version_command = bytes[12];
    if version_command >> 4 != 2 {
        return Parsed::Invalid("v2 header with a version other than 2");
    }
    let local = match version_command & 0x0F {
        0 => true,
        1 => false,
        _ => return Parsed::Invalid("v2 header with an unknown command"),
    };
    let family = bytes[13];
    let body_len = usize::from(u16::from_be_bytes([bytes[14], bytes[15]]));
    let len = 16 + body_len;
    if bytes.len() < len {
        return Parsed::Incomplete;
    }
    let body = &bytes[16..len];
    if local {
        return Parsed::Header { len, source: None };
    }
    let source = match family >> 4 {
        1 if body.len() >= 12 => Some(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(body[0], body[1], body[2], body[3])),
            u16::from_be_bytes([body[8], body[9]]),
        )),
        2 if body.len() >= 36 => {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&body[..16]);
            Some(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(ip)),
                u16::from_be_bytes([body[32], body[33]]),
            ))
        }
        1 | 2 => return Parsed::Invalid("v2 header shorter than its addresses"),
        // Unspecified or Unix sockets: no IP address to take.
        _ => None,
    };
    Parsed::Header { len, source }
}

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

fn v6(ip: IpAddr) -> Ipv6Addr {
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
    fn headers_we_build_parse_back_and_other_bytes_are_not_headers() {
        let client: SocketAddr = "10.1.2.3:4567".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:80".parse().unwrap();
        for version in [1, 2] {
            let mut bytes = header(version, client, local);
            let len = bytes.len();
            bytes.extend_from_slice(b"GET / HTTP/1.1\r\n");
            assert_eq!(
                parse(&bytes),
                Parsed::Header {
                    len,
                    source: Some(client)
                }
            );
            assert_eq!(parse(&bytes[..len - 1]), Parsed::Incomplete);
            assert_eq!(parse(&bytes[..3]), Parsed::Incomplete);
        }
        assert_eq!(parse(b"POST / HTTP/1.1\r\n"), Parsed::NotProxy);
        assert_eq!(parse(b"PRI * HTTP/2.0"), Parsed::NotProxy);
        assert_eq!(parse(&[0x16, 3, 1]), Parsed::NotProxy);
        assert_eq!(
            parse(b"PROXY UNKNOWN\r\n"),
            Parsed::Header {
                len: 15,
                source: None
            }
        );
        assert!(matches!(
            parse(b"PROXY TCP4 ::1 ::1 1 2\r\n"),
            Parsed::Invalid(_)
        ));
        assert!(matches!(
            parse(&[b'P', b'R', b'O', b'X', b'Y', b' ', b'x'].repeat(20)),
            Parsed::Invalid(_)
        ));
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
