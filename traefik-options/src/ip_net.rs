//! IP addresses and ranges as Traefik's `ip.Checker` reads them: an entry is an address
//! (`10.0.0.1`, `::1`) or a CIDR range (`10.0.0.0/8`, host bits ignored); an IPv4-mapped IPv6
//! address (`::ffff:10.0.0.1`) counts as its IPv4 address on both sides.

use std::net::{IpAddr, Ipv6Addr};

/// One `sourceRange` / `excludedIPs` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Parses an address or a CIDR range.
    pub fn parse(text: &str) -> Option<Self> {
        if let Ok(ip) = text.parse::<IpAddr>() {
            let ip = canonical(ip);
            let prefix = if ip.is_ipv4() { 32 } else { 128 };
            return Some(IpRange {
                network: ip,
                prefix,
            });
        }
        let (ip, prefix) = text.split_once('/')?;
        let ip: IpAddr = ip.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let (ip, prefix) = match ip {
            IpAddr::V4(_) if prefix <= 32 => (ip, prefix),
            IpAddr::V6(v6) if prefix <= 128 => match v6.to_ipv4_mapped() {
                Some(v4) if prefix >= 96 => (IpAddr::V4(v4), prefix - 96),
                _ => (ip, prefix),
            },
            _ => return None,
        };
        Some(IpRange {
            network: mask(ip, prefix),
            prefix,
        })
    }

    /// Whether `ip` lies in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.prefix) == self.network
    }
}

/// Parses an address as Traefik's checker does, after dropping a `:port` (`1.2.3.4:80`,
/// `[::1]:80`) and a zone (`fe80::1%eth0`).
pub fn parse_addr(text: &str) -> Option<IpAddr> {
    let host = split_host(text);
    let host = host.split_once('%').map_or(host, |(ip, _zone)| ip);
    host.parse::<IpAddr>().ok().map(canonical)
}

/// Go's `net.SplitHostPort` when it succeeds, else the text itself.
fn split_host(text: &str) -> &str {
    if let Some(rest) = text.strip_prefix('[')
        && let Some((host, port)) = rest.split_once("]:")
        && !port.contains(':')
    {
        return host;
    }
    match text.rsplit_once(':') {
        Some((host, _port)) if !host.contains(':') => host,
        _ => text,
    }
}

/// IPv4-mapped IPv6 addresses as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// `ip` with every bit after the first `prefix` cleared.
pub fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn addresses_and_ranges_parse_with_host_bits_ignored() {
        let net = IpRange::parse("10.1.2.3/8").unwrap();
        assert!(net.contains(ip("10.200.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        let one = IpRange::parse("192.168.1.7").unwrap();
        assert!(one.contains(ip("192.168.1.7")));
        assert!(!one.contains(ip("192.168.1.8")));
        let v6 = IpRange::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let all = IpRange::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("255.255.255.255")));
    }

    #[test]
    fn ipv4_mapped_addresses_match_ipv4_ranges() {
        let net = IpRange::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("::ffff:10.1.1.1")));
        let mapped = IpRange::parse("::ffff:10.0.0.0/104").unwrap();
        assert!(mapped.contains(ip("10.9.9.9")));
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "host.example",
            "10.0.0.1/x",
            "1.2.3",
        ] {
            assert_eq!(IpRange::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn addresses_lose_port_and_zone() {
        assert_eq!(parse_addr("1.2.3.4:8080"), Some(ip("1.2.3.4")));
        assert_eq!(parse_addr("[::1]:8080"), Some(ip("::1")));
        assert_eq!(parse_addr("::1"), Some(ip("::1")));
        assert_eq!(parse_addr("fe80::1%eth0"), Some(ip("fe80::1")));
        assert_eq!(parse_addr(" 1.2.3.4"), None);
        assert_eq!(parse_addr(""), None);
        assert_eq!(parse_addr("unknown"), None);
    }
}
