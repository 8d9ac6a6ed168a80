//! The host side of the `grpc-web` import: `translate-grpc-web` records the mode the plugin
//! chose on the request head (a [`TranslateGrpcWeb`] in its `extensions`); after the request
//! hooks the proxy translates the request body, and after the response hooks the response body
//! and its trailers, streamed (`proxy::grpc_web`). Needs no grant: only a request whose
//! `content-type` already says gRPC-Web is translated.
//!
//! Cost here: one host call, a header read and a map insert.

use super::bindings::wasmgate::plugin::grpc_web::{self, GrpcWebError, GrpcWebMode};
use super::host_state::HostState;

/// How a translated gRPC-Web call's bodies are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebMode {
    /// Frames pass unchanged.
    Binary,
    /// Bodies are base64.
    Text,
}

/// In a request head's `extensions`: translate this call (and its response) as gRPC-Web.
#[derive(Debug, Clone, Copy)]
pub struct TranslateGrpcWeb(pub WebMode);

impl grpc_web::Host for HostState {
    fn translate_grpc_web(
        &mut self,
        mode: GrpcWebMode,
    ) -> wasmtime::Result<Result<(), GrpcWebError>> {
        self.not_memoizable();
        if self.heads.in_response_hook() {
            return Ok(Err(GrpcWebError::NotAvailable));
        }
        let Ok(head) = self.heads.current_request_mut() else {
            return Ok(Err(GrpcWebError::NotAvailable));
        };
        let is_grpc_web = head
            .parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc-web"));
        if !is_grpc_web {
            return Ok(Err(GrpcWebError::NotGrpcWeb));
        }
        let mode = match mode {
            GrpcWebMode::Binary => WebMode::Binary,
            GrpcWebMode::Text => WebMode::Text,
        };
        head.parts.extensions.insert(TranslateGrpcWeb(mode));
        Ok(Ok(()))
    }
}
