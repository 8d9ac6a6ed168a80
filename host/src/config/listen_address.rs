//! Entry point listen addresses: Traefik's `host:port[/tcp]` forms, and when two listeners
//! of one protocol would clash. Config load only.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Two listeners clash when they share a port (other than 0, "any free port") and their IPs are
/// equal or either is the unspecified address of the same family.
pub(crate) fn addresses_clash(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && a.is_ipv4() == b.is_ipv4()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// Parses a Traefik entry point address: `host:port` with an IP host, `:port` for all IPv4
/// interfaces, `[v6]:port`; an optional `/tcp` suffix.
pub(crate) fn parse_listen_address(text: &str) -> Result<SocketAddr, String> {
    let text = match text.rsplit_once('/') {
        Some((address, "tcp")) => address,
        Some((_, other)) => return Err(format!("unknown protocol \"{other}\"")),
        None => text,
    };
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err("missing port (write \":8080\" or \"127.0.0.1:8080\")".to_string());
    };
    let port: u16 = port.parse().map_err(|_| "invalid port".to_string())?;
    let ip = if host.is_empty() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse()
            .map_err(|_| format!("invalid IPv6 address \"{v6}\""))?
    } else if host.contains(':') {
        return Err("IPv6 addresses must be in brackets, e.g. \"[::1]:8080\"".to_string());
    } else {
        host.parse()
            .map_err(|_| format!("host must be an IP address, not \"{host}\""))?
    };
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        let v4 = |a: [u8; 4], port| SocketAddr::new(IpAddr::from(a), port);
        assert_eq!(
            parse_listen_address("127.0.0.1:8080"),
            Ok(v4([127, 0, 0, 1], 8080))
        );
        assert_eq!(parse_listen_address(":8080"), Ok(v4([0, 0, 0, 0], 8080)));
        assert_eq!(parse_listen_address(":80/tcp"), Ok(v4([0, 0, 0, 0], 80)));
        assert_eq!(
            parse_listen_address("[::1]:443"),
            Ok(SocketAddr::new(
                "::1".parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                443
            ))
        );
        assert_eq!(
            parse_listen_address("127.0.0.1:99999"),
            Err("invalid port".to_string())
        );
        assert_eq!(
            parse_listen_address("8080"),
            Err("missing port (write \":8080\" or \"127.0.0.1:8080\")".to_string())
        );
        assert_eq!(
            parse_listen_address("localhost:80"),
            Err("host must be an IP address, not \"localhost\"".to_string())
        );
        assert_eq!(
            parse_listen_address(":53/sctp"),
            Err("unknown protocol \"sctp\"".to_string())
        );
    }

    #[test]
    fn clashing_listeners() {
        let parse =
            |s: &str| parse_listen_address(s).unwrap_or(SocketAddr::from(([1, 1, 1, 1], 1)));
        assert!(addresses_clash(parse(":8080"), parse("127.0.0.1:8080")));
        assert!(addresses_clash(
            parse("127.0.0.1:8080"),
            parse("127.0.0.1:8080")
        ));
        assert!(!addresses_clash(
            parse("127.0.0.1:8080"),
            parse("127.0.0.2:8080")
        ));
        assert!(!addresses_clash(parse("127.0.0.1:0"), parse("127.0.0.1:0")));
        assert!(!addresses_clash(parse(":8080"), parse("[::1]:8080")));
    }
}
