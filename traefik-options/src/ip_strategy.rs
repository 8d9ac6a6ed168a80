//! `ipStrategy`: which address of a request is checked (Traefik's `ip.Strategy`).
//!
//! - no `ipStrategy`, or one with neither `depth` nor `excludedIPs`: the TCP peer's address;
//! - `depth: n` (n > 0): the n-th entry from the right of the first `X-Forwarded-For` header
//!   (none when it has fewer entries, and the request is refused); `depth` wins over
//!   `excludedIPs`;
//! - `excludedIPs`: the right-most `X-Forwarded-For` entry not in those ranges;
//! - `ipv6Subnet` (1..=128, with `depth` or the peer address): an IPv6 address is replaced by
//!   the first address of its subnet of that size, so a whole /64 counts as one client.
//!
//! The gateway sets `X-Forwarded-For` itself before any middleware runs (the client's own value
//! is not trusted; there is no trusted-proxies setting yet), so `depth: 1` reads the peer
//! address; the strategies see more when a middleware earlier in the chain fills the header.

use std::net::IpAddr;

use plugin_sdk::Request;

use serde_json::{Map, Value};

use crate::ip_net::{IpRange, mask, parse_addr};
use crate::json_text::{self, kind};

/// How the checked address is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// The TCP peer.
    RemoteAddr { ipv6_subnet: Option<u8> },
    /// The `depth`-th `X-Forwarded-For` entry from the right.
    Depth {
        depth: usize,
        ipv6_subnet: Option<u8>,
    },
    /// The right-most `X-Forwarded-For` entry outside these ranges.
    Excluded(Vec<IpRange>),
}

impl Strategy {
    /// Calls `f` with the address to check, as text ("" when there is none): for the TCP peer
    /// from a stack buffer (one `client-ip` host call, nothing allocated), else as
    /// [`client_ip`](Self::client_ip) gives it.
    pub fn with_client_ip<R>(&self, req: &Request<'_>, f: impl FnOnce(&str) -> R) -> R {
        match self {
            Strategy::RemoteAddr { ipv6_subnet } => {
                f(IpText::peer(req.client_ip(), *ipv6_subnet).as_str())
            }
            _ => f(&self.client_ip(req)),
        }
    }

    /// The address to check, as text ("" when there is none); one header read at most.
    pub fn client_ip(&self, req: &Request<'_>) -> String {
        match self {
            Strategy::RemoteAddr { ipv6_subnet } => IpText::peer(req.client_ip(), *ipv6_subnet)
                .as_str()
                .to_owned(),
            Strategy::Depth { depth, ipv6_subnet } => {
                let xff = req.header_str("x-forwarded-for").unwrap_or_default();
                let entries: Vec<&str> = xff.split(',').collect();
                match entries.len().checked_sub(*depth) {
                    Some(i) => subnet(entries[i].trim().to_string(), *ipv6_subnet),
                    None => String::new(),
                }
            }
            Strategy::Excluded(excluded) => {
                let xff = req.header_str("x-forwarded-for").unwrap_or_default();
                xff.split(',')
                    .rev()
                    .map(str::trim)
                    .find(|entry| {
                        !parse_addr(entry).is_some_and(|ip| excluded.iter().any(|r| r.contains(ip)))
                    })
                    .unwrap_or_default()
                    .to_string()
            }
        }
    }
}

/// Parses Traefik's `ipStrategy` options (`depth`, `excludedIPs`, `ipv6Subnet`); `null` is the
/// TCP peer. Any other option is refused by name.
pub fn parse(value: Value) -> Result<Strategy, String> {
    let options = match value {
        Value::Null => Map::new(),
        Value::Object(map) => map,
        other => return Err(format!("ipStrategy must be a map, got {}", kind(&other))),
    };
    let (mut depth, mut excluded, mut ipv6_subnet) = (0, Vec::new(), None);
    for (option, value) in options {
        let name = format!("ipStrategy.{option}");
        match option.as_str() {
            "depth" => depth = integer(&name, value)?,
            "excludedIPs" => excluded = ranges(&name, value)?,
            "ipv6Subnet" => {
                if !value.is_null() {
                    let bits = integer(&name, value)?;
                    ipv6_subnet = Some(
                        u8::try_from(bits)
                            .ok()
                            .filter(|b| (1..=128).contains(b))
                            .ok_or_else(|| {
                                format!("{name}: invalid IPv6 subnet {bits}, must be 1..=128")
                            })?,
                    );
                }
            }
            _ => return Err(format!("ipStrategy: unknown option {option:?}")),
        }
    }
    Ok(if depth > 0 {
        Strategy::Depth {
            depth: usize::try_from(depth).unwrap_or(usize::MAX),
            ipv6_subnet,
        }
    } else if !excluded.is_empty() {
        Strategy::Excluded(excluded)
    } else {
        Strategy::RemoteAddr { ipv6_subnet }
    })
}

/// A list of addresses and CIDR ranges (`null`: none).
pub fn ranges(option: &str, value: Value) -> Result<Vec<IpRange>, String> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => return Err(format!("{option}: must be a list, got {}", kind(&other))),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::String(text) = item else {
                return Err(format!(
                    "{option}[{i}]: must be a string, got {}",
                    kind(&item)
                ));
            };
            IpRange::parse(&text).ok_or_else(|| {
                format!("{option}[{i}]: {text:?} is neither an IP address nor a CIDR range")
            })
        })
        .collect()
}

/// A whole number given as a number or as text (Traefik's file provider reads both); `null`
/// reads as 0. Errors name `option`.
pub fn integer(option: &str, value: Value) -> Result<i64, String> {
    match value {
        Value::Null => Ok(0),
        Value::Number(n) => n.as_i64().ok_or_else(|| {
            format!(
                "{option}: must be a whole number, got {}",
                json_text::number(&n)
            )
        }),
        Value::String(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{option}: must be a whole number, got {text:?}")),
        other => Err(format!("{option}: must be a number, got {}", kind(&other))),
    }
}

/// The text of a peer address as Traefik keys it (`net.SplitHostPort` of `RemoteAddr`, then
/// `getIPv6SubnetIP`), written on the stack: an IPv4-mapped IPv6 address as IPv4, an IPv6 one
/// masked to `ipv6_subnet` bits when set, no zone. Per request for a rate limit by peer. It
/// lives in `plugin-contract`, so the gateway's declared pre-take computes the same key.
pub use plugin_contract::peer_key::PeerKey as IpText;

/// Traefik's `getIPv6SubnetIP`: an IPv6 address masked to `bits`; anything else unchanged.
fn subnet(ip: String, bits: Option<u8>) -> String {
    let Some(bits) = bits else {
        // No subnet: no need to parse the address (per request, for the default strategy).
        return ip;
    };
    match ip.parse::<IpAddr>() {
        Ok(addr @ IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => mask(addr, bits).to_string(),
        _ => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn ipv6_subnets_mask_only_ipv6() {
        assert_eq!(
            subnet("2001:db8:1:2:3:4:5:6".into(), Some(64)),
            "2001:db8:1:2::"
        );
        assert_eq!(subnet("10.1.2.3".into(), Some(64)), "10.1.2.3");
        assert_eq!(subnet("2001:db8::1".into(), None), "2001:db8::1");
        assert_eq!(subnet("junk".into(), Some(64)), "junk");
    }

    /// The key the peer strategy gave when it parsed `client-addr`'s text (the SocketAddr's
    /// `Display`): `parse_addr`, `to_string`, then `subnet`.
    fn key_from_text(peer: std::net::SocketAddr, bits: Option<u8>) -> String {
        let addr = peer.to_string();
        let ip = parse_addr(&addr).map_or(addr, |ip| ip.to_string());
        subnet(ip, bits)
    }

    #[test]
    fn the_peer_key_from_the_typed_ip_is_the_key_from_the_address_text() {
        let peers = [
            "10.0.0.1:5000",
            "0.0.0.0:1",
            "255.255.255.255:65535",
            "1.20.100.9:80",
            "[2001:db8:1:2:3:4:5:6]:443",
            "[::1]:8080",
            "[::]:1",
            "[::ffff:1.2.3.4]:5",
            "[::ffff:0.0.0.0]:5",
            "[fe80::1%2]:9",
            "[64:ff9b::1.2.3.4]:7",
            "[2001:db8:0:0:1:0:0:1]:7",
        ];
        for text in peers {
            let peer: std::net::SocketAddr = text.parse().expect("valid");
            for bits in [None, Some(1), Some(48), Some(64), Some(127), Some(128)] {
                assert_eq!(
                    IpText::peer(peer.ip(), bits).as_str(),
                    key_from_text(peer, bits),
                    "{text} {bits:?}"
                );
            }
        }
        // The examples the gateway's pre-take test pins too (`plugin_contract::peer_key`).
        for (ip, bits, key) in plugin_contract::peer_key::PEER_KEY_EXAMPLES {
            let peer = std::net::SocketAddr::new(ip.parse().expect("valid"), 1);
            assert_eq!(
                IpText::peer(peer.ip(), *bits).as_str(),
                *key,
                "{ip} {bits:?}"
            );
            assert_eq!(key_from_text(peer, *bits), *key, "{ip} {bits:?}");
        }
        // Every octet width, at each position.
        for octet in [0u8, 7, 10, 99, 100, 199, 255] {
            for pos in 0..4 {
                let mut octets = [1u8, 2, 3, 4];
                octets[pos] = octet;
                let peer = std::net::SocketAddr::from((octets, 1));
                assert_eq!(
                    IpText::peer(peer.ip(), None).as_str(),
                    key_from_text(peer, None)
                );
            }
        }
    }

    #[test]
    fn the_ipv4_text_is_canonical_whenever_it_parses() {
        for text in ["1.2.3.4", "0.0.0.0", "255.255.255.255", "10.0.20.3"] {
            let parsed: Ipv4Addr = text.parse().expect("valid");
            assert_eq!(parsed.to_string(), text);
        }
        for odd in ["01.2.3.4", "1.2.3.04", "1.2.3", "1.2.3.4.5", "0x1.2.3.4"] {
            assert!(odd.parse::<Ipv4Addr>().is_err(), "{odd}");
        }
    }
}
