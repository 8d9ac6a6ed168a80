//! The `headers` options Traefik v3 keeps as deprecated (its dynamic config still declares them,
//! the gateway warns at load and names the replacement): `sslRedirect`, `sslTemporaryRedirect`,
//! `sslHost` and `sslForceHost`, with `unrolled/secure`'s behaviour, which Traefik hands them to:
//!
//! - `sslRedirect` (unless `isDevelopment`): a request that is not HTTPS (no TLS, and no
//!   `sslProxyHeaders` match) is redirected to `https://<host><path>[?query]`, the host being
//!   `sslHost` when set, else the request's host (the `hostsProxyHeaders` / `Host` one the host
//!   check reads); 301, or 307 with `sslTemporaryRedirect`;
//! - `sslForceHost` with `sslHost`: an HTTPS request for another host is redirected the same
//!   way to `sslHost`.
//!
//! Runs in the request hook when one of them is set: a few string compares, and one reply built
//! per redirected request.

use plugin_sdk::{Reply, Request};
use serde_json::Value;

use crate::json::{boolean, header_value};

/// The redirect options. All default to off / empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslRedirect {
    /// `sslRedirect`.
    pub redirect: bool,
    /// `sslTemporaryRedirect`: 307 instead of 301.
    pub temporary: bool,
    /// `sslHost`: the host to redirect to.
    pub host: String,
    /// `sslForceHost`: redirect HTTPS requests for another host than `sslHost` too.
    pub force_host: bool,
}

impl SslRedirect {
    /// The option names this module reads.
    pub const OPTIONS: &'static [&'static str] = &[
        "sslRedirect",
        "sslTemporaryRedirect",
        "sslHost",
        "sslForceHost",
    ];

    /// Reads one option (a name from [`SslRedirect::OPTIONS`]).
    pub fn set(&mut self, option: &str, value: Value) -> Result<(), String> {
        match option {
            "sslRedirect" => self.redirect = boolean(option, value)?,
            "sslTemporaryRedirect" => self.temporary = boolean(option, value)?,
            "sslHost" => self.host = header_value(option, value)?,
            "sslForceHost" => self.force_host = boolean(option, value)?,
            _ => return Err(format!("unknown option {option:?}")),
        }
        Ok(())
    }

    /// Whether a request may be redirected at all.
    pub fn active(&self) -> bool {
        self.redirect || (self.force_host && !self.host.is_empty())
    }

    /// The redirect for `req`, whose host is `host` and which is (`ssl`) or is not HTTPS;
    /// `None` to go on.
    pub fn reply(&self, req: &Request<'_>, host: &str, ssl: bool) -> Option<Reply> {
        let target = if self.host.is_empty() {
            host
        } else {
            &self.host
        };
        let redirect = if ssl {
            self.force_host && !self.host.is_empty() && host != self.host
        } else {
            self.redirect
        };
        if !redirect {
            return None;
        }
        let mut location = format!("https://{target}{}", req.raw_path());
        if let Some(query) = req.query() {
            location.push('?');
            location.push_str(&query);
        }
        Some(redirect_reply(&req.method(), self.temporary, &location))
    }
}

/// Go's `http.Redirect`: `Location`, and for `GET`/`HEAD` a small HTML body naming the target.
fn redirect_reply(method: &str, temporary: bool, location: &str) -> Reply {
    let (status, text) = if temporary {
        (307, "Temporary Redirect")
    } else {
        (301, "Moved Permanently")
    };
    let reply = Reply::new(status).header("location", location);
    if method != "GET" && method != "HEAD" {
        return reply;
    }
    let escaped = location
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;");
    reply
        .header("content-type", "text/html; charset=utf-8")
        .body(format!("<a href=\"{escaped}\">{text}</a>.\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_needs_redirect_or_a_forced_host() {
        assert!(!SslRedirect::default().active());
        let forced = SslRedirect {
            force_host: true,
            ..SslRedirect::default()
        };
        assert!(
            !forced.active(),
            "sslForceHost without sslHost does nothing"
        );
    }

    #[test]
    fn the_reply_is_gos_redirect() {
        let r = redirect_reply("GET", false, "https://a.test/x?y=1&z");
        assert_eq!(r.status, 301);
        assert_eq!(
            r.get_header("location"),
            Some(&b"https://a.test/x?y=1&z"[..])
        );
        assert_eq!(
            r.body,
            b"<a href=\"https://a.test/x?y=1&amp;z\">Moved Permanently</a>.\n\n"
        );
        let r = redirect_reply("POST", true, "https://a.test/");
        assert_eq!(r.status, 307);
        assert!(r.body.is_empty());
    }
}
