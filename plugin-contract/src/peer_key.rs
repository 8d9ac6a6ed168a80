//! The text of a client (TCP peer) address as a rate-limit key: the one piece of behaviour the
//! host and the bundled plugins must share byte for byte. The `rate-limit` plugin keys its
//! buckets with it (`traefik-options`' `IpText`), and the gateway computes the same key for a
//! declared pre-take (`wit/plugin.wit`, interface `pre-take`, `key-source.client-ip`), so both
//! takes land in the same bucket. Written once here, so the two cannot drift apart.
//!
//! Traefik's text of `RemoteAddr` (`net.SplitHostPort`, then `getIPv6SubnetIP`): an IPv4-mapped
//! IPv6 address as IPv4 (`a.b.c.d`), an IPv6 one in its canonical text (RFC 5952) masked to
//! `ipv6_subnet` bits when set, no zone. Written on the stack (no allocation): per request.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Peer addresses, IPv6 subnet sizes and the key texts they give ([`PeerKey::peer`]): the
/// examples the host's pre-take test and the `traefik-options` test both pin.
#[doc(hidden)]
pub const PEER_KEY_EXAMPLES: &[(&str, Option<u8>, &str)] = &[
    ("10.0.0.1", None, "10.0.0.1"),
    ("1.20.100.9", None, "1.20.100.9"),
    ("255.255.255.255", Some(64), "255.255.255.255"),
    ("0.0.0.0", None, "0.0.0.0"),
    ("::ffff:1.2.3.4", None, "1.2.3.4"),
    ("::ffff:1.2.3.4", Some(64), "1.2.3.4"),
    ("2001:db8:1:2:3:4:5:6", None, "2001:db8:1:2:3:4:5:6"),
    ("2001:db8:1:2:3:4:5:6", Some(64), "2001:db8:1:2::"),
    ("2001:db8:1:2:3:4:5:6", Some(48), "2001:db8:1::"),
    ("2001:db8:1:2:3:4:5:6", Some(128), "2001:db8:1:2:3:4:5:6"),
    ("2001:db8:0:0:1:0:0:1", None, "2001:db8::1:0:0:1"),
    ("::1", None, "::1"),
    ("::1", Some(1), "::"),
    ("64:ff9b::1.2.3.4", None, "64:ff9b::102:304"),
];

/// The key text of a peer address, on the stack.
#[derive(Clone, Copy)]
pub struct PeerKey {
    /// Long enough for any address's text (45 bytes at most).
    buf: [u8; 48],
    len: usize,
}

impl PeerKey {
    /// The key text of the peer address `ip`.
    pub fn peer(ip: IpAddr, ipv6_subnet: Option<u8>) -> PeerKey {
        let mut text = PeerKey {
            buf: [0; 48],
            len: 0,
        };
        match ip {
            IpAddr::V4(v4) => text.push_ipv4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => text.push_ipv4(v4),
                None => {
                    let ip = ipv6_subnet.map_or(v6, |bits| mask_v6(v6, bits));
                    // Cannot fail: the buffer holds the longest IPv6 text.
                    let _ = write!(text, "{ip}");
                }
            },
        }
        text
    }

    pub fn as_str(&self) -> &str {
        // Only whole `str`s and ASCII bytes are ever written, so the bytes are UTF-8.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }

    /// `a.b.c.d` digit by digit (`fmt` of an `Ipv4Addr` costs several times more).
    fn push_ipv4(&mut self, v4: Ipv4Addr) {
        for (i, octet) in v4.octets().into_iter().enumerate() {
            if i > 0 {
                self.push_byte(b'.');
            }
            if octet >= 100 {
                self.push_byte(b'0' + octet / 100);
            }
            if octet >= 10 {
                self.push_byte(b'0' + octet / 10 % 10);
            }
            self.push_byte(b'0' + octet % 10);
        }
    }

    fn push_byte(&mut self, byte: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }
}

impl std::fmt::Write for PeerKey {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `v6` with every bit after the first `prefix` cleared.
fn mask_v6(v6: Ipv6Addr, prefix: u8) -> Ipv6Addr {
    let m = u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0);
    Ipv6Addr::from(u128::from(v6) & m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peer_key_examples_hold() {
        for (ip, bits, key) in PEER_KEY_EXAMPLES {
            let ip: IpAddr = ip.parse().expect("valid");
            assert_eq!(PeerKey::peer(ip, *bits).as_str(), *key, "{ip} {bits:?}");
        }
    }
}
