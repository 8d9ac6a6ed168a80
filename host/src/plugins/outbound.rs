//! The `outbound-http` grant of a middleware and the checks a recorded subrequest passes.
//!
//! Built at config time (`app::build`) from the middleware's `outboundHttp` allow-list (or, for
//! Traefik's `forwardAuth`, from its `address`): the allowed origins, the allowed services
//! (resolved to the snapshot's `lb::Service`s), one upstream transport for URL destinations,
//! the longest wait and the largest response body. At request time `outbound-http.send`
//! (`outbound_import`) checks the plugin's subrequest here and records it on the request head;
//! the proxy sends it after the hook (`outbound_send`). Cost of a check: one URL parse and a
//! scan of the (short) allow-list, the headers copied once into a `HeaderMap`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Method, Uri};

use crate::lb::service::Service;
use crate::upstream::UpstreamTransport;
use plugin_contract::{MAX_HEADER_VALUE_BYTES, MAX_SUBREQUEST_BODY, MAX_SUBRESPONSE_BODY};

/// The default and largest wait for a subrequest's whole response (Traefik's forwardAuth
/// client timeout).
pub const DEFAULT_OUTBOUND_TIMEOUT: Duration = Duration::from_secs(30);

/// One allowed origin: scheme, lower-case host, port (the scheme's default when not written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: Scheme,
    host: String,
    port: u16,
}

impl Origin {
    /// Reads the origin of an absolute `http://` or `https://` URL (its path is ignored).
    pub fn parse(url: &str) -> Result<Origin, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        Origin::of(&uri)
            .ok_or_else(|| format!("{url:?} is not an absolute http:// or https:// URL"))
    }

    fn of(uri: &Uri) -> Option<Origin> {
        let scheme = uri.scheme()?.clone();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = uri.authority()?;
        if authority.as_str().contains('@') {
            return None;
        }
        Some(Origin {
            scheme,
            host: authority.host().to_ascii_lowercase(),
            port: authority.port_u16().unwrap_or(default_port),
        })
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// What a middleware may reach with `outbound-http`, and how.
pub struct OutboundGrant {
    pub(crate) origins: Vec<Origin>,
    pub(crate) services: HashMap<String, Arc<Service>>,
    /// The transport of URL destinations (its own pools; TLS as configured for the grant).
    pub(crate) transport: UpstreamTransport,
    /// The longest wait for a whole response.
    pub(crate) timeout: Duration,
    /// The largest response body read (at most `MAX_SUBRESPONSE_BODY`).
    pub(crate) max_response_body: usize,
}

impl std::fmt::Debug for OutboundGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundGrant")
            .field("origins", &self.origins)
            .field("services", &self.services.keys().collect::<Vec<_>>())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Two grants are equal when they are the same grant (budgets compare by identity).
impl PartialEq for OutboundGrant {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl OutboundGrant {
    /// A grant for `origins` and `services`; `max_response_body` is capped at the contract's
    /// 1 MiB and `timeout` at [`DEFAULT_OUTBOUND_TIMEOUT`] when zero.
    pub fn new(
        origins: Vec<Origin>,
        services: HashMap<String, Arc<Service>>,
        transport: UpstreamTransport,
        timeout: Duration,
        max_response_body: Option<usize>,
    ) -> Self {
        OutboundGrant {
            origins,
            services,
            transport,
            timeout: if timeout.is_zero() {
                DEFAULT_OUTBOUND_TIMEOUT
            } else {
                timeout
            },
            max_response_body: max_response_body
                .unwrap_or(MAX_SUBRESPONSE_BODY)
                .min(MAX_SUBRESPONSE_BODY),
        }
    }
}

/// Where a checked subrequest goes.
pub enum Target {
    /// An allowed origin; the URI is absolute.
    Url(Uri),
    /// An allowed service, asked for this path and query.
    Service(Arc<Service>, PathAndQuery),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Url(uri) => write!(f, "{uri}"),
            Target::Service(service, pq) => write!(f, "service {}{pq}", service.name),
        }
    }
}

/// A subrequest that passed the grant's checks, recorded on the request head until the hook
/// returns.
#[derive(Debug)]
pub struct Subrequest {
    pub method: Method,
    pub target: Target,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The plugin's timeout, within the grant's.
    pub timeout: Duration,
    /// The plugin's body cap, within the grant's.
    pub max_body: usize,
    pub grant: Arc<OutboundGrant>,
    /// Where its span goes (tracing on and the router traced): the span of the middleware
    /// that recorded it. Set by the pipeline before sending.
    pub trace: Option<crate::admin::trace::TraceParent>,
}

/// Why `send` refused (mapped onto the WIT's `send-error` by `outbound_import`).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    NotAllowed(String),
    Invalid(String),
}

/// The parts of a plugin's subrequest, as the import received them.
pub struct Asked<'a> {
    pub method: &'a str,
    pub url: Option<&'a str>,
    pub service: Option<(&'a str, &'a str)>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub timeout_ms: u32,
    pub max_response_body: u32,
}

/// Headers never sent on a subrequest (hop-by-hop, RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// Checks a plugin's subrequest against `grant`.
pub fn check(grant: &Arc<OutboundGrant>, asked: Asked<'_>) -> Result<Subrequest, Refusal> {
    let method = Method::from_bytes(asked.method.as_bytes())
        .map_err(|_| Refusal::Invalid(format!("method {:?} is not valid", asked.method)))?;
    let target = match (asked.url, asked.service) {
        (Some(url), _) => {
            let uri: Uri = url
                .parse()
                .map_err(|e| Refusal::Invalid(format!("{url:?} is not a URL: {e}")))?;
            let origin = Origin::of(&uri).ok_or_else(|| {
                Refusal::Invalid(format!(
                    "{url:?} is not an absolute http:// or https:// URL"
                ))
            })?;
            if !grant.origins.contains(&origin) {
                return Err(Refusal::NotAllowed(format!(
                    "{origin} is not on the middleware's outboundHttp.allow list"
                )));
            }
            Target::Url(uri)
        }
        (None, Some((name, pq))) => {
            let service = grant.services.get(name).ok_or_else(|| {
                Refusal::NotAllowed(format!(
                    "service {name:?} is not on the middleware's outboundHttp.services list"
                ))
            })?;
            if !pq.starts_with('/') {
                return Err(Refusal::Invalid(format!("path {pq:?} must start with '/'")));
            }
            let pq = PathAndQuery::try_from(pq)
                .map_err(|e| Refusal::Invalid(format!("path {pq:?} is not valid: {e}")))?;
            Target::Service(service.clone(), pq)
        }
        (None, None) => return Err(Refusal::Invalid("no destination".into())),
    };
    if asked.body.len() > MAX_SUBREQUEST_BODY {
        return Err(Refusal::Invalid(format!(
            "body of {} bytes is over the {MAX_SUBREQUEST_BODY}-byte limit",
            asked.body.len()
        )));
    }
    let mut headers = HeaderMap::with_capacity(asked.headers.len());
    for (name, value) in asked.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Refusal::Invalid(format!("header name {name:?} is not valid")))?;
        if value.len() > MAX_HEADER_VALUE_BYTES {
            return Err(Refusal::Invalid(format!("header {name} is too long")));
        }
        let value = HeaderValue::from_bytes(&value)
            .map_err(|_| Refusal::Invalid(format!("header {name} has an invalid value")))?;
        if !HOP_BY_HOP.contains(&name.as_str()) {
            headers.append(name, value);
        }
    }
    let timeout = match asked.timeout_ms {
        0 => grant.timeout,
        ms => Duration::from_millis(u64::from(ms)).min(grant.timeout),
    };
    let max_body = usize::try_from(asked.max_response_body)
        .unwrap_or(usize::MAX)
        .min(grant.max_response_body);
    Ok(Subrequest {
        method,
        target,
        headers,
        body: Bytes::from(asked.body),
        timeout,
        max_body,
        grant: grant.clone(),
        trace: None,
    })
}

/// The scheme and authority a URL destination is sent to.
pub(crate) fn scheme_and_authority(uri: &Uri) -> Option<(Scheme, Authority)> {
    Some((uri.scheme()?.clone(), uri.authority()?.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port_with_default_ports() {
        let a = Origin::parse("http://Auth.Example:80/verify").unwrap();
        let b = Origin::parse("http://auth.example").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, Origin::parse("https://auth.example").unwrap());
        assert_ne!(a, Origin::parse("http://auth.example:8080").unwrap());
        assert!(Origin::parse("ftp://auth.example").is_err());
        assert!(Origin::parse("/relative").is_err());
        assert!(Origin::parse("http://user@auth.example").is_err());
    }
}
