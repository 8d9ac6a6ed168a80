//! Turning a matcher name and its quoted arguments into a compiled [`Matcher`]: arity and
//! emptiness checks, then per-matcher validation (paths start with `/`, header names and
//! methods are valid tokens, hosts are ASCII, networks parse) and regex compilation.
//! Runs at parse time only.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderName, Method};
use ipnet::IpNet;
use regex::{Regex, RegexBuilder};

use super::error::RuleError;
use super::matcher::Matcher;

/// Compiled size limit for one regex: the regex crate's default (10 MiB), which Unicode-aware
/// patterns such as `^/(\w{1,20}/){1,10}$` need (that one is over 1 MiB). A pattern past it is
/// a config error, so a single rule cannot reserve unbounded memory.
const REGEX_SIZE_LIMIT: usize = 10 << 20;

/// Which matcher a name denotes, before its arguments are compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MatcherKind {
    Host,
    HostRegexp,
    Path,
    PathPrefix,
    PathRegexp,
    Method,
    Header,
    HeaderRegexp,
    Query,
    QueryRegexp,
    ClientIp,
    OriginalDst,
    OriginalDstPort,
}

impl MatcherKind {
    const ALL: [MatcherKind; 13] = [
        MatcherKind::Host,
        MatcherKind::HostRegexp,
        MatcherKind::Path,
        MatcherKind::PathPrefix,
        MatcherKind::PathRegexp,
        MatcherKind::Method,
        MatcherKind::Header,
        MatcherKind::HeaderRegexp,
        MatcherKind::Query,
        MatcherKind::QueryRegexp,
        MatcherKind::ClientIp,
        MatcherKind::OriginalDst,
        MatcherKind::OriginalDstPort,
    ];

    /// The canonical spelling, as in Traefik's documentation.
    pub fn name(self) -> &'static str {
        match self {
            MatcherKind::Host => "Host",
            MatcherKind::HostRegexp => "HostRegexp",
            MatcherKind::Path => "Path",
            MatcherKind::PathPrefix => "PathPrefix",
            MatcherKind::PathRegexp => "PathRegexp",
            MatcherKind::Method => "Method",
            MatcherKind::Header => "Header",
            MatcherKind::HeaderRegexp => "HeaderRegexp",
            MatcherKind::Query => "Query",
            MatcherKind::QueryRegexp => "QueryRegexp",
            MatcherKind::ClientIp => "ClientIP",
            MatcherKind::OriginalDst => "OriginalDst",
            MatcherKind::OriginalDstPort => "OriginalDstPort",
        }
    }

    /// Resolves a matcher name. Like Traefik, accepts the canonical spelling and its all-lower,
    /// all-upper and title-case forms (`PathPrefix`, `pathprefix`, `PATHPREFIX`, `Pathprefix`).
    pub fn lookup(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| {
            let canonical = kind.name();
            if !name.eq_ignore_ascii_case(canonical) {
                return false;
            }
            let mut rest = name.bytes();
            let first_upper = rest.next().is_some_and(|b| b.is_ascii_uppercase());
            let rest_lower = rest.all(|b| !b.is_ascii_uppercase());
            name == canonical
                || name.bytes().all(|b| !b.is_ascii_uppercase())
                || name.bytes().all(|b| !b.is_ascii_lowercase())
                || (first_upper && rest_lower)
        })
    }

    /// Allowed argument counts and how error messages phrase them.
    fn arity(self) -> (usize, usize, &'static str) {
        match self {
            MatcherKind::Header | MatcherKind::HeaderRegexp | MatcherKind::QueryRegexp => {
                (2, 2, "2 arguments")
            }
            MatcherKind::Query => (1, 2, "1 or 2 arguments"),
            _ => (1, 1, "1 argument"),
        }
    }
}

/// One quoted argument and where it starts in the rule text.
#[derive(Debug, Clone)]
pub(crate) struct Arg {
    pub value: String,
    pub offset: usize,
}

impl Matcher {
    /// Compiles `kind` with `args`; `offset` is where the matcher name starts. Parse time only.
    pub fn compile(kind: MatcherKind, args: Vec<Arg>, offset: usize) -> Result<Self, RuleError> {
        let matcher = kind.name();
        let (min, max, expected) = kind.arity();
        if args.len() < min || args.len() > max {
            return Err(RuleError::ArgumentCount {
                matcher,
                expected,
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
        let mut args = args.into_iter();
        let mut next = || {
            args.next().ok_or(RuleError::ArgumentCount {
                matcher,
                expected,
                got: 0,
                offset,
            })
        };
        let first = next()?;
        Ok(match kind {
            MatcherKind::Host => {
                let host = ascii_host(matcher, first)?.to_ascii_lowercase();
                // Request hosts are compared without brackets (see `RequestFacts::host_of`).
                let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                    Some(inner) => inner.to_owned(),
                    None => host,
                };
                Matcher::Host(host.into())
            }
            MatcherKind::HostRegexp => {
                let offset = first.offset;
                let pattern = ascii_host(matcher, first)?;
                Matcher::HostRegexp(regex(matcher, &pattern, offset, true)?)
            }
            MatcherKind::Path | MatcherKind::PathPrefix => {
                if !first.value.starts_with('/') {
                    return Err(RuleError::PathWithoutSlash {
                        matcher,
                        value: first.value,
                        offset: first.offset,
                    });
                }
                let path = super::path::canonical_rule_path(&first.value).into_boxed_str();
                match kind {
                    MatcherKind::Path => Matcher::Path(path),
                    _ => Matcher::PathPrefix(path),
                }
            }
            MatcherKind::PathRegexp => {
                Matcher::PathRegexp(regex(matcher, &first.value, first.offset, false)?)
            }
            MatcherKind::Method => {
                let upper = first.value.to_ascii_uppercase();
                let method =
                    Method::from_bytes(upper.as_bytes()).map_err(|_| RuleError::BadMethod {
                        value: first.value.clone(),
                        offset: first.offset,
                    })?;
                Matcher::Method(method)
            }
            MatcherKind::Header | MatcherKind::HeaderRegexp => {
                let name = HeaderName::from_bytes(first.value.as_bytes()).map_err(|_| {
                    RuleError::BadHeaderName {
                        matcher,
                        value: first.value.clone(),
                        offset: first.offset,
                    }
                })?;
                let second = next()?;
                if kind == MatcherKind::Header {
                    Matcher::Header(name, second.value.into_bytes().into())
                } else {
                    Matcher::HeaderRegexp(name, bytes_regex(matcher, &second)?)
                }
            }
            MatcherKind::Query => {
                let value = next().ok().map(|a| a.value.into_boxed_str());
                Matcher::Query(first.value.into(), value)
            }
            MatcherKind::QueryRegexp => {
                let second = next()?;
                Matcher::QueryRegexp(first.value.into(), bytes_regex(matcher, &second)?)
            }
            MatcherKind::ClientIp => Matcher::ClientIp(client_net(first)?),
            MatcherKind::OriginalDst => Matcher::OriginalDst(original_dst(matcher, first)?),
            MatcherKind::OriginalDstPort => {
                Matcher::OriginalDstPort(original_dst_port(matcher, first)?)
            }
        })
    }
}

/// A `Host`/`HostRegexp` argument must be ASCII, as Traefik demands (IDNs go in punycode).
fn ascii_host(matcher: &'static str, arg: Arg) -> Result<String, RuleError> {
    if arg.value.is_ascii() {
        Ok(arg.value)
    } else {
        Err(RuleError::NonAsciiHost {
            matcher,
            value: arg.value,
            offset: arg.offset,
        })
    }
}

pub(crate) fn regex(
    matcher: &'static str,
    pattern: &str,
    offset: usize,
    ci: bool,
) -> Result<Regex, RuleError> {
    RegexBuilder::new(pattern)
        .case_insensitive(ci)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| bad_regex(matcher, pattern, offset, &e))
}

fn bytes_regex(matcher: &'static str, arg: &Arg) -> Result<regex::bytes::Regex, RuleError> {
    regex::bytes::RegexBuilder::new(&arg.value)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| bad_regex(matcher, &arg.value, arg.offset, &e))
}

/// The regex crate's syntax errors span several lines (pattern, caret, reason); a config error
/// wants one line, so keep the reason.
fn bad_regex(matcher: &'static str, pattern: &str, offset: usize, err: &regex::Error) -> RuleError {
    let text = err.to_string();
    let reason = match text.rsplit_once("error: ") {
        Some((_, reason)) => reason.trim().to_owned(),
        None => text.split_whitespace().collect::<Vec<_>>().join(" "),
    };
    RuleError::BadRegex {
        matcher,
        pattern: pattern.to_owned(),
        reason,
        offset,
    }
}

/// Parses an `OriginalDst` argument (HTTP and TCP rules): `ip:port`, IPv6 in brackets.
pub(crate) fn original_dst(matcher: &'static str, arg: Arg) -> Result<SocketAddr, RuleError> {
    arg.value.parse().map_err(|_| RuleError::BadArgument {
        matcher,
        value: arg.value,
        reason: "not an ip:port address (IPv6 in brackets)",
        offset: arg.offset,
    })
}

/// Parses an `OriginalDstPort` argument (HTTP and TCP rules): a port number.
pub(crate) fn original_dst_port(matcher: &'static str, arg: Arg) -> Result<u16, RuleError> {
    arg.value.parse().map_err(|_| RuleError::BadArgument {
        matcher,
        value: arg.value,
        reason: "not a port number",
        offset: arg.offset,
    })
}

/// Parses a `ClientIP` argument: an address or a CIDR range (host bits allowed, as in Go).
pub(crate) fn client_net(arg: Arg) -> Result<IpNet, RuleError> {
    let parsed = arg
        .value
        .parse::<IpNet>()
        .ok()
        .or_else(|| arg.value.parse::<IpAddr>().ok().map(IpNet::from));
    let Some(net) = parsed else {
        return Err(RuleError::BadClientIp {
            value: arg.value,
            offset: arg.offset,
        });
    };
    // Go compares IPv4-mapped IPv6 networks as IPv4; so do we, for requests and rules alike.
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
        && let Ok(v4net) = ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return Ok(IpNet::V4(v4net));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_in_traefik_spellings() {
        for name in ["PathPrefix", "pathprefix", "PATHPREFIX", "Pathprefix"] {
            assert_eq!(
                MatcherKind::lookup(name),
                Some(MatcherKind::PathPrefix),
                "{name}"
            );
        }
        for name in ["ClientIP", "clientip", "CLIENTIP", "Clientip"] {
            assert_eq!(
                MatcherKind::lookup(name),
                Some(MatcherKind::ClientIp),
                "{name}"
            );
        }
        for name in ["pathPrefix", "PaThPrefix", "Hots", "", "Host_"] {
            assert_eq!(MatcherKind::lookup(name), None, "{name}");
        }
    }

    #[test]
    fn client_networks_fold_ipv4_mapped_ipv6() {
        let arg = |v: &str| Arg {
            value: v.to_owned(),
            offset: 0,
        };
        assert_eq!(
            client_net(arg("::ffff:10.0.0.0/104")).unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            client_net(arg("::ffff:1.2.3.4")).unwrap().to_string(),
            "1.2.3.4/32"
        );
        assert_eq!(
            client_net(arg("2001:db8::/32")).unwrap().to_string(),
            "2001:db8::/32"
        );
        assert!(client_net(arg("10.0.0.0/33")).is_err());
        assert!(client_net(arg("fe80::1%eth0")).is_err());
    }

    #[test]
    fn regex_errors_fit_on_one_line() {
        let err = regex("PathRegexp", "(abc", 7, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid regular expression "(abc" for PathRegexp at offset 7: unclosed group"#
        );
        let too_big = regex("PathRegexp", r"\w{1000}{1000}", 0, false).unwrap_err();
        assert!(!too_big.to_string().contains('\n'), "{too_big}");
    }
}
