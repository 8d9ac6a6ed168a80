//! Bundled plugin `redirect-scheme`: Traefik's `redirectScheme` middleware.
//!
//! Options:
//! - `scheme` (text, required): the scheme of the URL to redirect to (`https`);
//! - `port` (text or number): its port; left out when it is the scheme's default (80 for
//!   `http`, 443 for `https`) or not set;
//! - `permanent` (boolean, default `false`): 301 instead of 302 for `GET`, 308 instead of 307
//!   for every other method.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     to-https:
//!       redirectScheme:
//!         scheme: https
//!         permanent: true
//! ```
//!
//! As in Traefik, the request's URL is `scheme://host[:port]/path?query`, its scheme taken from
//! `X-Forwarded-Proto` when that says `http`/`https` (or `ws`/`wss`) and from the connection
//! otherwise, its port from the `Host` header (dropped when it is the scheme's default). The
//! target is the same URL with the configured scheme and port. When the two are the same (the
//! request already uses that scheme and port) the request goes on; otherwise the client is
//! redirected to the target. So with no `port`, a request to a non-default port is redirected
//! to the default one even when the scheme already matches (`https://h:8443/` to `https://h/`),
//! as in Traefik.
//!
//! A `scheme` that is not a URI scheme or a `port` that is not a port number is a config error
//! (Traefik would send a broken `Location`).
//!
//! Cost per request: four host calls (scheme, `X-Forwarded-Proto`, authority, path and query),
//! two string builds, and the reply when redirecting.

use plugin_sdk::{Action, Middleware, Request};
use serde::Deserialize;
use traefik_options::{options, redirect};

use options::{Flag, Text};

/// Traefik's `redirectScheme` options, as written in the dynamic config.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct Options {
    scheme: Text,
    port: Text,
    permanent: Flag,
}

/// The `redirectScheme` middleware: the target scheme and `:port` suffix, worked out once.
#[derive(Debug)]
pub struct RedirectScheme {
    scheme: String,
    /// `:8443`, or empty for no port / the scheme's default port.
    port: String,
    permanent: bool,
}

/// The parts of a request URL this middleware compares.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientUrl<'a> {
    pub scheme: &'a str,
    pub host: &'a str,
    /// `:port` or empty.
    pub port: &'a str,
    /// Path and query.
    pub uri: &'a str,
}

impl<'a> ClientUrl<'a> {
    /// The URL the client used, as Traefik works it out: `tls` and `forwarded_proto` give the
    /// scheme, `authority` the host and port (a default port dropped), `uri` the rest.
    pub fn new(tls: bool, forwarded_proto: Option<&str>, authority: &'a str, uri: &'a str) -> Self {
        let mut scheme = if tls { "https" } else { "http" };
        match forwarded_proto {
            Some(p) if p.eq_ignore_ascii_case("http") || p.eq_ignore_ascii_case("ws") => {
                scheme = "http"
            }
            Some(p) if p.eq_ignore_ascii_case("https") || p.eq_ignore_ascii_case("wss") => {
                scheme = "https"
            }
            _ => {}
        }
        let (host, port) = split_host_port(authority);
        let port = match (scheme, port) {
            ("http", ":80") | ("https", ":443") => "",
            (_, port) => port,
        };
        ClientUrl {
            scheme,
            host,
            port,
            uri,
        }
    }
}

/// Go's `net.SplitHostPort` as Traefik uses it: `host` and `:port`, or the whole authority and
/// no port when it has none (`[::1]:80` gives `[::1]` and `:80`).
fn split_host_port(authority: &str) -> (&str, &str) {
    let split = match authority.rfind(':') {
        Some(colon) if authority.starts_with('[') => authority
            .get(..colon)
            .filter(|h| h.ends_with(']'))
            .map(|h| (h, &authority[colon..])),
        Some(colon) if authority[..colon].contains(':') => None,
        Some(colon) => Some((&authority[..colon], &authority[colon..])),
        None => None,
    };
    split.unwrap_or((authority, ""))
}

impl RedirectScheme {
    /// Where to redirect a request with this URL, or `None` when it already is the target.
    pub fn target(&self, url: &ClientUrl<'_>) -> Option<String> {
        let unchanged = url.scheme == self.scheme && url.port == self.port;
        (!unchanged).then(|| format!("{}://{}{}{}", self.scheme, url.host, self.port, url.uri))
    }
}

impl Middleware for RedirectScheme {
    /// Request-only: the gateway skips the response hook (one call per request saved).
    fn wants_response_hook(&self) -> bool {
        false
    }

    fn from_config(config: &str) -> Result<Self, String> {
        let options: Options = options::parse(config)?;
        let scheme = options.scheme.0;
        if scheme.is_empty() {
            return Err("scheme: required (the scheme to redirect to, e.g. https)".to_string());
        }
        let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid_scheme {
            return Err(format!("scheme: {scheme:?} is not a URI scheme"));
        }
        let port = options.port.0;
        if !port.is_empty() && !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(format!("port: {port:?} is not a port number (1-65535)"));
        }
        let default_port = matches!(
            (scheme.as_str(), port.as_str()),
            ("http", "80") | ("https", "443")
        );
        let port = if port.is_empty() || default_port {
            String::new()
        } else {
            format!(":{port}")
        };
        Ok(RedirectScheme {
            scheme,
            port,
            permanent: options.permanent.0,
        })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let forwarded_proto = req.header_str("x-forwarded-proto");
        let authority = req.authority().unwrap_or_default();
        let uri = match req.query() {
            Some(query) => format!("{}?{query}", req.path()),
            None => req.path(),
        };
        let url = ClientUrl::new(req.is_tls(), forwarded_proto.as_deref(), &authority, &uri);
        match self.target(&url) {
            Some(location) => {
                Action::Respond(redirect::reply(&req.method(), self.permanent, &location))
            }
            None => Action::Continue,
        }
    }
}

plugin_sdk::export_middleware!(RedirectScheme);

#[cfg(test)]
mod tests;
