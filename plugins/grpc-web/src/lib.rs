//! Bundled plugin `grpc-web`: Traefik's `grpcWeb` middleware (improbable-eng's `grpcweb`
//! wrapper, which Traefik uses). A gRPC-Web call from a browser goes to the upstream as gRPC
//! (over h2c, the service's `h2c://` servers), and the answer's trailers come back at the end of
//! the body as a gRPC-Web trailer frame. The policy is here; the bodies are translated by the
//! host as they stream (`grpc-web` interface): the plugin only picks the mode in `on-request`, so
//! no body is copied into the instance and a long-lived stream holds no instance.
//!
//! Option (Traefik's): `allowOrigins`, the origins allowed to call (`*`: any).
//!
//! - `application/grpc-web[+proto]` (binary): the frames pass unchanged;
//! - `application/grpc-web-text[+proto]` (text): the host base64-decodes the request body and
//!   base64-encodes every response frame, the trailer frame too;
//! - the content types are mapped to `application/grpc[+proto]` upstream and back;
//! - CORS as the wrapper's rs/cors does: a preflight (`OPTIONS` asking for `x-grpc-web`) is
//!   answered here, status 200, with the CORS headers for an allowed origin only; a call from
//!   an allowed origin gets `Access-Control-Allow-Origin`, credentials, and the response's
//!   header names exposed (`grpc-status`, `grpc-message` always among them).
//!
//! Other requests pass untouched. Cost for them: one header read in `on-request` and none in
//! `on-response` (no per-request state). For a call: one host call, the head edits, and a
//! 2-byte state; the host's codec then costs a closure call per body frame (plus base64 in text
//! mode) and no call into the instance.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     web:
//!       grpcWeb:
//!         allowOrigins: ["https://app.example"]
//! ```

use plugin_sdk::grpc_web::{self, Mode};
use plugin_sdk::{Action, Middleware, Reply, Request, Response};
use serde_json::{Map, Value};
use traefik_options::json_text;

const GRPC_WEB: &str = "application/grpc-web";
const GRPC_WEB_TEXT: &str = "application/grpc-web-text";
const GRPC: &str = "application/grpc";

/// The `grpcWeb` middleware.
#[derive(Debug)]
pub struct GrpcWeb {
    any_origin: bool,
    origins: Vec<String>,
}

impl Middleware for GrpcWeb {
    fn from_config(config: &str) -> Result<Self, String> {
        let options = match serde_json::from_str(config) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Null) => Map::new(),
            Ok(other) => {
                return Err(format!(
                    "config must be a map, got {}",
                    json_text::value(&other)
                ));
            }
            Err(e) => return Err(format!("config is not valid JSON: {e}")),
        };
        let mut origins = Vec::new();
        for (option, value) in options {
            match option.as_str() {
                "allowOrigins" => origins = strings(&option, value)?,
                _ => return Err(format!("unknown option {option:?}")),
            }
        }
        Ok(GrpcWeb {
            any_origin: origins.iter().any(|o| o == "*"),
            origins,
        })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let content_type = req.header_str("content-type").unwrap_or_default();
        if content_type.starts_with(GRPC_WEB) {
            let (mode, web_type) = match content_type.starts_with(GRPC_WEB_TEXT) {
                true => (Mode::Text, GRPC_WEB_TEXT),
                false => (Mode::Binary, GRPC_WEB),
            };
            // Refused only outside a request hook (a host bug): the call then goes on as is.
            if grpc_web::translate(req, mode).is_err() {
                return Action::Continue;
            }
            let _ = req.set_header("content-type", retype(&content_type, web_type, GRPC));
            let allowed = self.allowed_origin(req).is_some();
            let _ = req.set_state([mode_byte(mode), u8::from(allowed)]);
            return Action::Continue;
        }
        let asks_grpc_web = req
            .header_str("access-control-request-headers")
            .is_some_and(|v| v.to_ascii_lowercase().contains("x-grpc-web"));
        if req.method() == "OPTIONS" && asks_grpc_web {
            return Action::Respond(self.preflight(req));
        }
        Action::Continue
    }

    fn on_response(&self, req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        let Some(state) = req.state() else {
            return Action::Continue;
        };
        let [mode, allowed] = state[..] else {
            return Action::Continue;
        };
        let web_type = match mode {
            b't' => GRPC_WEB_TEXT,
            _ => GRPC_WEB,
        };
        if let Some(content_type) = resp.header_str("content-type")
            && content_type.starts_with(GRPC)
        {
            let _ = resp.set_header("content-type", retype(&content_type, GRPC, web_type));
        }
        if allowed == 1
            && let Some(origin) = req.header("origin")
        {
            let mut names: Vec<String> = resp
                .headers()
                .into_iter()
                .map(|(name, _)| name)
                // The host drops it: the translated body has another length.
                .filter(|name| name != "content-length")
                .collect();
            names.dedup();
            for name in ["grpc-status", "grpc-message"] {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
            let _ = resp.set_header("access-control-expose-headers", names.join(", "));
            let _ = resp.set_header("access-control-allow-origin", origin);
            let _ = resp.set_header("access-control-allow-credentials", "true");
            let _ = resp.append_header("vary", "Origin");
        }
        Action::Continue
    }
}

impl GrpcWeb {
    /// The request's `Origin`, if the config allows it.
    fn allowed_origin(&self, req: &Request<'_>) -> Option<Vec<u8>> {
        let origin = req.header("origin")?;
        let text = std::str::from_utf8(&origin).ok()?;
        (self.any_origin || self.origins.iter().any(|o| o == text)).then_some(origin)
    }

    /// The answer to a preflight: CORS headers for an allowed origin, none otherwise (the
    /// browser then refuses the call), status 200 either way as rs/cors answers.
    fn preflight(&self, req: &Request<'_>) -> Reply {
        let reply = Reply::new(200).header(
            "vary",
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        );
        let Some(origin) = self.allowed_origin(req) else {
            return reply;
        };
        let method = req
            .header("access-control-request-method")
            .unwrap_or_else(|| b"POST".to_vec());
        let mut reply = reply
            .header("access-control-allow-origin", origin)
            .header("access-control-allow-methods", method);
        if let Some(requested) = req.header("access-control-request-headers") {
            reply = reply.header("access-control-allow-headers", requested);
        }
        reply
            .header("access-control-allow-credentials", "true")
            .header("access-control-max-age", "600")
    }
}

/// The state byte of a mode.
fn mode_byte(mode: Mode) -> u8 {
    match mode {
        Mode::Text => b't',
        Mode::Binary => b'b',
    }
}

/// `value` with its `from` prefix replaced by `to` (`application/grpc-web+proto` ->
/// `application/grpc+proto`).
fn retype(value: &str, from: &str, to: &str) -> String {
    match value.strip_prefix(from) {
        Some(rest) => format!("{to}{rest}"),
        None => value.to_string(),
    }
}

/// A list of strings (a lone string is a list of one).
fn strings(option: &str, value: Value) -> Result<Vec<String>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                other => Err(format!(
                    "{option}: items must be text, got {}",
                    json_text::value(&other)
                )),
            })
            .collect(),
        other => Err(format!(
            "{option}: must be a list of origins, got {}",
            json_text::value(&other)
        )),
    }
}

plugin_sdk::export_middleware!(GrpcWeb);

#[cfg(test)]
mod tests;
