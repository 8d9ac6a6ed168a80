//! TCP router rules: Traefik v3's TCP matchers (`HostSNI`, `HostSNIRegexp`, `ClientIP`,
//! `ALPN`) and the mesh's `OriginalDst`, `OriginalDstPort`, combined with `&&`, `||`, `!` and parentheses, read by the router module's parser.
//!
//! Parsed at config load; [`TcpRule::matches`] runs once per connection (per route tried) over
//! the [`ConnFacts`] read before routing, and allocates nothing.
//!
//! Semantics (Traefik's `pkg/muxer/tcp`, with these choices written down):
//! - `HostSNI(`*`)` matches every connection, with or without a server name; a rule that is
//!   exactly `HostSNI(`*`)` is a catch-all, tried after the specific rules (priority -1 unless
//!   set), and loses to an HTTPS router naming the host.
//! - `HostSNI(`a.test`)` compares case-insensitively, one trailing dot ignored; several
//!   arguments (Traefik v2's form) match any of them. A plain TCP connection has no server name,
//!   so a router without `tls` may only use `HostSNI(`*`)` (a config error otherwise).
//! - `HostSNIRegexp` is matched case-insensitively and unanchored (write `^...$`).
//! - `ALPN(`h2`)` matches when the client offers that protocol; `acme-tls/1` is refused.
//! - `ClientIP` takes an address or a CIDR range; IPv4-mapped IPv6 counts as IPv4.
//! - `OriginalDst(`10.96.0.10:80`)` and `OriginalDstPort(`80`)` match the destination a
//!   client dialled before iptables redirected it to a `transparent` entrypoint; they never
//!   match elsewhere, nor a connection addressed to the gateway itself.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use regex::Regex;

use crate::router::{
    Arg, Expr, Grammar, RuleError, client_net, is_http_matcher, original_dst, original_dst_port,
    parse_with, regex,
};

/// What a TCP rule looks at, read once per connection before routing.
#[derive(Debug, Clone, Copy)]
pub struct ConnFacts<'a> {
    /// The ClientHello's server name, lowercase; `None` on a plain connection or without SNI.
    pub server_name: Option<&'a str>,
    /// The protocols the ClientHello offers (ALPN); empty on a plain connection.
    pub alpn: &'a [Vec<u8>],
    pub client_ip: IpAddr,
    /// Where the client was going before iptables redirected it (`transparent` entrypoints).
    pub original_dst: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    HostSni,
    HostSniRegexp,
    ClientIp,
    Alpn,
    OriginalDst,
    OriginalDstPort,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::HostSni,
        Kind::HostSniRegexp,
        Kind::ClientIp,
        Kind::Alpn,
        Kind::OriginalDst,
        Kind::OriginalDstPort,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::HostSni => "HostSNI",
            Kind::HostSniRegexp => "HostSNIRegexp",
            Kind::ClientIp => "ClientIP",
            Kind::Alpn => "ALPN",
            Kind::OriginalDst => "OriginalDst",
            Kind::OriginalDstPort => "OriginalDstPort",
        }
    }
}

/// A compiled TCP matcher.
#[derive(Debug, Clone)]
pub(crate) enum TcpMatcher {
    /// `HostSNI(`*`)`.
    AnySni,
    /// Lowercase names without a trailing dot.
    HostSni(Box<[Box<str>]>),
    HostSniRegexp(Regex),
    ClientIp(IpNet),
    Alpn(Box<[u8]>),
    OriginalDst(SocketAddr),
    OriginalDstPort(u16),
}

impl TcpMatcher {
    fn matches(&self, facts: &ConnFacts<'_>) -> bool {
        match self {
            TcpMatcher::AnySni => true,
            TcpMatcher::HostSni(names) => facts.server_name.is_some_and(|sni| {
                let sni = sni.strip_suffix('.').unwrap_or(sni);
                names.iter().any(|n| n.eq_ignore_ascii_case(sni))
            }),
            TcpMatcher::HostSniRegexp(re) => re.is_match(facts.server_name.unwrap_or("")),
            TcpMatcher::ClientIp(net) => net.contains(&canonical_ip(facts.client_ip)),
            TcpMatcher::Alpn(proto) => facts.alpn.iter().any(|p| **p == **proto),
            TcpMatcher::OriginalDst(addr) => facts.original_dst == Some(*addr),
            TcpMatcher::OriginalDstPort(port) => {
                facts.original_dst.is_some_and(|d| d.port() == *port)
            }
        }
    }

    /// Whether this matcher reads something only a TLS ClientHello carries.
    fn needs_client_hello(&self) -> bool {
        matches!(
            self,
            TcpMatcher::HostSni(_) | TcpMatcher::HostSniRegexp(_) | TcpMatcher::Alpn(_)
        )
    }
}

fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

struct TcpGrammar;

impl Grammar for TcpGrammar {
    type Kind = Kind;
    type Matcher = TcpMatcher;

    /// Traefik's spellings: canonical, all lower, all upper (`HostSNI`, `hostsni`, `HOSTSNI`).
    fn lookup(&self, name: &str, offset: usize) -> Result<Kind, RuleError> {
        Kind::ALL
            .into_iter()
            .find(|k| {
                let canonical = k.name();
                name == canonical
                    || name == canonical.to_ascii_lowercase()
                    || name == canonical.to_ascii_uppercase()
            })
            .ok_or_else(|| RuleError::UnknownTcpMatcher {
                name: name.to_owned(),
                offset,
                http_matcher: is_http_matcher(name),
            })
    }

    fn compile(&self, kind: Kind, args: Vec<Arg>, offset: usize) -> Result<TcpMatcher, RuleError> {
        let matcher = kind.name();
        let many = kind == Kind::HostSni;
        if args.is_empty() || (!many && args.len() > 1) {
            return Err(RuleError::ArgumentCount {
                matcher,
                expected: if many {
                    "1 or more arguments"
                } else {
                    "1 argument"
                },
                got: args.len(),
                offset,
            });
        }
        if let Some(empty) = args.iter().find(|a| a.value.is_empty()) {
            return Err(RuleError::EmptyArgument {
                matcher,
                offset: empty.offset,
            });
        }
        let bad = |arg: &Arg, reason| RuleError::BadArgument {
            matcher,
            value: arg.value.clone(),
            reason,
            offset: arg.offset,
        };
        let mut args = args;
        match kind {
            Kind::HostSni => {
                if args.len() == 1 && args[0].value == "*" {
                    return Ok(TcpMatcher::AnySni);
                }
                let mut names = Vec::with_capacity(args.len());
                for arg in &args {
                    let valid = arg.value.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':')
                    });
                    if !valid {
                        return Err(bad(arg, "not a host name (use punycode for IDNs)"));
                    }
                    let name = arg.value.to_ascii_lowercase();
                    let name = name.strip_suffix('.').unwrap_or(&name);
                    names.push(Box::from(name));
                }
                Ok(TcpMatcher::HostSni(names.into()))
            }
            Kind::HostSniRegexp => {
                let arg = args.remove(0);
                if !arg.value.is_ascii() {
                    return Err(bad(&arg, "not ASCII (use punycode for IDNs)"));
                }
                Ok(TcpMatcher::HostSniRegexp(regex(
                    matcher, &arg.value, arg.offset, true,
                )?))
            }
            Kind::ClientIp => Ok(TcpMatcher::ClientIp(client_net(args.remove(0))?)),
            Kind::Alpn => {
                let arg = args.remove(0);
                if arg.value == "acme-tls/1" {
                    return Err(bad(&arg, "acme-tls/1 is reserved for ACME challenges"));
                }
                Ok(TcpMatcher::Alpn(arg.value.into_bytes().into()))
            }
            Kind::OriginalDst => Ok(TcpMatcher::OriginalDst(original_dst(
                matcher,
                args.remove(0),
            )?)),
            Kind::OriginalDstPort => Ok(TcpMatcher::OriginalDstPort(original_dst_port(
                matcher,
                args.remove(0),
            )?)),
        }
    }
}

/// A compiled TCP rule.
#[derive(Debug, Clone)]
pub struct TcpRule {
    text: Box<str>,
    expr: Expr<TcpMatcher>,
}

impl TcpRule {
    /// Parses and compiles `text`. Config load only.
    ///
    /// # Errors
    /// Syntax errors, an HTTP or unknown matcher, a bad argument, each with its offset.
    pub fn parse(text: &str) -> Result<TcpRule, RuleError> {
        Ok(TcpRule {
            text: text.into(),
            expr: parse_with(text, &TcpGrammar)?,
        })
    }

    /// Whether the connection matches. Per connection; allocates nothing.
    pub fn matches(&self, facts: &ConnFacts<'_>) -> bool {
        self.expr.eval_with(&|m: &TcpMatcher| m.matches(facts))
    }

    /// Exactly `HostSNI(`*`)`: Traefik's catch-all, tried after specific rules.
    pub fn is_catch_all(&self) -> bool {
        matches!(self.expr, Expr::Match(TcpMatcher::AnySni))
    }

    /// Traefik's default priority: the rule length, or -1 for the catch-all.
    pub fn default_priority(&self) -> i64 {
        if self.is_catch_all() {
            return -1;
        }
        i64::try_from(self.text.len()).unwrap_or(i64::MAX)
    }

    /// A matcher that only a TLS ClientHello can satisfy (`HostSNI` with a name,
    /// `HostSNIRegexp`, `ALPN`), by name; `None` when the rule suits plain TCP.
    pub fn tls_only_matcher(&self) -> Option<&'static str> {
        self.expr
            .matchers()
            .into_iter()
            .find(|m| m.needs_client_hello())
            .map(|m| match m {
                TcpMatcher::HostSni(_) => "HostSNI with a host name",
                TcpMatcher::HostSniRegexp(_) => "HostSNIRegexp",
                _ => "ALPN",
            })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The names of the rule's `HostSNI` matchers (not `*`), lowercase: what a router with a
    /// `certResolver` and no `domains` asks certificates for. Config time.
    pub fn host_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for matcher in self.expr.matchers() {
            if let TcpMatcher::HostSni(names) = matcher {
                out.extend(names.iter().map(|n| n.to_string()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_the_rules_host_sni_names() {
        let rule = TcpRule::parse(
            "(HostSNI(`a.test`, `B.test`) || HostSNI(`*`)) && ALPN(`h2`) || HostSNIRegexp(`^c`)",
        )
        .unwrap();
        assert_eq!(rule.host_names(), ["a.test", "b.test"]);
        assert!(
            TcpRule::parse("HostSNI(`*`)")
                .unwrap()
                .host_names()
                .is_empty()
        );
    }

    fn facts<'a>(sni: Option<&'a str>, alpn: &'a [Vec<u8>], ip: &str) -> ConnFacts<'a> {
        ConnFacts {
            server_name: sni,
            alpn,
            client_ip: ip.parse().unwrap(),
            original_dst: None,
        }
    }

    #[test]
    fn host_sni_alpn_and_client_ip_combine() {
        let rule = TcpRule::parse(
            "(HostSNI(`a.test`) || HostSNIRegexp(`^b\\.`)) && ALPN(`h2`) && !ClientIP(`10.0.0.0/8`)",
        )
        .unwrap();
        let h2 = [b"h2".to_vec()];
        assert!(rule.matches(&facts(Some("A.test."), &h2, "127.0.0.1")));
        assert!(rule.matches(&facts(Some("b.test"), &h2, "127.0.0.1")));
        assert!(!rule.matches(&facts(Some("a.test"), &[], "127.0.0.1")));
        assert!(!rule.matches(&facts(Some("a.test"), &h2, "10.1.2.3")));
        assert!(!rule.matches(&facts(None, &h2, "127.0.0.1")));
        assert_eq!(rule.tls_only_matcher(), Some("HostSNI with a host name"));
    }

    #[test]
    fn the_catch_all_is_tried_last_and_suits_plain_tcp() {
        let rule = TcpRule::parse("HostSNI(`*`)").unwrap();
        assert!(rule.is_catch_all());
        assert_eq!(rule.default_priority(), -1);
        assert!(rule.tls_only_matcher().is_none());
        assert!(rule.matches(&facts(None, &[], "::1")));
        let rule = TcpRule::parse("HostSNI(`*`) && ClientIP(`::ffff:127.0.0.1`)").unwrap();
        assert!(!rule.is_catch_all());
        assert!(rule.matches(&facts(None, &[], "127.0.0.1")));
    }

    #[test]
    fn original_destination_rules_match_only_redirected_connections() {
        let rule = TcpRule::parse("OriginalDst(`10.96.0.10:80`) || OriginalDstPort(`25`)").unwrap();
        let mut conn = facts(None, &[], "10.0.0.1");
        assert!(!rule.matches(&conn));
        conn.original_dst = Some("10.96.0.10:80".parse().unwrap());
        assert!(rule.matches(&conn));
        conn.original_dst = Some("10.96.0.11:80".parse().unwrap());
        assert!(!rule.matches(&conn));
        conn.original_dst = Some("10.96.0.11:25".parse().unwrap());
        assert!(rule.matches(&conn));
        assert!(rule.tls_only_matcher().is_none());
        let err = TcpRule::parse("OriginalDstPort(`http`)")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a port number"), "{err}");
        let err = TcpRule::parse("OriginalDst(`svc:80`)")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an ip:port"), "{err}");
    }

    #[test]
    fn http_matchers_and_bad_arguments_are_refused() {
        let err = TcpRule::parse("Host(`a.test`)").unwrap_err().to_string();
        assert_eq!(
            err,
            "Host at offset 0 is an HTTP matcher; a TCP router matches with HostSNI, \
             HostSNIRegexp, ClientIP, ALPN, OriginalDst, OriginalDstPort"
        );
        let err = TcpRule::parse("HostSNI(`a b`)").unwrap_err().to_string();
        assert!(err.contains("not a host name"), "{err}");
        let err = TcpRule::parse("ALPN(`acme-tls/1`)")
            .unwrap_err()
            .to_string();
        assert!(err.contains("reserved"), "{err}");
        assert!(
            TcpRule::parse("Nope(`x`)")
                .unwrap_err()
                .to_string()
                .contains("unknown matcher")
        );
    }
}
