//! Traefik's `sourceCriterion` (rateLimit, inFlightReq): which traffic source a request counts
//! for. At most one of `ipStrategy`, `requestHeaderName`, `requestHost` may be set (Traefik
//! refuses two); with none, each middleware has its own default (rateLimit: the client IP,
//! inFlightReq: the request host).

use plugin_sdk::Request;
use serde_json::Value;

use crate::ip_strategy::{self, Strategy};

/// Whose count a request takes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The client IP chosen by an `ipStrategy`.
    Ip(Strategy),
    /// The value of this request header (absent: the empty source, shared by all such).
    Header(String),
    /// The request's host (with its port, if given), as Go's `req.Host`.
    Host,
}

impl Source {
    /// The client's TCP peer address (Traefik's `ipStrategy: {}`).
    pub const PEER: Source = Source::Ip(Strategy::RemoteAddr { ipv6_subnet: None });

    /// Calls `f` with the key of `req`: one or two host calls; the TCP peer's key is written
    /// on the stack (`Strategy::with_client_ip`), nothing allocated.
    pub fn with_key<R>(&self, req: &Request<'_>, f: impl FnOnce(&str) -> R) -> R {
        match self {
            Source::Ip(strategy) => strategy.with_client_ip(req, f),
            _ => f(&self.of(req)),
        }
    }

    /// The same key as the gateway computes it for a declared pre-take
    /// (`plugin_sdk::pre_take`), when it can: the TCP peer (with or without `ipv6Subnet`), a
    /// header, the host. `None` for the `X-Forwarded-For` strategies (`depth`, `excludedIPs`),
    /// which the gateway does not reproduce: the hook then computes the key itself.
    pub fn pre_take_source(&self) -> Option<plugin_sdk::pre_take::KeySource> {
        use plugin_sdk::pre_take::KeySource;
        match self {
            Source::Ip(Strategy::RemoteAddr { ipv6_subnet }) => Some(KeySource::ClientIp {
                ipv6_subnet: *ipv6_subnet,
            }),
            Source::Ip(_) => None,
            Source::Header(name) => Some(KeySource::RequestHeader(name.clone())),
            Source::Host => Some(KeySource::RequestHost),
        }
    }

    /// The key of `req`: one or two host calls.
    pub fn of(&self, req: &Request<'_>) -> String {
        match self {
            Source::Ip(strategy) => strategy.client_ip(req),
            Source::Header(name) => req.header_str(name).unwrap_or_default(),
            Source::Host => req.authority().unwrap_or_default(),
        }
    }
}

/// Parses `sourceCriterion` (`null` or an empty map: `default`). Unknown options and two
/// criteria at once are refused by name.
pub fn parse(value: Value, default: Source) -> Result<Source, String> {
    let options = match value {
        Value::Null => return Ok(default),
        Value::Object(map) => map,
        _ => return Err("sourceCriterion must be a map".to_string()),
    };
    let mut found = Vec::new();
    for (option, value) in options {
        let name = format!("sourceCriterion.{option}");
        match option.as_str() {
            "ipStrategy" if value.is_null() => {}
            "ipStrategy" => found.push(("ipStrategy", Source::Ip(ip_strategy::parse(value)?))),
            "requestHeaderName" => match value {
                Value::Null => {}
                Value::String(header) if header.is_empty() => {}
                Value::String(header) => found.push(("requestHeaderName", Source::Header(header))),
                _ => return Err(format!("{name}: must be a header name")),
            },
            "requestHost" => {
                if flag(&name, &value)? {
                    found.push(("requestHost", Source::Host));
                }
            }
            _ => return Err(format!("sourceCriterion: unknown option {option:?}")),
        }
    }
    match found.len() {
        0 => Ok(default),
        1 => Ok(found.remove(0).1),
        _ => {
            let names: Vec<&str> = found.iter().map(|(n, _)| *n).collect();
            Err(format!(
                "sourceCriterion: {} are mutually exclusive",
                names.join(" and ")
            ))
        }
    }
}

/// Go's `strconv.ParseBool` forms.
fn flag(option: &str, value: &Value) -> Result<bool, String> {
    match value {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::String(text) => match text.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            _ => Err(format!("{option}: must be true or false, got {text:?}")),
        },
        _ => Err(format!("{option}: must be true or false")),
    }
}
