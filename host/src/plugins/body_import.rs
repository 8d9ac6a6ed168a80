//! The host side of the `body` import: the request and response bodies the proxy held whole
//! for the chain (`http_wasm::BufferedBody` in the heads' `extensions`, or an [`OverCap`]
//! marker), read and replaced by a granted middleware during a hook call.
//!
//! A read copies the body into the guest; a replacement moves the guest's bytes into the head
//! (one copy out of the guest) and sets `content-length`. A component that imports `body`
//! loads only for a middleware whose config grants it (`app::build`), so a call without a grant
//! traps, failing that request only.

use bytes::Bytes;

use super::bindings::wasmgate::plugin::body::{self, BodyError};
use super::body::{BodyGrant, BodyLimit, OverCap};
use super::host_state::HostState;
use super::http_wasm::BufferedBody;
use super::http_wasm::body::set_length;

impl HostState {
    fn body_grant(&self) -> wasmtime::Result<BodyGrant> {
        self.body.ok_or_else(|| {
            wasmtime::format_err!(
                "middleware {:?} called body without the body grant",
                &*self.identity.middleware
            )
        })
    }
}

/// What a head's `extensions` say about its body, for a middleware granted `limit`.
fn read_held(limit: Option<BodyLimit>, ext: &http::Extensions) -> Result<Vec<u8>, BodyError> {
    if limit.is_none() {
        return Err(BodyError::NotAvailable);
    }
    if let Some(OverCap(cap)) = ext.get::<OverCap>() {
        return Err(BodyError::TooLarge(*cap));
    }
    match ext.get::<BufferedBody>() {
        Some(BufferedBody(bytes)) => Ok(bytes.to_vec()),
        None => Err(BodyError::NotAvailable),
    }
}

/// Checks a replacement against the grant's cap.
fn replacement(limit: Option<BodyLimit>, body: Vec<u8>) -> Result<Bytes, BodyError> {
    let Some(limit) = limit else {
        return Err(BodyError::NotAvailable);
    };
    if body.len() > limit.max_bytes {
        return Err(BodyError::TooLarge(limit.max_bytes as u64));
    }
    Ok(Bytes::from(body))
}

impl body::Host for HostState {
    fn request_body(&mut self) -> wasmtime::Result<Result<Vec<u8>, BodyError>> {
        self.not_memoizable();
        let grant = self.body_grant()?;
        let Ok(head) = self.heads.current_request_mut() else {
            return Ok(Err(BodyError::NoRequest));
        };
        Ok(read_held(grant.request, &head.parts.extensions))
    }

    fn set_request_body(&mut self, body: Vec<u8>) -> wasmtime::Result<Result<(), BodyError>> {
        self.not_memoizable();
        let grant = self.body_grant()?;
        if self.heads.in_response_hook() {
            return Ok(Err(BodyError::NotAvailable));
        }
        let Ok(head) = self.heads.current_request_mut() else {
            return Ok(Err(BodyError::NoRequest));
        };
        let bytes = match replacement(grant.request, body) {
            Ok(bytes) => bytes,
            Err(e) => return Ok(Err(e)),
        };
        set_length(&mut head.parts.headers, bytes.len());
        head.parts.extensions.remove::<OverCap>();
        head.parts.extensions.insert(BufferedBody(bytes));
        Ok(Ok(()))
    }

    fn response_body(&mut self) -> wasmtime::Result<Result<Vec<u8>, BodyError>> {
        self.not_memoizable();
        let grant = self.body_grant()?;
        if self.heads.current_request_mut().is_err() {
            return Ok(Err(BodyError::NoRequest));
        }
        match self.heads.current_response_mut() {
            Some(resp) => Ok(read_held(grant.response, &resp.parts.extensions)),
            None => Ok(Err(BodyError::NotAvailable)),
        }
    }

    fn set_response_body(&mut self, body: Vec<u8>) -> wasmtime::Result<Result<(), BodyError>> {
        self.not_memoizable();
        let grant = self.body_grant()?;
        if self.heads.current_request_mut().is_err() {
            return Ok(Err(BodyError::NoRequest));
        }
        let Some(resp) = self.heads.current_response_mut() else {
            return Ok(Err(BodyError::NotAvailable));
        };
        let bytes = match replacement(grant.response, body) {
            Ok(bytes) => bytes,
            Err(e) => return Ok(Err(e)),
        };
        set_length(&mut resp.parts.headers, bytes.len());
        resp.parts.extensions.remove::<OverCap>();
        resp.parts.extensions.insert(BufferedBody(bytes));
        Ok(Ok(()))
    }
}
