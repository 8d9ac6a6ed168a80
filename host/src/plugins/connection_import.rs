//! The host side of the `connection` import: reads of the lent request's
//! [`ConnectionFacts`](super::ConnectionFacts). Needs no grant (the facts are the client's own
//! and the gateway's address). Outside a hook call there is no lent request: the call traps.
//!
//! Cost: one host call; `client-certificates` copies the DER of the chain into the instance
//! (a few KiB), the addresses format one `ip:port` each. Nothing is gathered per request.

use super::bindings::wasmgate::plugin::client_connection;
use super::host_state::HostState;

impl client_connection::Host for HostState {
    fn client_certificates(&mut self) -> wasmtime::Result<Vec<Vec<u8>>> {
        let facts = &self.heads.current_request()?.connection;
        Ok(facts
            .client_certificates
            .iter()
            .map(|der| der.as_ref().to_vec())
            .collect())
    }

    fn original_destination(&mut self) -> wasmtime::Result<String> {
        let facts = &self.heads.current_request()?.connection;
        Ok(facts.dialled().to_string())
    }

    fn local_addr(&mut self) -> wasmtime::Result<String> {
        Ok(self.heads.current_request()?.connection.local.to_string())
    }
}
