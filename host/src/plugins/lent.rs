//! The heads lent to a guest for one hook call: at most one request and one response, kept in
//! two fixed slots of the instance's `HostState` instead of a resource table.
//!
//! Runs on every hook call. A head moves into its slot, the guest gets a *borrow* handle whose
//! rep names the slot, and the head moves back out when the call returns (even after a trap:
//! the guest never owned it). Compared with wasmtime's `ResourceTable` this saves a heap
//! allocation, a free and the table's bookkeeping per lent head. The guest cannot forge a
//! handle: wasmtime validates every handle against the borrows this call created, and a rep
//! that names an empty or other slot traps.

use wasmtime::component::Resource;

use super::heads::{RequestHead, RequestHeadFields, ResponseHead};

/// Rep of the borrow handle for the lent request.
const REQUEST_REP: u32 = 1;
/// Rep of the borrow handle for the lent response.
const RESPONSE_REP: u32 = 2;

#[derive(Default)]
pub(crate) struct LentHeads {
    request: Option<RequestHead>,
    response: Option<ResponseHead>,
}

impl LentHeads {
    /// Puts `head` in the request slot; returns the borrow to pass to the guest.
    pub(crate) fn lend_request(&mut self, head: RequestHead) -> Resource<RequestHead> {
        self.request = Some(head);
        Resource::new_borrow(REQUEST_REP)
    }

    /// Puts `head` in the response slot; returns the borrow to pass to the guest.
    pub(crate) fn lend_response(&mut self, head: ResponseHead) -> Resource<ResponseHead> {
        self.response = Some(head);
        Resource::new_borrow(RESPONSE_REP)
    }

    /// Takes the lent request back after the call.
    pub(crate) fn take_request(&mut self) -> RequestHead {
        match self.request.take() {
            Some(head) => head,
            None => panic!("host invariant broken: no request was lent"),
        }
    }

    /// Takes the lent response back after the call.
    pub(crate) fn take_response(&mut self) -> ResponseHead {
        match self.response.take() {
            Some(head) => head,
            None => panic!("host invariant broken: no response was lent"),
        }
    }

    pub(crate) fn request(
        &self,
        r: &Resource<RequestHead>,
    ) -> wasmtime::Result<&RequestHeadFields> {
        match &self.request {
            Some(head) if r.rep() == REQUEST_REP => Ok(head),
            _ => Err(wasmtime::Error::msg(
                "request handle used outside its hook call",
            )),
        }
    }

    /// The request of the current hook call, for imports that read it without a handle.
    pub(crate) fn current_request(&self) -> wasmtime::Result<&RequestHeadFields> {
        match &self.request {
            Some(head) => Ok(head),
            None => Err(wasmtime::Error::msg("no request outside a hook call")),
        }
    }

    /// The request of the current hook call, for imports that act on it without a handle.
    pub(crate) fn current_request_mut(&mut self) -> wasmtime::Result<&mut RequestHeadFields> {
        match &mut self.request {
            Some(head) => Ok(&mut **head),
            None => Err(wasmtime::Error::msg("no request outside a hook call")),
        }
    }

    /// The response of the current hook call (response hooks only), for imports that act on
    /// it without a handle.
    pub(crate) fn current_response_mut(&mut self) -> Option<&mut ResponseHead> {
        self.response.as_mut()
    }

    /// Whether a response is lent: the current call is a response hook.
    pub(crate) fn in_response_hook(&self) -> bool {
        self.response.is_some()
    }

    pub(crate) fn request_mut(
        &mut self,
        r: &Resource<RequestHead>,
    ) -> wasmtime::Result<&mut RequestHeadFields> {
        match &mut self.request {
            Some(head) if r.rep() == REQUEST_REP => Ok(&mut **head),
            _ => Err(wasmtime::Error::msg(
                "request handle used outside its hook call",
            )),
        }
    }

    pub(crate) fn response(&self, r: &Resource<ResponseHead>) -> wasmtime::Result<&ResponseHead> {
        match &self.response {
            Some(head) if r.rep() == RESPONSE_REP => Ok(head),
            _ => Err(wasmtime::Error::msg(
                "response handle used outside its hook call",
            )),
        }
    }

    pub(crate) fn response_mut(
        &mut self,
        r: &Resource<ResponseHead>,
    ) -> wasmtime::Result<&mut ResponseHead> {
        match &mut self.response {
            Some(head) if r.rep() == RESPONSE_REP => Ok(head),
            _ => Err(wasmtime::Error::msg(
                "response handle used outside its hook call",
            )),
        }
    }
}
