//! The `compression` capability: ask the gateway to compress the response body it sends to the
//! client with gzip, br or zstd. The plugin decides (negotiation, content types, sizes); the
//! gateway compresses natively, streamed, frame by frame, so the body is never copied into the
//! instance and never held whole.
//!
//! A plugin that calls [`compress_response`] imports `compression`, and the gateway loads it
//! only for a middleware whose config grants it (`capabilities: [compression]`; Traefik's
//! `compress` grants it to its bundled plugin).

use crate::Response;

/// A content coding the gateway can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    Brotli,
    Zstd,
}

impl Encoding {
    /// The `Content-Encoding` token: `gzip`, `br`, `zstd`.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
        }
    }

    /// The coding a token names (case-insensitive; `x-gzip` is gzip).
    pub fn from_token(token: &str) -> Option<Encoding> {
        match token.to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Some(Encoding::Gzip),
            "br" => Some(Encoding::Brotli),
            "zstd" => Some(Encoding::Zstd),
            _ => None,
        }
    }
}

/// Why the gateway refused (nothing changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompressionError {
    /// Not in a response hook, or the response cannot have a body.
    NotAvailable,
    /// The response already has a `Content-Encoding`.
    AlreadyEncoded,
}

/// Asks the gateway to compress this response's body with `encoding` (response hooks only).
/// The gateway sets `Content-Encoding`, drops `Content-Length` (the body is streamed) and
/// compresses each frame as it passes; it does nothing if a later response hook replaces the
/// response. Cost: one host call; the compression runs natively after the hooks.
pub fn compress_response(
    resp: &mut Response<'_>,
    encoding: Encoding,
) -> Result<(), CompressionError> {
    imp::compress_response(resp.backend(), encoding)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{CompressionError, Encoding};
    use crate::guest::wit::compression as wit;
    use crate::response::ResponseRef;

    pub(super) fn compress_response(
        _resp: &mut ResponseRef<'_>,
        encoding: Encoding,
    ) -> Result<(), CompressionError> {
        let encoding = match encoding {
            Encoding::Gzip => wit::Encoding::Gzip,
            Encoding::Brotli => wit::Encoding::Br,
            Encoding::Zstd => wit::Encoding::Zstd,
        };
        wit::compress_response(encoding).map_err(|e| match e {
            wit::CompressionError::NotAvailable => CompressionError::NotAvailable,
            wit::CompressionError::AlreadyEncoded => CompressionError::AlreadyEncoded,
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{CompressionError, Encoding};
    use crate::testing::TestResponse;

    pub(super) fn compress_response(
        resp: &mut &mut TestResponse,
        encoding: Encoding,
    ) -> Result<(), CompressionError> {
        if resp.header_str("content-encoding").is_some() {
            return Err(CompressionError::AlreadyEncoded);
        }
        resp.compress_with = Some(encoding);
        Ok(())
    }
}
