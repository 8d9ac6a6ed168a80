//! The host side of the `counters` import: a granted middleware's calls go to its
//! [`CounterScope`](super::counters::CounterScope).
//!
//! A component that imports `counters` loads only for a middleware whose config grants it
//! (`app::build` refuses it otherwise), so a call without a scope is a host bug or a bypass:
//! it traps, failing that request only.

use super::bindings::wasmgate::plugin::counters::{self, TakeResult};
use super::counters::{CounterScope, Take};
use super::host_state::HostState;
use super::pre_take::{delay, reserve};

impl HostState {
    fn granted_counters(&self) -> wasmtime::Result<&std::sync::Arc<CounterScope>> {
        self.counters.as_ref().ok_or_else(|| {
            wasmtime::format_err!(
                "middleware {:?} called counters without the counters grant",
                &*self.identity.middleware
            )
        })
    }
}

impl counters::Host for HostState {
    fn take(
        &mut self,
        key: String,
        cost: u32,
        rate_per_second: f64,
        burst: u32,
    ) -> wasmtime::Result<TakeResult> {
        self.not_memoizable();
        self.granted_counters()?;
        let take = match &self.redis_counters {
            // In a request hook: a close token may be reserved (Traefik's rateLimit, under
            // the grant) and the request waits for it after its request hooks, on its own task
            // (`proxy::handler`); the same take as a declared pre-take's (`pre_take`).
            None if !self.heads.in_response_hook() => {
                let max_wait = self.take_max_wait_ns;
                // Fields borrowed apart: the scope (granted, checked above) and the head.
                let Some(scope) = self.counters.as_ref() else {
                    return Err(wasmtime::format_err!("counters without the grant"));
                };
                match self.heads.current_request_mut() {
                    Ok(head) => {
                        let reservation =
                            reserve(scope, &key, cost, rate_per_second, burst, max_wait);
                        delay(&mut head.take_delay_ns, reservation)
                    }
                    // No request to delay (`on-complete`): no wait.
                    Err(_) => scope.take(&key, cost, rate_per_second, burst),
                }
            }
            None => self
                .granted_counters()?
                .take(&key, cost, rate_per_second, burst),
            // Redis-backed: recorded, answered after the hook (`remote_take`); a replay's
            // reserved token makes the request wait as an in-process one does.
            Some(_) => {
                if self.heads.in_response_hook() {
                    return Err(wasmtime::format_err!(
                        "middleware {:?}: a Redis-backed take is answered in on-request only",
                        &*self.identity.middleware
                    ));
                }
                let max_wait = self.take_max_wait_ns;
                let head = self.heads.current_request_mut()?;
                let reservation = head.remote_takes.get_or_insert_default().take(
                    &key,
                    cost,
                    rate_per_second,
                    burst,
                    max_wait,
                );
                delay(&mut head.take_delay_ns, reservation)
            }
        };
        Ok(match take {
            Take::Allowed => TakeResult::Allowed,
            Take::Denied(wait) => TakeResult::Denied(wait),
        })
    }

    fn acquire_in_flight(&mut self, key: String, limit: u32) -> wasmtime::Result<bool> {
        self.not_memoizable();
        // In `on-connect`: the connection holds the count until it closes.
        if self.connection_leases.is_some() {
            let lease = self.granted_counters()?.acquire_in_flight(&key, limit);
            let counted = lease.is_some();
            if let (Some(leases), Some(lease)) = (self.connection_leases.as_mut(), lease) {
                leases.push(lease);
            }
            return Ok(counted);
        }
        // Checked first, so a call outside a hook counts nothing.
        self.heads.current_request_mut()?;
        let Some(lease) = self.granted_counters()?.acquire_in_flight(&key, limit) else {
            return Ok(false);
        };
        let head = self.heads.current_request_mut()?;
        let owner = head.current;
        head.in_flight.push((owner, lease));
        Ok(true)
    }
}
