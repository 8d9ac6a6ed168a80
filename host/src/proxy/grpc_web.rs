//! The host's gRPC-Web codec, chosen by a plugin (`grpc-web.translate-grpc-web`; Traefik's
//! `grpcWeb` is the bundled `plugins/grpc-web`): a gRPC-Web call from a browser goes to the
//! upstream as gRPC (over h2c, the service's `h2c://` servers), and the answer's trailers come
//! back at the end of the body as a gRPC-Web trailer frame (flag `0x80`, length,
//! `name: value\r\n` lines). The plugin classifies requests and writes the content types and
//! CORS headers; this module does what must happen to the bytes as they stream:
//!
//! - binary (`application/grpc-web[+proto]`): the body passes through unchanged, frame by frame;
//! - text (`application/grpc-web-text[+proto]`): the request body is base64 decoded as it
//!   streams and every response frame (the trailer frame too) is base64 encoded on its own;
//! - `content-length` dropped both ways (the body's length changes), `te: trailers` upstream.
//!
//! When it runs: after the request hooks (request) and after the response hooks (response) of a
//! chain whose plugin chose it. Cost: a closure call per body frame (plus base64 in text
//! mode); nothing is buffered and no plugin instance is called or held while the body streams.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::{BufMut, Bytes, BytesMut};
use http::Response;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http_body::Frame;
use http_body_util::BodyExt;

use crate::plugins::WebMode;
use crate::upstream::body::ProxyBody;

/// A gRPC-Web call being translated (a plugin chose it for this request).
#[derive(Debug, Clone, Copy)]
pub struct GrpcWebCall {
    mode: WebMode,
}

impl GrpcWebCall {
    /// The call a plugin asked the host to translate in `mode` (after its request hooks).
    pub fn by_plugin(mode: WebMode) -> GrpcWebCall {
        GrpcWebCall { mode }
    }

    /// The request head's framing for gRPC: `te: trailers`, no `content-length` (text bodies
    /// shrink when decoded). The plugin wrote the content type.
    pub fn request_to_grpc(&self, parts: &mut Parts) {
        parts.headers.remove(header::CONTENT_LENGTH);
        parts
            .headers
            .insert(header::TE, HeaderValue::from_static("trailers"));
    }

    /// The request body the upstream gets: unchanged, or base64 decoded as it streams.
    pub fn request_body(&self, body: ProxyBody) -> ProxyBody {
        match self.mode {
            WebMode::Binary => body,
            WebMode::Text => {
                let mut decoder = Base64Stream::default();
                body.map_frame(move |frame| match frame.into_data() {
                    Ok(data) => Frame::data(decoder.push(&data)),
                    Err(other) => other,
                })
                .boxed()
            }
        }
    }

    /// The response's body as gRPC-Web: the trailers as the body's last frame, every frame
    /// base64 encoded in text mode, `content-length` dropped. The plugin's response hook wrote
    /// the content type and CORS headers.
    pub fn response_to_grpc_web(&self, resp: Response<ProxyBody>) -> Response<ProxyBody> {
        let (mut parts, body) = resp.into_parts();
        parts.headers.remove(header::CONTENT_LENGTH);
        let mode = self.mode;
        let body = body
            .map_frame(move |frame| {
                let data = match frame.into_trailers() {
                    Ok(trailers) => trailer_frame(&trailers),
                    Err(frame) => match frame.into_data() {
                        Ok(data) => data,
                        Err(other) => return other,
                    },
                };
                match mode {
                    WebMode::Binary => Frame::data(data),
                    WebMode::Text => Frame::data(Bytes::from(STANDARD.encode(&data))),
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
