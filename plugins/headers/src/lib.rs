//! Bundled plugin `headers`: Traefik's `headers` middleware (custom headers, CORS, security).
//!
//! Options, with Traefik v3's names and semantics (all optional):
//! - `customRequestHeaders` / `customResponseHeaders`: maps of header name to value, set on the
//!   request before it goes upstream / on the response before it goes to the client; an empty
//!   value removes the header;
//! - CORS: `accessControlAllowCredentials`, `accessControlAllowHeaders`,
//!   `accessControlAllowMethods`, `accessControlAllowOriginList`,
//!   `accessControlAllowOriginListRegex`, `accessControlExposeHeaders`, `accessControlMaxAge`,
//!   `addVaryHeader` — preflights are answered by the plugin with 200 (see [`cors`]);
//! - security: `allowedHosts`, `hostsProxyHeaders`, `sslProxyHeaders`, `stsSeconds`,
//!   `stsIncludeSubdomains`, `stsPreload`, `forceSTSHeader`, `frameDeny`,
//!   `customFrameOptionsValue`, `contentTypeNosniff`, `browserXssFilter`,
//!   `customBrowserXSSValue`, `contentSecurityPolicy`, `contentSecurityPolicyReportOnly`,
//!   `publicKey`, `referrerPolicy`, `permissionsPolicy`, `isDevelopment` (see [`secure`]);
//! - deprecated in Traefik v3 (the gateway warns at load): `featurePolicy`, and `sslRedirect`,
//!   `sslTemporaryRedirect`, `sslHost`, `sslForceHost` (see [`ssl_redirect`]).
//!
//! Any other option is refused at config load with `unknown option "NAME"`
//! (`accessControlAllowOrigin`, which v3 removed, says what replaced it).
//!
//! Order, as in Traefik: a preflight is answered first; then custom request headers; then the host
//! check, then the HTTPS redirect. On the way back the security headers are set first, then the
//! custom response headers, then the CORS headers, so a custom header can override a security
//! header.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     secured:
//!       headers:
//!         customRequestHeaders: { X-Script-Name: "test", X-Forwarded-Server: "" }
//!         accessControlAllowMethods: [GET, OPTIONS, PUT]
//!         accessControlAllowOriginList: ["https://app.example.com"]
//!         accessControlMaxAge: 100
//!         addVaryHeader: true
//!         stsSeconds: 31536000
//!         frameDeny: true
//! ```
//!
//! Cost per request, when neither CORS nor a request-dependent security option (`allowedHosts`,
//! the HTTPS redirect, `stsSeconds` without `forceSTSHeader`, `publicKey`, a CSP `$NONCE`) is
//! configured: the hooks always make the same edits, declared as fixed edits
//! (`Middleware::fixed_edits`), which the gateway applies itself without calling the plugin
//! (one header-map edit each). Otherwise: one host call per configured custom header in each hook (a hook with
//! nothing to do for the config is not called: `wants_request_hook`, `wants_response_hook`;
//! and without CORS origins the gateway keeps no copy of the request's headers); CORS reads
//! `Origin` once per response (only with an origin list) and three headers per `OPTIONS`
//! request; security headers cost one host call each, the host check one or two reads. Each
//! host call is ~0.15 µs: in `pooled` mode the bench's custom-headers config (3 edits) costs
//! ~1.3 µs per request and a CORS + security config (11 host calls) ~3.0 µs, nearly all of it
//! host-side: the two hook calls and the host calls (`plugin_call` bench, quiet 2-core VM).

mod config;
pub mod cors;
mod json;
pub mod secure;
mod sink;
pub mod ssl_redirect;

use plugin_sdk::fixed_edits::FixedEdits;
use plugin_sdk::{Action, Middleware, Request, Response};

pub use config::{HeaderEdit, HeadersConfig};
use secure::{Secure, Verdict};
use sink::HeaderSink;

/// The `headers` middleware: the parsed config, shared by every hook call on the instance.
pub struct Headers {
    config: HeadersConfig,
    /// Whether any security option is set (else that phase is skipped).
    secure: bool,
}

impl Middleware for Headers {
    fn from_config(config: &str) -> Result<Self, String> {
        let config = HeadersConfig::parse(config)?;
        let secure = config.secure.defined();
        Ok(Headers { config, secure })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        if let Some(reply) = self.config.cors.preflight(req) {
            return Action::Respond(reply);
        }
        for edit in &self.config.request {
            let applied = match edit {
                HeaderEdit::Set(name, value) => req.set_header(name, value),
                HeaderEdit::Remove(name) => {
                    req.remove_header(name);
                    Ok(())
                }
            };
            if let Err(e) = applied {
                plugin_sdk::warn!("headers: request edit {edit:?} refused: {e}");
            }
        }
        if self.secure {
            match self.config.secure.on_request(req) {
                Verdict::Pass => {}
                Verdict::BadHost => {
                    let mut reply = Secure::bad_host_reply();
                    self.custom_and_cors(req, &mut reply);
                    return Action::Respond(reply);
                }
                Verdict::Redirect(reply) => return Action::Respond(reply),
            }
        }
        Action::Continue
    }

    /// Only when the config has request-side work: CORS preflights, custom request headers, the
    /// security checks (host, HTTPS redirect, the HTTPS decision kept for the response);
    /// otherwise the gateway skips the request hook (a `customResponseHeaders`-only config).
    fn wants_request_hook(&self) -> bool {
        self.config.cors.defined || !self.config.request.is_empty() || self.secure
    }

    /// Only CORS reads a request header in the response hook (`Origin`, with an origin list);
    /// security headers read the request's TLS flag and state, which stay readable.
    fn reads_request_headers_in_response(&self) -> bool {
        self.config.cors.checks_origin()
    }

    /// Only when the config has response-side work: security headers, custom response headers
    /// or CORS headers; otherwise the gateway skips the response hook.
    fn wants_response_hook(&self) -> bool {
        self.secure || !self.config.response.is_empty() || self.config.cors.defined
    }

    /// When neither CORS nor a request-dependent security option is configured, both hooks
    /// always do the same edits: the custom request headers; the constant security headers,
    /// then the custom response headers (an empty value removes). The gateway then applies
    /// them itself and never calls the hooks.
    fn fixed_edits(&self) -> Option<FixedEdits> {
        if self.config.cors.defined || (self.secure && !self.config.secure.is_fixed()) {
            return None;
        }
        let mut edits = FixedEdits::new();
        for edit in &self.config.request {
            edits = match edit {
                HeaderEdit::Set(name, value) => edits.set_request(name, value),
                HeaderEdit::Remove(name) => edits.remove_request(name),
            };
        }
        if self.secure {
            self.config.secure.apply_with(false, &mut edits.response);
        }
        for edit in &self.config.response {
            match edit {
                HeaderEdit::Set(name, value) => edits.response.set(name, value),
                HeaderEdit::Remove(name) => HeaderSink::remove(&mut edits.response, name),
            }
        }
        Some(edits)
    }

    fn on_response(&self, req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        if self.secure {
            self.config.secure.apply(req, resp);
        }
        self.custom_and_cors(req, resp);
        Action::Continue
    }
}

impl Headers {
    /// What Traefik's header modifier does to every response but a preflight's: the custom
    /// response headers, then the CORS headers.
    fn custom_and_cors(&self, req: &Request<'_>, head: &mut impl HeaderSink) {
        for edit in &self.config.response {
            match edit {
                HeaderEdit::Set(name, value) => head.set(name, value),
                HeaderEdit::Remove(name) => head.remove(name),
            }
        }
        let cors = &self.config.cors;
        let origin = if cors.checks_origin() {
            req.header_str("origin")
        } else {
            None
        };
        cors.apply(origin.as_deref(), head);
    }
}

plugin_sdk::export_middleware!(Headers);

#[cfg(test)]
mod tests;
