//! Bundled plugin `content-type`: Traefik's `contentType` middleware.
//!
//! When the upstream's response has no `Content-Type` header, sets one detected from the first
//! bytes of the body exactly as Go's `net/http` server does for Traefik ([`sniff`] is a port of
//! `DetectContentType`): at most 512 bytes looked at, `text/plain; charset=utf-8` for text,
//! `application/octet-stream` for unknown binary data. Like Go it leaves the head alone when the
//! body is empty (or the response cannot have one: `HEAD`, 204, 304), when `Content-Type` is
//! present (even empty), and when the response has a non-empty `Content-Encoding`.
//!
//! Options (Traefik v3): none needed — `contentType: {}` enables detection. The deprecated
//! `autoDetect: false` turns the middleware into a no-op (it then declares no response hook,
//! so it costs nothing per request); `autoDetect: true` is the same as no option. Any other
//! option is a config error.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     autodetect:
//!       contentType: {}
//! ```
//!
//! Cost per request (enabled): the gateway holds up to the first 512 bytes of the response body
//! before sending the head (`response_body_peek`); one call with those bytes, one or two header
//! reads, and one header write when it sniffs.

pub mod sniff;

use plugin_sdk::{Action, Middleware, Request, Response};
use serde::Deserialize;
use traefik_options::options;

use options::Flag;

/// Traefik's `contentType` options, as written in the dynamic config.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct Options {
    /// Deprecated: `false` disables detection; absent or `true` enables it.
    auto_detect: Option<Flag>,
}

/// The `contentType` middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentType {
    /// Detection on (`autoDetect` absent or true).
    pub enabled: bool,
}

impl ContentType {
    /// The header to set for a response with these headers and body start, or `None` to leave
    /// it alone (Go's rule: no sniffing with a `Content-Type` present, a non-empty
    /// `Content-Encoding`, or an empty body).
    pub fn detected(
        content_type: Option<&[u8]>,
        content_encoding: Option<&[u8]>,
        body_start: &[u8],
    ) -> Option<&'static str> {
        if content_type.is_some()
            || content_encoding.is_some_and(|ce| !ce.is_empty())
            || body_start.is_empty()
        {
            return None;
        }
        Some(sniff::detect_content_type(body_start))
    }
}

impl Middleware for ContentType {
    fn from_config(config: &str) -> Result<Self, String> {
        let options: Options = options::parse(config)?;
        Ok(ContentType {
            enabled: options.auto_detect.is_none_or(|flag| flag.0),
        })
    }

    fn wants_response_hook(&self) -> bool {
        self.enabled
    }

    fn response_body_peek(&self) -> u32 {
        if self.enabled {
            sniff::SNIFF_LEN as u32
        } else {
            0
        }
    }

    fn on_response_body(
        &self,
        _req: &mut Request<'_>,
        resp: &mut Response<'_>,
        body_start: &[u8],
        _complete: bool,
    ) -> Action {
        if !self.enabled {
            return Action::Continue;
        }
        let content_type = resp.header("content-type");
        let content_encoding = if content_type.is_none() {
            resp.header("content-encoding")
        } else {
            None
        };
        if let Some(detected) = Self::detected(
            content_type.as_deref(),
            content_encoding.as_deref(),
            body_start,
        ) && let Err(e) = resp.set_header("content-type", detected)
        {
            plugin_sdk::warn!("contentType: setting Content-Type {detected:?} refused: {e}");
        }
        Action::Continue
    }
}

plugin_sdk::export_middleware!(ContentType);

#[cfg(test)]
mod tests;
