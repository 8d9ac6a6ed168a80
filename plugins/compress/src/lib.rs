//! Bundled plugin `compress`: Traefik's `compress` middleware. The policy is here; the bytes
//! are compressed by the host, streamed (`compression` capability): the plugin only picks the
//! encoding in `on-response`, so a response body is never copied into the instance and the
//! gateway holds at most one codec window per response.
//!
//! Options (Traefik v3 names and semantics):
//! - `encodings` (default `[zstd, br, gzip]`): the encodings offered, in preference order;
//! - `defaultEncoding`: used when the request has no `Accept-Encoding`, or only `*` (which
//!   otherwise gets the first of `encodings`);
//! - `minResponseBodyBytes` (default 1024): a response whose `Content-Length` is smaller is
//!   sent as it is (a response without a length is compressed);
//! - `excludedContentTypes` (default `text/event-stream`, `application/grpc`) or
//!   `includedContentTypes` (then only those), compared by media type without parameters.
//!
//! Never compressed: a response that already has a `Content-Encoding`, the answer to a
//! `Range` request, `HEAD`, and statuses without a body (1xx, 204, 304). A response that could
//! be compressed gets `Vary: Accept-Encoding` whether or not this client accepted an encoding.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     squeeze:
//!       compress:
//!         encodings: [br, gzip]
//!         minResponseBodyBytes: 2048
//!         excludedContentTypes: [image/png]
//! ```

mod negotiate;

use plugin_sdk::compression::{self, Encoding};
use plugin_sdk::{Action, Middleware, Request, Response};
use serde_json::Value;

/// Traefik's default `minResponseBodyBytes`.
const DEFAULT_MIN_BYTES: u64 = 1024;

/// Which responses may be compressed, by media type.
enum ContentTypes {
    Excluded(Vec<String>),
    Included(Vec<String>),
}

/// The `compress` middleware.
pub struct Compress {
    encodings: Vec<Encoding>,
    default_encoding: Option<Encoding>,
    min_bytes: u64,
    types: ContentTypes,
}

impl Middleware for Compress {
    fn from_config(config: &str) -> Result<Self, String> {
        let options = traefik_options::options::option_map(config)?;
        let mut compress = Compress {
            encodings: vec![Encoding::Zstd, Encoding::Brotli, Encoding::Gzip],
            default_encoding: None,
            min_bytes: DEFAULT_MIN_BYTES,
            types: ContentTypes::Excluded(vec![
                "text/event-stream".to_string(),
                "application/grpc".to_string(),
            ]),
        };
        let (mut excluded, mut included) = (None, None);
        for (option, value) in options {
            match option.as_str() {
                "encodings" => {
                    compress.encodings = strings(&option, value)?
                        .iter()
                        .map(|e| encoding(&option, e))
                        .collect::<Result<_, _>>()?;
                    if compress.encodings.is_empty() {
                        return Err("encodings: list at least one of gzip, br, zstd".into());
                    }
                }
                "defaultEncoding" => match value {
                    Value::String(s) if s.is_empty() => {}
                    Value::String(s) => compress.default_encoding = Some(encoding(&option, &s)?),
                    Value::Null => {}
                    _ => return Err("defaultEncoding: must be text".into()),
                },
                "minResponseBodyBytes" => {
                    compress.min_bytes = match &value {
                        Value::Number(n) => n.as_u64(),
                        Value::String(s) => s.trim().parse().ok(),
                        _ => None,
                    }
                    .ok_or("minResponseBodyBytes: must be a whole number of bytes")?;
                }
                "excludedContentTypes" => excluded = Some(media_types(&option, value)?),
                "includedContentTypes" => included = Some(media_types(&option, value)?),
                _ => return Err(format!("unknown option {option:?}")),
            }
        }
        compress.types = match (excluded, included) {
            (Some(_), Some(_)) => {
                return Err(
                    "excludedContentTypes and includedContentTypes cannot be used together".into(),
                );
            }
            (Some(list), None) => ContentTypes::Excluded(list),
            (None, Some(list)) => ContentTypes::Included(list),
            (None, None) => compress.types,
        };
        if let Some(default) = compress.default_encoding
            && !compress.encodings.contains(&default)
        {
            return Err(format!(
                "defaultEncoding: {} is not one of the encodings",
                default.token()
            ));
        }
        Ok(compress)
    }

    fn on_response(&self, req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        if !self.may_compress(req, resp) {
            return Action::Continue;
        }
        let _ = resp.append_header("vary", "Accept-Encoding");
        let accept = req.header_str("accept-encoding");
        let chosen = match accept.as_deref().map(str::trim) {
            None | Some("") => self.default_encoding,
            Some("*") => self
                .default_encoding
                .or_else(|| negotiate::choose("*", &self.encodings)),
            Some(accept) => negotiate::choose(accept, &self.encodings),
        };
        if let Some(encoding) = chosen {
            // Refused only outside a response hook or without the grant (a host bug): the
            // response then goes out as it is.
            let _ = compression::compress_response(resp, encoding);
        }
        Action::Continue
    }
}

impl Compress {
    /// Whether this response may be compressed at all (before looking at `Accept-Encoding`).
    fn may_compress(&self, req: &Request<'_>, resp: &Response<'_>) -> bool {
        let status = resp.status();
        if req.method() == "HEAD"
            || status < 200
            || status == 204
            || status == 304
            || req.header("range").is_some()
            || resp.header("content-encoding").is_some()
        {
            return false;
        }
        let length = resp
            .header_str("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if length.is_some_and(|n| n < self.min_bytes) {
            return false;
        }
        let media = resp
            .header_str("content-type")
            .map(|t| media_type(&t))
            .unwrap_or_default();
        match &self.types {
            ContentTypes::Excluded(list) => !list.contains(&media),
            ContentTypes::Included(list) => list.contains(&media),
        }
    }
}

/// A content type's media type, lower-case, without parameters.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn encoding(option: &str, token: &str) -> Result<Encoding, String> {
    Encoding::from_token(token.trim())
        .ok_or_else(|| format!("{option}: unknown encoding {token:?} (gzip, br or zstd)"))
}

fn strings(option: &str, value: Value) -> Result<Vec<String>, String> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(format!("{option}: every entry must be text")),
            })
            .collect(),
        Value::String(s) => Ok(s.split(',').map(|s| s.trim().to_string()).collect()),
        Value::Null => Ok(Vec::new()),
        _ => Err(format!("{option}: must be a list")),
    }
}

fn media_types(option: &str, value: Value) -> Result<Vec<String>, String> {
    Ok(strings(option, value)?
        .iter()
        .map(|t| media_type(t))
        .filter(|t| !t.is_empty())
        .collect())
}

plugin_sdk::export_middleware!(Compress);

#[cfg(test)]
mod tests;
