//! Traefik's `grpcWeb` middleware (improbable-eng's `grpcweb` wrapper, which Traefik uses): a
//! gRPC-Web call from a browser is sent to the upstream as gRPC (over h2c, the service's
//! `h2c://` servers), and the answer's trailers come back at the end of the body as a gRPC-Web
//! trailer frame (flag `0x80`, length, `name: value\r\n` lines).
//!
//! - `application/grpc-web[+proto]`: the body passes through unchanged, frame by frame;
//! - `application/grpc-web-text[+proto]`: the request body is base64 decoded as it streams
//!   and every response frame (the trailer frame too) is base64 encoded on its own;
//! - CORS as the wrapper's rs/cors does for `allowOrigins` (`*` for any origin): a preflight
//!   (`OPTIONS` asking for `x-grpc-web`) is answered here, and a call from an allowed origin
//!   gets `Access-Control-Allow-Origin`, credentials and the response's header names exposed.
//!
//! Other requests pass untouched. Cost for them: one header read. For a call: a header rewrite
//! and, per body frame, a closure call (plus base64 in text mode); nothing is buffered.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::{BufMut, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;

use crate::config::GrpcWebConfig;
use crate::upstream::body::{ProxyBody, empty};

/// How a gRPC-Web body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Binary,
    Text,
}

/// A gRPC-Web call being translated, and the CORS origin it may be answered to.
#[derive(Debug, Clone)]
pub struct GrpcWebCall {
    encoding: Encoding,
    allowed_origin: Option<HeaderValue>,
    /// Chosen by a plugin (`grpc-web.translate-grpc-web`): the plugin wrote the content types
    /// and CORS headers, so only the bodies and the framing headers are the host's.
    by_plugin: bool,
}

/// What the middleware makes of a request.
pub enum Classified {
    /// Not gRPC-Web: passes untouched.
    Other,
    /// A CORS preflight for a gRPC-Web call: answered with this response.
    Preflight(Response<ProxyBody>),
    /// A gRPC-Web call: translated both ways.
    Call(GrpcWebCall),
}

/// A router's `grpcWeb` middleware, built at config time.
#[derive(Debug)]
pub struct GrpcWeb {
    any_origin: bool,
    origins: Box<[String]>,
}

const GRPC_WEB: &str = "application/grpc-web";
const GRPC_WEB_TEXT: &str = "application/grpc-web-text";
const GRPC: &str = "application/grpc";

impl GrpcWeb {
    pub fn new(config: &GrpcWebConfig) -> GrpcWeb {
        GrpcWeb {
            any_origin: config.allow_origins.iter().any(|o| o == "*"),
            origins: config.allow_origins.clone().into_boxed_slice(),
        }
    }

    /// The request's `Origin`, if the config allows it.
    fn allowed_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        (self.any_origin || self.origins.iter().any(|o| o == text)).then(|| origin.clone())
    }

    /// Classifies a request (after the router matched it).
    pub fn classify(&self, parts: &Parts) -> Classified {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if content_type.starts_with(GRPC_WEB) {
            let encoding = match content_type.starts_with(GRPC_WEB_TEXT) {
                true => Encoding::Text,
                false => Encoding::Binary,
            };
            return Classified::Call(GrpcWebCall {
                encoding,
                allowed_origin: self.allowed_origin(&parts.headers),
                by_plugin: false,
            });
        }
        let asks_grpc_web = parts
            .headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("x-grpc-web"));
        if parts.method == Method::OPTIONS && asks_grpc_web {
            return Classified::Preflight(self.preflight(&parts.headers));
        }
        Classified::Other
    }

    /// The answer to a preflight: CORS headers for an allowed origin, none otherwise (the
    /// browser then refuses the call), status 200 either way as rs/cors answers.
    fn preflight(&self, headers: &HeaderMap) -> Response<ProxyBody> {
        let mut resp = Response::new(empty());
        *resp.status_mut() = StatusCode::OK;
        let out = resp.headers_mut();
        out.insert(
            header::VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        let Some(origin) = self.allowed_origin(headers) else {
            return resp;
        };
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        let method = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .cloned()
            .unwrap_or(HeaderValue::from_static("POST"));
        out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, method);
        if let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        }
        out.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        out.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        resp
    }
}

/// Replaces the `application/grpc-web[-text]` prefix of a content type with `to`.
fn retype(value: &HeaderValue, from: &str, to: &str) -> Option<HeaderValue> {
    let text = value.to_str().ok()?;
    let rest = text.strip_prefix(from)?;
    HeaderValue::from_str(&format!("{to}{rest}")).ok()
}

/// Rewrites the content type's `from` prefix to `to` and drops `content-length` (the body's
/// length changes on the way).
fn retype_body(headers: &mut HeaderMap, from: &str, to: &str) {
    if let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| retype(v, from, to))
    {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.remove(header::CONTENT_LENGTH);
}

impl GrpcWebCall {
    /// The call a plugin asked the host to translate in `mode` (after its request hooks).
    pub fn by_plugin(mode: crate::plugins::WebMode) -> GrpcWebCall {
        let encoding = match mode {
            crate::plugins::WebMode::Binary => Encoding::Binary,
            crate::plugins::WebMode::Text => Encoding::Text,
        };
        GrpcWebCall {
            encoding,
            allowed_origin: None,
            by_plugin: true,
        }
    }

    /// The gRPC-Web content type (prefix) of this call's encoding.
    fn web_type(&self) -> &'static str {
        match self.encoding {
            Encoding::Text => GRPC_WEB_TEXT,
            Encoding::Binary => GRPC_WEB,
        }
    }

    /// Turns the request head into a gRPC one: content type `application/grpc[+proto]`,
    /// `te: trailers`, no `content-length` (text bodies shrink when decoded).
    /// For a plugin's call only the last two: the plugin wrote the content type.
    pub fn request_to_grpc(&self, parts: &mut Parts) {
        match self.by_plugin {
            true => {
                parts.headers.remove(header::CONTENT_LENGTH);
            }
            false => retype_body(&mut parts.headers, self.web_type(), GRPC),
        }
        parts
            .headers
            .insert(header::TE, HeaderValue::from_static("trailers"));
    }

    /// The request body the upstream gets: unchanged, or base64 decoded as it streams.
    pub fn request_body(&self, body: ProxyBody) -> ProxyBody {
        match self.encoding {
            Encoding::Binary => body,
            Encoding::Text => {
                let mut decoder = Base64Stream::default();
                body.map_frame(move |frame| match frame.into_data() {
                    Ok(data) => Frame::data(decoder.push(&data)),
                    Err(other) => other,
                })
                .boxed()
            }
        }
    }

    /// Turns the response into a gRPC-Web one: content type, CORS, and the trailers as the
    /// body's last frame. For a plugin's call only the body (and `content-length` dropped): the
    /// plugin's response hook wrote the content type and CORS headers.
    pub fn response_to_grpc_web(&self, resp: Response<ProxyBody>) -> Response<ProxyBody> {
        let (mut parts, body) = resp.into_parts();
        match self.by_plugin {
            true => {
                parts.headers.remove(header::CONTENT_LENGTH);
            }
            false => retype_body(&mut parts.headers, GRPC, self.web_type()),
        }
        if let Some(origin) = &self.allowed_origin {
            let names: Vec<&str> = parts.headers.keys().map(|k| k.as_str()).collect();
            let mut exposed = names.join(", ");
            for name in ["grpc-status", "grpc-message"] {
                if !names.contains(&name) {
                    exposed.push_str(if exposed.is_empty() { "" } else { ", " });
                    exposed.push_str(name);
                }
            }
            if let Ok(exposed) = HeaderValue::from_str(&exposed) {
                parts
                    .headers
                    .insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed);
            }
            parts
                .headers
                .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            parts.headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            parts
                .headers
                .append(header::VARY, HeaderValue::from_static("Origin"));
        }
        let encoding = self.encoding;
        let body = body
            .map_frame(move |frame| {
                let data = match frame.into_trailers() {
                    Ok(trailers) => trailer_frame(&trailers),
                    Err(frame) => match frame.into_data() {
                        Ok(data) => data,
                        Err(other) => return other,
                    },
                };
                match encoding {
                    Encoding::Binary => Frame::data(data),
                    Encoding::Text => Frame::data(Bytes::from(STANDARD.encode(&data))),
                }
            })
            .boxed();
        Response::from_parts(parts, body)
    }
}

/// The gRPC-Web trailer frame: flag `0x80`, big-endian length, `name: value\r\n` lines.
fn trailer_frame(trailers: &HeaderMap) -> Bytes {
    let mut block = Vec::new();
    for (name, value) in trailers {
        block.extend_from_slice(name.as_str().as_bytes());
        block.extend_from_slice(b": ");
        block.extend_from_slice(value.as_bytes());
        block.extend_from_slice(b"\r\n");
    }
    let mut frame = BytesMut::with_capacity(5 + block.len());
    frame.put_u8(0x80);
    frame.put_u32(u32::try_from(block.len()).unwrap_or(u32::MAX));
    frame.put_slice(&block);
    frame.freeze()
}

/// A streaming base64 decoder: keeps the bytes of an incomplete 4-character group for the
/// next frame and accepts padded segments one after another (gRPC-Web text clients may pad
/// every message). Invalid input decodes to nothing, and the upstream then sees a malformed
/// gRPC message and answers with its own error status.
#[derive(Default)]
struct Base64Stream {
    carry: Vec<u8>,
}

impl Base64Stream {
    fn push(&mut self, input: &[u8]) -> Bytes {
        self.carry
            .extend(input.iter().filter(|b| !b.is_ascii_whitespace()));
        let whole = self.carry.len() / 4 * 4;
        let mut out = Vec::with_capacity(whole / 4 * 3);
        let mut start = 0;
        for quantum in (0..whole).step_by(4) {
            // A group with padding ends a segment: decode up to it on its own.
            if self.carry[quantum..quantum + 4].contains(&b'=') || quantum + 4 == whole {
                let _ = STANDARD.decode_vec(&self.carry[start..quantum + 4], &mut out);
                start = quantum + 4;
            }
        }
        self.carry.drain(..whole);
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_decoded_across_frames_and_padded_segments() {
        let mut d = Base64Stream::default();
        let a = STANDARD.encode(b"hello");
        let b = STANDARD.encode(b"w");
        let joined = format!("{a}{b}");
        let (first, second) = joined.as_bytes().split_at(3);
        let mut out = d.push(first).to_vec();
        out.extend_from_slice(&d.push(second));
        assert_eq!(out, b"hellow");
    }

    #[test]
    fn the_trailer_frame_is_flagged_and_sized() {
        let mut t = HeaderMap::new();
        t.insert("grpc-status", HeaderValue::from_static("0"));
        let frame = trailer_frame(&t);
        assert_eq!(frame[0], 0x80);
        assert_eq!(&frame[1..5], &16u32.to_be_bytes());
        assert_eq!(&frame[5..], b"grpc-status: 0\r\n");
    }
}
