//! Bundled plugin `forward-auth`: Traefik's `forwardAuth` middleware. Every request is first
//! put to an authentication server (`address`) through the host's `outbound-http` capability;
//! a 2xx answer lets the request go on, anything else is returned to the client as the server
//! sent it.
//!
//! Semantics (Traefik v3, `pkg/middlewares/auth/forward.go`):
//! - the auth request is a `GET` (the client's method with `preserveRequestMethod`) to
//!   `address` as written, without a body (with `forwardBody`, the request's), carrying the client's headers (only those named in
//!   `authRequestHeaders` when it is set) and `X-Forwarded-For` (the client's address),
//!   `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri` (the request's); with `trustForwardHeader`
//!   the request's own `X-Forwarded-*` values are sent instead where present (and
//!   `X-Forwarded-For` is the request's chain). Hop-by-hop headers are never sent;
//! - 2xx: each header in `authResponseHeaders` is removed from the request and set from the
//!   answer where it has it; with `authResponseHeadersRegex`, request headers whose (canonical)
//!   name matches are removed and the answer's matching ones copied; `addAuthCookiesToResponse`
//!   names cookies of the answer that replace the upstream response's cookies of those names;
//! - anything else: the answer's status, headers (hop-by-hop removed) and body go to the
//!   client; a relative `Location` is made absolute against `address` unless
//!   `preserveLocationHeader`;
//! - the server unreachable, or no complete answer within the grant's timeout (30 s, as
//!   Traefik's client), gives 500 with an empty body; so does an answer body over
//!   `maxResponseBodySize`.
//!
//! `forwardBody` sends the request body with the auth request (its `content-type` among the
//! copied headers); the upstream still gets it, unchanged. The host holds it (the `body` grant
//! `forwardAuth` gives its plugin, capped at `maxBodySize`); a body over `maxBodySize` gets 401
//! with an empty body, as in Traefik. Traefik's default `maxBodySize` (-1) sends any body; here
//! the cap is then 64 KiB, the contract's largest subrequest body ([`config::FORWARD_BODY_CAP`]),
//! and a `maxBodySize` above it is a config error. Without `forwardBody` the plugin reads no
//! body and the host holds none (its grant names no body).
//!
//! `tls` (`ca`, `cert`, `key`, `insecureSkipVerify`) configures the host's connection to an
//! `https://` address (the system trust store without `ca`).
//!
//! `headerField`: the first value of that header in the auth server's answer, whatever its
//! status, names the authenticated user in the access log (`ClientUsername`), as in Traefik
//! (which does not forward it upstream; list it in `authResponseHeaders` for that).
//!
//! Cost per request: the host calls to read the headers and to record the subrequest, then,
//! after the answer, one more hook call (`on-request-subresponse`) on any pooled instance; no
//! instance and no thread waits for the auth server.

mod config;
mod location;

use config::ForwardAuthConfig;
use plugin_sdk::body::{self, BodyError};
use plugin_sdk::outbound::{self, Answer, Destination, Subrequest, Subresponse};
use plugin_sdk::{Action, Middleware, Reply, Request, Response};

/// The `forwardAuth` middleware.
pub struct ForwardAuth {
    config: ForwardAuthConfig,
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";
const X_FORWARDED_METHOD: &str = "x-forwarded-method";
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";
const X_FORWARDED_PORT: &str = "x-forwarded-port";
const X_FORWARDED_HOST: &str = "x-forwarded-host";
const X_FORWARDED_URI: &str = "x-forwarded-uri";

/// Never sent to, nor copied from, the authentication server (Traefik's list; the gateway has
/// already removed the others).
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    // The gateway frames the reply itself.
    "content-length",
];

impl Middleware for ForwardAuth {
    fn from_config(config: &str) -> Result<Self, String> {
        Ok(ForwardAuth {
            config: ForwardAuthConfig::parse(config)?,
        })
    }

    /// Only `addAuthCookiesToResponse` needs the response.
    fn wants_response_hook(&self) -> bool {
        !self.config.add_auth_cookies_to_response.is_empty()
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let method = if self.config.preserve_request_method {
            req.method()
        } else {
            "GET".to_string()
        };
        let mut ask = Subrequest::new(method, Destination::Url(self.config.address.clone()))
            .max_response_body(self.config.answer_cap());
        if let Some(cap) = self.config.forward_body {
            match self.request_body(req, cap) {
                Ok(body) => ask.body = body,
                Err(reply) => return Action::Respond(reply),
            }
        }
        ask.headers = self.auth_request_headers(req);
        match outbound::send(req, ask) {
            Ok(()) => Action::Continue,
            Err(e) => {
                plugin_sdk::log(
                    plugin_sdk::Level::Error,
                    &format!("forward-auth: cannot ask {}: {e:?}", self.config.address),
                );
                Action::Respond(Reply::new(500))
            }
        }
    }

    fn on_request_subresponse(&self, req: &mut Request<'_>, answer: Answer) -> Action {
        let answer = match answer {
            Ok(a) if !a.body_truncated => a,
            Ok(_) => {
                log_debug(&format!(
                    "forward-auth: the answer of {} is over maxResponseBodySize",
                    self.config.address
                ));
                return Action::Respond(Reply::new(500));
            }
            Err(e) => {
                log_debug(&format!(
                    "forward-auth: error calling {}: {e:?}",
                    self.config.address
                ));
                return Action::Respond(Reply::new(500));
            }
        };
        if let Some(field) = &self.config.header_field
            && let Some(user) = answer.header(field)
        {
            plugin_sdk::identity::set_user(req, &String::from_utf8_lossy(user));
        }
        if !(200..300).contains(&answer.status) {
            return Action::Respond(self.denial(answer));
        }
        self.copy_auth_headers(req, &answer);
        let cookies = self.auth_cookies(&answer);
        if !cookies.is_empty() {
            // Kept for the response hook, which may run on another instance.
            let _ = req.set_state(cookies.join("\n").as_bytes());
        }
        Action::Continue
    }

    fn on_response(&self, req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        let Some(state) = req.state() else {
            return Action::Continue;
        };
        let auth_cookies = String::from_utf8_lossy(&state).into_owned();
        let kept: Vec<Vec<u8>> = resp
            .header_all("set-cookie")
            .into_iter()
            .filter(|c| !self.is_auth_cookie(c))
            .collect();
        resp.remove_header("set-cookie");
        for cookie in kept
            .iter()
            .map(Vec::as_slice)
            .chain(auth_cookies.split('\n').map(str::as_bytes))
        {
            let _ = resp.append_header("set-cookie", cookie);
        }
        Action::Continue
    }
}

impl ForwardAuth {
    /// `forwardBody`: the request body, held by the host (the middleware's `body` grant caps it
    /// at `cap`), copied for the auth request; the upstream still gets the held body. Over
    /// `maxBodySize`: 401 with no body, as Traefik answers.
    fn request_body(&self, req: &mut Request<'_>, cap: usize) -> Result<Vec<u8>, Reply> {
        match body::request_body(req) {
            Ok(bytes) if bytes.len() <= cap => Ok(bytes),
            Ok(_) | Err(BodyError::TooLarge(_)) => {
                log_debug(&format!(
                    "forward-auth: request body is too large, maxBodySize: {cap}"
                ));
                Err(Reply::new(401))
            }
            Err(e) => {
                plugin_sdk::log(
                    plugin_sdk::Level::Error,
                    &format!("forward-auth: cannot read the request body: {e:?}"),
                );
                Err(Reply::new(500))
            }
        }
    }

    /// The headers of the auth request (`writeHeader` in Traefik).
    fn auth_request_headers(&self, req: &Request<'_>) -> Vec<(String, Vec<u8>)> {
        let trust = self.config.trust_forward_header;
        let allowed = &self.config.auth_request_headers;
        let mut headers: Vec<(String, Vec<u8>)> = req
            .headers()
            .into_iter()
            // Go keeps the Host apart from the headers: the auth server gets its own host.
            .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()) && name != "host")
            .filter(|(name, _)| {
                allowed.is_empty() || allowed.iter().any(|a| a.eq_ignore_ascii_case(name))
            })
            .collect();
        let own = |name: &str| req.header(name).filter(|v| !v.is_empty());
        let client_ip = client_ip(&req.client_addr());
        let xff = match own(X_FORWARDED_FOR) {
            // The gateway has already appended the client to a trusted chain.
            Some(chain) if trust => chain,
            _ => client_ip.into_bytes(),
        };
        set(&mut headers, X_FORWARDED_FOR, Some(xff));
        let method = match own(X_FORWARDED_METHOD) {
            Some(m) if trust => m,
            _ => req.method().into_bytes(),
        };
        set(&mut headers, X_FORWARDED_METHOD, Some(method));
        let proto = match own(X_FORWARDED_PROTO) {
            Some(p) if trust => p,
            _ => req.scheme().into_bytes(),
        };
        set(&mut headers, X_FORWARDED_PROTO, Some(proto));
        if trust && let Some(port) = own(X_FORWARDED_PORT) {
            set(&mut headers, X_FORWARDED_PORT, Some(port));
        }
        let host = match own(X_FORWARDED_HOST) {
            Some(h) if trust => Some(h),
            _ => req.authority().map(String::into_bytes),
        };
        set(&mut headers, X_FORWARDED_HOST, host);
        let uri = match own(X_FORWARDED_URI) {
            Some(u) if trust => u,
            _ => match req.query() {
                Some(q) => format!("{}?{q}", req.path()).into_bytes(),
                None => req.path().into_bytes(),
            },
        };
        set(&mut headers, X_FORWARDED_URI, Some(uri));
        headers
    }

    /// The auth server's refusal as the client gets it.
    fn denial(&self, answer: Subresponse) -> Reply {
        let mut reply = Reply::new(answer.status).body(answer.body);
        let mut location = None;
        for (name, value) in answer.headers {
            if HOP_BY_HOP.contains(&name.as_str()) {
                continue;
            }
            if name == "location" {
                location = Some(value);
                continue;
            }
            reply.headers.push((name, value));
        }
        if let Some(value) = location.filter(|v| !v.is_empty()) {
            let value = if self.config.preserve_location_header {
                value
            } else {
                let text = String::from_utf8_lossy(&value);
                location::resolve(&self.config.address, &text).into_bytes()
            };
            reply.headers.push(("location".into(), value));
        }
        reply
    }

    /// `authResponseHeaders` and `authResponseHeadersRegex`, from a 2xx answer onto the request.
    fn copy_auth_headers(&self, req: &mut Request<'_>, answer: &Subresponse) {
        for name in &self.config.auth_response_headers {
            req.remove_header(name);
            for value in answer.header_all(name) {
                let _ = req.append_header(name, value);
            }
        }
        if let Some(regex) = &self.config.auth_response_headers_regex {
            for (name, _) in req.headers() {
                if regex.is_match(&canonical(&name)) {
                    req.remove_header(&name);
                }
            }
            for (name, value) in &answer.headers {
                if regex.is_match(&canonical(name)) {
                    let _ = req.append_header(name, value);
                }
            }
        }
    }

    /// The answer's `Set-Cookie` values for cookies named in `addAuthCookiesToResponse`.
    fn auth_cookies(&self, answer: &Subresponse) -> Vec<String> {
        if self.config.add_auth_cookies_to_response.is_empty() {
            return Vec::new();
        }
        answer
            .header_all("set-cookie")
            .filter(|c| self.is_auth_cookie(c))
            .filter_map(|c| std::str::from_utf8(c).ok())
            .map(str::to_owned)
            .collect()
    }

    fn is_auth_cookie(&self, set_cookie: &[u8]) -> bool {
        let text = String::from_utf8_lossy(set_cookie);
        let name = text.split(['=', ';']).next().unwrap_or("").trim();
        self.config
            .add_auth_cookies_to_response
            .iter()
            .any(|n| n == name)
    }
}

/// Replaces every value of `name` with `value`, or removes it for `None`.
fn set(headers: &mut Vec<(String, Vec<u8>)>, name: &str, value: Option<Vec<u8>>) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    if let Some(value) = value {
        headers.push((name.to_string(), value));
    }
}

/// The IP of an `ip:port` (or `[ip]:port`) address.
fn client_ip(addr: &str) -> String {
    match addr.rsplit_once(':') {
        Some((ip, _)) => ip.trim_start_matches('[').trim_end_matches(']').to_string(),
        None => addr.to_string(),
    }
}

/// Go's canonical header key (`x-auth-user` -> `X-Auth-User`), which Traefik's regex sees.
fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

fn log_debug(message: &str) {
    plugin_sdk::log(plugin_sdk::Level::Debug, message);
}

plugin_sdk::export_middleware!(ForwardAuth);

#[cfg(test)]
mod tests;
