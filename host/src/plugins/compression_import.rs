//! The host side of the `compression` import: `compress-response` records the encoding the
//! plugin chose on the response head (a [`CompressWith`] in its `extensions`); after the
//! response hooks the proxy compresses the body with it, streamed (`proxy::compress_body`).
//!
//! Cost here: one host call and a map insert. A component that imports `compression` loads
//! only for a middleware whose config grants it (`app::build`), so a call without a grant
//! traps, failing that request only.

use super::bindings::wasmgate::plugin::compression::{self, CompressionError, Encoding};
use super::host_state::HostState;

/// A content coding the host compresses response bodies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentCoding {
    Gzip,
    Brotli,
    Zstd,
}

impl ContentCoding {
    /// The `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            ContentCoding::Gzip => "gzip",
            ContentCoding::Brotli => "br",
            ContentCoding::Zstd => "zstd",
        }
    }
}

/// In a response head's `extensions`: compress the body sent to the client with this coding.
#[derive(Debug, Clone, Copy)]
pub struct CompressWith(pub ContentCoding);

impl compression::Host for HostState {
    fn compress_response(
        &mut self,
        encoding: Encoding,
    ) -> wasmtime::Result<Result<(), CompressionError>> {
        self.not_memoizable();
        if !self.compression {
            return Err(wasmtime::format_err!(
                "middleware {:?} called compression without the compression grant",
                &*self.identity.middleware
            ));
        }
        let Some(resp) = self.heads.current_response_mut() else {
            return Ok(Err(CompressionError::NotAvailable));
        };
        if resp
            .parts
            .headers
            .contains_key(http::header::CONTENT_ENCODING)
        {
            return Ok(Err(CompressionError::AlreadyEncoded));
        }
        let coding = match encoding {
            Encoding::Gzip => ContentCoding::Gzip,
            Encoding::Br => ContentCoding::Brotli,
            Encoding::Zstd => ContentCoding::Zstd,
        };
        resp.parts.extensions.insert(CompressWith(coding));
        Ok(Ok(()))
    }
}
