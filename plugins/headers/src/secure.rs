//! Traefik's security options (the `unrolled/secure` part of its `headers` middleware).
//!
//! Semantics follow Traefik v3 with `unrolled/secure`:
//! - `allowedHosts` (unless `isDevelopment`): the request's host — the first non-empty header
//!   named in `hostsProxyHeaders`, else the `Host` (with its port, if any) — must equal one entry,
//!   case-insensitively; otherwise the plugin answers `500 Bad Host`;
//! - the request counts as HTTPS when the client used TLS or a header of `sslProxyHeaders` has
//!   exactly its configured value (an absent header reads as empty);
//! - `Strict-Transport-Security: max-age=<stsSeconds>[; includeSubDomains][; preload]` when
//!   `stsSeconds` is not 0, the request is HTTPS or `forceSTSHeader` is set, and not
//!   `isDevelopment`; `Public-Key-Pins: <publicKey>` on HTTPS requests unless `isDevelopment`;
//! - `X-Frame-Options` (`customFrameOptionsValue`, else `DENY` with `frameDeny`),
//!   `X-Content-Type-Options: nosniff`, `X-XSS-Protection` (`customBrowserXSSValue`, else
//!   `1; mode=block` with `browserXssFilter`), `Content-Security-Policy`,
//!   `Content-Security-Policy-Report-Only` (`$NONCE` becomes `'nonce-<random>'`, new per
//!   response), `Referrer-Policy` and `Permissions-Policy`, each replacing what the upstream sent;
//! - the options v3 keeps as deprecated: `featurePolicy` (`Feature-Policy`) and the HTTPS
//!   redirect ones ([`crate::ssl_redirect`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use plugin_sdk::{Reply, Request};
use serde_json::Value;

use crate::json::{boolean, header_map, header_names, header_value, integer, string_list};
use crate::sink::HeaderSink;
use crate::ssl_redirect::SslRedirect;

/// The security options. All default to off / empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secure {
    /// `allowedHosts`.
    pub allowed_hosts: Vec<String>,
    /// `hostsProxyHeaders`, lower-case.
    pub hosts_proxy_headers: Vec<String>,
    /// `sslProxyHeaders`: (lower-case name, value).
    pub ssl_proxy_headers: Vec<(String, String)>,
    /// `stsSeconds`; 0 means no `Strict-Transport-Security`.
    pub sts_seconds: i64,
    /// `stsIncludeSubdomains`.
    pub sts_include_subdomains: bool,
    /// `stsPreload`.
    pub sts_preload: bool,
    /// `forceSTSHeader`: send STS on plain HTTP too.
    pub force_sts_header: bool,
    /// `frameDeny`.
    pub frame_deny: bool,
    /// `customFrameOptionsValue` (wins over `frameDeny`).
    pub custom_frame_options_value: String,
    /// `contentTypeNosniff`.
    pub content_type_nosniff: bool,
    /// `browserXssFilter`.
    pub browser_xss_filter: bool,
    /// `customBrowserXSSValue` (wins over `browserXssFilter`).
    pub custom_browser_xss_value: String,
    /// `contentSecurityPolicy`.
    pub content_security_policy: String,
    /// `contentSecurityPolicyReportOnly`.
    pub content_security_policy_report_only: String,
    /// `publicKey` (HPKP).
    pub public_key: String,
    /// `referrerPolicy`.
    pub referrer_policy: String,
    /// `permissionsPolicy`.
    pub permissions_policy: String,
    /// `isDevelopment`: no host check, no STS, no HPKP, no HTTPS redirect.
    pub is_development: bool,
    /// `featurePolicy` (deprecated in Traefik v3 for `permissionsPolicy`): `Feature-Policy`.
    pub feature_policy: String,
    /// `sslRedirect`, `sslTemporaryRedirect`, `sslHost`, `sslForceHost` (deprecated in v3).
    pub ssl_redirect: SslRedirect,
    /// The `Strict-Transport-Security` value, made by [`Secure::finish`] from the `sts*` options
    /// (empty while `stsSeconds` is 0), so responses do not format it.
    pub sts_header: String,
}

/// What the request phase decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go on to the upstream.
    Pass,
    /// The host is not in `allowedHosts`.
    BadHost,
    /// Not HTTPS (or not `sslHost`): the redirect to send (deprecated `sslRedirect` options).
    Redirect(Reply),
}

impl Secure {
    /// The option names this module reads.
    pub const OPTIONS: &'static [&'static str] = &[
        "allowedHosts",
        "hostsProxyHeaders",
        "sslProxyHeaders",
        "stsSeconds",
        "stsIncludeSubdomains",
        "stsPreload",
        "forceSTSHeader",
        "frameDeny",
        "customFrameOptionsValue",
        "contentTypeNosniff",
        "browserXssFilter",
        "customBrowserXSSValue",
        "contentSecurityPolicy",
        "contentSecurityPolicyReportOnly",
        "publicKey",
        "referrerPolicy",
        "permissionsPolicy",
        "isDevelopment",
        "featurePolicy",
        "sslRedirect",
        "sslTemporaryRedirect",
        "sslHost",
        "sslForceHost",
    ];

    /// Reads one option (a name from [`Secure::OPTIONS`]).
    pub fn set(&mut self, option: &str, value: Value) -> Result<(), String> {
        match option {
            "allowedHosts" => self.allowed_hosts = string_list(option, value)?,
            "hostsProxyHeaders" => self.hosts_proxy_headers = header_names(option, value)?,
            "sslProxyHeaders" => {
                self.ssl_proxy_headers = header_map(option, value)?
                    .into_iter()
                    .map(|(name, value)| (name.to_ascii_lowercase(), value))
                    .collect();
            }
            "stsSeconds" => self.sts_seconds = integer(option, value)?,
            "stsIncludeSubdomains" => self.sts_include_subdomains = boolean(option, value)?,
            "stsPreload" => self.sts_preload = boolean(option, value)?,
            "forceSTSHeader" => self.force_sts_header = boolean(option, value)?,
            "frameDeny" => self.frame_deny = boolean(option, value)?,
            "customFrameOptionsValue" => {
                self.custom_frame_options_value = header_value(option, value)?;
            }
            "contentTypeNosniff" => self.content_type_nosniff = boolean(option, value)?,
            "browserXssFilter" => self.browser_xss_filter = boolean(option, value)?,
            "customBrowserXSSValue" => {
                self.custom_browser_xss_value = header_value(option, value)?;
            }
            "contentSecurityPolicy" => self.content_security_policy = header_value(option, value)?,
            "contentSecurityPolicyReportOnly" => {
                self.content_security_policy_report_only = header_value(option, value)?;
            }
            "publicKey" => self.public_key = header_value(option, value)?,
            "referrerPolicy" => self.referrer_policy = header_value(option, value)?,
            "permissionsPolicy" => self.permissions_policy = header_value(option, value)?,
            "isDevelopment" => self.is_development = boolean(option, value)?,
            "featurePolicy" => self.feature_policy = header_value(option, value)?,
            name if SslRedirect::OPTIONS.contains(&name) => self.ssl_redirect.set(name, value)?,
            _ => return Err(format!("unknown option {option:?}")),
        }
        Ok(())
    }

    /// Called once every option is read: prepares the `Strict-Transport-Security` value.
    pub fn finish(&mut self) {
        self.sts_header.clear();
        if self.sts_seconds != 0 {
            self.sts_header = format!("max-age={}", self.sts_seconds);
            if self.sts_include_subdomains {
                self.sts_header.push_str("; includeSubDomains");
            }
            if self.sts_preload {
                self.sts_header.push_str("; preload");
            }
        }
    }

    /// Whether any option is set (Traefik's `HasSecureHeadersDefined`); otherwise this part of
    /// the plugin does nothing and costs nothing. (`sts_header` is only set with `stsSeconds`.)
    pub fn defined(&self) -> bool {
        *self != Secure::default()
    }

    /// Whether a response header depends on the request being HTTPS.
    fn needs_ssl(&self) -> bool {
        !self.is_development
            && ((self.sts_seconds != 0 && !self.force_sts_header) || !self.public_key.is_empty())
    }

    /// The request phase: the host check, and the HTTPS decision kept for the response phase
    /// (in the request's state, only when `sslProxyHeaders` could make it differ from TLS).
    pub fn on_request(&self, req: &mut Request<'_>) -> Verdict {
        let host = || {
            let proxied = self
                .hosts_proxy_headers
                .iter()
                .find_map(|name| req.header_str(name).filter(|h| !h.is_empty()));
            proxied.or_else(|| req.authority()).unwrap_or_default()
        };
        if !self.allowed_hosts.is_empty() && !self.is_development {
            let host = host();
            if !self
                .allowed_hosts
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(&host))
            {
                return Verdict::BadHost;
            }
        }
        if self.ssl_redirect.active() && !self.is_development {
            let ssl = req.is_tls()
                || self
                    .ssl_proxy_headers
                    .iter()
                    .any(|(name, value)| req.header(name).unwrap_or_default() == value.as_bytes());
            if let Some(reply) = self.ssl_redirect.reply(req, &host(), ssl) {
                return Verdict::Redirect(reply);
            }
        }
        if self.needs_ssl() && !self.ssl_proxy_headers.is_empty() {
            let ssl = req.is_tls()
                || self
                    .ssl_proxy_headers
                    .iter()
                    .any(|(name, value)| req.header(name).unwrap_or_default() == value.as_bytes());
            if let Err(e) = req.set_state([u8::from(ssl)]) {
                plugin_sdk::warn!("headers: cannot keep the HTTPS decision: {e}");
            }
        }
        Verdict::Pass
    }

    /// The reply for a host outside `allowedHosts`: Go's `http.Error(w, "Bad Host", 500)`.
    pub fn bad_host_reply() -> Reply {
        Reply::new(500)
            .header("content-type", "text/plain; charset=utf-8")
            .header("x-content-type-options", "nosniff")
            .body("Bad Host\n")
    }

    /// Whether both phases do the same on every request, whatever the request: no host check,
    /// no HTTPS redirect, no header that depends on HTTPS (`stsSeconds` without
    /// `forceSTSHeader`, `publicKey`; both off in development) and no CSP nonce. The request
    /// phase then always passes and the response phase is [`Secure::apply_with`]`(false, ..)`.
    pub fn is_fixed(&self) -> bool {
        let host_check = !self.allowed_hosts.is_empty() && !self.is_development;
        let redirect = self.ssl_redirect.active() && !self.is_development;
        let nonce = self.content_security_policy.contains("$NONCE")
            || self.content_security_policy_report_only.contains("$NONCE");
        !host_check && !redirect && !self.needs_ssl() && !nonce
    }

    /// The response phase: sets every configured security header, replacing the upstream's.
    pub fn apply(&self, req: &Request<'_>, head: &mut impl HeaderSink) {
        let ssl = self.needs_ssl()
            && if self.ssl_proxy_headers.is_empty() {
                req.is_tls()
            } else {
                req.state().is_some_and(|s| s == [1])
            };
        self.apply_with(ssl, head);
    }

    /// [`Secure::apply`] with the HTTPS decision made (`ssl`).
    pub fn apply_with(&self, ssl: bool, head: &mut impl HeaderSink) {
        if self.sts_seconds != 0 && (ssl || self.force_sts_header) && !self.is_development {
            head.set("strict-transport-security", self.sts_header.as_bytes());
        }
        if !self.custom_frame_options_value.is_empty() {
            head.set(
                "x-frame-options",
                self.custom_frame_options_value.as_bytes(),
            );
        } else if self.frame_deny {
            head.set("x-frame-options", b"DENY");
        }
        if self.content_type_nosniff {
            head.set("x-content-type-options", b"nosniff");
        }
        if !self.custom_browser_xss_value.is_empty() {
            head.set("x-xss-protection", self.custom_browser_xss_value.as_bytes());
        } else if self.browser_xss_filter {
            head.set("x-xss-protection", b"1; mode=block");
        }
        if !self.public_key.is_empty() && ssl {
            head.set("public-key-pins", self.public_key.as_bytes());
        }
        let mut nonce = None;
        for (name, policy) in [
            ("content-security-policy", &self.content_security_policy),
            (
                "content-security-policy-report-only",
                &self.content_security_policy_report_only,
            ),
        ] {
            if policy.is_empty() {
                continue;
            }
            if !policy.contains("$NONCE") {
                head.set(name, policy.as_bytes());
                continue;
            }
            if nonce.is_none() {
                nonce = csp_nonce();
            }
            match &nonce {
                Some(n) => head.set(name, policy.replace("$NONCE", n).as_bytes()),
                None => {
                    plugin_sdk::error!("headers: no random bytes for the CSP nonce; {name} not set")
                }
            }
        }
        if !self.referrer_policy.is_empty() {
            head.set("referrer-policy", self.referrer_policy.as_bytes());
        }
        if !self.permissions_policy.is_empty() {
            head.set("permissions-policy", self.permissions_policy.as_bytes());
        }
        if !self.feature_policy.is_empty() {
            head.set("feature-policy", self.feature_policy.as_bytes());
        }
    }
}

/// `'nonce-<16 random bytes, unpadded base64>'`, as `unrolled/secure` makes it.
fn csp_nonce() -> Option<String> {
    let mut bytes = [0u8; 16];
    plugin_sdk::random::fill(&mut bytes).ok()?;
    Some(format!("'nonce-{}'", STANDARD_NO_PAD.encode(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defined_follows_any_option_being_set() {
        assert!(!Secure::default().defined());
        let mut s = Secure::default();
        s.set("isDevelopment", Value::Bool(true)).unwrap();
        assert!(s.defined());
    }

    #[test]
    fn a_csp_nonce_is_fresh_quoted_and_unpadded() {
        let a = csp_nonce().unwrap();
        let b = csp_nonce().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("'nonce-") && a.ends_with('\''), "{a}");
        assert_eq!(a.len(), "'nonce-".len() + 22 + 1);
    }
}
