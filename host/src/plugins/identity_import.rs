//! The host side of the `identity` import: a request hook names the authenticated user of the
//! request, kept on its head (`RequestHeadFields::user`) for its access-log line
//! (`ClientUsername`). Needs no grant.
//!
//! When it runs: inside `on-request` or the `subresponses` hook; the proxy moves the name to the
//! request's recording once its request hooks are done. From a response hook the name would
//! reach no line, so the call does nothing there; outside a hook call it traps (no request).
//! Cost: one host call that copies the name; a request nobody names carries a `None`.

use super::bindings::wasmgate::plugin::identity;
use super::host_state::HostState;

impl identity::Host for HostState {
    fn set_user(&mut self, name: String) -> wasmtime::Result<()> {
        let in_response_hook = self.heads.in_response_hook();
        let head = self.heads.current_request_mut()?;
        if !in_response_hook {
            if let Some(record) = head.memo_record.as_deref_mut() {
                record.set_user(&name);
            }
            head.user = Some(name.into());
        }
        Ok(())
    }
}
