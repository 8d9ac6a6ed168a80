//! The `grpc-web` interface: ask the gateway to translate a gRPC-Web call to gRPC and its
//! answer back, the bodies rewritten natively as they stream (Traefik's `grpcWeb`). The plugin
//! decides which requests are calls and writes the content types and CORS headers; the gateway
//! drops `content-length`, sets `te: trailers`, base64-decodes a `text` request body, and turns
//! the response's trailers into the gRPC-Web trailer frame at the end of the body (base64 in
//! `text` mode). No body is copied into the instance, and a long stream holds no instance.
//!
//! Needs no grant: the gateway translates only a request whose `content-type` starts with
//! `application/grpc-web`. Cost: one host call; a plugin that never calls it does not import
//! the interface.

use crate::Request;

/// How the call's bodies are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `application/grpc-web[+proto]`: frames pass unchanged.
    Binary,
    /// `application/grpc-web-text[+proto]`: bodies are base64.
    Text,
}

/// Why the gateway refused (nothing changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrpcWebError {
    /// Not in a request hook.
    NotAvailable,
    /// The request's `content-type` does not start with `application/grpc-web`.
    NotGrpcWeb,
}

/// Asks the gateway to translate `req` (and its response) as a gRPC-Web call in `mode`
/// (request hooks only). Call it before editing the request's `content-type`.
pub fn translate(req: &mut Request<'_>, mode: Mode) -> Result<(), GrpcWebError> {
    imp::translate(req.backend(), mode)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{GrpcWebError, Mode};
    use crate::guest::wit::grpc_web as wit;
    use crate::request::RequestRef;

    // The host keeps the choice with the request of the current hook call, which is `req`'s.
    pub(super) fn translate(_req: &mut RequestRef<'_>, mode: Mode) -> Result<(), GrpcWebError> {
        let mode = match mode {
            Mode::Binary => wit::GrpcWebMode::Binary,
            Mode::Text => wit::GrpcWebMode::Text,
        };
        wit::translate_grpc_web(mode).map_err(|e| match e {
            wit::GrpcWebError::NotAvailable => GrpcWebError::NotAvailable,
            wit::GrpcWebError::NotGrpcWeb => GrpcWebError::NotGrpcWeb,
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{GrpcWebError, Mode};
    use crate::request::RequestRef;

    pub(super) fn translate(req: &mut RequestRef<'_>, mode: Mode) -> Result<(), GrpcWebError> {
        let is_grpc_web = req
            .header_str("content-type")
            .is_some_and(|v| v.starts_with("application/grpc-web"));
        if !is_grpc_web {
            return Err(GrpcWebError::NotGrpcWeb);
        }
        req.grpc_web = Some(mode);
        Ok(())
    }
}
